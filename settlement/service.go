package settlement

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// Service runs agreements, payments and obligations.
type Service struct {
	Store    Store
	Calendar Deadlines
	Clock    datavenue.Clock
	// Paid runs after a payment is settled and committed: the operator's allowed revenue is
	// measured and warned about (AllowedRevenues.Watch). It cannot undo the payment, so it
	// reports nothing back; nil: nothing runs.
	Paid func(ctx context.Context, o Order)
}

// isBookKeeper reads the roles from the access policy's table (clerks, bureaus, auditors), so the
// service's own checks and the API's policy cannot disagree on who reads the books.
func isBookKeeper(c datavenue.Caller) bool { return c.Is(access.BookKeepers...) }

// SetAgreement adds a new version of a product's contribution agreement; its operator does.
func (s Service) SetAgreement(ctx context.Context, caller datavenue.Caller, productID string, in AgreementInput) (Agreement, error) {
	op, err := s.Store.ProductOperator(ctx, productID)
	if err != nil {
		return Agreement{}, err
	}
	// An agreement is never edited in place: each change is a new version, and an order keeps the
	// version in force at its trade, so a split already agreed cannot be changed after the sale
	// (D16: by agreement). The product is read first so an unknown id is a 404 for everyone.
	if !caller.Is(datavenue.RoleOperator) || caller.Org != op {
		return Agreement{}, datavenue.Forbidden("not_operator", "the product's operator sets its contribution agreement")
	}
	if _, err := in.Validate(); err != nil {
		return Agreement{}, err
	}
	return s.Store.AddAgreement(ctx, Agreement{ProductID: productID, Basis: in.Basis, Parties: in.Parties, CreatedBy: caller.Org})
}

// Agreement returns the latest agreement of a product.
// It is seen by its parties (and the operator who set it) and the supervisors: who gets what
// share of a product's revenue is theirs, not the market's.
func (s Service) Agreement(ctx context.Context, caller datavenue.Caller, productID string) (Agreement, error) {
	a, err := s.Store.Agreement(ctx, productID, 0)
	if err != nil || isBookKeeper(caller) || a.CreatedBy == caller.Org {
		return a, err
	}
	for _, p := range a.Parties {
		if p.Party == caller.Org {
			return a, nil
		}
	}
	return Agreement{}, datavenue.NotFound("agreement_not_found", "no agreement of yours is on this product")
}

// PaymentInput is a clerk's record of a payment.
type PaymentInput struct {
	Reference  string `json:"reference" jsonschema:"minLength=1,maxLength=100,description=the bank or payment reference; recording it twice is a no-op"`
	IncomeKind string `json:"income_kind,omitempty" jsonschema:"enum=one_off,enum=instalment,description=instalment: one payment of a contract paid in instalments (a government unit files after the quarter ends); default one_off"`
	// ReceivedOn is the value date of the receipt (YYYY-MM-DD, China Standard Time): the day the
	// money was received, from which the deadlines run (G6: 10 working days after receipt).
	ReceivedOn *civil.Date `json:"received_on,omitempty" jsonschema:"description=the day the money was received (the value date on the bank or payment record); default: the day it is recorded"`
}

func (in PaymentInput) validate(f *datavenue.Fields, today civil.Date) {
	assets.Text(f, "reference", in.Reference, 1, 100)
	if in.IncomeKind != "" && in.IncomeKind != IncomeOneOff && in.IncomeKind != IncomeInstalment {
		f.Add("income_kind", "invalid_value", "income_kind is one_off or instalment")
	}
	if in.ReceivedOn != nil && in.ReceivedOn.After(today) {
		f.Add("received_on", "in_future", "received_on is after today ("+today.String()+", China Standard Time)")
	}
}

// receivedOn is the value date of a payment: the one given, or today.
func (in PaymentInput) receivedOn(today civil.Date) civil.Date {
	if in.ReceivedOn != nil {
		return *in.ReceivedOn
	}
	return today
}

// RecordPayment records that an order was paid, splits it by the agreement in force at the
// trade, posts the ledger transaction and creates the treasury and filing obligations, at once.
func (s Service) RecordPayment(ctx context.Context, caller datavenue.Caller, orderID string, in PaymentInput) (Order, error) {
	if !caller.Is(datavenue.RoleClerk) {
		return Order{}, datavenue.Forbidden("role_not_allowed", "a settlement clerk records payments")
	}
	today := civil.Of(s.Clock.Now())
	var f datavenue.Fields
	in.validate(&f, today)
	if err := f.Err(); err != nil {
		return Order{}, err
	}
	return s.recordPayment(ctx, orderID, Payment{Reference: in.Reference, Via: "clerk", IncomeKind: in.IncomeKind, ReceivedOn: in.receivedOn(today),
		ReceivedOnGiven: in.ReceivedOn != nil}, nil)
}

