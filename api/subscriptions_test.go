package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// meteringSecret is the test venues' metering secret (each operator's is derived from it).
var meteringSecret = []byte("test-metering-secret")

// plan is a monthly plan of three periods: 300.00 a month plus the price per call, at most
// 2,000.00 a month.
func plan() map[string]any {
	return map[string]any{"billing_period": "monthly", "term_periods": 3, "fixed_fee": "300.00", "plan_maximum": "2000.00"}
}

// meteredAuction publishes a per-call product sold as a subscription by English auction, under a
// per-call cap of 0.80 and a per-time-unit cap of 500.00 (the fixed fee's), and opens its auction.
func (m *market) meteredAuction() matching.Record {
	m.t.Helper()
	p := m.createProductUncapped(func(p map[string]any) {
		p["product_type"], p["delivery"] = "dataset", map[string]any{"method": "api", "endpoint": "https://gw.operator.test/v1"}
		p["pricing"] = map[string]any{"method": "auction", "auction_kind": "english", "reserve": "0.50", "increment": "0.01",
			"charging_unit": "per_call", "subscription": plan(),
			"start_at": time.Now().Add(time.Minute).Format(time.RFC3339), "end_at": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}
	})
	m.fileCap(p.ID, "0.80", func(c map[string]any) { c["charging_unit"] = "per_call" })
	// The fixed fee is a price by service time: without its cap the product does not publish.
	r := m.publish(p.ID)
	wantProblem(m.t, r, 422, "publish_gate_failed")
	if !strings.Contains(string(r.body), "pricing.subscription.fixed_fee") || !strings.Contains(string(r.body), listing.CondCapMissing) {
		m.t.Fatalf("gate without a per_time_unit cap: %s", r.body)
	}
	m.fileCap(p.ID, "500.00", func(c map[string]any) { c["charging_unit"] = "per_time_unit" })
	mustStatus(m.t, m.publish(p.ID), 200)
	r = m.do("POST", "/v1/auctions", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"product_id": p.ID})
	mustStatus(m.t, r, 201)
	return decode[matching.Record](m.t, r)
}

