package listing

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// ChargingUnits are what a price is charged per (N3): the product as a whole (one_off, the
// default and what every trade settles today), a call, a unit of service time, a unit of data
// volume. The unit is price metadata: metering the others is a later issue's.
var ChargingUnits = []string{UnitOneOff, "per_call", "per_time_unit", "per_volume"}

// UnitOneOff is the charging unit of a product sold as a whole.
const UnitOneOff = "one_off"

// FreeUse reports whether a purpose of use is free by law (N1, G7): public governance and public
// welfare; industry (and sector) development is paid.
func FreeUse(purpose string) bool {
	return purpose == "public_governance" || purpose == "public_welfare"
}

// Cap is one version of a price cap (上限收费标准, N2–N4): the authorising body's highest price
// for a product and charging unit, with its approval and the pricing authority's document. Caps
// are append-only; the cap in force on a day is the newest version whose validity covers it.
type Cap struct {
	ID               string          `json:"id"`
	ProductID        string          `json:"product_id"`
	ChargingUnit     string          `json:"charging_unit"`
	Version          int             `json:"version"`
	Amount           money.Yuan      `json:"amount"`
	Currency         string          `json:"currency"`
	ApprovalRef      string          `json:"approval_ref"`
	PricingDocNumber string          `json:"pricing_doc_number,omitempty"`
	ValidFrom        civil.Date      `json:"valid_from"`
	ValidUntil       civil.Date      `json:"valid_until"`
	FiledByOrg       datavenue.OrgID `json:"filed_by_org"`
	FiledBy          string          `json:"filed_by"`
	FiledAt          time.Time       `json:"filed_at"`
}

// InForceOn reports whether the cap's validity covers a day: both ends included, CST civil dates,
// as the authority's approval states them.
func (c Cap) InForceOn(day civil.Date) bool {
	return !day.Before(c.ValidFrom) && !day.After(c.ValidUntil)
}

// CapInForce is the cap for a charging unit on a day among a product's caps: the newest version
// whose validity covers the day, or nil. The newest wins even where an older one also covers the
// day, because caps are never edited: a refiling is how the authority corrects or replaces one.
func CapInForce(caps []Cap, unit string, day civil.Date) *Cap {
	var best *Cap
	for i, c := range caps {
		if c.ChargingUnit == unit && c.InForceOn(day) && (best == nil || c.Version > best.Version) {
			best = &caps[i]
		}
	}
	return best
}

