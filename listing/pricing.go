package listing

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// The pricing methods (D14, G7).
const (
	MethodGuided      = "guided"      // 政府指导定价: base price and float range
	MethodAppraisal   = "appraisal"   // 评估定价: from a valid appraisal of the source asset
	MethodAuction     = "auction"     // 进场竞价
	MethodNegotiation = "negotiation" // 协议约定
	MethodFree        = "free"        // public governance and public welfare use (G7)
)

// AuctionKinds are the auction formats the matching engine runs: an open ascending auction, and
// sealed-bid auctions where the winner pays its own bid (first price) or the second-highest bid
// (second price).
var AuctionKinds = []string{"english", "sealed_first", "sealed_second"}

// Pricing is a product's pricing method with its parameters. Only the fields of its method are set.
type Pricing struct {
	Method string `json:"method"`
	// guided: the band is BasePrice ± FloatPercent%, and ListPrice lies inside it.
	BasePrice    *money.Yuan `json:"base_price,omitempty"`
	FloatPercent *int        `json:"float_percent,omitempty"`
	BandLow      *money.Yuan `json:"band_low,omitempty"`
	BandHigh     *money.Yuan `json:"band_high,omitempty"`
	// guided, appraisal, negotiation: the asking price.
	ListPrice *money.Yuan `json:"list_price,omitempty"`
	// appraisal: the appraisal used and the share of its value that is the reserve.
	AppraisalID    string `json:"appraisal_id,omitempty"`
	ReservePercent *int   `json:"reserve_percent,omitempty"`
	// appraisal (derived from the appraised value) and auction: the lowest acceptable price.
	Reserve *money.Yuan `json:"reserve,omitempty"`
	// auction
	AuctionKind      string      `json:"auction_kind,omitempty"`
	Opening          *money.Yuan `json:"opening_price,omitempty"`
	Increment        *money.Yuan `json:"increment,omitempty"`
	StartAt          *time.Time  `json:"start_at,omitempty"`
	EndAt            *time.Time  `json:"end_at,omitempty"`
	AntiSnipeMinutes *int        `json:"anti_snipe_minutes,omitempty"`
	Deposit          *money.Yuan `json:"deposit,omitempty"`
	// negotiation: an optional range around the list price.
	MinPrice *money.Yuan `json:"min_price,omitempty"`
	MaxPrice *money.Yuan `json:"max_price,omitempty"`
	// ChargingUnit is what the price is charged per (N3): one_off (the product as a whole, the
	// default), per_call, per_time_unit, per_volume. Metadata for now: trades settle one-off.
	ChargingUnit string `json:"charging_unit,omitempty"`
	// Subscription: the product is sold as a service with a term (see SubscriptionPlan); absent,
	// it is sold once, as every product was before.
	Subscription *SubscriptionPlan `json:"subscription,omitempty"`
	Currency     string            `json:"currency"`
}

// PricingInput is pricing as submitted: amounts as decimal strings, times as RFC 3339.
type PricingInput struct {
	Method           string `json:"method" jsonschema:"enum=guided,enum=appraisal,enum=auction,enum=negotiation,enum=free"`
	BasePrice        string `json:"base_price,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	FloatPercent     *int   `json:"float_percent,omitempty" jsonschema:"minimum=0,maximum=100"`
	ListPrice        string `json:"list_price,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	AppraisalID      string `json:"appraisal_id,omitempty"`
	ReservePercent   *int   `json:"reserve_percent,omitempty" jsonschema:"minimum=1,maximum=1000,description=reserve as a percentage of the appraised value (default 100)"`
	Reserve          string `json:"reserve,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	AuctionKind      string `json:"auction_kind,omitempty" jsonschema:"enum=english,enum=sealed_first,enum=sealed_second"`
	OpeningPrice     string `json:"opening_price,omitempty" jsonschema:"description=English auctions: the first bid's minimum (起拍价), at most the reserve; default the reserve,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	Increment        string `json:"increment,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	StartAt          string `json:"start_at,omitempty" jsonschema:"format=date-time"`
	EndAt            string `json:"end_at,omitempty" jsonschema:"format=date-time"`
	AntiSnipeMinutes *int   `json:"anti_snipe_minutes,omitempty" jsonschema:"minimum=0,maximum=60"`
	Deposit          string `json:"deposit,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	MinPrice         string `json:"min_price,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	MaxPrice         string `json:"max_price,omitempty" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	ChargingUnit     string `json:"charging_unit,omitempty" jsonschema:"enum=one_off,enum=per_call,enum=per_time_unit,enum=per_volume,description=what the price is charged per (N3); default: one_off"`
	// Subscription sells the product as a service with a term; the price agreed is then the price
	// per charging unit.
	Subscription *SubscriptionPlanInput `json:"subscription,omitempty"`
}

