package subscriptions_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/subscriptions"
)

func sub(start string, period string, terms int, renewal bool) subscriptions.Subscription {
	at := civil.MustParse(start).Start().Add(9 * time.Hour)
	return subscriptions.FromTrade(subscriptions.Trade{ID: "trd_1", Buyer: "org_b", Seller: "org_s", Price: money.MustParse("0.60"), TradedAt: at},
		"per_call", listing.SubscriptionPlan{BillingPeriod: period, TermPeriods: terms, Renewal: renewal})
}

// Periods run from the start day, each from the start plus whole periods: a start on the 31st
// gives periods that start on the last day of shorter months and come back to the 31st.
func TestPeriodsFromTheStartClampedToMonthEnds(t *testing.T) {
	s := sub("2026-01-31", listing.PeriodMonthly, 3, false)
	for _, c := range []struct{ day, start, end string }{
		{"2026-01-31", "2026-01-31", "2026-02-27"},
		{"2026-02-27", "2026-01-31", "2026-02-27"},
		{"2026-02-28", "2026-02-28", "2026-03-30"},
		{"2026-03-31", "2026-03-31", "2026-04-29"},
		{"2027-01-15", "2026-12-31", "2027-01-30"},
	} {
		p := s.PeriodAt(civil.MustParse(c.day))
		if p.Start.String() != c.start || p.End.String() != c.end {
			t.Errorf("period of %s = %s..%s, want %s..%s", c.day, p.Start, p.End, c.start, c.end)
		}
	}
	if got := s.TermEnd(s.StartsOn).String(); got != "2026-04-29" {
		t.Errorf("three monthly periods from 2026-01-31 end %s, want 2026-04-29", got)
	}
	q := sub("2026-11-30", listing.PeriodQuarterly, 2, false)
	if p := q.PeriodAt(civil.MustParse("2027-03-01")); p.Index != 1 || p.Start.String() != "2027-02-28" || p.End.String() != "2027-05-29" {
		t.Errorf("quarterly period = %+v", p)
	}
}

// A term that renews goes on term after term; one that does not expires after its last day.
func TestExpiryAndRenewal(t *testing.T) {
	s := sub("2026-12-01", listing.PeriodMonthly, 2, false)
	last := s.TermEnd(s.StartsOn)
	if last.String() != "2027-01-31" {
		t.Fatalf("term end %s", last)
	}
	if got := s.StatusAt(last.Start().Add(23 * time.Hour)); got != subscriptions.StatusActive {
		t.Errorf("on the last day: %s", got)
	}
	if got := s.StatusAt(last.AddDays(1).Start()); got != subscriptions.StatusExpired {
		t.Errorf("the day after: %s", got)
	}
	r := sub("2026-12-01", listing.PeriodMonthly, 2, true)
	if got := r.StatusAt(civil.MustParse("2028-06-01").Start()); got != subscriptions.StatusActive {
		t.Errorf("renewing, much later: %s", got)
	}
	if got := r.TermEnd(civil.MustParse("2027-02-10")).String(); got != "2027-03-31" {
		t.Errorf("renewed term end %s, want 2027-03-31", got)
	}
}

// Cancel: only the buyer or the seller, with a reason; a second cancellation changes nothing.
func TestCancel(t *testing.T) {
	s := sub("2026-12-01", listing.PeriodMonthly, 2, false)
	now := civil.MustParse("2026-12-10").Start()
	buyer := datavenue.Caller{Org: "org_b", Role: datavenue.RoleBuyer}
	if _, _, err := subscriptions.Cancel(s, datavenue.Caller{Org: "org_x", Role: datavenue.RoleBuyer}, "x", now); datavenue.CodeOf(err) != "subscription_not_found" {
		t.Errorf("a stranger: %v", err)
	}
	c, changed, err := subscriptions.Cancel(s, buyer, "done", now)
	if err != nil || !changed || c.CancelledBy != subscriptions.ByBuyer || c.StatusAt(now) != subscriptions.StatusCancelled {
		t.Fatalf("cancel = %+v, %v, %v", c, changed, err)
	}
	if _, changed, err := subscriptions.Cancel(c, datavenue.Caller{Org: "org_s", Role: datavenue.RoleOperator}, "again", now); changed || err != nil {
		t.Errorf("again: %v %v", changed, err)
	}
	if _, _, err := subscriptions.Cancel(s, buyer, "late", civil.MustParse("2027-03-01").Start()); datavenue.CodeOf(err) != "subscription_expired" {
		t.Errorf("after expiry: %v", err)
	}
}

