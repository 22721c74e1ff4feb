package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// TestSubscriptionWinRefundsTheDeposit: the winner's deposit of an auction whose win makes a
// subscription is refunded at the close, like the losers': there is no order to apply it to, and
// it must not stay in deposits held.
func TestSubscriptionWinRefundsTheDeposit(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	p := m.createProductUncapped(func(p map[string]any) {
		p["product_type"], p["delivery"] = "dataset", map[string]any{"method": "api", "endpoint": "https://gw.operator.test/v1"}
		p["pricing"] = map[string]any{"method": "auction", "auction_kind": "english", "reserve": "0.50", "increment": "0.01",
			"deposit": "100.00", "charging_unit": "per_call", "subscription": plan(),
			"start_at": time.Now().Add(time.Minute).Format(time.RFC3339), "end_at": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}
	})
	m.fileCap(p.ID, "0.80", func(c map[string]any) { c["charging_unit"] = "per_call" })
	m.fileCap(p.ID, "500.00", func(c map[string]any) { c["charging_unit"] = "per_time_unit" })
	mustStatus(t, m.publish(p.ID), 200)
	r := m.do("POST", "/v1/auctions", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"product_id": p.ID})
	mustStatus(t, r, 201)
	auc := decode[matching.Record](t, r)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", m.as(datavenue.RoleClerk, venueOrg),
		map[string]any{"buyer": buyerOrg, "ref": "保证金 2026120101"}), 201)
	e := m.engine()
	proj := matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}
	if _, err := proj.RunOnce(ctx); err != nil { // the deposit reaches the ledger through the projection
		t.Fatal(err)
	}
	held := settlement.AccountID(settlement.DepositsHeld, buyerOrg)
	if got := m.balance(held); got != "-100.00" {
		t.Fatalf("deposits held for the buyer after the deposit = %s, want -100.00", got)
	}

	if _, err := e.AdvanceClock(ctx, auc.ID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "0.60"}), 201)
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: the refund is made once however often the projection runs
		if _, err := proj.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	subs := decode[api.Page[subscriptions.Subscription]](t, m.do("GET", "/v1/subscriptions", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if len(subs.Data) != 1 {
		t.Fatalf("subscriptions after the win: %+v", subs.Data)
	}
	var outcome string
	var refunds int
	m.db.Pool.QueryRow(ctx, `SELECT outcome FROM auction_deposits WHERE auction_id = $1 AND buyer_id = $2`, auc.ID, string(buyerOrg)).Scan(&outcome)
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions WHERE kind = 'deposit_released' AND source_id = $1`, auc.ID).Scan(&refunds)
	if got := m.balance(held); outcome != "release" || refunds != 1 || got != "0.00" {
		t.Fatalf("the winner's deposit: outcome %q, %d refunds, deposits held %s; want release, 1, 0.00", outcome, refunds, got)
	}
	m.checkInvariants()
}
