package matching

import (
	"context"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// TradeStats summarise comparable trades (same domain and product type) over a window.
// The quartiles are nil when there are no comparable trades; free-use trades are not counted (a
// 0.00 price says nothing about a market price).
type TradeStats struct {
	Count  int         `json:"count"`
	Median *money.Yuan `json:"median,omitempty"`
	Q1     *money.Yuan `json:"q1,omitempty"`
	Q3     *money.Yuan `json:"q3,omitempty"`
	Since  time.Time   `json:"since"`
}

// Bound is one end of a suggested range, with why it is there: Reason in words (English), Basis
// as a stable code a client (the console, in Chinese first) names in its own language, and Ref
// the document the basis rests on (the appraisal report's number, the cap's approval).
type Bound struct {
	Amount money.Yuan `json:"amount"`
	Reason string     `json:"reason"`
	Basis  string     `json:"basis" jsonschema:"enum=comparable_q1,enum=comparable_q3,enum=appraisal,enum=band_low,enum=band_high,enum=band_high_below,enum=cap,enum=cap_below"`
	Ref    string     `json:"ref,omitempty"`
}

// What set a bound (Bound.Basis).
const (
	BasisComparableQ1  = "comparable_q1"   // the first quartile of comparable trades
	BasisComparableQ3  = "comparable_q3"   // the third quartile of comparable trades
	BasisAppraisal     = "appraisal"       // the appraised value (D14's default basis)
	BasisBandLow       = "band_low"        // the guided band's lower end
	BasisBandHigh      = "band_high"       // the guided band's upper end
	BasisBandHighBelow = "band_high_below" // the band's upper end, the other bases lying above it
	BasisCap           = "cap"             // the price cap in force
	BasisCapBelow      = "cap_below"       // the cap, the other bases lying above it
)

// Guidance is pricing guidance for a product: the rules that bind its price and what the market
// paid for comparable products.
type Guidance struct {
	ProductID string         `json:"product_id"`
	Method    string         `json:"method"`
	Band      *[2]money.Yuan `json:"guided_band,omitempty"`
	// Cap is the price cap in force today for the product's charging unit (N2–N4): no price,
	// bid or counter-offer may exceed it, so the suggested range stays under it too.
	Cap        *listing.Cap            `json:"cap,omitempty"`
	Appraisal  *certificates.Appraisal `json:"appraisal,omitempty"`
	Comparable TradeStats              `json:"comparable_trades"`
	Low        *Bound                  `json:"suggested_low,omitempty"`
	High       *Bound                  `json:"suggested_high,omitempty"`
	Currency   string                  `json:"currency"`
}

// GuidanceStore is what guidance reads.
// It is the matching package's own view of four reads owned by other domains (listing,
// certificates, the trades table), declared here by its user so guidance can be tested without the
// other packages' stores.
type GuidanceStore interface {
	Product(ctx context.Context, id string) (listing.Product, error)
	Appraisals(ctx context.Context, f certificates.GrantFilter) ([]certificates.Appraisal, error)
	ComparableTrades(ctx context.Context, domain, productType string, since time.Time) (TradeStats, error)
	Caps(ctx context.Context, productID string) ([]listing.Cap, error)
}

// Guide computes pricing guidance (D14): the guided band binds where one applies; the appraised
// value is the default basis (评估定价 is the default method when no other is set); comparable
// trades of the last 90 days give the market's range when there are at least five.
func Guide(ctx context.Context, s GuidanceStore, clock datavenue.Clock, productID string) (Guidance, error) {
	p, err := s.Product(ctx, productID)
	if err != nil {
		return Guidance{}, err
	}
	// "Today" is the CST civil date: appraisals and caps are valid by CST day (D14: an appraisal has a
	// validity; N4: caps take effect on a date).
	now := clock.Now()
	today := civil.Of(now)
	g := Guidance{ProductID: p.ID, Method: p.Pricing.Method, Currency: "CNY"}
	if g.Method == "" {
		g.Method = listing.MethodAppraisal
	}
	if p.Pricing.BandLow != nil && p.Pricing.BandHigh != nil {
		g.Band = &[2]money.Yuan{*p.Pricing.BandLow, *p.Pricing.BandHigh}
	}
	// The most recent valid appraisal among all the product's source assets is the appraisal basis: a
	// product derived from several assets is priced on the freshest valuation it has.
	for _, asset := range p.SourceAssets {
		list, err := s.Appraisals(ctx, certificates.GrantFilter{AssetID: asset})
		if err != nil {
			return g, err
		}
		for i := range list {
			if list[i].ValidOn(today) && (g.Appraisal == nil || list[i].ValuationDate.After(g.Appraisal.ValuationDate)) {
				a := list[i]
				g.Appraisal = &a
			}
		}
	}
	if g.Comparable, err = s.ComparableTrades(ctx, p.Domain, p.ProductType, now.AddDate(0, 0, -90)); err != nil {
		return g, err
	}
	caps, err := s.Caps(ctx, p.ID)
	if err != nil {
		return g, err
	}
	g.Cap = listing.CapInForce(caps, listing.UnitOf(p.Pricing), today)
	g.suggest()
	return g, nil
}

// suggest sets the suggested range: the market's interquartile range (or the appraised value as
// the lower bound), clamped into the guided band and under the cap in force.
//
// The order of the clamps is the order of authority: the market range is advice, the appraised
// value raises the floor of that advice (D14), the government-guided band binds it (D14/N1), and
// the cap binds above everything (N4). Each bound says which of these set it, so an operator sees
// why the range is what it is. A range that the clamps invert collapses to the low bound.
func (g *Guidance) suggest() {
	if g.Comparable.Count >= 5 {
		g.Low = &Bound{Amount: *g.Comparable.Q1, Reason: "first quartile of the comparable trades of the last 90 days", Basis: BasisComparableQ1}
		g.High = &Bound{Amount: *g.Comparable.Q3, Reason: "third quartile of the comparable trades of the last 90 days", Basis: BasisComparableQ3}
	}
	if g.Appraisal != nil && (g.Low == nil || g.Low.Amount.Cmp(g.Appraisal.Value) < 0) {
		g.Low = &Bound{Amount: g.Appraisal.Value, Reason: "appraised value (report " + g.Appraisal.ReportNumber + "): appraisal-based pricing is the default basis (D14)",
			Basis: BasisAppraisal, Ref: g.Appraisal.ReportNumber}
	}
	if g.Band != nil {
		if g.Low == nil || g.Low.Amount.Cmp(g.Band[0]) < 0 {
			g.Low = &Bound{Amount: g.Band[0], Reason: "lower end of the government-guided band", Basis: BasisBandLow}
		}
		if g.Low.Amount.Cmp(g.Band[1]) > 0 {
			g.Low = &Bound{Amount: g.Band[1], Reason: "upper end of the government-guided band (the other bases lie above it)", Basis: BasisBandHighBelow}
		}
		if g.High == nil || g.High.Amount.Cmp(g.Band[1]) > 0 {
			g.High = &Bound{Amount: g.Band[1], Reason: "upper end of the government-guided band", Basis: BasisBandHigh}
		}
	}
	if g.Cap != nil {
		capReason := "the price cap in force (approval " + g.Cap.ApprovalRef + ")"
		if g.High == nil || g.High.Amount.Cmp(g.Cap.Amount) > 0 {
			g.High = &Bound{Amount: g.Cap.Amount, Reason: capReason, Basis: BasisCap, Ref: g.Cap.ApprovalRef}
		}
		if g.Low != nil && g.Low.Amount.Cmp(g.Cap.Amount) > 0 {
			g.Low = &Bound{Amount: g.Cap.Amount, Reason: capReason + ": the other bases lie above it", Basis: BasisCapBelow, Ref: g.Cap.ApprovalRef}
		}
	}
	if g.Low != nil && g.High != nil && g.High.Amount.Cmp(g.Low.Amount) < 0 {
		high := *g.Low
		g.High = &high
	}
}
