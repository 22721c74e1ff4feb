package settlement_test

import (
	"testing"
	"time"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

// An order's terms: the winner's deposit applied up to the price, the rest due, payable for seven
// days from the trade's day in China Standard Time (a trade at 23:30 UTC is the next day there).
func TestOrderTerms(t *testing.T) {
	late := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC) // 2026-12-01 07:30 in Beijing
	for _, tc := range []struct {
		price, deposit, applied, refund, due string
	}{
		{"10000.02", "1000.00", "1000.00", "0.00", "9000.02"},
		{"800.00", "1000.00", "800.00", "200.00", "0.00"}, // a deposit above the price pays it all; the rest goes back
		{"500.00", "0.00", "0.00", "0.00", "500.00"},
	} {
		got := settlement.TermsOf(money.MustParse(tc.price), money.MustParse(tc.deposit), late)
		if got.DepositApplied.String() != tc.applied || got.DepositRefund.String() != tc.refund || got.AmountDue.String() != tc.due || got.PaymentDue != civil.MustParse("2026-12-08") {
			t.Errorf("price %s, deposit %s: %+v", tc.price, tc.deposit, got)
		}
	}
	if settlement.IncomeKindOf("") != settlement.IncomeOneOff || settlement.IncomeKindOf(settlement.IncomeInstalment) != settlement.IncomeInstalment {
		t.Error("income kind: one-off unless said")
	}
}

// The sweeper cancels an order unpaid after its last day, forfeiting the deposit applied, and
// never one that is paid, still within its days, or whose payment reached the venue (claimed).
func TestCancelUnpaid(t *testing.T) {
	o := settlement.Order{Status: "awaiting_payment", PaymentDue: civil.MustParse("2026-12-08"), DepositApplied: money.MustParse("1000.00")}
	for _, tc := range []struct {
		name    string
		status  string
		claimed bool
		today   string
		cancel  bool
	}{
		{"on its last day", "awaiting_payment", false, "2026-12-08", false},
		{"the day after", "awaiting_payment", false, "2026-12-09", true},
		{"claimed", "awaiting_payment", true, "2026-12-31", false},
		{"paid", "paid", false, "2026-12-31", false},
	} {
		o.Status = tc.status
		cancel, forfeited := settlement.CancelUnpaid(o, tc.claimed, civil.MustParse(tc.today))
		if cancel != tc.cancel || (cancel && forfeited.String() != "1000.00") || (!cancel && !forfeited.IsZero()) {
			t.Errorf("%s: cancel %v, forfeited %s", tc.name, cancel, forfeited)
		}
	}
}