// winSubscription runs the metered auction to a win by buyerOrg at 0.60 per call and projects it.
func (m *market) winSubscription() subscriptions.Subscription {
	m.t.Helper()
	ctx := context.Background()
	auc := m.meteredAuction()
	e := m.engine()
	if _, err := e.AdvanceClock(ctx, auc.ID, 2*time.Minute); err != nil {
		m.t.Fatal(err)
	}
	wantProblem(m.t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "0.81"}), 422, matching.ErrAboveCap)
	mustStatus(m.t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "0.60"}), 201)
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		m.t.Fatal(err)
	}
	proj := matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}
	for range 2 { // twice: the projection makes one subscription however often it runs
		if _, err := proj.RunOnce(ctx); err != nil {
			m.t.Fatal(err)
		}
	}
	subs := decode[api.Page[subscriptions.Subscription]](m.t, m.do("GET", "/v1/subscriptions", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if len(subs.Data) != 1 {
		m.t.Fatalf("subscriptions after the win: %+v", subs.Data)
	}
	return subs.Data[0]
}

// negotiatedSubscription publishes a per-call product sold as a subscription by negotiation and
// has buyerOrg subscribe at 0.60 per call (the trade is made now, by the engine's own clock).
func (m *market) negotiatedSubscription() subscriptions.Subscription {
	m.t.Helper()
	return m.negotiatedSubscriptionOn(plan())
}

// negotiatedSubscriptionOn is negotiatedSubscription under another plan: the subscription of the
// new product (buyerOrg may hold others).
func (m *market) negotiatedSubscriptionOn(plan map[string]any) subscriptions.Subscription {
	m.t.Helper()
	p := m.createProductUncapped(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "negotiation", "list_price": "0.60", "charging_unit": "per_call", "subscription": plan}
	})
	m.fileCap(p.ID, "0.80", func(c map[string]any) { c["charging_unit"] = "per_call" })
	m.fileCap(p.ID, "500.00", func(c map[string]any) { c["charging_unit"] = "per_time_unit" })
	mustStatus(m.t, m.publish(p.ID), 200)
	r := m.do("POST", "/v1/negotiations", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"product_id": p.ID, "amount": "0.60"})
	mustStatus(m.t, r, 201)
	neg := decode[matching.NegotiationView](m.t, r)
	mustStatus(m.t, m.do("POST", "/v1/negotiations/"+neg.ID+"/moves", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"action": "accept"}), 200)
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: m.engine().Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(context.Background()); err != nil {
		m.t.Fatal(err)
	}
	subs := decode[api.Page[subscriptions.Subscription]](m.t, m.do("GET", "/v1/subscriptions?limit=500", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	var mine []subscriptions.Subscription
	for _, s := range subs.Data {
		if s.ProductID == p.ID {
			mine = append(mine, s)
		}
	}
	if len(mine) != 1 || mine[0].UnitPrice.String() != "0.60" {
		m.t.Fatalf("subscriptions after the negotiation: %+v", subs.Data)
	}
	return mine[0]
}

// reportUsage sends a signed batch as an operator's gateway.
func (m *market) reportUsage(org datavenue.OrgID, records ...map[string]any) response {
	m.t.Helper()
	body, _ := json.Marshal(map[string]any{"records": records})
	sig := settlement.CallbackSignature(subscriptions.OperatorSecret(meteringSecret, org), body, time.Now())
	return m.do("POST", "/v1/usage-batches", m.as(datavenue.RoleOperator, org), string(body), "X-Datavenue-Signature", sig,
		"Content-Type", "application/json")
}

// usage is one usage record.
func usage(id string, sub subscriptions.Subscription, qty string, at time.Time) map[string]any {
	return map[string]any{"record_id": id, "subscription_id": sub.ID, "unit": sub.ChargingUnit, "quantity": qty, "used_at": at.Format(time.RFC3339Nano)}
}

// TestSubscriptionFromAnAuctionWin: a product sold as a service makes, on an auction win, one
// subscription at the winning price per call (under the per-call cap), with the plan's fee and
// maximum, and no one-off order; its parties and the book keepers read it, nobody else.
func TestSubscriptionFromAnAuctionWin(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	sub := m.winSubscription()
	start := civil.Of(sub.StartedAt)
	if sub.UnitPrice.String() != "0.60" || sub.FixedFee.String() != "300.00" || sub.PlanMaximum == nil || sub.PlanMaximum.String() != "2000.00" ||
		sub.ChargingUnit != "per_call" || sub.Status != subscriptions.StatusActive || sub.Free || sub.BuyerID != buyerOrg || sub.SellerID != operatorOrg ||
		sub.StartsOn != start || sub.BillingPeriod != "monthly" || sub.TermPeriods != 3 {
		t.Fatalf("subscription = %+v", sub)
	}
	if want := sub.PeriodAt(start).Start; sub.EndsOn != sub.TermEnd(want) || !sub.EndsOn.After(start.AddDays(85)) || sub.EndsOn.After(start.AddDays(92)) {
		t.Fatalf("ends_on %s for a three-month term from %s", sub.EndsOn, start)
	}
	var orders, created int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM settlement_orders WHERE trade_id = $1`, sub.TradeID).Scan(&orders)
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'subscription.created' AND resource_id = $1`, sub.ID).Scan(&created)
	if orders != 0 || created != 1 {
		t.Fatalf("orders of the trade %d (want 0: billing makes them), creation audited %d times", orders, created)
	}
	path := "/v1/subscriptions/" + sub.ID
	for _, who := range []string{m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleClerk, venueOrg), m.as(datavenue.RoleAuditor, auditorOrg)} {
		mustStatus(t, m.do("GET", path, who, nil), 200)
	}
	wantProblem(t, m.do("GET", path, m.as(datavenue.RoleBuyer, otherOrg), nil), 404, "subscription_not_found")
	if l := decode[api.Page[subscriptions.Subscription]](t, m.do("GET", "/v1/subscriptions", m.as(datavenue.RoleBuyer, otherOrg), nil)); len(l.Data) != 0 {
		t.Fatalf("a stranger lists %d subscriptions", len(l.Data))
	}
}

