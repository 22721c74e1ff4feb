// Package subscriptions holds the rules of products sold as a service (issue 15, DOMAIN.md N1, N3,
// G6): a trade for a product whose pricing carries a subscription plan makes a subscription with a
// term and billing periods instead of a one-off order, and the operator's delivery gateway reports
// metered use against it in signed, exactly-once batches. The rules here are pure; storage is
// postgres/ (subscriptions.go, usage.go) and transport api/subscriptions.go.
package subscriptions

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// Status is a subscription's status. Only active and cancelled are stored: expiry is a matter of
// the calendar and is computed (StatusAt), so no sweep has to run for delivery to stop on time.
type Status string

// A subscription's statuses.
const (
	StatusActive    Status = "active"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
)

// Subscription is a contract with a term made by a trade for a product sold as a service.
type Subscription struct {
	ID           string          `json:"id"`
	TradeID      string          `json:"trade_id"`
	ProductID    string          `json:"product_id"`
	BuyerID      datavenue.OrgID `json:"buyer_id"`
	SellerID     datavenue.OrgID `json:"seller_id"`
	ChargingUnit string          `json:"charging_unit" jsonschema:"enum=per_call,enum=per_time_unit,enum=per_volume"`
	// UnitPrice is the trade's price: the price per charging unit, under the cap in force when it
	// was agreed (the engine holds every bid and offer under it). 0.00 for free use.
	UnitPrice   money.Yuan       `json:"unit_price"`
	FixedFee    money.Yuan       `json:"fixed_fee"`
	PlanMaximum *money.Yuan      `json:"plan_maximum,omitempty"`
	Quota       *decimal.Decimal `json:"quota,omitempty" jsonschema:"description=free use: units per period"`
	Free        bool             `json:"free"`
	Currency    string           `json:"currency"`
	// BillingPeriod is monthly or quarterly; periods run from StartsOn (anniversary periods).
	BillingPeriod string     `json:"billing_period" jsonschema:"enum=monthly,enum=quarterly"`
	TermPeriods   int        `json:"term_periods"`
	Renewal       bool       `json:"renewal"`
	StartsOn      civil.Date `json:"starts_on"`
	// EndsOn is the last day of the current term (China Standard Time), computed when read.
	EndsOn       civil.Date `json:"ends_on"`
	Status       Status     `json:"status" jsonschema:"enum=active,enum=cancelled,enum=expired"`
	StartedAt    time.Time  `json:"started_at"`
	CancelledAt  *time.Time `json:"cancelled_at,omitempty"`
	CancelledBy  string     `json:"cancelled_by,omitempty" jsonschema:"description=buyer or operator"`
	CancelReason string     `json:"cancel_reason,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Trade is what a subscription is made from: the trade's parties, price and time.
type Trade struct {
	ID        string
	ProductID string
	Buyer     datavenue.OrgID
	Seller    datavenue.OrgID
	Price     money.Yuan
	TradedAt  time.Time
}

// FromTrade is the subscription a trade makes under a product's plan. The term starts on the day
// of the trade (delivery may begin at once) and runs for the plan's periods.
func FromTrade(t Trade, unit string, plan listing.SubscriptionPlan) Subscription {
	s := Subscription{ID: datavenue.NewID("sub"), TradeID: t.ID, ProductID: t.ProductID, BuyerID: t.Buyer, SellerID: t.Seller,
		ChargingUnit: unit, UnitPrice: t.Price, FixedFee: money.Zero, PlanMaximum: plan.PlanMaximum, Quota: plan.Quota,
		Free: plan.Quota != nil, Currency: "CNY", BillingPeriod: plan.BillingPeriod, TermPeriods: plan.TermPeriods,
		Renewal: plan.Renewal, StartsOn: civil.Of(t.TradedAt), Status: StatusActive, StartedAt: t.TradedAt, CreatedAt: t.TradedAt}
	if plan.FixedFee != nil {
		s.FixedFee = *plan.FixedFee
	}
	return s
}

// months is the length of a billing period in months.
func (s Subscription) months() int {
	if s.BillingPeriod == listing.PeriodQuarterly {
		return 3
	}
	return 1
}

// addMonths is d plus n months, clamped to the last day of a shorter month (31 January plus one
// month is 28 or 29 February, not 3 March).
func addMonths(d civil.Date, n int) civil.Date {
	t := d.Time()
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return civil.FromTime(first.AddDate(0, 0, min(t.Day(), last)-1))
}

// Period is one billing period: its index (0 is the first) and its first and last days.
type Period struct {
	Index int        `json:"index"`
	Start civil.Date `json:"start"`
	End   civil.Date `json:"end"`
}

// PeriodAt is the billing period a day falls in (day on or after StartsOn). Periods are counted
// from the start, each from the start plus whole periods, so a short month never shifts the rest.
func (s Subscription) PeriodAt(day civil.Date) Period {
	t, st := day.Time(), s.StartsOn.Time()
	i := ((t.Year()-st.Year())*12 + int(t.Month()) - int(st.Month())) / s.months()
	for i > 0 && addMonths(s.StartsOn, i*s.months()).After(day) {
		i--
	}
	for !addMonths(s.StartsOn, (i+1)*s.months()).After(day) {
		i++
	}
	return s.period(i)
}

func (s Subscription) period(i int) Period {
	return Period{Index: i, Start: addMonths(s.StartsOn, i*s.months()), End: addMonths(s.StartsOn, (i+1)*s.months()).AddDays(-1)}
}

// TermEnd is the last day of the term that covers day: for a plan without renewal, the end of its
// last period; with renewal, the end of the current term (terms follow each other without end
// until cancelled).
func (s Subscription) TermEnd(day civil.Date) civil.Date {
	last := s.TermPeriods - 1
	if s.Renewal && !day.Before(s.StartsOn) {
		last = (s.PeriodAt(day).Index/s.TermPeriods+1)*s.TermPeriods - 1
	}
	return s.period(last).End
}

// StatusAt is the status at an instant: cancelled once cancelled, expired after the last day of
// a term that does not renew, otherwise active.
func (s Subscription) StatusAt(now time.Time) Status {
	switch {
	case s.CancelledAt != nil:
		return StatusCancelled
	case !s.Renewal && civil.Of(now).After(s.TermEnd(s.StartsOn)):
		return StatusExpired
	}
	return StatusActive
}

// AsOf fills the computed fields (status, current term end) for a reader at an instant.
func (s Subscription) AsOf(now time.Time) Subscription {
	s.Status = s.StatusAt(now)
	day := civil.Of(now)
	if s.CancelledAt != nil {
		day = civil.Of(*s.CancelledAt)
	}
	s.EndsOn = s.TermEnd(day)
	return s
}

// Cancellers: who cancelled a subscription.
const (
	ByBuyer    = "buyer"
	ByOperator = "operator"
)

// CancelInput is a cancellation's reason.
type CancelInput struct {
	Reason string `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}

