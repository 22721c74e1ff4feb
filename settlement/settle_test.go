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
	// One remittance and one filing with the finance department (G6) for the unit, whatever its roles.
	if len(shares) != 3 || len(obligations) != 2 || obligations[1].Kind != "finance_filing" || obligations[1].Amount.String() != "70.01" || len(tx.Postings) != 3 {
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

// G6: a government unit's instalment income runs from the quarter's end, and the unit both
// remits and files; a state enterprise files each receipt within 10 working days (no quarter
// rule), with its supervisor, copied to the finance department.
func TestFilingRulesByKindOfParty(t *testing.T) {
	const unit, se = datavenue.OrgID("org_01JUNIT0000000000000000000"), datavenue.OrgID("org_01JSOE00000000000000000000")
	a := settlement.Agreement{Basis: "ratio", Parties: []settlement.AgreementParty{
		{Party: unit, Role: "holder", Ratio: "0.6"}, {Party: se, Role: "processor", Ratio: "0.4"}}}
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := settlement.Order{ID: "ord_1", Price: money.MustParse("1000.00"), AmountDue: money.MustParse("1000.00"), IncomeKind: "instalment"}
	_, _, obligations, err := settlement.Settle(o, a, map[datavenue.OrgID]settlement.PartyInfo{
		unit: {Kind: "government_unit", FiscalLevel: "municipal", Treasury: "市级国库"},
		se:   {Kind: "state_enterprise", Supervisor: "市国资委"}}, cal, civil.MustParse("2026-11-02"), "ref")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]settlement.Obligation{}
	for _, ob := range obligations {
		byKind[ob.Kind] = ob
	}
	quarterEnd := civil.MustParse("2026-12-31")
	unitDue, _ := cal.AddWorkdays(quarterEnd, 10)
	seDue, _ := cal.AddWorkdays(civil.MustParse("2026-11-02"), 10)
	for kind, want := range map[string]struct {
		event, due  civil.Date
		counterpart string
	}{"treasury_remittance": {quarterEnd, unitDue, "市级国库"}, "finance_filing": {quarterEnd, unitDue, "市级财政部门"},
		"supervisor_filing": {civil.MustParse("2026-11-02"), seDue, "市国资委"}} {
		ob, ok := byKind[kind]
		if !ok || ob.EventDate != want.event || ob.DueDate == nil || *ob.DueDate != want.due || ob.Counterpart != want.counterpart {
			t.Errorf("%s: %+v, want event %s due %s to %s", kind, ob, want.event, want.due, want.counterpart)
		}
	}
	if byKind["supervisor_filing"].CopyTo == "" || byKind["treasury_remittance"].CopyTo != "" {
		t.Errorf("copies: filing %q, remittance %q", byKind["supervisor_filing"].CopyTo, byKind["treasury_remittance"].CopyTo)
	}
}