// TestUsageBatchExactlyOnce: a batch retried after a timeout counts once; the answer says
// accepted, duplicate or refused per record; the signature and the role are checked first.
func TestUsageBatchExactlyOnce(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	sub := m.negotiatedSubscription()
	now := time.Now()
	batch := []map[string]any{usage("r-1", sub, "10", now), usage("r-2", sub, "2.5", now), usage("r-3", sub, "1", now)}
	r := m.reportUsage(operatorOrg, batch...)
	mustStatus(t, r, 200)
	if res := decode[subscriptions.BatchResult](t, r); res.Accepted != 3 || res.Duplicate != 0 || res.Refused != 0 {
		t.Fatalf("first batch = %+v", res)
	}
	// The same batch again (its answer was lost), with one new record and some refused.
	wrongUnit := usage("r-5", sub, "1", now)
	wrongUnit["unit"] = "per_volume"
	retry := append(batch, usage("r-4", sub, "4", now), wrongUnit, usage("r-6", sub, "1", now.Add(time.Hour)),
		usage("r-7", sub, "-1", now), usage("r-4", sub, "4", now), map[string]any{"record_id": "r-8", "subscription_id": "sub_none", "unit": "per_call", "quantity": "1", "used_at": now.Format(time.RFC3339)})
	r = m.reportUsage(operatorOrg, retry...)
	mustStatus(t, r, 200)
	res := decode[subscriptions.BatchResult](t, r)
	var got []string
	for _, v := range res.Records {
		got = append(got, v.RecordID+":"+v.Status+":"+v.Reason)
	}
	want := "r-1:duplicate: r-2:duplicate: r-3:duplicate: r-4:accepted: r-5:refused:unit_mismatch r-6:refused:in_future " +
		"r-7:refused:invalid_record r-4:refused:duplicate_in_batch r-8:refused:subscription_not_found"
	if strings.Join(got, " ") != want || res.Accepted != 1 || res.Duplicate != 3 || res.Refused != 5 {
		t.Fatalf("retried batch:\n got %s\nwant %s\n(%d/%d/%d)", strings.Join(got, " "), want, res.Accepted, res.Duplicate, res.Refused)
	}
	var n int
	var sum string
	m.db.Pool.QueryRow(ctx, `SELECT count(*), sum(quantity)::text FROM usage_records WHERE subscription_id = $1`, sub.ID).Scan(&n, &sum)
	if n != 4 || sum != "17.500000" {
		t.Fatalf("stored %d records, %s units; want 4 and 17.5", n, sum)
	}
	// Another operator's gateway does not see this subscription; a buyer cannot report; an
	// unsigned, missigned or stale batch is refused before anything is read.
	r = m.reportUsage(otherOperator(t, m), usage("x-1", sub, "1", now))
	if res := decode[subscriptions.BatchResult](t, r); res.Refused != 1 || res.Records[0].Reason != subscriptions.ReasonUnknown {
		t.Fatalf("another operator's batch = %+v", res)
	}
	body := `{"records":[{"record_id":"s-1","subscription_id":"` + sub.ID + `","unit":"per_call","quantity":"1","used_at":"` + now.Format(time.RFC3339) + `"}]}`
	op := m.as(datavenue.RoleOperator, operatorOrg)
	wantProblem(t, m.do("POST", "/v1/usage-batches", op, body), 401, "signature_malformed")
	wrong := settlement.CallbackSignature(subscriptions.OperatorSecret(meteringSecret, otherOrg), []byte(body), now)
	wantProblem(t, m.do("POST", "/v1/usage-batches", op, body, "X-Datavenue-Signature", wrong), 401, "bad_signature")
	stale := settlement.CallbackSignature(subscriptions.OperatorSecret(meteringSecret, operatorOrg), []byte(body), now.Add(-10*time.Minute))
	wantProblem(t, m.do("POST", "/v1/usage-batches", op, body, "X-Datavenue-Signature", stale), 401, "signature_expired")
	wantProblem(t, m.do("POST", "/v1/usage-batches", m.as(datavenue.RoleBuyer, buyerOrg), body), 403, "role_not_allowed")
	wantProblem(t, m.reportUsage(operatorOrg), 422, "invalid_batch")
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_records`).Scan(&n)
	if n != 4 {
		t.Fatalf("%d records after the refused batches, want 4", n)
	}
}

// otherOperator registers an unrelated operator organisation.
func otherOperator(t *testing.T, m *market) datavenue.OrgID {
	t.Helper()
	r := m.do("POST", "/v1/organisations", m.as(datavenue.RoleDataBureau, bureauOrg),
		map[string]any{"uscc": uscc(t, 950), "name": "另一运营机构", "kind": "operator"})
	mustStatus(t, r, 201)
	var o struct {
		ID datavenue.OrgID `json:"id"`
	}
	json.Unmarshal(r.body, &o)
	return o.ID
}

// TestCancellationAndSuspensionStopDelivery: use before a cancellation or a suspension counts,
// use after it is refused with the reason; a revoked authorisation says so; cancelling twice
// changes nothing the second time.
func TestCancellationAndSuspensionStopDelivery(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	sub := m.negotiatedSubscription()
	before := time.Now()
	buyer, op := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)

	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/suspend", op, map[string]any{"reason": "网关维护"}), 200)
	after := time.Now()
	res := decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("a-1", sub, "1", before), usage("a-2", sub, "1", after)))
	if res.Records[0].Status != subscriptions.Accepted || res.Records[1].Reason != subscriptions.ReasonSuspended {
		t.Fatalf("around a suspension: %+v", res.Records)
	}
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/reinstate", op, map[string]any{"reason": "维护完毕"}), 200)
	if res := decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("a-3", sub, "1", time.Now()))); res.Accepted != 1 {
		t.Fatalf("after reinstatement: %+v", res.Records)
	}
	// The data bureau revokes the scenario authorisation: the product is suspended for it.
	mustStatus(t, m.do("POST", "/v1/authorisations/"+m.grant.ID+"/revoke", m.as(datavenue.RoleDataBureau, bureauOrg), map[string]any{"reason": "违规"}), 200)
	m.dispatch()
	res = decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("a-4", sub, "1", time.Now())))
	if res.Records[0].Reason != subscriptions.ReasonRevoked {
		t.Fatalf("after the revocation: %+v", res.Records)
	}

	path := "/v1/subscriptions/" + sub.ID + "/cancel"
	wantProblem(t, m.do("POST", path, m.as(datavenue.RoleBuyer, otherOrg), map[string]any{"reason": "x"}), 404, "subscription_not_found")
	wantProblem(t, m.do("POST", path, buyer, map[string]any{"reason": ""}), 422, "invalid_reason")
	r := m.do("POST", path, buyer, map[string]any{"reason": "不再需要"}, "Idempotency-Key", "cancel-1")
	mustStatus(t, r, 200)
	c := decode[subscriptions.Subscription](t, r)
	if c.Status != subscriptions.StatusCancelled || c.CancelledBy != subscriptions.ByBuyer || c.CancelledAt == nil {
		t.Fatalf("cancelled = %+v", c)
	}
	again := decode[subscriptions.Subscription](t, m.do("POST", path, op, map[string]any{"reason": "再次"}))
	if again.CancelledBy != subscriptions.ByBuyer || !again.CancelledAt.Equal(*c.CancelledAt) {
		t.Fatalf("cancelled again = %+v", again)
	}
	var audited int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'subscription.cancelled' AND resource_id = $1`, sub.ID).Scan(&audited)
	var announced int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE type = 'subscription.cancelled' AND resource_id = $1`, sub.ID).Scan(&announced)
	if audited != 1 || announced != 1 {
		t.Fatalf("cancellation audited %d times, announced %d times (the gateway's webhook)", audited, announced)
	}
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/reinstate", m.as(datavenue.RoleDataBureau, bureauOrg), map[string]any{"reason": "x"}), 422)
	res = decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("a-5", sub, "1", c.CancelledAt.Add(-time.Millisecond)),
		usage("a-6", sub, "1", c.CancelledAt.Add(time.Millisecond))))
	// Before the cancellation the product was already suspended (revoked); after it, cancelled.
	if res.Records[0].Reason != subscriptions.ReasonRevoked || res.Records[1].Reason != subscriptions.ReasonCancelled {
		t.Fatalf("around the cancellation: %+v", res.Records)
	}
}

// TestLateRecordsWithinAndAfterTheGraceWindow: the service at later instants over the real
// store: a record of the previous period counts in it up to three days after the period's last
// day (China Standard Time), and is refused period_closed from the fourth.
func TestLateRecordsWithinAndAfterTheGraceWindow(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.winSubscription() // from an auction win, whose trade the engine's advanced clock dates
	first := sub.PeriodAt(sub.StartsOn)
	usedAt := sub.StartedAt.Add(time.Minute)
	operator := datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator}
	ctx := datavenue.WithCaller(context.Background(), operator)
	at := func(day civil.Date) subscriptions.Service {
		return subscriptions.Service{Store: m.db.Subscriptions(), Clock: fixedClock{day.Start().Add(23 * time.Hour)}}
	}
	rec := func(id string, when time.Time) subscriptions.RecordInput {
		return subscriptions.RecordInput{RecordID: id, SubscriptionID: sub.ID, Unit: "per_call", Quantity: "5", UsedAt: when.Format(time.RFC3339Nano)}
	}
	lastGraceDay := first.End.AddDays(subscriptions.GraceDays)
	res, err := at(lastGraceDay).Ingest(ctx, operator, subscriptions.BatchInput{Records: []subscriptions.RecordInput{rec("late-1", usedAt)}})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("on the last day of grace: %+v, %v", res, err)
	}
	second := first.End.AddDays(1).Start().Add(time.Hour)
	res, err = at(lastGraceDay.AddDays(1)).Ingest(ctx, operator, subscriptions.BatchInput{Records: []subscriptions.RecordInput{
		rec("late-2", usedAt), rec("late-1", usedAt), rec("next-1", second)}})
	if err != nil || fmt.Sprint(res.Records) != "[{late-2 refused period_closed} {late-1 duplicate } {next-1 accepted }]" {
		t.Fatalf("the day after the grace: %+v, %v", res.Records, err)
	}
	var periods []time.Time
	rows, _ := m.db.Pool.Query(ctx, `SELECT period_start FROM usage_records WHERE subscription_id = $1 ORDER BY record_id`, sub.ID)
	for rows.Next() {
		var p time.Time
		rows.Scan(&p)
		periods = append(periods, p)
	}
	if len(periods) != 2 || civil.FromTime(periods[0]) != first.Start || civil.FromTime(periods[1]) != first.End.AddDays(1) {
		t.Fatalf("periods of late-1 and next-1: %v (first period %+v)", periods, first)
	}
	// After the term (three months, no renewal) the subscription has expired.
	end := sub.TermEnd(sub.StartsOn)
	res, _ = at(end.AddDays(1)).Ingest(ctx, operator, subscriptions.BatchInput{Records: []subscriptions.RecordInput{rec("exp-1", end.AddDays(1).Start().Add(time.Hour))}})
	if res.Records[0].Reason != subscriptions.ReasonExpired {
		t.Fatalf("after the term: %+v", res.Records)
	}
	if s, _ := (subscriptions.Service{Store: m.db.Subscriptions(), Clock: fixedClock{end.AddDays(1).Start()}}).Get(ctx, operator, sub.ID); s.Status != subscriptions.StatusExpired {
		t.Fatalf("status after the term: %s", s.Status)
	}
}

// TestFreeUseQuota: a public-welfare product sold as a service has a quota of units per period
// instead of a price; a record over it is refused quota_exceeded; one free subscription per buyer.
func TestFreeUseQuota(t *testing.T) {
	m := newMarket(t, nil)
	const welfare = "公交客流公益分析"
	grant := grantBody(m.asset.ID, welfare)
	grant["purpose"] = "public_welfare"
	mustStatus(t, m.do("POST", "/v1/authorisations", m.as(datavenue.RoleDataBureau, bureauOrg), grant), 201)
	p := m.createProduct(func(p map[string]any) {
		p["scenario"], p["use_category"] = welfare, "public_welfare"
		p["pricing"] = map[string]any{"method": "free", "charging_unit": "per_call",
			"subscription": map[string]any{"billing_period": "monthly", "term_periods": 12, "renewal": true, "quota": "100"}}
	})
	mustStatus(t, m.publish(p.ID), 200)
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	o := decode[settlement.Order](t, m.do("POST", "/v1/products/"+p.ID+"/free-orders", buyer, nil, "Idempotency-Key", "free-sub-1"))
	if o.Status != settlement.OrderPaid || o.Price.String() != "0.00" {
		t.Fatalf("free order = %+v", o)
	}
	subs := decode[api.Page[subscriptions.Subscription]](t, m.do("GET", "/v1/subscriptions", buyer, nil))
	if len(subs.Data) != 1 || !subs.Data[0].Free || subs.Data[0].Quota.String() != "100" || subs.Data[0].UnitPrice.String() != "0.00" || !subs.Data[0].Renewal {
		t.Fatalf("free subscriptions = %+v", subs.Data)
	}
	sub, now := subs.Data[0], time.Now()
	res := decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("f-1", sub, "60", now), usage("f-2", sub, "40", now), usage("f-3", sub, "0.5", now)))
	if res.Accepted != 2 || res.Records[2].Reason != subscriptions.ReasonQuotaExceeded {
		t.Fatalf("quota of 100: %+v", res.Records)
	}
	// The duplicate of an accepted record is not counted against the quota again.
	if res := decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("f-1", sub, "60", now))); res.Duplicate != 1 {
		t.Fatalf("duplicate: %+v", res.Records)
	}
	wantProblem(t, m.do("POST", "/v1/products/"+p.ID+"/free-orders", buyer, nil, "Idempotency-Key", "free-sub-2"), 409, "free_subscription_exists")
	// A free plan takes no price: a fixed fee on it is refused.
	r := m.do("POST", "/v1/products", m.as(datavenue.RoleOperator, operatorOrg), m.product(func(p map[string]any) {
		p["scenario"], p["use_category"] = welfare, "public_welfare"
		p["pricing"] = map[string]any{"method": "free", "charging_unit": "per_call",
			"subscription": map[string]any{"billing_period": "monthly", "term_periods": 1, "quota": "1", "fixed_fee": "1.00"}}
	}))
	wantProblem(t, r, 422, "validation_failed")
}

// TestRacingDuplicateIsCountedOnce: a record id stored by a concurrent batch between this batch's
// reading of the ids and its COPY (made deterministic here: the judge stores it from another
// connection) fails the COPY on the key; the batch is judged again and answers it duplicate.
func TestRacingDuplicateIsCountedOnce(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.negotiatedSubscription()
	ctx := datavenue.WithCaller(context.Background(), datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator})
	now := time.Now()
	recs := []subscriptions.RecordInput{
		{RecordID: "race-1", SubscriptionID: sub.ID, Unit: "per_call", Quantity: "1", UsedAt: now.Format(time.RFC3339Nano)},
		{RecordID: "race-2", SubscriptionID: sub.ID, Unit: "per_call", Quantity: "2", UsedAt: now.Format(time.RFC3339Nano)},
	}
	judged := 0
	res, err := m.db.Subscriptions().IngestUsage(ctx, operatorOrg, recs, func(st map[string]*subscriptions.Standing, seen map[string]bool) subscriptions.Judgement {
		judged++
		if judged == 1 { // the other batch commits race-1 now
			if _, err := m.db.Pool.Exec(context.Background(), `INSERT INTO usage_records (operator_id, record_id, subscription_id, unit, quantity, used_at, period_start)
				VALUES ($1, 'race-1', $2, 'per_call', 1, now(), $3)`, string(operatorOrg), sub.ID, sub.StartsOn.Time()); err != nil {
				t.Error(err)
			}
		}
		return subscriptions.Judge(operatorOrg, recs, st, seen, now)
	})
	if err != nil || judged != 2 || fmt.Sprint(res.Records) != "[{race-1 duplicate } {race-2 accepted }]" {
		t.Fatalf("racing batch: %+v, %v, judged %d times", res, err, judged)
	}
	var n int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_records WHERE subscription_id = $1`, sub.ID).Scan(&n)
	if n != 2 {
		t.Fatalf("%d records stored, want 2", n)
	}
}