// Cancel decides a cancellation by a party at an instant: the buyer or the seller (the operator)
// may cancel an active subscription; cancelling a cancelled one changes nothing (changed false),
// and an expired one has nothing left to cancel.
func Cancel(s Subscription, caller datavenue.Caller, reason string, now time.Time) (out Subscription, changed bool, err error) {
	by := ""
	switch {
	case caller.Org == s.BuyerID && caller.Role == datavenue.RoleBuyer:
		by = ByBuyer
	case caller.Org == s.SellerID && caller.Role == datavenue.RoleOperator:
		by = ByOperator
	default:
		return s, false, datavenue.NotFound("subscription_not_found", "no such subscription of yours")
	}
	if reason == "" || len(reason) > 500 {
		return s, false, datavenue.Invalid("invalid_reason", "a cancellation states its reason",
			datavenue.FieldError{Field: "reason", Code: "required", Message: "reason is 1 to 500 characters"})
	}
	switch s.StatusAt(now) {
	case StatusCancelled:
		return s, false, nil
	case StatusExpired:
		return s, false, datavenue.Conflict("subscription_expired", "the subscription's term has ended: there is nothing to cancel")
	}
	s.CancelledAt, s.CancelledBy, s.CancelReason, s.Status = &now, by, reason, StatusCancelled
	return s, true, nil
}