// Judge: quotas count in the batch's order, per period; a record on the last day of grace counts
// in its period, the next day it is refused.
func TestJudgeQuotaAndGrace(t *testing.T) {
	s := sub("2026-12-01", listing.PeriodMonthly, 3, false)
	q := decimal.NewFromInt(10)
	s.Quota, s.Free = &q, true
	st := map[string]*subscriptions.Standing{s.ID: {Sub: s, ProductStatus: listing.StatusPublished}}
	rec := func(id, qty, at string) subscriptions.RecordInput {
		return subscriptions.RecordInput{RecordID: id, SubscriptionID: s.ID, Unit: "per_call", Quantity: qty, UsedAt: at}
	}
	now := civil.MustParse("2027-01-03").Start().Add(20 * time.Hour)
	j := subscriptions.Judge("org_s", []subscriptions.RecordInput{
		rec("a", "6", "2026-12-31T10:00:00+08:00"), rec("b", "5", "2026-12-31T11:00:00+08:00"), rec("c", "4", "2026-12-31T12:00:00+08:00"),
		rec("d", "10", "2027-01-02T10:00:00+08:00"),
	}, st, nil, now)
	got := ""
	for _, v := range j.Verdicts {
		got += v.RecordID + ":" + v.Status + ":" + v.Reason + " "
	}
	if want := "a:accepted: b:refused:quota_exceeded c:accepted: d:accepted: "; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if j.Accept[0].PeriodStart.String() != "2026-12-01" || j.Accept[2].PeriodStart.String() != "2027-01-01" {
		t.Errorf("periods %s, %s", j.Accept[0].PeriodStart, j.Accept[2].PeriodStart)
	}
	late := subscriptions.Judge("org_s", []subscriptions.RecordInput{rec("e", "1", "2026-12-31T23:00:00+08:00")}, st, nil,
		civil.MustParse("2027-01-04").Start())
	if late.Verdicts[0].Reason != subscriptions.ReasonPeriodClosed {
		t.Errorf("on the fourth day after the period: %+v", late.Verdicts[0])
	}
}

// A bill is the fixed fee plus units at the unit price, at most the plan's maximum; a cap lowered
// during the term binds the price; free use owes nothing.
func TestBillFor(t *testing.T) {
	s := sub("2026-12-01", listing.PeriodMonthly, 3, false)
	s.FixedFee = money.MustParse("300.00")
	maximum := money.MustParse("2000.00")
	s.PlanMaximum = &maximum
	p := s.PeriodAt(s.StartsOn)
	y := func(v string) *money.Yuan { m := money.MustParse(v); return &m }
	for _, c := range []struct {
		units           string
		unitCap, feeCap *money.Yuan
		metered, total  string
		cappedBy        string
	}{
		{"1000", nil, nil, "600.00", "900.00", "[]"},
		{"2833.33", nil, nil, "1700.00", "2000.00", "[]"}, // 0.60 × 2833.33 = 1699.998 → 1700.00: exactly the maximum
		{"2833.35", nil, nil, "1700.01", "2000.00", "[plan_maximum]"},
		{"1000", y("0.50"), y("200.00"), "500.00", "700.00", "[unit_cap fee_cap]"},
		{"0", nil, nil, "0.00", "300.00", "[]"},
	} {
		b := subscriptions.BillFor(s, p, decimal.RequireFromString(c.units), c.unitCap, c.feeCap)
		if b.Metered.String() != c.metered || b.Total.String() != c.total || fmt.Sprint(b.CappedBy) != c.cappedBy {
			t.Errorf("%s units: metered %s total %s capped %v; want %s %s %s", c.units, b.Metered, b.Total, b.CappedBy, c.metered, c.total, c.cappedBy)
		}
	}
	s.Free, s.UnitPrice, s.FixedFee, s.PlanMaximum = true, money.Zero, money.Zero, nil
	if b := subscriptions.BillFor(s, p, decimal.NewFromInt(50), nil, nil); !b.Total.IsZero() {
		t.Errorf("free use billed %s", b.Total)
	}
}