// PaymentCallback is what a payment provider reports: the order paid, its reference, the amount
// and the kind of income.
type PaymentCallback struct {
	OrderID string     `json:"order_id" jsonschema:"minLength=1,maxLength=40"`
	Amount  money.Yuan `json:"amount" jsonschema:"description=the amount paid; it must equal the order's amount due"`
	PaymentInput
}

// CallbackTolerance is how far a callback's signed timestamp may be from the venue's clock: a
// callback captured on the wire cannot be played again later than this.
const CallbackTolerance = 5 * time.Minute

// CallbackSignature is the signature header a payment provider sends with a callback sent at
// at: "t=<unix seconds>,v1=<hex HMAC-SHA256 under the shared secret of "<t>.<body>">". The
// timestamp is signed with the body, so a recorded callback cannot be replayed later.
func CallbackSignature(secret, body []byte, at time.Time) string {
	t := strconv.FormatInt(at.Unix(), 10)
	return "t=" + t + ",v1=" + callbackMAC(secret, t, body)
}

func callbackMAC(secret []byte, t string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(t))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyCallback checks a callback's signature header (see CallbackSignature) in constant time,
// and that its timestamp is within CallbackTolerance of now. Several v1 values may be sent (a
// provider rolling its secret); one must match. A venue with no secret configured accepts no
// callbacks.
func VerifyCallback(secret, body []byte, header string, now time.Time) error {
	if len(secret) == 0 {
		return datavenue.Unauthorized("callbacks_disabled", "payment callbacks are not configured on this venue")
	}
	// Unknown keys are skipped, so a provider may add a scheme (v2) beside v1 without breaking
	// this venue. Every refusal is 401: the signature is the provider's only credential here.
	var t string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil || len(sigs) == 0 {
		return datavenue.Unauthorized("signature_malformed", "the callback's signature header must be t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body>")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > CallbackTolerance || d < -CallbackTolerance {
		return datavenue.Unauthorized("signature_expired", "the callback's signed timestamp is more than 5 minutes from the venue's clock")
	}
	want := []byte(callbackMAC(secret, t, body))
	for _, sig := range sigs {
		if hmac.Equal(want, []byte(sig)) {
			return nil
		}
	}
	return datavenue.Unauthorized("bad_signature", "the callback's signature does not match its timestamp and body")
}

// RecordCallback records a payment reported by the provider (its signature already verified).
// It is idempotent by reference, like a clerk's record; an amount other than the amount due is
// refused and nothing is recorded.
func (s Service) RecordCallback(ctx context.Context, in PaymentCallback) (Order, error) {
	today := civil.Of(s.Clock.Now())
	var f datavenue.Fields
	in.validate(&f, today)
	assets.Text(&f, "order_id", in.OrderID, 1, 40)
	if !in.Amount.Decimal().IsPositive() {
		f.Add("amount", "invalid_amount", "the amount paid is positive")
	}
	if err := f.Err(); err != nil {
		return Order{}, err
	}
	amount := in.Amount
	return s.recordPayment(ctx, in.OrderID, Payment{Reference: in.Reference, Via: "callback", IncomeKind: in.IncomeKind,
		ReceivedOn: in.receivedOn(today), ReceivedOnGiven: in.ReceivedOn != nil}, &amount)
}

func (s Service) recordPayment(ctx context.Context, orderID string, p Payment, amount *money.Yuan) (Order, error) {
	// Paid runs only once the payment is committed: a warning about a payment that was then
	// rolled back would be false.
	o, err := s.settlePayment(ctx, orderID, p, amount)
	if err == nil && s.Paid != nil {
		s.Paid(ctx, o)
	}
	if err != nil && datavenue.KindOf(err) == datavenue.KindInternal { // KindOf(nil) is internal too
		// The money reached the venue and something unforeseen kept it from being settled: the
		// order must not be cancelled, nor its deposit forfeited, while a clerk looks into it.
		if cerr := s.Store.ClaimPayment(ctx, orderID, fmt.Sprintf("%s payment %s received %s could not be settled", p.Via, p.Reference, p.ReceivedOn)); cerr != nil {
			return o, errors.Join(err, cerr)
		}
	}
	return o, err
}

func (s Service) settlePayment(ctx context.Context, orderID string, p Payment, amount *money.Yuan) (Order, error) {
	// The agreement and its parties are read before the order is locked: the settle step runs
	// inside the store's transaction and must not wait for another connection (a pool full of
	// transactions each waiting for one more connection would deadlock). One round trip reads
	// the order, the agreement it was made under and that agreement's parties.
	before, a, parties, err := s.Store.PaymentTerms(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if p.IncomeKind == "" {
		// The order's own kind when the payment names none: a subscription's bill is made
		// instalment income (G6); every other order is one_off, the default, as before.
		p.IncomeKind = before.IncomeKind
	}
	if p.ReceivedOn.Before(before.TradedOn) && !p.ReceivedOnGiven {
		// Recorded "today" for a trade dated tomorrow: the engine's clock (Redis TIME) runs ahead
		// of this process's. The receipt cannot precede the trade.
		p.ReceivedOn = before.TradedOn
	}
	if p.ReceivedOn.Before(before.TradedOn) {
		return Order{}, datavenue.Invalid("validation_failed", "the request has invalid fields", datavenue.FieldError{Field: "received_on",
			Code: "before_trade", Message: "received_on is before the trade (" + before.TradedOn.String() + ")"})
	}
	return s.Store.RecordPayment(ctx, orderID, p, func(o Order) ([]Share, Transaction, []Obligation, error) {
		if amount != nil && amount.Cmp(o.AmountDue) != 0 {
			return nil, Transaction{}, nil, datavenue.Invalid("amount_mismatch", "the amount paid is "+amount.String()+"; the order's amount due is "+o.AmountDue.String())
		}
		if o.AgreementVersion == nil {
			return nil, Transaction{}, nil, datavenue.Conflict("agreement_missing",
				"the product had no contribution agreement when the trade was made; the operator must add one and the order be re-made")
		}
		if *o.AgreementVersion != a.Version { // set when the order was made and never changed: a guard, not a path
			return nil, Transaction{}, nil, datavenue.Conflict("agreement_changed", "the order's agreement changed while it was being paid; retry")
		}
		o.IncomeKind = p.IncomeKind
		return Settle(o, a, parties, s.Calendar, p.ReceivedOn, p.Reference)
	})
}

// FillDueDates sets the due dates left pending for want of a year's official holiday schedule, now
// that the calendar may know it (the sweeper runs it; FillDueDates after a calendar update too);
// it returns how many it set and how many stay pending.
func (s Service) FillDueDates(ctx context.Context) (filled, pending int, err error) {
	// At most 1000 per run (the sweeper comes back); pending counts only this batch. A due date
	// still nil means the calendar does not know the year yet: it stays pending, not an error.
	list, err := s.Store.PendingDueDates(ctx, 1000)
	if err != nil {
		return 0, 0, err
	}
	for _, o := range list {
		due, _, err := Deadline(s.Calendar, o.EventDate)
		if err != nil {
			return filled, len(list) - filled, err
		}
		if due == nil {
			continue
		}
		if err := s.Store.SetDueDate(ctx, o.ID, *due); err != nil {
			return filled, len(list) - filled, err
		}
		filled++
	}
	return filled, len(list) - filled, nil
}

// CancelUnpaid cancels the orders whose last day to pay has passed, forfeiting the winners'
// deposits (the sweeper runs it); it returns the ids of the orders it cancelled.
func (s Service) CancelUnpaid(ctx context.Context) ([]string, error) {
	return s.Store.CancelUnpaid(ctx, civil.Of(s.Clock.Now()))
}

// Order returns an order to its buyer, its seller and the supervisors.
func (s Service) Order(ctx context.Context, caller datavenue.Caller, id string) (Order, error) {
	o, err := s.Store.Order(ctx, id)
	if err == nil && !isBookKeeper(caller) && caller.Org != o.BuyerID && caller.Org != o.SellerID {
		return Order{}, datavenue.NotFound("order_not_found", "no order with this id is visible to you")
	}
	s.flagOverdue(o.Obligations)
	return o, err
}

// Orders lists orders: a party's own, or for supervisors all.
func (s Service) Orders(ctx context.Context, caller datavenue.Caller, status string, p Page) ([]Order, error) {
	party := caller.Org
	if isBookKeeper(caller) {
		party = ""
	}
	return s.Store.Orders(ctx, party, status, p)
}

// Obligations lists treasury remittance and filing obligations, overdue ones flagged (with
// overdueOnly, only those).
func (s Service) Obligations(ctx context.Context, caller datavenue.Caller, status string, overdueOnly bool, p Page) ([]Obligation, error) {
	if !isBookKeeper(caller) {
		return nil, datavenue.Forbidden("role_not_allowed", "clerks, bureaus and auditors read obligations")
	}
	f := ObligationFilter{Status: status, Page: p}
	if overdueOnly {
		f.OverdueOn = civil.Of(s.Clock.Now())
	}
	list, err := s.Store.Obligations(ctx, f)
	s.flagOverdue(list)
	return list, err
}

// flagOverdue marks what is overdue at read time, never stored: "overdue" changes with the date,
// not with any event. The due date itself is the last day (G6, Civil Code Art. 201 and 203), so
// an obligation is overdue only from the CST day after it; a pending due date is never overdue.
func (s Service) flagOverdue(list []Obligation) {
	today := civil.Of(s.Clock.Now())
	for i := range list {
		list[i].Overdue = list[i].Status == ObligationDue && list[i].DueDate != nil && today.After(*list[i].DueDate)
	}
}
