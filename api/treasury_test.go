package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/workdays"
)

// A deadline that reaches a year whose holiday schedule is not known never fails a payment: the
// payment is recorded and the obligation kept with its due date pending and the reason; the
// sweeper leaves the paid order alone and fills the date in once the year is in the calendar
// (issue 17: from 2027-12-20 every payment failed with a 500, and the sweeper then cancelled the
// order and forfeited the deposit of a buyer who had paid).
func TestAPaymentWhoseDeadlineReachesAnUnknownYearIsRecorded(t *testing.T) {
	clerk := datavenue.Caller{Subject: "c", Role: datavenue.RoleClerk, Org: venueOrg}
	ctx := datavenue.WithCaller(context.Background(), clerk)
	builtIn := mustCalendar(t)
	with2028, err := workdays.New(strings.NewReader("date,kind,name\n2028,year,\n2028-01-01,holiday,元旦\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, received, incomeKind, event string
		pending                           bool
	}{
		{"one-off 2027-12-01: due inside 2027", "2027-12-01", "one_off", "2027-12-01", false},
		{"one-off 2027-12-17: the tenth working day is 2027-12-31", "2027-12-17", "one_off", "2027-12-17", false},
		{"one-off 2027-12-20: the tenth working day is in 2028", "2027-12-20", "one_off", "2027-12-20", true},
		{"one-off 2027-12-31", "2027-12-31", "one_off", "2027-12-31", true},
		{"instalment 2027-10-01: the quarter ends 2027-12-31", "2027-10-01", "instalment", "2027-12-31", true},
		{"instalment 2027-09-30: the quarter ends 2027-09-30", "2027-09-30", "instalment", "2027-09-30", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, o, _ := wonAuction(t)
			received := civil.MustParse(tc.received)
			now := received.Time().Add(30 * time.Hour) // the next day: recorded a day late
			svc := settlement.Service{Store: m.db.Settlement(), Calendar: builtIn, Clock: fixedClock{now}}
			paid, err := svc.RecordPayment(ctx, clerk, o.ID, settlement.PaymentInput{Reference: "late-" + tc.received,
				IncomeKind: tc.incomeKind, ReceivedOn: &received})
			if err != nil {
				t.Fatalf("the payment: %v", err)
			}
			if paid.Status != "paid" || paid.ReceivedOn == nil || *paid.ReceivedOn != received || len(paid.Obligations) != 2 {
				t.Fatalf("paid = %+v", paid)
			}
			ob := paid.Obligations[0]
			if ob.EventDate.String() != tc.event {
				t.Fatalf("event date %s, want %s", ob.EventDate, tc.event)
			}
			if !tc.pending {
				want, _ := builtIn.AddWorkdays(ob.EventDate, 10)
				if ob.DueDate == nil || *ob.DueDate != want || ob.DuePending != "" {
					t.Fatalf("due %v (%q), want %s", ob.DueDate, ob.DuePending, want)
				}
				return
			}
			if ob.DueDate != nil || !strings.Contains(ob.DuePending, "2028") {
				t.Fatalf("an obligation reaching 2028: due %v, pending %q", ob.DueDate, ob.DuePending)
			}
			// Weeks later, still no 2028 schedule: the sweeper neither cancels the paid order nor
			// guesses the date.
			sweep := func(cal *workdays.Calendar, at time.Time) settlement.SweepResult {
				res, err := settlement.Sweeper{Orders: settlement.Service{Store: m.db.Settlement(), Calendar: cal, Clock: fixedClock{at}},
					Vouchers: m.sweeper(at).Vouchers}.Once(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			if res := sweep(builtIn, now.AddDate(0, 0, 20)); res.Cancelled != 0 || res.DueDatesFilled != 0 || res.DueDatesPending != 2 {
				t.Fatalf("a sweep without the 2028 schedule: %+v", res)
			}
			// The schedule is added: the next sweep fills the date in, counted from the receipt.
			if res := sweep(with2028, now.AddDate(0, 0, 21)); res.DueDatesFilled != 2 || res.DueDatesPending != 0 { // the remittance and the filing
				t.Fatalf("a sweep with the 2028 schedule: %+v", res)
			}
			got, err := m.db.Settlement().Order(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := with2028.AddWorkdays(civil.MustParse(tc.event), 10)
			if g := got.Obligations[0]; g.DueDate == nil || *g.DueDate != want || g.DuePending != "" || got.Status != "paid" {
				t.Fatalf("after the 2028 schedule: %s, due %v (%q), want %s", got.Status, g.DueDate, g.DuePending, want)
			}
			m.checkInvariants()
		})
	}
}

// The deadline runs from the day the money was received, not from when the clerk recorded it; a
// value date in the future or before the trade is refused (issue 17).
func TestDeadlinesRunFromTheReceiptDate(t *testing.T) {
	m, o, clerk := wonAuction(t)
	// The auction fixture runs on a test clock ahead of the wall clock: the trade is made a week
	// ago here, so that a receipt can be dated between the trade and today.
	if _, err := m.db.Pool.Exec(context.Background(), `UPDATE trades SET traded_at = now() - interval '7 days' WHERE id = $1`, o.TradeID); err != nil {
		t.Fatal(err)
	}
	o, _ = m.db.Settlement().OrderHead(context.Background(), o.ID)
	today := civil.Of(time.Now())
	tomorrow := today.AddDays(1)
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "f-1", "received_on": tomorrow.String()}), 422, "validation_failed")
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "f-2", "received_on": today.AddDays(-40).String()}), 422, "validation_failed")
	received := today
	for i := 0; i < 6; i++ { // a few days back, but not before the trade (made today)
		if received.AddDays(-1).Before(o.TradedOn) {
			break
		}
		received = received.AddDays(-1)
	}
	r := m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "late-1", "received_on": received.String()})
	mustStatus(t, r, 200)
	paid := decode[settlement.Order](t, r)
	want, err := mustCalendar(t).AddWorkdays(received, 10)
	if err != nil {
		t.Fatal(err)
	}
	if paid.ReceivedOn == nil || *paid.ReceivedOn != received || paid.Obligations[0].EventDate != received || *paid.Obligations[0].DueDate != want {
		t.Fatalf("received %v, obligation %+v; want due %s (10 working days after %s)", paid.ReceivedOn, paid.Obligations[0], want, received)
	}
}

