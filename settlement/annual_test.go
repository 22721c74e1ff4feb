package settlement_test

import (
	"slices"
	"testing"

	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

// The annual report's arithmetic: revenue and turnover by product and purpose, free uses apart,
// the newest cost of each category, and the result (revenue less costs, signed).
func TestBuildAnnual(t *testing.T) {
	m := money.MustParse
	earnings := []settlement.Earning{
		{OrderID: "1", ProductID: "p1", ProductTitle: "甲", Purpose: "industry", Price: m("100.01"), Share: m("50.01")},
		{OrderID: "2", ProductID: "p1", ProductTitle: "甲", Purpose: "industry", Price: m("200.00"), Share: m("100.00")},
		{OrderID: "3", ProductID: "p2", ProductTitle: "乙", Purpose: "public_welfare", Price: m("0.00"), Share: m("0.00"), Free: true},
	}
	costs := []settlement.OperatingCost{
		{Category: "labour", Version: 1, Amount: m("500.00")},
		{Category: "labour", Version: 2, Amount: m("120.00")},
		{Category: "compute", Version: 1, Amount: m("80.02")},
	}
	st := settlement.Measure(yuan("100.00"), money.Zero, m("150.01"))
	r := settlement.BuildAnnual("org_x", "运营方", 2026, earnings, st, costs)
	if r.Trades != 2 || r.FreeUses != 1 || r.Turnover.String() != "300.01" || r.Revenue.String() != "150.01" ||
		r.TotalCost.String() != "200.02" || r.Result != "-50.01" || r.Allowed.Excess.String() != "50.01" {
		t.Fatalf("report = %+v", r)
	}
	var costCats []string
	for _, c := range r.Costs {
		costCats = append(costCats, c.Category+":"+c.Amount.String())
	}
	if !slices.Equal(costCats, []string{"compute:80.02", "labour:120.00"}) {
		t.Errorf("costs = %v", costCats)
	}
	if len(r.ByPurpose) != 2 || r.ByPurpose[0].Key != "industry" || r.ByPurpose[0].Revenue.String() != "150.01" || r.ByPurpose[1].FreeUses != 1 {
		t.Errorf("by purpose = %+v", r.ByPurpose)
	}
	if len(r.ByProduct) != 2 || r.ByProduct[0].Label != "乙" || r.ByProduct[1].Trades != 2 || r.ByProduct[1].Turnover.String() != "300.01" {
		t.Errorf("by product = %+v", r.ByProduct)
	}
	if tb := r.CSVTable(); len(tb.Headers()) != 10 || tb.Rows[0][7] != "150.01" {
		t.Errorf("CSV table = %v", tb.Rows)
	}
}

// A cost is validated: a known category, an amount to the fen, a year in range.
func TestOperatingCostInput(t *testing.T) {
	if _, err := (settlement.OperatingCostInput{Year: 2026, Category: "data", Amount: "1.005"}).Validate(); err == nil {
		t.Error("an amount below the fen accepted")
	}
	if _, err := (settlement.OperatingCostInput{Year: 2026, Category: "snacks", Amount: "1.00"}).Validate(); err == nil {
		t.Error("an unknown category accepted")
	}
	if c, err := (settlement.OperatingCostInput{Year: 2026, Category: "data", Amount: "1.50", Note: " 说明 "}).Validate(); err != nil || c.Note != "说明" {
		t.Errorf("valid cost: %+v, %v", c, err)
	}
}
