package settlement

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// The operator's maximum allowed revenue (最高准许收入, DOMAIN.md N4/N5). The authorities set it per
// operator and calendar year (China Standard Time); the operator's revenue is its `operator`
// shares of paid orders whose money was received in the year. N5 says revenue above the maximum
// "is deducted from the next period's maximum": the venue does not refuse trades as the maximum
// is approached or passed, it records the excess, and the next year's effective maximum is the
// maximum set less that excess.

// Standing statuses of an operator's revenue against its maximum for a year.
const (
	RevenueNotSet      = "not_set"     // no maximum set for the year: nothing to measure against
	RevenueWithin      = "within"      // under 90% of the effective maximum
	RevenueApproaching = "approaching" // 90% or more, still under the maximum: a warning
	RevenueReached     = "reached"     // exactly the maximum
	RevenueExceeded    = "exceeded"    // above it: the excess is deducted from next year's maximum
)

// WarnRatio is the share of the effective maximum from which the standing is `approaching`.
var WarnRatio = decimal.RequireFromString("0.9")

// AllowedRevenue is one version of an operator's maximum allowed revenue for a year, as set by the
// authorities (a finance bureau). Versions are append-only; the newest one is in force.
type AllowedRevenue struct {
	ID               string          `json:"id"`
	OperatorID       datavenue.OrgID `json:"operator_id"`
	Year             int             `json:"year"`
	Version          int             `json:"version"`
	Amount           money.Yuan      `json:"amount"`
	Currency         string          `json:"currency"`
	ApprovalRef      string          `json:"approval_ref"`
	PricingDocNumber string          `json:"pricing_doc_number,omitempty"`
	SetByOrg         datavenue.OrgID `json:"set_by_org"`
	SetBy            string          `json:"set_by"`
	SetAt            time.Time       `json:"set_at"`
}