// pricingParser parses the fields of a pricing input into Fields, so that every bad field is
// reported in one 422 rather than one per attempt; each field name is prefixed "pricing.".
type pricingParser struct {
	f *datavenue.Fields
}

func (p pricingParser) amount(field, v string, required bool) *money.Yuan {
	if v == "" {
		if required {
			p.f.Add("pricing."+field, "required", field+" is required for this pricing method")
		}
		return nil
	}
	y, err := money.Parse(v)
	if err != nil {
		p.f.Add("pricing."+field, "invalid_amount", err.Error())
		return nil
	}
	return &y
}

// instant requires an RFC 3339 time with its offset, so a time is never read in the server's own
// zone, and stores it in UTC; clients see it back with an offset.
func (p pricingParser) instant(field, v string) *time.Time {
	if v == "" {
		p.f.Add("pricing."+field, "required", field+" is required for an auction")
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.f.Add("pricing."+field, "invalid_time", field+" is an RFC 3339 time with offset, e.g. 2026-12-01T10:00:00+08:00")
		return nil
	}
	t = t.UTC()
	return &t
}

// forbid refuses a field that its method does not use, rather than ignoring it: a free product
// sent with a price is a client mistake the operator should hear about.
func (p pricingParser) forbid(field, v string) {
	if v != "" {
		p.f.Add("pricing."+field, "not_applicable", field+" does not apply to this pricing method")
	}
}

