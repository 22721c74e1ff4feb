package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
)

// A winner whose deposit is above the price it won at has the price paid from the deposit and the
// rest refunded with the order, once; before, the rest stayed in deposits held with nothing to apply
// it to.
func TestDepositAboveThePriceIsRefunded(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	p := m.createProduct(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "auction", "auction_kind": "english", "reserve": "100.00", "increment": "10.00",
			"deposit": "500.00", "start_at": time.Now().Add(time.Minute).Format(time.RFC3339),
			"end_at": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}
	})
	mustStatus(t, m.publish(p.ID), 200)
	r := m.do("POST", "/v1/auctions", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"product_id": p.ID})
	mustStatus(t, r, 201)
	auc := decode[matching.Record](t, r)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", m.as(datavenue.RoleClerk, venueOrg),
		map[string]any{"buyer": buyerOrg, "ref": "保证金 2026120102"}), 201)
	e := m.engine()
	proj := matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}
	if _, err := e.AdvanceClock(ctx, auc.ID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "120.00"}), 201)
	if _, err := e.AdvanceClock(ctx, auc.ID, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: the refund is made once however often the projection runs
		if _, err := proj.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var applied, due, refunded string
	var refunds int
	if err := m.db.Pool.QueryRow(ctx, `SELECT o.deposit_applied::text, o.amount_due::text FROM settlement_orders o
		JOIN trades t ON t.id = o.trade_id WHERE t.source_id = $1`, auc.ID).Scan(&applied, &due); err != nil {
		t.Fatal(err)
	}
	if err := m.db.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(p.amount), 0)::text FROM ledger_transactions x
		JOIN ledger_postings p ON p.transaction_id = x.id AND p.amount > 0
		WHERE x.kind = 'deposit_excess_refunded' AND x.source_id = $1`, auc.ID).Scan(&refunds, &refunded); err != nil {
		t.Fatal(err)
	}
	if applied != "120.00" || due != "0.00" || refunds != 1 || refunded != "380.00" {
		t.Fatalf("order applied %s due %s; %d refunds of %s; want 120.00 applied, 0.00 due, one refund of 380.00", applied, due, refunds, refunded)
	}
	// What stays held is what the order applies to the price, until its payment is recorded.
	if got := m.balance(settlement.AccountID(settlement.DepositsHeld, buyerOrg)); got != "-120.00" {
		t.Fatalf("deposits held for the winner = %s, want -120.00", got)
	}
	if got := m.balance(settlement.AccountID(settlement.PaidOut, buyerOrg)); got != "-380.00" {
		t.Fatalf("paid out to the winner = %s, want -380.00", got)
	}
	m.checkInvariants()
}
