package api_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/subscriptions"
)

// TestBillingThroughput is `make bench-billing` (DATAVENUE_BENCH_BILLING=1): the bills of
// 100,000 subscriptions for one period, each with a usage record, computed and recorded by the
// biller (500 subscriptions per transaction: a bill, a trade and an order each, with their audit
// records and events), against a baseline measured in the same run: 2,000 other subscriptions
// billed one transaction each. `make test` runs it short (2,000 and 200). Every subscription must
// end with exactly one bill of the expected total.
func TestBillingThroughput(t *testing.T) {
	n, base := 2000, 200
	if os.Getenv("DATAVENUE_BENCH_BILLING") != "" {
		n, base = 100_000, 2000
	}
	m := newMarket(t, nil)
	sub := m.negotiatedSubscription()
	mustStatus(t, m.do("PUT", "/v1/products/"+sub.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	p0 := sub.PeriodAt(sub.StartsOn)
	clock := fixedClock{p0.End.AddDays(subscriptions.GraceDays + 1).Start().Add(9 * time.Hour)}
	rate := func(prefix string, count, group int) float64 {
		t.Helper()
		m.cloneSubscriptions(ctx, sub, prefix, count, p0)
		start := time.Now()
		made, err := subscriptions.Biller{Store: m.db.Subscriptions(), Clock: clock, Group: group}.Run(ctx)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if want := count; made != want && made != want+1 { // +1: the first run bills sub itself too
			t.Fatalf("%s: %d bills, want %d", prefix, made, want)
		}
		t.Logf("%s: %d bills in %v: %.0f bills/s", prefix, made, elapsed.Round(time.Millisecond), float64(made)/elapsed.Seconds())
		return float64(made) / elapsed.Seconds()
	}
	baseline := rate("B", base, 1)
	batched := rate("N", n, 0)
	t.Logf("batched/baseline = %.2f", batched/baseline)
	var bills, wrong, orders int
	m.db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE total <> 360.00 OR record_count <> 1), count(order_id) FROM subscription_bills
		WHERE subscription_id <> $1`, sub.ID).Scan(&bills, &wrong, &orders)
	if bills != n+base || wrong != 0 || orders != n+base {
		t.Fatalf("%d bills (want %d), %d of them wrong, %d orders", bills, n+base, wrong, orders)
	}
	if made, err := (subscriptions.Biller{Store: m.db.Subscriptions(), Clock: clock}).Run(ctx); err != nil || made != 0 {
		t.Fatalf("billing again made %d bills (%v)", made, err)
	}
}

// cloneSubscriptions copies sub count times (ids sub_<prefix>000…, each with its own trade) and
// gives each one usage record of 100 calls in period p: a bill of 300.00 + 100 × 0.60 = 360.00.
func (m *market) cloneSubscriptions(ctx context.Context, sub subscriptions.Subscription, prefix string, count int, p subscriptions.Period) {
	m.t.Helper()
	for i, q := range []string{
		`INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
			SELECT 'trd_' || $2 || lpad(i::text, 25, '0'), t.source, 'bench-' || $2 || i, t.product_id, t.buyer_id, t.seller_id, t.price,
				t.pricing_method, t.price_version, t.traded_at
			FROM trades t, generate_series(1, $3) i WHERE t.id = (SELECT trade_id FROM subscriptions WHERE id = $1)`,
		`INSERT INTO subscriptions (id, trade_id, product_id, buyer_id, seller_id, charging_unit, unit_price, fixed_fee, plan_maximum, quota,
				billing_period, term_periods, renewal, starts_on, started_at)
			SELECT 'sub_' || $2 || lpad(i::text, 25, '0'), 'trd_' || $2 || lpad(i::text, 25, '0'), product_id, buyer_id, seller_id, charging_unit,
				unit_price, fixed_fee, plan_maximum, quota, billing_period, term_periods, renewal, starts_on, started_at
			FROM subscriptions, generate_series(1, $3) i WHERE id = $1`,
		`INSERT INTO usage_records (operator_id, record_id, subscription_id, unit, quantity, used_at, period_start)
			SELECT seller_id, 'bench-' || $2 || i, 'sub_' || $2 || lpad(i::text, 25, '0'), charging_unit, 100, $4, $5
			FROM subscriptions, generate_series(1, $3) i WHERE id = $1`,
	} {
		args := []any{sub.ID, prefix, count, p.Start.Start().Add(12 * time.Hour), p.Start.Time()}
		if i < 2 {
			args = args[:3]
		}
		if _, err := m.db.Pool.Exec(ctx, q, args...); err != nil {
			m.t.Fatal(err)
		}
	}
	if _, err := m.db.Pool.Exec(ctx, `ANALYZE subscriptions; ANALYZE usage_records; ANALYZE subscription_bills`); err != nil {
		m.t.Fatal(err)
	}
}
