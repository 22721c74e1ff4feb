package settlement

import (
	"time"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// PaymentDays is how long a buyer has to pay for a trade: calendar days from the day of the trade
// in China Standard Time. An order still unpaid after its last day is cancelled (CancelUnpaid).
const PaymentDays = 7

// Income kinds of a payment (G6): one-off income, or one payment of a contract paid in
// instalments, whose government unit's deadline runs from the quarter's end.
const (
	IncomeOneOff      = "one_off"
	IncomeInstalment  = "instalment"
	defaultIncomeKind = IncomeOneOff
)

// IncomeKindOf is a payment's income kind, one-off when none is given.
func IncomeKindOf(kind string) string {
	if kind == "" {
		return defaultIncomeKind
	}
	return kind
}

// OrderTerms are what an order owes from its trade: the winner's deposit is applied to the price
// (never more than the price), the rest is due, and it is due by PaymentDays after the trade.
type OrderTerms struct {
	DepositApplied money.Yuan
	// DepositRefund is what the winner's deposit held beyond the price: it has secured the bid and
	// is owed back to the buyer when the order is made (DepositExcessRefunded), not kept in
	// deposits held with nothing to apply it to.
	DepositRefund money.Yuan
	AmountDue     money.Yuan
	PaymentDue    civil.Date
}

// TermsOf computes an order's terms from its trade's price and time and the deposit the winner
// paid for it (zero for a negotiated trade or a winner without one).
func TermsOf(price, winnersDeposit money.Yuan, tradedAt time.Time) OrderTerms {
	// A deposit larger than the price is applied only up to the price. The last day to pay counts
	// calendar days from the trade's CST date: it is a term of the trade, not a legal period in
	// working days like G6's.
	applied := winnersDeposit
	if applied.Cmp(price) > 0 {
		applied = price
	}
	return OrderTerms{
		DepositApplied: applied,
		DepositRefund:  money.FromDecimal(winnersDeposit.Decimal().Sub(applied.Decimal())),
		AmountDue:      money.FromDecimal(price.Decimal().Sub(applied.Decimal())),
		PaymentDue:     civil.Of(tradedAt).AddDays(PaymentDays),
	}
}

// CancelUnpaid says whether the sweeper cancels an order on a day, and the deposit it then
// forfeits: an order still awaiting payment after its last day to pay, unless a payment reached
// the venue for it and waits for a clerk (claimed): a buyer who paid never loses the deposit.
func CancelUnpaid(o Order, claimed bool, today civil.Date) (cancel bool, forfeited money.Yuan) {
	if o.Status != OrderAwaitingPayment || !o.PaymentDue.Before(today) || claimed {
		return false, money.Zero
	}
	return true, o.DepositApplied
}

// An order's statuses, in the order it goes through them (or cancelled, unpaid).
const (
	OrderAwaitingPayment = "awaiting_payment"
	OrderPaid            = "paid"
	OrderDelivered       = "delivered"
	OrderConfirmed       = "confirmed"
	OrderCancelled       = "cancelled"
)

// An obligation's statuses: due until remitted to the treasury (remittances) or filed (filings).
const (
	ObligationDue      = "due"
	ObligationRemitted = "remitted"
	ObligationFiled    = "filed"
)
