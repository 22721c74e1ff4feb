package settlement_test

import (
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/workdays"
)

// A unit with two roles in an agreement gets a share per role, one ledger posting and one treasury
// obligation for their sum.
func TestSettlePartyWithTwoRoles(t *testing.T) {
	const unit, op = datavenue.OrgID("org_01JUNIT0000000000000000000"), datavenue.OrgID("org_01JOPER0000000000000000000")
	a := settlement.Agreement{Basis: "ratio", Parties: []settlement.AgreementParty{
		{Party: unit, Role: "holder", Ratio: "0.5"}, {Party: unit, Role: "collector", Ratio: "0.2"}, {Party: op, Role: "operator", Ratio: "0.3"}}}
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := settlement.Order{ID: "ord_1", BuyerID: "org_01JBUYER000000000000000000", Price: money.MustParse("100.01"), AmountDue: money.MustParse("100.01")}
	shares, tx, obligations, err := settlement.Settle(o, a, map[datavenue.OrgID]settlement.PartyInfo{unit: {Kind: "government_unit", Treasury: "市级国库"}},
		cal, civil.MustParse("2026-11-26"), "ref")
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 3 || len(obligations) != 1 || len(tx.Postings) != 3 {
		t.Fatalf("shares %v, obligations %v, postings %v", shares, obligations, tx.Postings)
	}
	sum := shares[0].Amount.Add(shares[1].Amount)
	if obligations[0].Amount.Cmp(sum) != 0 || obligations[0].Party != unit || sum.String() != "70.01" {
		t.Fatalf("obligation %+v, the unit's shares sum to %s", obligations[0], sum)
	}
	in := settlement.AgreementInput{Basis: "ratio", Parties: []settlement.AgreementParty{{Party: unit, Role: "holder", Ratio: "1"}, {Party: unit, Role: "holder", Ratio: "1"}}}
	if _, err := in.Validate(); err == nil {
		t.Fatal("a party listed twice in one role was accepted")
	}
}
