package settlement_test

import (
	"testing"

	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

func yuan(s string) *money.Yuan { y := money.MustParse(s); return &y }

// The standing at the boundary of the maximum: 90% warns, one fen under is still approaching,
// exactly the maximum is reached, and an order that crosses it leaves the excess for next year.
func TestMeasureAtTheBoundary(t *testing.T) {
	for _, tc := range []struct {
		allowed                                     *money.Yuan
		deducted, earned                            string
		status, effective, remaining, excess, ratio string
	}{
		{nil, "0", "5000.00", settlement.RevenueNotSet, "", "", "0.00", ""},
		{yuan("10000.00"), "0", "0.00", settlement.RevenueWithin, "10000.00", "10000.00", "0.00", "0.0000"},
		{yuan("10000.00"), "0", "8999.99", settlement.RevenueWithin, "10000.00", "1000.01", "0.00", "0.9000"},
		{yuan("10000.00"), "0", "9000.00", settlement.RevenueApproaching, "10000.00", "1000.00", "0.00", "0.9000"},
		{yuan("10000.00"), "0", "9999.99", settlement.RevenueApproaching, "10000.00", "0.01", "0.00", "1.0000"},
		{yuan("10000.00"), "0", "10000.00", settlement.RevenueReached, "10000.00", "0.00", "0.00", "1.0000"},
		{yuan("10000.00"), "0", "10000.01", settlement.RevenueExceeded, "10000.00", "0.00", "0.01", "1.0000"},
		{yuan("10000.00"), "0", "12500.00", settlement.RevenueExceeded, "10000.00", "0.00", "2500.00", "1.2500"},
		// Last year's excess deducted (N5).
		{yuan("10000.00"), "2500.00", "7500.00", settlement.RevenueReached, "7500.00", "0.00", "0.00", "1.0000"},
		// A deduction larger than the maximum leaves nothing: any revenue is excess.
		{yuan("1000.00"), "2500.00", "0.00", settlement.RevenueReached, "0.00", "0.00", "0.00", ""},
		{yuan("1000.00"), "2500.00", "0.01", settlement.RevenueExceeded, "0.00", "0.00", "0.01", ""},
	} {
		s := settlement.Measure(tc.allowed, money.MustParse(tc.deducted), money.MustParse(tc.earned))
		got := []string{s.Status, str(s.Effective), str(s.Remaining), s.Excess.String(), deref(s.Ratio)}
		want := []string{tc.status, tc.effective, tc.remaining, tc.excess, tc.ratio}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("allowed %s, deducted %s, earned %s: got %v, want %v", str(tc.allowed), tc.deducted, tc.earned, got, want)
				break
			}
		}
	}
}

// Each year's excess is deducted from the next year's maximum; a year without a maximum, or a gap
// between years, carries nothing on.
func TestStandingsCarryTheExcess(t *testing.T) {
	years := []settlement.RevenueYear{
		{Year: 2024, Allowed: yuan("1000.00"), Earned: money.MustParse("1200.00")},
		{Year: 2025, Allowed: yuan("1000.00"), Earned: money.MustParse("900.00")},
		{Year: 2026, Allowed: yuan("1000.00"), Earned: money.MustParse("1000.00")},
		{Year: 2027, Earned: money.MustParse("50.00")},
		{Year: 2028, Allowed: yuan("1000.00"), Earned: money.MustParse("0.00")},
	}
	got := settlement.Standings(years)
	want := []struct{ deducted, effective, excess, status string }{
		{"0.00", "1000.00", "200.00", settlement.RevenueExceeded},
		{"200.00", "800.00", "100.00", settlement.RevenueExceeded},
		{"100.00", "900.00", "100.00", settlement.RevenueExceeded},
		{"0.00", "", "0.00", settlement.RevenueNotSet},
		{"0.00", "1000.00", "0.00", settlement.RevenueWithin},
	}
	for i, w := range want {
		g := got[i]
		if g.Year != years[i].Year || g.Deducted.String() != w.deducted || str(g.Effective) != w.effective || g.Excess.String() != w.excess || g.Status != w.status {
			t.Errorf("%d: got deducted %s effective %s excess %s %s, want %+v", years[i].Year, g.Deducted, str(g.Effective), g.Excess, g.Status, w)
		}
	}
	gap := settlement.Standings([]settlement.RevenueYear{years[0], {Year: 2026, Allowed: yuan("1000.00")}})
	if gap[1].Deducted.String() != "0.00" {
		t.Errorf("after a gap: deducted %s, want 0.00", gap[1].Deducted)
	}
}

func str(y *money.Yuan) string {
	if y == nil {
		return ""
	}
	return y.String()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