// TestSubscriptionBilledOverThreePeriods: a subscription runs through its three monthly periods
// (a retried batch, a late record within the grace, a period over the plan's maximum, one with no
// use); once each period's grace has passed the biller makes one bill per period, each above 0.00
// an order through the ordinary settlement path whose payment is instalment income (G6), and
// running it again makes nothing more.
func TestSubscriptionBilledOverThreePeriods(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.negotiatedSubscription()
	mustStatus(t, m.do("PUT", "/v1/products/"+sub.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)
	operator := datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator}
	ctx := datavenue.WithCaller(context.Background(), operator)
	at := func(day civil.Date) fixedClock { return fixedClock{day.Start().Add(20 * time.Hour)} }
	ingest := func(day civil.Date, recs ...subscriptions.RecordInput) subscriptions.BatchResult {
		t.Helper()
		res, err := subscriptions.Service{Store: m.db.Subscriptions(), Clock: at(day)}.Ingest(ctx, operator, subscriptions.BatchInput{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	rec := func(id, qty string, day civil.Date) subscriptions.RecordInput {
		return subscriptions.RecordInput{RecordID: id, SubscriptionID: sub.ID, Unit: "per_call", Quantity: qty, UsedAt: day.Start().Add(12 * time.Hour).Format(time.RFC3339)}
	}
	p0 := sub.PeriodAt(sub.StartsOn)
	p1 := sub.PeriodAt(p0.End.AddDays(1))
	if p2 := sub.PeriodAt(p1.End.AddDays(1)); p2.End != sub.TermEnd(sub.StartsOn) {
		t.Fatalf("the third period %+v is not the term's last", p2)
	}
	// Period 0: 1,000 calls (sent twice: counted once) → 300.00 + 600.00.
	batch := []subscriptions.RecordInput{rec("p0-a", "600", p0.Start), rec("p0-b", "400", p0.Start)}
	ingest(p0.End, batch...)
	if res := ingest(p0.End, batch...); res.Duplicate != 2 {
		t.Fatalf("retried batch: %+v", res)
	}
	// Period 1: 5,000 calls, 1,000 of them reported late (two days after its end) → over the maximum.
	ingest(p1.End, rec("p1-a", "4000", p1.Start))
	if res := ingest(p1.End.AddDays(2), rec("p1-late", "1000", p1.End)); res.Accepted != 1 {
		t.Fatalf("late record within the grace: %+v", res.Records)
	}
	biller := func(day civil.Date) int {
		t.Helper()
		n, err := subscriptions.Biller{Store: m.db.Subscriptions(), Clock: at(day)}.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := biller(p0.End.AddDays(subscriptions.GraceDays)); n != 0 {
		t.Fatalf("billed %d during the grace window", n)
	}
	if n, again := biller(p0.End.AddDays(subscriptions.GraceDays+1)), biller(p0.End.AddDays(subscriptions.GraceDays+1)); n != 1 || again != 0 {
		t.Fatalf("after period 0: %d bills, then %d", n, again)
	}
	end := sub.TermEnd(sub.StartsOn)
	if n := biller(end.AddDays(40)); n != 2 {
		t.Fatalf("after the term: %d bills, want periods 1 and 2", n)
	}
	if n := biller(end.AddDays(80)); n != 0 {
		t.Fatalf("an expired subscription billed again: %d", n)
	}
	rows, _ := m.db.Pool.Query(ctx, `SELECT b.period_index, b.units::text, b.total::text, array_to_string(b.capped_by, ','), o.price::text, o.income_kind, o.status
		FROM subscription_bills b JOIN settlement_orders o ON o.id = b.order_id WHERE b.subscription_id = $1 ORDER BY b.period_index`, sub.ID)
	var got []string
	for rows.Next() {
		var i int
		var units, total, capped, price, kind, status string
		rows.Scan(&i, &units, &total, &capped, &price, &kind, &status)
		got = append(got, fmt.Sprintf("%d:%s:%s:%s:%s:%s:%s", i, units, total, capped, price, kind, status))
	}
	want := "0:1000.000000:900.00::900.00:instalment:awaiting_payment 1:5000.000000:2000.00:plan_maximum:2000.00:instalment:awaiting_payment " +
		"2:0.000000:300.00::300.00:instalment:awaiting_payment"
	if strings.Join(got, " ") != want {
		t.Fatalf("bills:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// The first bill's order is paid like any order: split, and the government unit's share is
	// instalment income, filed after the quarter's end.
	var orderID string
	m.db.Pool.QueryRow(ctx, `SELECT order_id FROM subscription_bills WHERE subscription_id = $1 AND period_index = 0`, sub.ID).Scan(&orderID)
	r := m.do("POST", "/v1/orders/"+orderID+"/payment", m.as(datavenue.RoleClerk, venueOrg), map[string]any{"reference": "bill-0"})
	mustStatus(t, r, 200)
	o := decode[settlement.Order](t, r)
	if o.Status != settlement.OrderPaid || o.IncomeKind != settlement.IncomeInstalment || len(o.Shares) == 0 || len(o.Obligations) == 0 {
		t.Fatalf("paid bill = %+v", o)
	}
	for _, ob := range o.Obligations {
		if ob.IncomeKind != settlement.IncomeInstalment {
			t.Errorf("obligation %s: income kind %s", ob.Kind, ob.IncomeKind)
		}
	}
	m.checkInvariants()
}

// TestUseDuringAPastSuspensionRefusedAfterReinstatement: the suspension history is kept, so a
// late record (within the grace window) dated inside a suspension is refused with the reason
// after the product is back on the market, while use before it and after the reinstatement
// counts; the spans are in PostgreSQL, one per suspension, and a delisting closes the last.
func TestUseDuringAPastSuspensionRefusedAfterReinstatement(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	sub := m.negotiatedSubscription()
	op, bureau := m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleDataBureau, bureauOrg)
	before := time.Now()
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/suspend", op, map[string]any{"reason": "网关维护"}), 200)
	during := time.Now()
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/reinstate", op, map[string]any{"reason": "维护完毕"}), 200)
	// A second suspension, by the bureau, lifted by the bureau.
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/suspend", bureau, map[string]any{"reason": "检查"}), 200)
	during2 := time.Now()
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/reinstate", bureau, map[string]any{"reason": "检查完毕"}), 200)
	after := time.Now()

	res := decode[subscriptions.BatchResult](t, m.reportUsage(operatorOrg, usage("p-1", sub, "1", before), usage("p-2", sub, "1", during),
		usage("p-3", sub, "1", during2), usage("p-4", sub, "1", after)))
	var got []string
	for _, v := range res.Records {
		got = append(got, v.RecordID+":"+v.Status+":"+v.Reason)
	}
	if want := "p-1:accepted: p-2:refused:product_suspended p-3:refused:product_suspended p-4:accepted:"; strings.Join(got, " ") != want {
		t.Fatalf("reported after the reinstatements:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// Delisting a suspended product closes its span; the table keeps all three.
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/suspend", op, map[string]any{"reason": "停止"}), 200)
	mustStatus(t, m.do("POST", "/v1/products/"+sub.ProductID+"/delist", op, map[string]any{"reason": "下架"}), 200)
	var spans, open int
	m.db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE lifted_at IS NULL) FROM product_suspensions WHERE product_id = $1`, sub.ProductID).Scan(&spans, &open)
	if spans != 3 || open != 0 {
		t.Fatalf("suspension spans %d (open %d), want 3 closed", spans, open)
	}
	// The history cannot disagree with the product: a suspended status with no open span, or a
	// second open span, does not commit.
	if _, err := m.db.Pool.Exec(ctx, `UPDATE products SET status = 'suspended', suspension = '{"by":"operator","reason":"x"}' WHERE id = $1`, sub.ProductID); err == nil ||
		!strings.Contains(err.Error(), "0 open suspension intervals") {
		t.Fatalf("a suspension without its span: %v", err)
	}
}

// A suspension committing while a batch runs is never half seen: the batch takes its products'
// locks first, so here, with the suspension's transaction holding the product, the batch waits for
// it and then refuses the record dated after the suspension (unlocked, it read the product as it
// was before and accepted the record).
func TestBatchWaitsForASuspensionInFlight(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	sub := m.negotiatedSubscription()
	tx, err := m.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	suspendedAt := time.Now().Add(-time.Second)
	if _, err := tx.Exec(ctx, `UPDATE products SET status = 'suspended',
		suspension = jsonb_build_object('by', 'operator', 'reason', '网关故障', 'at', $2::timestamptz) WHERE id = $1`, sub.ProductID, suspendedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO product_suspensions (product_id, suspended_at, by_whom, reason) VALUES ($1, $2, 'operator', '网关故障')`,
		sub.ProductID, suspendedAt); err != nil {
		t.Fatal(err)
	}
	answered := make(chan response, 1)
	go func() { answered <- m.reportUsage(operatorOrg, usage("race-1", sub, "1", time.Now())) }()
	// The batch is seen waiting for the product's lock (observed in pg_stat_activity, not timed).
	deadline := time.Now().Add(30 * time.Second)
	for waiting := false; !waiting; {
		if err := m.db.Pool.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%FOR SHARE OF p%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-answered:
			t.Fatalf("the batch answered without waiting for the suspension in flight: %d %s", r.status, r.body)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the product's lock")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-answered
	mustStatus(t, r, 200)
	res := decode[subscriptions.BatchResult](t, r)
	if len(res.Records) != 1 || res.Records[0].Status != "refused" || res.Records[0].Reason != "product_suspended" {
		t.Fatalf("the record used after the suspension: %+v, want refused product_suspended", res.Records)
	}
}