// An order whose payment reached the venue but could not be settled is never cancelled by the
// sweeper, nor its deposit forfeited (issue 17).
func TestTheSweeperNeverCancelsAClaimedPayment(t *testing.T) {
	m, o, _ := wonAuction(t)
	ctx := datavenue.WithCaller(context.Background(), datavenue.Caller{Subject: "c", Role: datavenue.RoleClerk, Org: venueOrg})
	if err := m.db.Settlement().ClaimPayment(ctx, o.ID, "clerk payment X received 2026-11-30 could not be settled"); err != nil {
		t.Fatal(err)
	}
	res, err := m.sweeper(time.Now().AddDate(0, 0, 30)).Once(ctx)
	if err != nil || res.Cancelled != 0 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if got, _ := m.db.Settlement().Order(ctx, o.ID); got.Status != "awaiting_payment" || !got.DepositForfeited.IsZero() {
		t.Fatalf("a claimed order after the sweep: %s, forfeited %s", got.Status, got.DepositForfeited)
	}
}

// Reconciliation by the seeds' rules (issue 17): money paid into another level's treasury is not a
// remittance; a slip naming another paying unit than its payment code's is posted and flagged; a
// partial payment leaves the rest due and visible, and the report agrees with the ledger; a later
// receipt answers the "missing" exception; an over-payment's excess is booked to suspense and
// shown.
func TestReconciliationFollowsTheSeedsRules(t *testing.T) {
	m, order, clerk := paidOrder(t)
	ctx := context.Background()
	ob := order.Obligations[0]
	if ob.Kind != "treasury_remittance" || ob.Amount.String() != "5000.01" {
		t.Fatalf("obligation = %+v", ob)
	}
	today := civil.Of(time.Now()).String()
	periodEnd := time.Now().AddDate(0, 1, 0).Format("2006-01-02") // past the due date
	head := "缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n"
	importCSV := func(rows string) settlement.ImportResult {
		t.Helper()
		r := m.importStatement(clerk, "csv", "period_end="+periodEnd, []byte(head+rows))
		if r.status != 201 {
			t.Fatalf("import: %d %s", r.status, r.body)
		}
		return decode[settlement.ImportResult](t, r)
	}
	obligation := func() settlement.Obligation {
		for _, o := range decode[settlement.Order](t, m.do("GET", "/v1/orders/"+order.ID, clerk, nil)).Obligations {
			if o.ID == ob.ID {
				return o
			}
		}
		t.Fatal("the obligation is gone")
		return settlement.Obligation{}
	}
	exceptions := func() map[string]settlement.Exception {
		out := map[string]settlement.Exception{}
		for _, e := range decode[api.Page[settlement.Exception]](t, m.do("GET", "/v1/reconciliation/exceptions?limit=500", clerk, nil)).Data {
			out[e.Kind+"/"+e.Status] = e
		}
		return out
	}

	// 1. Paid into the provincial treasury: not a remittance of a municipal unit; and the
	// obligation, due by the period's end, has received nothing: missing.
	res := importCSV("W1," + ob.PaymentCode + ",市交通运输局,5000.01," + today + ",省级国库\n")
	if res.Receipts[0].Outcome != "wrong_treasury" || len(res.Missing) != 1 || res.Missing[0] != ob.ID {
		t.Fatalf("wrong treasury: %+v, missing %v", res.Receipts, res.Missing)
	}
	if got := obligation(); !got.Remitted.IsZero() || got.Status != "due" {
		t.Fatalf("after a wrong-treasury receipt: %+v", got)
	}
	if e := exceptions()["wrong_treasury/open"]; !strings.Contains(e.Detail, "省级国库") || e.Amount.String() != "5000.01" {
		t.Fatalf("wrong_treasury exception: %+v", e)
	}

	// 2. A partial payment by payment code, but the slip names another unit: posted, flagged; the
	// rest is due and visible; the missing exception is answered.
	res = importCSV("P1," + ob.PaymentCode + ",某区卫生健康委员会,1000.00," + today + ",市级国库（市财政局国库支付中心）\n")
	if res.Receipts[0].Outcome != "partial" {
		t.Fatalf("partial: %+v", res.Receipts)
	}
	got := obligation()
	if got.Remitted.String() != "1000.00" || got.Remaining.String() != "4000.01" || got.Status != "due" {
		t.Fatalf("after a partial payment: remitted %s, remaining %s, %s", got.Remitted, got.Remaining, got.Status)
	}
	ex := exceptions()
	if e := ex["unit_mismatch/open"]; !strings.Contains(e.Detail, "某区卫生健康委员会") {
		t.Fatalf("unit_mismatch exception: %+v", e)
	}
	if e := ex["partial/open"]; e.Amount.String() != "4000.01" {
		t.Fatalf("partial exception: %+v", e)
	}
	if e, open := ex["missing/open"]; open || !strings.Contains(ex["missing/resolved"].Resolution, "received") {
		t.Fatalf("the missing exception after a receipt: open %+v, resolved %+v", e, ex["missing/resolved"])
	}
	// The report's remittances agree with the ledger: what is due is what remains.
	report := decode[settlement.Report](t, m.do("GET", "/v1/reports/settlement?from="+today+"&to="+periodEnd, clerk, nil))
	due, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.DueToTreasury, govHolder))
	lines := map[string]string{}
	for _, l := range report.Remittances {
		lines[l.Key] = l.Amount.String()
	}
	if lines["due"] != "4000.01" || due.Neg().StringFixed(2) != "4000.01" || lines["remitted"] != "1000.00" {
		t.Fatalf("report %v, ledger due to treasury %s", lines, due)
	}

	// 3. Over-paid: 4100.01 for the 4000.01 left: the obligation is remitted, the 100.00 excess is
	// in the unit's treasury suspense account and on the exception.
	res = importCSV("O1," + ob.PaymentCode + ",市交通运输局,4100.01," + today + ",市级国库\n")
	if res.Receipts[0].Outcome != "over_paid" {
		t.Fatalf("over-paid: %+v", res.Receipts)
	}
	if got := obligation(); got.Status != "remitted" || got.Remitted.String() != "5000.01" || !got.Remaining.IsZero() {
		t.Fatalf("after the over-payment: %+v", got)
	}
	if b, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.TreasurySuspense, govHolder)); b.StringFixed(2) != "100.00" {
		t.Fatalf("treasury suspense = %s, want 100.00", b)
	}
	if b, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.Remitted, govHolder)); b.StringFixed(2) != "-5100.01" {
		t.Fatalf("remitted = %s, want -5100.01 (all the treasury received)", b)
	}
	if e := exceptions()["over_paid/open"]; e.Amount.String() != "100.00" || !strings.Contains(e.Detail, "100.00") {
		t.Fatalf("over_paid exception: %+v", e)
	}
	m.checkInvariants()
}