// Parse validates pricing input and returns the pricing it describes (band and defaults filled in;
// the appraisal reserve is derived later, from the appraisal itself).
func (in PricingInput) Parse(f *datavenue.Fields) Pricing {
	// Every amount is yuan with at most two places (the fen); money never passes through a float.
	p := pricingParser{f}
	out := Pricing{Method: in.Method, Currency: "CNY"}
	if in.ChargingUnit != "" && in.ChargingUnit != UnitOneOff {
		enum(f, "pricing.charging_unit", in.ChargingUnit, ChargingUnits)
		out.ChargingUnit = in.ChargingUnit
	}
	if in.Subscription != nil {
		out.Subscription = in.Subscription.parse(f, in.Method, out.ChargingUnit)
	}
	switch in.Method {
	case MethodGuided:
		out.BasePrice = p.amount("base_price", in.BasePrice, true)
		out.ListPrice = p.amount("list_price", in.ListPrice, true)
		if in.FloatPercent == nil || *in.FloatPercent < 0 || *in.FloatPercent > 100 {
			f.Add("pricing.float_percent", "required", "float_percent is the float range in percent, 0 to 100")
		} else if out.BasePrice != nil {
			out.FloatPercent = in.FloatPercent
			out.BandLow, out.BandHigh = Band(*out.BasePrice, *in.FloatPercent)
		}
	case MethodAppraisal:
		out.ListPrice = p.amount("list_price", in.ListPrice, true)
		out.AppraisalID = in.AppraisalID
		if in.AppraisalID == "" {
			f.Add("pricing.appraisal_id", "required", "appraisal-based pricing names the appraisal it uses")
		}
		// By default the reserve is the appraised value itself; an operator may set it lower or
		// higher (1–1000%), and the gate checks the asking price against it.
		pct := 100
		if in.ReservePercent != nil {
			pct = *in.ReservePercent
		}
		if pct < 1 || pct > 1000 {
			f.Add("pricing.reserve_percent", "out_of_range", "reserve_percent is 1 to 1000")
		}
		out.ReservePercent = &pct
	case MethodAuction:
		if !slices.Contains(AuctionKinds, in.AuctionKind) {
			f.Add("pricing.auction_kind", "invalid_value", "auction_kind is english, sealed_first or sealed_second")
		}
		out.AuctionKind = in.AuctionKind
		out.Reserve = p.amount("reserve", in.Reserve, true)
		out.Opening = p.amount("opening_price", in.OpeningPrice, false)
		if out.Opening != nil && out.Reserve != nil && out.Opening.Cmp(*out.Reserve) > 0 {
			f.Add("pricing.opening_price", "above_reserve", "the opening price is at most the reserve")
		}
		out.Increment = p.amount("increment", in.Increment, in.AuctionKind == "english")
		out.Deposit = p.amount("deposit", in.Deposit, false)
		out.StartAt, out.EndAt = p.instant("start_at", in.StartAt), p.instant("end_at", in.EndAt)
		if out.StartAt != nil && out.EndAt != nil && !out.EndAt.After(*out.StartAt) {
			f.Add("pricing.end_at", "invalid_period", "an auction ends after it starts")
		}
		snipe := 5 // China's online judicial auctions extend by 5 minutes for a bid in the last 5
		if in.AntiSnipeMinutes != nil {
			snipe = *in.AntiSnipeMinutes
		}
		if snipe < 0 || snipe > 60 {
			f.Add("pricing.anti_snipe_minutes", "out_of_range", "anti_snipe_minutes is 0 to 60")
		}
		out.AntiSnipeMinutes = &snipe
		if out.Increment != nil && out.Increment.IsZero() {
			f.Add("pricing.increment", "out_of_range", "the minimum increment is at least 0.01")
		}
	case MethodNegotiation:
		out.ListPrice = p.amount("list_price", in.ListPrice, true)
		out.MinPrice, out.MaxPrice = p.amount("min_price", in.MinPrice, false), p.amount("max_price", in.MaxPrice, false)
		if out.MinPrice != nil && out.MaxPrice != nil && out.MinPrice.Cmp(*out.MaxPrice) > 0 {
			f.Add("pricing.max_price", "invalid_range", "max_price is at least min_price")
		}
	case MethodFree:
		for field, v := range map[string]string{"list_price": in.ListPrice, "base_price": in.BasePrice, "reserve": in.Reserve} {
			p.forbid(field, v)
		}
	default:
		f.Add("pricing.method", "invalid_value", "method is guided, appraisal, auction, negotiation or free")
	}
	return out
}

// Band is the guided price band base × (1 ± pct/100), rounded inwards to the fen so that a price
// inside the rounded band is inside the exact one.
func Band(base money.Yuan, pct int) (low, high *money.Yuan) {
	d := base.Decimal()
	f := decimal.NewFromInt(int64(pct)).Div(decimal.NewFromInt(100))
	l := money.FromDecimal(d.Mul(decimal.NewFromInt(1).Sub(f)).RoundUp(2))
	h := money.FromDecimal(d.Mul(decimal.NewFromInt(1).Add(f)).RoundDown(2))
	return &l, &h
}

// AppraisalReserve is the appraised value × pct/100, rounded up to the fen (never below the
// exact share).
func AppraisalReserve(value money.Yuan, pct int) money.Yuan {
	return money.FromDecimal(value.Decimal().Mul(decimal.NewFromInt(int64(pct))).Div(decimal.NewFromInt(100)).RoundUp(2))
}

// RefPrice is the single price the catalogue filters and sorts on: the asking price, or for an
// auction its reserve, or zero when free.
func (p Pricing) RefPrice() money.Yuan {
	switch {
	case p.Method == MethodAuction && p.Reserve != nil:
		return *p.Reserve
	case p.ListPrice != nil:
		return *p.ListPrice
	}
	return money.Zero
}
