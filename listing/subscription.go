package listing

import (
	"slices"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// Billing periods of a subscription plan.
const (
	PeriodMonthly   = "monthly"
	PeriodQuarterly = "quarterly"
)

// BillingPeriods are the billing periods a plan may have.
var BillingPeriods = []string{PeriodMonthly, PeriodQuarterly}

// MaxTermPeriods bounds a term: three years of monthly periods.
const MaxTermPeriods = 36

// SubscriptionPlan is the price metadata of a product sold as a service (N3): a trade for it makes
// a subscription rather than a one-off order. The trade's price is the price per charging unit
// (the unit the product's cap is filed for, so the engine already keeps every bid and offer under
// it); the plan adds a fixed fee per period, a maximum bill per period and, for free public-welfare
// use, a quota of units per period instead of a price.
type SubscriptionPlan struct {
	BillingPeriod string `json:"billing_period" jsonschema:"enum=monthly,enum=quarterly"`
	// TermPeriods is the term's length in billing periods.
	TermPeriods int `json:"term_periods"`
	// Renewal: the term renews for the same length at its end unless cancelled.
	Renewal bool `json:"renewal"`
	// FixedFee is charged per period whatever the use (paid plans; 0.00 when none). It is a price
	// by service time (N3), so it is held under the cap filed for per_time_unit.
	FixedFee *money.Yuan `json:"fixed_fee,omitempty"`
	// PlanMaximum is the most one period's bill can be (paid plans; absent: no maximum but the caps).
	PlanMaximum *money.Yuan `json:"plan_maximum,omitempty"`
	// Quota is the units a buyer may use per period of a free plan (N1: free use, within a quota).
	Quota *decimal.Decimal `json:"quota,omitempty"`
}

// SubscriptionPlanInput is a plan as the operator submits it.
type SubscriptionPlanInput struct {
	BillingPeriod string `json:"billing_period" jsonschema:"enum=monthly,enum=quarterly"`
	TermPeriods   int    `json:"term_periods" jsonschema:"minimum=1,maximum=36,description=the term's length in billing periods"`
	Renewal       bool   `json:"renewal,omitempty" jsonschema:"description=the term renews for the same length at its end unless cancelled"`
	FixedFee      string `json:"fixed_fee,omitempty" jsonschema:"description=paid plans: a fee per period (a price by service time: at most the per_time_unit cap),example=300.00,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	PlanMaximum   string `json:"plan_maximum,omitempty" jsonschema:"description=paid plans: the most one period's bill can be,example=5000.00,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	Quota         string `json:"quota,omitempty" jsonschema:"description=free plans: the units a buyer may use per period (at most two places),example=10000,pattern=^[0-9]{1\\,12}(\\.[0-9]{1\\,2})?$"`
}

// parse validates a plan for a pricing method and charging unit.
func (in SubscriptionPlanInput) parse(f *datavenue.Fields, method, unit string) *SubscriptionPlan {
	p := pricingParser{f}
	plan := &SubscriptionPlan{BillingPeriod: in.BillingPeriod, TermPeriods: in.TermPeriods, Renewal: in.Renewal}
	enum(f, "pricing.subscription.billing_period", in.BillingPeriod, BillingPeriods)
	if in.TermPeriods < 1 || in.TermPeriods > MaxTermPeriods {
		f.Add("pricing.subscription.term_periods", "out_of_range", "term_periods is 1 to 36")
	}
	// A subscription is metered: its price is per call, time or volume, never the product as a whole.
	if unit == "" || unit == UnitOneOff {
		f.Add("pricing.charging_unit", "subscription_needs_unit", "a subscription is charged per_call, per_time_unit or per_volume (N3)")
	}
	if method == MethodFree {
		p.forbid("subscription.fixed_fee", in.FixedFee)
		p.forbid("subscription.plan_maximum", in.PlanMaximum)
		q, err := decimal.NewFromString(in.Quota)
		// Two places at most: the quota is written back as the API's decimals are (-1234.50).
		if err != nil || !q.IsPositive() || q.Exponent() < -2 || q.GreaterThanOrEqual(decimal.New(1, 12)) {
			f.Add("pricing.subscription.quota", "required", "a free plan has a positive quota of units per period, below 10^12, at most two places")
		} else {
			plan.Quota = &q
		}
		return plan
	}
	p.forbid("subscription.quota", in.Quota)
	fee := money.Zero
	if y := p.amount("subscription.fixed_fee", in.FixedFee, false); y != nil {
		fee = *y
	}
	plan.FixedFee = &fee
	plan.PlanMaximum = p.amount("subscription.plan_maximum", in.PlanMaximum, false)
	if m := plan.PlanMaximum; m != nil && (m.IsZero() || m.Cmp(fee) < 0) {
		f.Add("pricing.subscription.plan_maximum", "out_of_range", "the plan maximum is positive and at least the fixed fee")
	}
	return plan
}

// evaluatePlan holds a paid plan's fixed fee under the cap in force for per_time_unit: a fee per
// period is a price by service time (N3), and N4 caps every price the operator sets.
func evaluatePlan(p Product, caps []Cap, today civil.Date) []datavenue.FieldError {
	plan := p.Pricing.Subscription
	if plan == nil || plan.FixedFee == nil || plan.FixedFee.IsZero() {
		return nil
	}
	c := CapInForce(caps, "per_time_unit", today)
	if c == nil {
		return []datavenue.FieldError{{Field: "pricing.subscription.fixed_fee", Code: CondCapMissing,
			Message: "a fixed fee per period is a price by service time and needs the price cap in force for per_time_unit (N3, N4)"}}
	}
	if plan.FixedFee.Cmp(c.Amount) > 0 {
		return []datavenue.FieldError{{Field: "pricing.subscription.fixed_fee", Code: CondAboveCap,
			Message: plan.FixedFee.String() + " is above the price cap " + c.Amount.String() + " (" + c.ApprovalRef + ")"}}
	}
	return nil
}

// Metered reports whether a charging unit is metered (per call, time or volume).
func Metered(unit string) bool { return unit != UnitOneOff && slices.Contains(ChargingUnits, unit) }
