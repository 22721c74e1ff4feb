package matching

import (
	"strings"
	"testing"

	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/money"
)

func y(s string) *money.Yuan { v := money.MustParse(s); return &v }

func TestSuggestedRange(t *testing.T) {
	market := TradeStats{Count: 8, Q1: y("900.00"), Median: y("1000.00"), Q3: y("1200.00")}
	for _, tt := range []struct {
		name            string
		g               Guidance
		low, high       string
		lowWhy, highWhy string
	}{
		{"market only", Guidance{Comparable: market}, "900.00", "1200.00", "first quartile", "third quartile"},
		{"appraisal raises the low end", Guidance{Comparable: market, Appraisal: &certificates.Appraisal{Value: money.MustParse("1000.00"), ReportNumber: "R1"}},
			"1000.00", "1200.00", "appraised value", "third quartile"},
		{"band clamps", Guidance{Comparable: market, Band: &[2]money.Yuan{money.MustParse("950.00"), money.MustParse("1100.00")}},
			"950.00", "1100.00", "lower end", "upper end"},
		{"too few trades: appraisal and band", Guidance{Comparable: TradeStats{Count: 2}, Appraisal: &certificates.Appraisal{Value: money.MustParse("500.00"), ReportNumber: "R2"},
			Band: &[2]money.Yuan{money.MustParse("400.00"), money.MustParse("600.00")}}, "500.00", "600.00", "appraised value", "upper end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.g.suggest()
			if tt.g.Low.Amount.String() != tt.low || tt.g.High.Amount.String() != tt.high ||
				!strings.Contains(tt.g.Low.Reason, tt.lowWhy) || !strings.Contains(tt.g.High.Reason, tt.highWhy) {
				t.Fatalf("suggested %+v – %+v", tt.g.Low, tt.g.High)
			}
		})
	}
}