// CapInput is a cap as the data bureau files it.
type CapInput struct {
	ChargingUnit     string `json:"charging_unit,omitempty" jsonschema:"enum=one_off,enum=per_call,enum=per_time_unit,enum=per_volume,description=default: one_off"`
	Amount           string `json:"amount" jsonschema:"description=the cap in yuan as a decimal string,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	ApprovalRef      string `json:"approval_ref" jsonschema:"minLength=1,maxLength=200,description=the authorising body's written approval (e.g. 数据局批复〔2026〕12号)"`
	PricingDocNumber string `json:"pricing_doc_number,omitempty" jsonschema:"maxLength=200,description=the pricing authority's document number where one exists"`
	ValidFrom        string `json:"valid_from,omitempty" jsonschema:"format=date,description=China Standard Time; default: today"`
	ValidUntil       string `json:"valid_until" jsonschema:"format=date"`
}

// Validate checks the input and returns the cap it describes (id, version and filer still unset).
func (in CapInput) Validate(today civil.Date) (Cap, error) {
	var f datavenue.Fields
	c := Cap{ChargingUnit: in.ChargingUnit, Currency: "CNY", ApprovalRef: strings.TrimSpace(in.ApprovalRef),
		PricingDocNumber: strings.TrimSpace(in.PricingDocNumber), ValidFrom: today}
	if c.ChargingUnit == "" {
		c.ChargingUnit = UnitOneOff
	}
	enum(&f, "charging_unit", c.ChargingUnit, ChargingUnits)
	if y, err := money.Parse(in.Amount); err != nil {
		f.Add("amount", "invalid_amount", err.Error())
	} else if y.IsZero() {
		f.Add("amount", "out_of_range", "a cap is more than 0.00: a free use has no cap, it is free")
	} else {
		c.Amount = y
	}
	assets.Text(&f, "approval_ref", c.ApprovalRef, 1, 200)
	assets.Text(&f, "pricing_doc_number", c.PricingDocNumber, 0, 200)
	// valid_from defaults to today (CST): a cap filed without one is in force at once. It may
	// lie in the past, to record a cap approved before it was filed here.
	if in.ValidFrom != "" {
		if d, err := civil.Parse(in.ValidFrom); err != nil {
			f.Add("valid_from", "invalid_date", "valid_from is a date, YYYY-MM-DD")
		} else {
			c.ValidFrom = d
		}
	}
	if d, err := civil.Parse(in.ValidUntil); err != nil {
		f.Add("valid_until", "invalid_date", "valid_until is a date, YYYY-MM-DD")
	} else if c.ValidUntil = d; d.Before(c.ValidFrom) {
		f.Add("valid_until", "invalid_period", "valid_until is on or after valid_from")
	}
	return c, f.Err()
}

// CapStore keeps caps: FileCap appends the next version for the product and unit, with its audit
// record, in one transaction.
type CapStore interface {
	FileCap(ctx context.Context, c Cap) (Cap, error)
	Caps(ctx context.Context, productID string) ([]Cap, error)
}

// Caps files and lists price caps.
type Caps struct {
	Store    CapStore
	Products Store
	Clock    datavenue.Clock
	// Filed runs after a cap is filed: the matching engine brings the product's running auctions
	// under it (a lowered cap: matching.Service.ApplyCap). Nil: nothing runs.
	Filed func(ctx context.Context, productID string) error
}

// File records a cap for a product: only the authorising body (a data bureau) files caps.
func (s Caps) File(ctx context.Context, caller datavenue.Caller, productID string, in CapInput) (Cap, error) {
	if !caller.Is(datavenue.RoleDataBureau) {
		return Cap{}, datavenue.Forbidden("role_not_allowed", "the authorising body (a data bureau) files price caps")
	}
	p, err := s.Products.Product(ctx, productID)
	if err != nil {
		return Cap{}, err
	}
	// 409, not 422: the input may be fine; it is the product's purpose (N1: free use) that leaves
	// nothing to cap.
	if FreeUse(p.UseCategory) {
		return Cap{}, datavenue.Conflict("free_use_has_no_cap", "the product serves "+p.UseCategory+", a free use (N1): it has no cap, it is free")
	}
	c, err := in.Validate(civil.Of(s.Clock.Now()))
	if err != nil {
		return Cap{}, err
	}
	c.ID, c.ProductID, c.FiledByOrg, c.FiledBy = datavenue.NewID("cap"), p.ID, caller.Org, caller.Subject
	if c, err = s.Store.FileCap(ctx, c); err != nil {
		return Cap{}, err
	}
	// Filed runs after the commit, so its failure does not undo the filing; its error is still
	// returned, since running auctions may then be above the new cap.
	if s.Filed != nil {
		return c, s.Filed(ctx, p.ID)
	}
	return c, nil
}

// List returns every cap version of a product visible to the caller, oldest first.
func (s Caps) List(ctx context.Context, caller datavenue.Caller, productID string) ([]Cap, error) {
	if _, err := (Service{Store: s.Products, Clock: s.Clock}).Get(ctx, caller, productID); err != nil {
		return nil, err
	}
	return s.Store.Caps(ctx, productID)
}

// UnitOf is a pricing's charging unit, one_off when none is given.
func UnitOf(p Pricing) string {
	if p.ChargingUnit == "" {
		return UnitOneOff
	}
	return p.ChargingUnit
}

// capped lists the amounts of a pricing a cap bounds, by field: the list price, the band's top, the
// reserve, the opening price, the negotiation's maximum. N4 has the operator set actual prices at or
// below the cap, so every price the product announces is bounded; bids are the engine's to bound.
func capped(p Pricing) map[string]*money.Yuan {
	return map[string]*money.Yuan{"pricing.list_price": p.ListPrice, "pricing.band_high": p.BandHigh,
		"pricing.reserve": p.Reserve, "pricing.opening_price": p.Opening, "pricing.max_price": p.MaxPrice}
}

// evaluateCap checks the price against the cap in force (N4): a paid purpose needs one, and every
// amount the pricing sets is at or under it.
func evaluateCap(p Product, facts Facts, today civil.Date) []datavenue.FieldError {
	if FreeUse(p.UseCategory) || p.Pricing.Method == MethodFree {
		return nil
	}
	unit := UnitOf(p.Pricing)
	c := CapInForce(facts.Caps, unit, today)
	if c == nil {
		return []datavenue.FieldError{{Field: "pricing.charging_unit", Code: CondCapMissing,
			Message: "a product for " + p.UseCategory + " use is paid and needs the authorising body's price cap in force for " + unit + " (N4)"}}
	}
	// The fields come from a map; sorted, so the refusal lists them in the same order every time.
	var unmet []datavenue.FieldError
	fields := capped(p.Pricing)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, field := range names {
		if y := fields[field]; y != nil && y.Cmp(c.Amount) > 0 {
			unmet = append(unmet, datavenue.FieldError{Field: field, Code: CondAboveCap,
				Message: y.String() + " is above the price cap " + c.Amount.String() + " (" + c.ApprovalRef + ")"})
		}
	}
	return append(unmet, evaluatePlan(p, facts.Caps, today)...)
}
