package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// TestRenewalPastTheFirstTerm: two subscriptions on a term of two monthly periods starting on 31
// January (so the periods end on the clamped month ends: 27 February, 30 March, 29 April, 30 May),
// one renewing and one not. Across the term's boundary the renewing one goes on: use in its
// second term is accepted, its status is active with the second term's end, and the biller bills
// its four periods once each; the other expires: use after its term is refused
// subscription_expired and only its two periods are billed.
func TestRenewalPastTheFirstTerm(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	twoMonths := func(renewal bool) map[string]any {
		p := plan()
		p["term_periods"], p["renewal"] = 2, renewal
		return p
	}
	renewing, lapsing := m.negotiatedSubscriptionOn(twoMonths(true)), m.negotiatedSubscriptionOn(twoMonths(false))
	// The trade was made today; the test needs the start on a month's last day, so both
	// subscriptions are dated back (nothing else refers to the start).
	start := civil.MustParse("2026-01-31")
	if _, err := m.db.Pool.Exec(ctx, `UPDATE subscriptions SET starts_on = $2, started_at = $3, created_at = $3 WHERE id = ANY($1)`,
		[]string{renewing.ID, lapsing.ID}, start.Time(), start.Start().Add(9*time.Hour)); err != nil {
		t.Fatal(err)
	}
	operator := datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator}
	ctx = datavenue.WithCaller(ctx, operator)
	at := func(day civil.Date) fixedClock { return fixedClock{day.Start().Add(20 * time.Hour)} }
	ingest := func(day civil.Date, recs ...subscriptions.RecordInput) []string {
		t.Helper()
		res, err := subscriptions.Service{Store: m.db.Subscriptions(), Clock: at(day)}.Ingest(ctx, operator, subscriptions.BatchInput{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range res.Records {
			got = append(got, v.RecordID+":"+v.Status+":"+v.Reason)
		}
		return got
	}
	rec := func(id string, sub subscriptions.Subscription, qty string, day civil.Date) subscriptions.RecordInput {
		return subscriptions.RecordInput{RecordID: id, SubscriptionID: sub.ID, Unit: "per_call", Quantity: qty, UsedAt: day.Start().Add(12 * time.Hour).Format(time.RFC3339)}
	}
	day := civil.MustParse
	// Each record on a period's last day (the clamped month ends) and the first day of the next.
	type step struct{ day, first civil.Date }
	steps := []step{{day("2026-02-27"), day("2026-01-31")}, {day("2026-03-30"), day("2026-02-28")},
		{day("2026-04-29"), day("2026-03-31")}, {day("2026-05-30"), day("2026-04-30")}}
	var got []string
	for i, s := range steps {
		got = append(got, ingest(s.day, rec(fmt.Sprintf("r%d-first", i), renewing, "100", s.first), rec(fmt.Sprintf("r%d-last", i), renewing, "10", s.day),
			rec(fmt.Sprintf("l%d", i), lapsing, "100", s.day))...)
	}
	want := "r0-first:accepted: r0-last:accepted: l0:accepted: r1-first:accepted: r1-last:accepted: l1:accepted: " +
		"r2-first:accepted: r2-last:accepted: l2:refused:subscription_expired r3-first:accepted: r3-last:accepted: l3:refused:subscription_expired"
	if strings.Join(got, " ") != want {
		t.Fatalf("use across the term's end:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// In the second term: the renewing one is active until the second term's last day.
	svc := subscriptions.Service{Store: m.db.Subscriptions(), Clock: at(day("2026-04-15"))}
	r, _ := svc.Get(ctx, operator, renewing.ID)
	l, _ := svc.Get(ctx, operator, lapsing.ID)
	if r.Status != subscriptions.StatusActive || r.EndsOn != day("2026-05-30") || l.Status != subscriptions.StatusExpired || l.EndsOn != day("2026-03-30") {
		t.Fatalf("in the second term: renewing %s until %s, lapsing %s until %s", r.Status, r.EndsOn, l.Status, l.EndsOn)
	}

	// The biller, run once each period's grace window has passed: the second term's periods are
	// billed like the first's; the expired subscription stops at its term.
	made := 0
	for _, s := range steps {
		n, err := subscriptions.Biller{Store: m.db.Subscriptions(), Clock: at(s.day.AddDays(subscriptions.GraceDays + 1))}.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		made += n
	}
	rows, _ := m.db.Pool.Query(ctx, `SELECT s.renewal, b.period_index, b.period_start::text, b.period_end::text, b.units::text, b.total::text
		FROM subscription_bills b JOIN subscriptions s ON s.id = b.subscription_id WHERE b.subscription_id = ANY($1)
		ORDER BY s.renewal, b.period_index`, []string{renewing.ID, lapsing.ID})
	got = nil
	for rows.Next() {
		var renewal bool
		var i int
		var first, last, units, total string
		rows.Scan(&renewal, &i, &first, &last, &units, &total)
		got = append(got, fmt.Sprintf("%v:%d:%s..%s:%s:%s", renewal, i, first, last, units, total))
	}
	want = "false:0:2026-01-31..2026-02-27:100.000000:360.00 false:1:2026-02-28..2026-03-30:100.000000:360.00 " +
		"true:0:2026-01-31..2026-02-27:110.000000:366.00 true:1:2026-02-28..2026-03-30:110.000000:366.00 " +
		"true:2:2026-03-31..2026-04-29:110.000000:366.00 true:3:2026-04-30..2026-05-30:110.000000:366.00"
	if strings.Join(got, " ") != want || made != 6 {
		t.Fatalf("bills (%d made):\n got %s\nwant %s", made, strings.Join(got, " "), want)
	}
	// Each bill's trade is dated by the biller's clock, the instant that found the period due
	// (not the database's, today), and its payment is due from that day.
	rows, _ = m.db.Pool.Query(ctx, `SELECT b.period_index, t.traded_at, o.payment_due, o.price::text FROM subscription_bills b
		JOIN settlement_orders o ON o.id = b.order_id JOIN trades t ON t.id = o.trade_id WHERE b.subscription_id = $1 ORDER BY b.period_index`, renewing.ID)
	orders := 0
	for ; rows.Next(); orders++ {
		var i int
		var traded, due time.Time
		var price string
		rows.Scan(&i, &traded, &due, &price)
		want := at(steps[i].day.AddDays(subscriptions.GraceDays + 1)).t
		if terms := settlement.TermsOf(money.MustParse(price), money.Zero, want); !traded.Equal(want) || civil.FromTime(due) != terms.PaymentDue {
			t.Errorf("bill %d traded at %s, payment due %s; want %s and %s", i, traded, civil.FromTime(due), want, terms.PaymentDue)
		}
	}
	if orders != 4 {
		t.Fatalf("%d orders for the renewing subscription's bills, want 4", orders)
	}
	// Once more, long after: nothing left to bill but the renewing one's later periods.
	n, err := subscriptions.Biller{Store: m.db.Subscriptions(), Clock: at(day("2026-06-03"))}.Run(ctx)
	if err != nil || n != 0 {
		t.Fatalf("billing again on 2026-06-03: %d, %v", n, err)
	}
}
