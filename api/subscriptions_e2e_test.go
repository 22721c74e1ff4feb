package api_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/workdays"
)

// TestSubscriptionFromAnAuctionWinThroughThreePeriods is issue 15's "done when" in one test: an
// English auction for a per-call product with a monthly plan of three periods (300.00 a month
// plus 0.60 a call, at most 2,000.00) is won, which makes the subscription; over its three periods
// a batch retried after a timeout counts once, a late record within the grace window counts in its
// own period, a record used while the product is suspended is refused with the reason (use before
// the suspension and after the reinstatement counts), and one period goes over the plan's maximum;
// after each period's grace the biller makes one bill, whose order is paid by a clerk as
// instalment income, split, with the government unit's obligations due 10 working days after the
// quarter's end, delivered and confirmed; its voucher lists the period's usage and verifies, and
// so does the chain of the three.
//
// The API answers on the system clock; the gateway's batches, the suspension and the biller run
// on fixed clocks inside the periods (the services the handlers and the sweep call), as the other
// billing tests do, so each step happens on the day it is about without waiting for it.
func TestSubscriptionFromAnAuctionWinThroughThreePeriods(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.winSubscription() // the English auction, won at 0.60 per call, projected twice
	if sub.UnitPrice.String() != "0.60" || sub.FixedFee.String() != "300.00" || sub.PlanMaximum == nil || sub.PlanMaximum.String() != "2000.00" ||
		sub.BillingPeriod != "monthly" || sub.TermPeriods != 3 || sub.Renewal || sub.Status != subscriptions.StatusActive ||
		sub.BuyerID != buyerOrg || sub.SellerID != operatorOrg {
		t.Fatalf("subscription from the win = %+v", sub)
	}
	operator := datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator}
	ctx := datavenue.WithCaller(context.Background(), operator)
	var source string
	if err := m.db.Pool.QueryRow(ctx, `SELECT source FROM trades WHERE id = $1`, sub.TradeID).Scan(&source); err != nil || source != "auction" {
		t.Fatalf("the subscription's trade: source %q, %v", source, err)
	}
	// The bills' orders are split by the agreement in force when they are made: half to the
	// holder (a municipal government unit: due to its treasury), half to the operator.
	mustStatus(t, m.do("PUT", "/v1/products/"+sub.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)

	p0 := sub.PeriodAt(sub.StartsOn)
	p1 := sub.PeriodAt(p0.End.AddDays(1))
	p2 := sub.PeriodAt(p1.End.AddDays(1))
	if p0.Index != 0 || p1.Index != 1 || p2.Index != 2 || p2.End != sub.TermEnd(sub.StartsOn) || p2.End != sub.EndsOn {
		t.Fatalf("periods %+v %+v %+v, term ends %s", p0, p1, p2, sub.EndsOn)
	}
	// Instants inside a day, China Standard Time.
	at := func(d civil.Date, h, minute int) time.Time {
		return d.Start().Add(time.Duration(h)*time.Hour + time.Duration(minute)*time.Minute)
	}
	rec := func(id, qty string, used time.Time) subscriptions.RecordInput {
		return subscriptions.RecordInput{RecordID: id, SubscriptionID: sub.ID, Unit: "per_call", Quantity: qty, UsedAt: used.Format(time.RFC3339)}
	}
	// ingest is the gateway's batch as the venue judges it at the instant now; it answers the
	// verdicts as "id:status:reason".
	ingest := func(now time.Time, recs ...subscriptions.RecordInput) string {
		t.Helper()
		res, err := subscriptions.Service{Store: m.db.Subscriptions(), Clock: fixedClock{now}}.Ingest(ctx, operator, subscriptions.BatchInput{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range res.Records {
			got = append(got, v.RecordID+":"+v.Status+":"+v.Reason)
		}
		if n := res.Accepted + res.Duplicate + res.Refused; n != len(recs) {
			t.Fatalf("%d verdicts counted for %d records: %+v", n, len(recs), res)
		}
		return strings.Join(got, " ")
	}
	want := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("verdicts:\n got %s\nwant %s", got, want)
		}
	}
	// bill runs the biller on a day (the sweep's, in the evening) and answers how many bills it made.
	bill := func(day civil.Date) int {
		t.Helper()
		n, err := subscriptions.Biller{Store: m.db.Subscriptions(), Clock: fixedClock{at(day, 20, 0)}}.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lastGrace := func(p subscriptions.Period) civil.Date { return p.End.AddDays(subscriptions.GraceDays) }

	// Period 0: a batch of 1,000.258 calls, sent again after a timeout (its answer was lost):
	// counted once. 1,000.258 × 0.60 = 600.1548 → 600.15 (to the fen), + 300.00 = 900.15.
	batch := []subscriptions.RecordInput{rec("p0-a", "600", at(p0.Start, 12, 0)), rec("p0-b", "400.258", at(p0.End, 9, 0))}
	want(ingest(at(p0.End, 10, 0), batch...), "p0-a:accepted: p0-b:accepted:")
	want(ingest(at(p0.End, 10, 1), batch...), "p0-a:duplicate: p0-b:duplicate:")
	if n := bill(lastGrace(p0)); n != 0 {
		t.Fatalf("billed %d on the last day of period 0's grace", n)
	}
	if n, again := bill(lastGrace(p0).AddDays(1)), bill(lastGrace(p0).AddDays(1)); n != 1 || again != 0 {
		t.Fatalf("after period 0's grace: %d bills, then %d", n, again)
	}
	// Its bill is made: a record of it reported now is refused, the period is closed.
	want(ingest(at(lastGrace(p0).AddDays(1), 21, 0), rec("p0-too-late", "5", at(p0.End, 18, 0))), "p0-too-late:refused:period_closed")

	// Period 1: on its third day the operator suspends the product at 10:00 and reinstates it at
	// 21:00. Use at 09:00 counts; use at 11:00 (reported while suspended) is refused with the
	// reason; use the next day counts; 50 calls of its last evening reported on the last day of
	// grace count in it, and use of period 2's first day in the same batch counts in period 2.
	// 1,000 + 200 + 50 = 1,250 calls: 750.00 + 300.00 = 1,050.00.
	day := p1.Start.AddDays(2)
	products := func(now time.Time) listing.Service {
		return listing.Service{Store: m.db.Listing(), Clock: fixedClock{now}}
	}
	suspended, err := products(at(day, 10, 0)).Suspend(ctx, operator, sub.ProductID, listing.SuspendInput{Reason: "网关维护"})
	if err != nil || suspended.Status != listing.StatusSuspended || !suspended.Suspension.At.Equal(at(day, 10, 0)) {
		t.Fatalf("suspended: %+v, %v", suspended.Suspension, err)
	}
	want(ingest(at(day, 20, 0), rec("p1-a", "1000", at(day, 9, 0)), rec("p1-s", "500", at(day, 11, 0))),
		"p1-a:accepted: p1-s:refused:product_suspended")
	var announced int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE type = 'product.suspended' AND resource_id = $1`, sub.ProductID).Scan(&announced)
	if announced != 1 {
		t.Fatalf("the suspension announced %d times to the gateway (product.suspended)", announced)
	}
	if p, err := products(at(day, 21, 0)).Reinstate(ctx, operator, sub.ProductID); err != nil || p.Status != listing.StatusPublished {
		t.Fatalf("reinstated: %s, %#v", p.Status, err)
	}
	want(ingest(at(day.AddDays(1), 20, 0), rec("p1-b", "200", at(day.AddDays(1), 12, 0))), "p1-b:accepted:")
	want(ingest(at(lastGrace(p1), 18, 0), rec("p1-late", "50", at(p1.End, 23, 30)), rec("p2-a", "2000", at(p2.Start, 12, 0))),
		"p1-late:accepted: p2-a:accepted:")
	if n := bill(lastGrace(p1)); n != 0 {
		t.Fatalf("billed %d on the last day of period 1's grace", n)
	}
	if n := bill(lastGrace(p1).AddDays(1)); n != 1 {
		t.Fatalf("after period 1's grace: %d bills", n)
	}

	// Period 2, the term's last: 2,000 + 1,500 = 3,500 calls, 2,100.00 + 300.00 = 2,400.00, over
	// the plan's maximum: billed 2,000.00. After the term nothing more is billed.
	want(ingest(at(p2.End, 20, 0), rec("p2-b", "1500", at(p2.End, 12, 0))), "p2-b:accepted:")
	if n := bill(lastGrace(p2).AddDays(1)); n != 1 {
		t.Fatalf("after period 2's grace: %d bills", n)
	}
	if n := bill(p2.End.AddDays(60)); n != 0 {
		t.Fatalf("the expired subscription billed again: %d", n)
	}

	// Each bill settles through the ordinary path. Expected figures per period: the price, the
	// holder's and the operator's shares (largest remainder: the odd fen goes to the first
	// listed), and the usage block the voucher must carry.
	usageOf := func(p subscriptions.Period, units, metered string, capped []string, ids ...string) *settlement.UsageCovered {
		return &settlement.UsageCovered{SubscriptionID: sub.ID, PeriodIndex: p.Index, PeriodStart: p.Start.String(), PeriodEnd: p.End.String(),
			Units: []settlement.UnitsUsed{{Unit: "per_call", Quantity: units}}, UnitPrice: "0.60", FixedFee: "300.00", Metered: metered,
			PlanMaximum: "2000.00", CappedBy: capped, Records: int64(len(ids)), RecordsDigest: subscriptions.RecordsDigest(ids)}
	}
	periods := []struct {
		price, holder, op string
		usage             *settlement.UsageCovered
	}{
		{"900.15", "450.08", "450.07", usageOf(p0, "1000.258000", "600.15", nil, "p0-a", "p0-b")},
		{"1050.00", "525.00", "525.00", usageOf(p1, "1250.000000", "750.00", nil, "p1-a", "p1-b", "p1-late")},
		{"2000.00", "1000.00", "1000.00", usageOf(p2, "3500.000000", "2100.00", []string{"plan_maximum"}, "p2-a", "p2-b")},
	}
	cal := mustCalendar(t)
	clerk, buyer, seller := m.as(datavenue.RoleClerk, venueOrg), m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	for i, w := range periods {
		var orderID string
		if err := m.db.Pool.QueryRow(ctx, `SELECT order_id FROM subscription_bills WHERE subscription_id = $1 AND period_index = $2`, sub.ID, i).Scan(&orderID); err != nil {
			t.Fatalf("period %d's bill: %v", i, err)
		}
		r := m.do("POST", "/v1/orders/"+orderID+"/payment", clerk, map[string]any{"reference": fmt.Sprintf("bill-%d", i)})
		mustStatus(t, r, 200)
		o := decode[settlement.Order](t, r)
		if o.Status != settlement.OrderPaid || o.Price.String() != w.price || o.AmountDue.String() != w.price || o.IncomeKind != settlement.IncomeInstalment ||
			o.ReceivedOn == nil || o.ReceivedOn.Before(o.TradedOn) {
			t.Fatalf("period %d's order paid: %+v", i, o)
		}
		var shares []string
		for _, sh := range o.Shares {
			shares = append(shares, fmt.Sprintf("%s:%s:%s:%s", sh.Party, sh.Role, sh.Amount, sh.Account))
		}
		wantShares := fmt.Sprintf("%s:holder:%s:%s %s:operator:%s:%s", govHolder, w.holder, settlement.AccountID(settlement.DueToTreasury, govHolder),
			operatorOrg, w.op, settlement.AccountID(settlement.Payable, operatorOrg))
		if strings.Join(shares, " ") != wantShares {
			t.Fatalf("period %d's shares:\n got %s\nwant %s", i, strings.Join(shares, " "), wantShares)
		}
		// G6, instalment income: the government unit remits and files within 10 working days after
		// the end of the quarter the money was received in (the official calendar's working days).
		event := workdays.QuarterEnd(*o.ReceivedOn)
		due, pending, err := settlement.Deadline(cal, event)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Obligations) != 2 {
			t.Fatalf("period %d's obligations: %+v", i, o.Obligations)
		}
		for _, ob := range o.Obligations {
			counterpart := map[string]string{"treasury_remittance": "市级国库", "finance_filing": "市级财政部门"}[ob.Kind]
			if counterpart == "" || ob.Counterpart != counterpart || ob.Party != govHolder || ob.Amount.String() != w.holder || ob.Remaining.String() != w.holder ||
				ob.IncomeKind != settlement.IncomeInstalment || ob.EventDate != event || ob.Status != settlement.ObligationDue ||
				!reflect.DeepEqual(ob.DueDate, due) || ob.DuePending != pending {
				t.Fatalf("period %d's obligation %+v (due %v); want event %s, due %v %q", i, ob, ob.DueDate, event, due, pending)
			}
		}
		mustStatus(t, m.do("POST", "/v1/orders/"+orderID+"/delivery", seller, map[string]any{"method": "api", "credential": fmt.Sprintf("cred-%d", i)}), 200)
		r = m.do("POST", "/v1/orders/"+orderID+"/confirm", buyer, nil)
		mustStatus(t, r, 201)
		v := decode[settlement.Voucher](t, r)
		content, err := settlement.VerifyVoucher(string(m.do("GET", "/v1/vouchers/"+v.ID+"/document", buyer, nil).body), m.keys)
		if err != nil {
			t.Fatalf("period %d's voucher: %v", i, err)
		}
		if !reflect.DeepEqual(content.Usage, w.usage) || content.Price != w.price || content.OrderID != orderID || content.Seq != int64(i+1) ||
			content.Delivery.Credential != fmt.Sprintf("cred-%d", i) || content.Buyer != string(buyerOrg) || content.Seller != string(operatorOrg) {
			t.Fatalf("period %d's voucher:\n got %+v\nwant usage %+v, price %s, order %s", i, content, w.usage, w.price, orderID)
		}
		if status := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+orderID, buyer, nil)).Status; status != settlement.OrderConfirmed {
			t.Fatalf("period %d's order is %s after the confirmation", i, status)
		}
	}
	log, err := m.db.Settlement().VoucherLog(ctx)
	if err != nil || len(log) != 3 || settlement.VerifyChain(log, m.keys) != nil {
		t.Fatalf("the voucher chain (%d entries) does not verify: %v", len(log), err)
	}
	// Refused and duplicate records were never stored: the usage table holds exactly what was billed.
	var stored int
	var units string
	m.db.Pool.QueryRow(ctx, `SELECT count(*), sum(quantity)::text FROM usage_records WHERE subscription_id = $1`, sub.ID).Scan(&stored, &units)
	if stored != 7 || units != "5750.258000" {
		t.Fatalf("stored %d records, %s units; want 7 and 5750.258", stored, units)
	}
	m.checkInvariants()
}