// AllowedRevenueInput is a maximum as the finance bureau sets it.
type AllowedRevenueInput struct {
	Year             int    `json:"year" jsonschema:"minimum=2000,maximum=2100,description=the calendar year in China Standard Time"`
	Amount           string `json:"amount" jsonschema:"description=the maximum in yuan as a decimal string,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	ApprovalRef      string `json:"approval_ref" jsonschema:"minLength=1,maxLength=200,description=the written approval (e.g. 财政局批复〔2026〕3号)"`
	PricingDocNumber string `json:"pricing_doc_number,omitempty" jsonschema:"maxLength=200,description=the pricing authority's document number where one exists"`
}

// Validate checks the input and returns the maximum it describes (id, version and setter unset).
func (in AllowedRevenueInput) Validate() (AllowedRevenue, error) {
	var f datavenue.Fields
	a := AllowedRevenue{Year: in.Year, Currency: "CNY", ApprovalRef: strings.TrimSpace(in.ApprovalRef),
		PricingDocNumber: strings.TrimSpace(in.PricingDocNumber)}
	if in.Year < 2000 || in.Year > 2100 {
		f.Add("year", "out_of_range", "year is a calendar year between 2000 and 2100")
	}
	if y, err := money.Parse(in.Amount); err != nil {
		f.Add("amount", "invalid_amount", err.Error())
	} else {
		a.Amount = y
	}
	assets.Text(&f, "approval_ref", a.ApprovalRef, 1, 200)
	assets.Text(&f, "pricing_doc_number", a.PricingDocNumber, 0, 200)
	return a, f.Err()
}

// RevenueYear is what the store knows of one year: the maximum in force (nil when none was set)
// and the revenue earned.
type RevenueYear struct {
	Year    int
	Allowed *money.Yuan
	Earned  money.Yuan
}

// RevenueStanding is an operator's revenue against its maximum for a year.
type RevenueStanding struct {
	OperatorID datavenue.OrgID `json:"operator_id"`
	Year       int             `json:"year"`
	Currency   string          `json:"currency"`
	// Allowed is the maximum set for the year; Deducted the previous year's excess (N5);
	// Effective what the year's revenue is measured against: Allowed less Deducted, at least 0.
	Allowed   *money.Yuan `json:"allowed"`
	Deducted  money.Yuan  `json:"deducted"`
	Effective *money.Yuan `json:"effective"`
	Earned    money.Yuan  `json:"earned"`
	Remaining *money.Yuan `json:"remaining"`
	// Ratio is Earned over Effective, to four places; absent when nothing is set or Effective is 0.
	Ratio *string `json:"ratio"`
	// Excess is the revenue above Effective: deducted from next year's maximum.
	Excess   money.Yuan       `json:"excess"`
	Status   string           `json:"status" jsonschema:"enum=not_set,enum=within,enum=approaching,enum=reached,enum=exceeded"`
	Versions []AllowedRevenue `json:"versions"`
}

// Standings measures consecutive years, oldest first, carrying each year's excess into the next
// one's deduction (N5). A year without a maximum has no excess, so it carries nothing on.
func Standings(years []RevenueYear) []RevenueStanding {
	out := make([]RevenueStanding, 0, len(years))
	carry := decimal.Zero
	for i, y := range years {
		if i > 0 && y.Year != years[i-1].Year+1 {
			carry = decimal.Zero // a gap: the previous period is not this one's predecessor
		}
		s := Measure(y.Allowed, money.FromDecimal(carry), y.Earned)
		s.Year = y.Year
		out = append(out, s)
		carry = s.Excess.Decimal()
	}
	return out
}

// Measure is one year's standing: the maximum (nil: not set), the deduction carried from the year
// before and the revenue earned.
func Measure(allowed *money.Yuan, deducted, earned money.Yuan) RevenueStanding {
	s := RevenueStanding{Currency: "CNY", Earned: earned, Deducted: deducted, Status: RevenueNotSet}
	if allowed == nil {
		s.Deducted = money.FromDecimal(decimal.Zero)
		return s
	}
	// The effective maximum never goes below zero: a deduction larger than the maximum leaves
	// nothing allowed. (The part of such a deduction beyond the maximum is not carried further.)
	eff := decimal.Max(allowed.Decimal().Sub(deducted.Decimal()), decimal.Zero)
	effective := money.FromDecimal(eff)
	remaining := money.FromDecimal(decimal.Max(eff.Sub(earned.Decimal()), decimal.Zero))
	s.Allowed, s.Effective, s.Remaining = allowed, &effective, &remaining
	s.Excess = money.FromDecimal(decimal.Max(earned.Decimal().Sub(eff), decimal.Zero))
	if !eff.IsZero() {
		r := earned.Decimal().DivRound(eff, 4).StringFixed(4)
		s.Ratio = &r
	}
	// The ratio is rounded to four places for display and the metrics; the status compares the
	// exact amounts, so rounding can never move an operator across a threshold.
	switch c := earned.Decimal().Cmp(eff); {
	case c > 0:
		s.Status = RevenueExceeded
	case c == 0:
		s.Status = RevenueReached
	case earned.Decimal().GreaterThanOrEqual(eff.Mul(WarnRatio)):
		s.Status = RevenueApproaching
	default:
		s.Status = RevenueWithin
	}
	return s
}

// Warns reports whether a status is one the venue records a warning for (an audit event once per
// operator, year and status).
func Warns(status string) bool {
	return status == RevenueApproaching || status == RevenueReached || status == RevenueExceeded
}

// AllowedRevenueStore keeps the maxima and reads the revenue earned.
type AllowedRevenueStore interface {
	// SetAllowedRevenue appends the next version for the operator and year, with its audit record.
	SetAllowedRevenue(ctx context.Context, a AllowedRevenue) (AllowedRevenue, error)
	// AllowedRevenues lists every version for the operator and year, oldest first (not found: an
	// unknown organisation).
	AllowedRevenues(ctx context.Context, operator datavenue.OrgID, year int) ([]AllowedRevenue, error)
	// RevenueYears is, for every year up to the given one from the first with a maximum set (and
	// the given one in any case), the maximum in force and the operator's revenue.
	RevenueYears(ctx context.Context, operator datavenue.OrgID, upTo int) ([]RevenueYear, error)
	// RecordRevenueWarning records the audit event for a status once per operator and year.
	RecordRevenueWarning(ctx context.Context, s RevenueStanding) error
	// OperatorsWithAllowedRevenue lists the operators with a maximum set for the year.
	OperatorsWithAllowedRevenue(ctx context.Context, year int) ([]datavenue.OrgID, error)
}

// AllowedRevenues sets the maxima and measures revenue against them.
type AllowedRevenues struct {
	Store AllowedRevenueStore
	Clock datavenue.Clock
}

// Set records an operator's maximum for a year: a finance bureau does (with the pricing
// authority's document where one exists).
func (s AllowedRevenues) Set(ctx context.Context, caller datavenue.Caller, operator string, in AllowedRevenueInput) (AllowedRevenue, error) {
	if !caller.Is(datavenue.RoleFinanceBureau) {
		return AllowedRevenue{}, datavenue.Forbidden("role_not_allowed", "the authorities (a finance bureau) set the maximum allowed revenue")
	}
	a, err := in.Validate()
	if err != nil {
		return AllowedRevenue{}, err
	}
	a.ID, a.OperatorID, a.SetByOrg, a.SetBy = datavenue.NewID("arv"), datavenue.OrgID(operator), caller.Org, caller.Subject
	return s.Store.SetAllowedRevenue(ctx, a)
}

// Standing is an operator's revenue against its maximum for a year (0: this year): the operator
// itself, the bureaus and the auditors read it.
func (s AllowedRevenues) Standing(ctx context.Context, caller datavenue.Caller, operator, year string) (RevenueStanding, error) {
	own := caller.Org == datavenue.OrgID(operator) && caller.Is(datavenue.RoleOperator)
	if !own && !caller.Is(access.Overseers...) {
		return RevenueStanding{}, datavenue.NotFound("organisation_not_found", "no such operator")
	}
	y := civil.Of(s.Clock.Now()).Time().Year()
	if year != "" {
		n, err := strconv.Atoi(year)
		if err != nil || n < 2000 || n > 2100 {
			return RevenueStanding{}, datavenue.Invalid("validation_failed", "the request has invalid fields",
				datavenue.FieldError{Field: "year", Code: "out_of_range", Message: "year is a calendar year between 2000 and 2100"})
		}
		y = n
	}
	return s.Measure(ctx, datavenue.OrgID(operator), y)
}

// Measure computes an operator's standing for a year, with the year's versions.
func (s AllowedRevenues) Measure(ctx context.Context, operator datavenue.OrgID, year int) (RevenueStanding, error) {
	versions, err := s.Store.AllowedRevenues(ctx, operator, year)
	if err != nil {
		return RevenueStanding{}, err
	}
	years, err := s.Store.RevenueYears(ctx, operator, year)
	if err != nil {
		return RevenueStanding{}, err
	}
	all := Standings(years)
	st := all[len(all)-1]
	st.OperatorID, st.Versions = operator, versions
	if st.Versions == nil {
		st.Versions = []AllowedRevenue{}
	}
	return st, nil
}

// Watch measures the standing of the operators paid by an order in the year its money was
// received, and records a warning for each that is approaching, at or over its maximum. The
// payment path calls it after the payment is committed.
func (s AllowedRevenues) Watch(ctx context.Context, o Order) error {
	if o.ReceivedOn == nil {
		return nil
	}
	for _, sh := range o.Shares {
		if sh.Role != "operator" || sh.Party == "" {
			continue
		}
		st, err := s.Measure(ctx, sh.Party, o.ReceivedOn.Time().Year())
		if err != nil {
			return err
		}
		if Warns(st.Status) {
			if err := s.Store.RecordRevenueWarning(ctx, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// Current is the standing of every operator with a maximum set for this year (the metrics).
func (s AllowedRevenues) Current(ctx context.Context) ([]RevenueStanding, error) {
	year := civil.Of(s.Clock.Now()).Time().Year()
	ops, err := s.Store.OperatorsWithAllowedRevenue(ctx, year)
	if err != nil {
		return nil, err
	}
	out := make([]RevenueStanding, 0, len(ops))
	for _, op := range ops {
		st, err := s.Measure(ctx, op, year)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
