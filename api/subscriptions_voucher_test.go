package api_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// TestPeriodVoucherListsTheUsage: a period's bill, paid, delivered and confirmed through the
// ordinary settlement path, issues one voucher in the chain that lists the subscription, the
// period, the units by charging unit, the prices, the maximum that applied and the records it
// covers; the buyer verifies it offline and recomputes the records' digest from the ids its
// gateway reported (a retried record counted once).
func TestPeriodVoucherListsTheUsage(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.negotiatedSubscription()
	mustStatus(t, m.do("PUT", "/v1/products/"+sub.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)
	operator := datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator}
	ctx := datavenue.WithCaller(context.Background(), operator)
	at := func(day civil.Date) fixedClock { return fixedClock{day.Start().Add(20 * time.Hour)} }
	p0 := sub.PeriodAt(sub.StartsOn)
	used := p0.Start.Start().Add(12 * time.Hour).Format(time.RFC3339)
	ids := []string{"v-9", "v-10", "V-1", "v-2"}
	var recs []subscriptions.RecordInput
	for _, id := range ids {
		recs = append(recs, subscriptions.RecordInput{RecordID: id, SubscriptionID: sub.ID, Unit: "per_call", Quantity: "1000", UsedAt: used})
	}
	svc := subscriptions.Service{Store: m.db.Subscriptions(), Clock: at(p0.End)}
	for range 2 { // the second batch is a retry: all duplicates
		if _, err := svc.Ingest(ctx, operator, subscriptions.BatchInput{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := (subscriptions.Biller{Store: m.db.Subscriptions(), Clock: at(p0.End.AddDays(subscriptions.GraceDays + 1))}).Run(ctx); err != nil || n != 1 {
		t.Fatalf("biller: %d bills, %v", n, err)
	}
	var orderID string
	if err := m.db.Pool.QueryRow(ctx, `SELECT order_id FROM subscription_bills WHERE subscription_id = $1 AND period_index = 0`, sub.ID).Scan(&orderID); err != nil {
		t.Fatal(err)
	}
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	mustStatus(t, m.do("POST", "/v1/orders/"+orderID+"/payment", m.as(datavenue.RoleClerk, venueOrg), map[string]any{"reference": "bill-v0"}), 200)
	mustStatus(t, m.do("POST", "/v1/orders/"+orderID+"/delivery", m.as(datavenue.RoleOperator, operatorOrg),
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("2c", 32)}), 200)
	r := m.do("POST", "/v1/orders/"+orderID+"/confirm", buyer, nil)
	mustStatus(t, r, 201)
	v := decode[settlement.Voucher](t, r)
	content, err := settlement.VerifyVoucher(string(m.do("GET", "/v1/vouchers/"+v.ID+"/document", buyer, nil).body), m.keys)
	if err != nil {
		t.Fatal(err)
	}
	// 4,000 calls at 0.60 and a fee of 300.00 is 2,700.00: over the plan's maximum of 2,000.00.
	want := &settlement.UsageCovered{SubscriptionID: sub.ID, PeriodIndex: 0, PeriodStart: p0.Start.String(), PeriodEnd: p0.End.String(),
		Units: []settlement.UnitsUsed{{Unit: "per_call", Quantity: "4000.000000"}}, UnitPrice: "0.60", FixedFee: "300.00", Metered: "2400.00",
		PlanMaximum: "2000.00", CappedBy: []string{"plan_maximum"}, Records: 4, RecordsDigest: subscriptions.RecordsDigest(ids)}
	if !reflect.DeepEqual(want, content.Usage) || content.Price != "2000.00" || content.OrderID != orderID {
		t.Fatalf("voucher usage:\n got %+v\nwant %+v\nprice %s, order %s", content.Usage, want, content.Price, content.OrderID)
	}
	log, err := m.db.Settlement().VoucherLog(ctx)
	if err != nil || len(log) == 0 || settlement.VerifyChain(log, m.keys) != nil {
		t.Fatalf("the voucher log (%d entries) does not verify: %v", len(log), err)
	}
	m.checkInvariants()
}
