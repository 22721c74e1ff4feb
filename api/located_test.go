package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
)

// A bid, a deposit and an import each answer 201 with a Location, and a GET there shows what was
// created to those who may see it (issue 12: the three 201s without one).
func TestCreatedBidsDepositsAndImportsHaveALocation(t *testing.T) {
	m, auc := auctionMarket(t, matching.SealedSecond)
	m.engine().AdvanceClock(context.Background(), auc.ID, 2*time.Minute)
	path := "/v1/auctions/" + auc.ID
	clerk, buyer := m.as(datavenue.RoleClerk, venueOrg), m.as(datavenue.RoleBuyer, buyerOrg)

	r := m.do("POST", path+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "r1"})
	mustStatus(t, r, 201)
	if got, want := r.header.Get("Location"), path+"/deposits/"+string(buyerOrg); got != want {
		t.Fatalf("deposit Location %q, want %q", got, want)
	}
	for _, who := range []string{clerk, buyer} {
		if d := decode[matching.Deposit](t, m.do("GET", r.header.Get("Location"), who, nil)); d.Buyer != buyerOrg || d.Status != "recorded" {
			t.Fatalf("deposit = %+v", d)
		}
	}
	wantProblem(t, m.do("GET", r.header.Get("Location"), m.as(datavenue.RoleBuyer, otherOrg), nil), 403, "deposit_not_yours")
	wantProblem(t, m.do("GET", path+"/deposits/"+string(otherOrg), clerk, nil), 404, "deposit_not_found")

	r = m.do("POST", path+"/bids", buyer, map[string]any{"amount": "12345.67"})
	mustStatus(t, r, 201)
	placed := decode[matching.BidResult](t, r)
	if got, want := r.header.Get("Location"), path+"/bids/1"; got != want || placed.Seq != 1 {
		t.Fatalf("bid Location %q (seq %d), want %q", got, placed.Seq, want)
	}
	if e := decode[matching.HistoryEntry](t, m.do("GET", r.header.Get("Location"), buyer, nil)); e.Buyer != buyerOrg || e.Amount.String() != "12345.67" {
		t.Fatalf("the bidder's own sealed bid = %+v", e)
	}
	wantProblem(t, m.do("GET", r.header.Get("Location"), m.as(datavenue.RoleOperator, operatorOrg), nil), 403, "sealed_until_close")
	wantProblem(t, m.do("GET", path+"/bids/2", buyer, nil), 404, "bid_not_found")

	today := civil.Of(time.Now()).String()
	r = m.importStatement(clerk, "csv", "period_end="+today, []byte("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nX1,NONE,某单位,1.00,"+today+",市级国库\n"))
	mustStatus(t, r, 201)
	res := decode[settlement.ImportResult](t, r)
	if got, want := r.header.Get("Location"), "/v1/reconciliation/imports/"+res.ID; got != want {
		t.Fatalf("import Location %q, want %q", got, want)
	}
	receipts := decode[api.Page[settlement.ReceiptOutcome]](t, m.do("GET", r.header.Get("Location"), clerk, nil))
	if len(receipts.Data) != 1 || receipts.Data[0].SlipNo != "X1" || receipts.Data[0].Outcome != "unmatched" {
		t.Fatalf("the import's receipts = %+v", receipts.Data)
	}
	wantProblem(t, m.do("GET", r.header.Get("Location"), buyer, nil), 403, "role_not_allowed")
}
