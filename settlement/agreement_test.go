package settlement_test

import (
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

// Agreed ratios add up to exactly 100%: 60/30 is refused, not stretched (issue 17); input costs
// are weights and keep their proportions.
func TestRatioAgreementsAddUpToTheWhole(t *testing.T) {
	ratio := func(rs ...string) settlement.AgreementInput {
		in := settlement.AgreementInput{Basis: "ratio"}
		for i, r := range rs {
			in.Parties = append(in.Parties, settlement.AgreementParty{Party: datavenue.OrgID("org_" + string(rune('A'+i))), Role: "holder", Ratio: r})
		}
		return in
	}
	for _, ok := range [][]string{{"1"}, {"0.6", "0.4"}, {"0.40", "0.25", "0.10", "0.22", "0.03"}, {"0.333333", "0.333333", "0.333334"}} {
		if _, err := ratio(ok...).Validate(); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"0.6", "0.3"}, {"60", "40"}, {"0.6", "0.5"}, {"0.333333", "0.333333", "0.333333"}} {
		_, err := ratio(bad...).Validate()
		if e := datavenue.AsError(err); err == nil || len(e.Fields) != 1 || e.Fields[0].Code != "ratios_not_whole" {
			t.Errorf("%v: %v, want ratios_not_whole", bad, err)
		}
	}
	cost := settlement.AgreementInput{Basis: "cost", Parties: []settlement.AgreementParty{
		{Party: "org_A", Role: "holder", Costs: map[string]money.Yuan{"production": money.MustParse("600.00")}},
		{Party: "org_B", Role: "processor", Costs: map[string]money.Yuan{"processing": money.MustParse("300.00")}}}}
	if w, err := cost.Validate(); err != nil || w[0].String() != "600" || w[1].String() != "300" {
		t.Errorf("cost weights %v: %v", w, err)
	}
}
