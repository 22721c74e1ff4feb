package matching

import (
	"strings"
	"testing"

	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
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
		lowBasis        string
		highBasis       string
	}{
		{"market only", Guidance{Comparable: market}, "900.00", "1200.00", "first quartile", "third quartile", BasisComparableQ1, BasisComparableQ3},
		{"appraisal raises the low end", Guidance{Comparable: market, Appraisal: &certificates.Appraisal{Value: money.MustParse("1000.00"), ReportNumber: "R1"}},
			"1000.00", "1200.00", "appraised value", "third quartile", BasisAppraisal, BasisComparableQ3},
		{"band clamps", Guidance{Comparable: market, Band: &[2]money.Yuan{money.MustParse("950.00"), money.MustParse("1100.00")}},
			"950.00", "1100.00", "lower end", "upper end", BasisBandLow, BasisBandHigh},
		{"too few trades: appraisal and band", Guidance{Comparable: TradeStats{Count: 2}, Appraisal: &certificates.Appraisal{Value: money.MustParse("500.00"), ReportNumber: "R2"},
			Band: &[2]money.Yuan{money.MustParse("400.00"), money.MustParse("600.00")}}, "500.00", "600.00", "appraised value", "upper end", BasisAppraisal, BasisBandHigh},
		{"the cap under everything", Guidance{Comparable: market, Cap: &listing.Cap{Amount: money.MustParse("800.00"), ApprovalRef: "沪发改价〔2026〕7号"}},
			"800.00", "800.00", "price cap", "price cap", BasisCapBelow, BasisCap},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.g.suggest()
			if tt.g.Low.Amount.String() != tt.low || tt.g.High.Amount.String() != tt.high ||
				!strings.Contains(tt.g.Low.Reason, tt.lowWhy) || !strings.Contains(tt.g.High.Reason, tt.highWhy) ||
				tt.g.Low.Basis != tt.lowBasis || tt.g.High.Basis != tt.highBasis {
				t.Fatalf("suggested %+v – %+v", tt.g.Low, tt.g.High)
			}
		})
	}
}
