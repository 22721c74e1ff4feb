package subscriptions

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/sheet"
)

// Usage reports (issue 15): the metered use of a year (by the period it counts in, China Standard
// Time) per subscription and period, and per product and charging unit, for the operator (its
// products), the buyer (its subscriptions) and the book keepers (every one). The store sums; the
// report's shape, who sees what and the totals are decided here.

// UsagePeriodLine is one subscription's use in one period of one charging unit.
type UsagePeriodLine struct {
	ProductID      string          `json:"product_id"`
	ProductTitle   string          `json:"product_title"`
	SubscriptionID string          `json:"subscription_id"`
	BuyerID        datavenue.OrgID `json:"buyer_id"`
	OperatorID     datavenue.OrgID `json:"operator_id"`
	PeriodStart    civil.Date      `json:"period_start"`
	Unit           string          `json:"unit"`
	Records        int64           `json:"records"`
	Quantity       decimal.Decimal `json:"quantity" jsonschema:"type=string,description=units used as a decimal string"`
	// Billed is the period's bill total ("" while the period is open or in its grace window).
	Billed string `json:"billed,omitempty"`
}

// UsageProductLine is a product's use of one charging unit over the report.
type UsageProductLine struct {
	ProductID     string          `json:"product_id"`
	ProductTitle  string          `json:"product_title"`
	Unit          string          `json:"unit"`
	Subscriptions int             `json:"subscriptions"`
	Records       int64           `json:"records"`
	Quantity      decimal.Decimal `json:"quantity" jsonschema:"type=string,description=units used as a decimal string"`
}

// UsageReport is a year's metered use as one party (or a book keeper) sees it.
type UsageReport struct {
	Year int `json:"year"`
	// Scope is whose use it is: operator (the caller's products), buyer (its subscriptions) or all.
	Scope     string             `json:"scope" jsonschema:"enum=operator,enum=buyer,enum=all"`
	Org       datavenue.OrgID    `json:"org,omitempty"`
	ProductID string             `json:"product_id,omitempty"`
	ByPeriod  []UsagePeriodLine  `json:"by_period"`
	ByProduct []UsageProductLine `json:"by_product"`
}

// UsageFilter selects the lines a store sums: period starts in [From, To], optionally one
// product, one operator, one buyer.
type UsageFilter struct {
	From, To        civil.Date
	ProductID       string
	Operator, Buyer datavenue.OrgID
}

// UsageReader sums usage records by subscription, period and unit.
type UsageReader interface {
	UsageLines(ctx context.Context, f UsageFilter) ([]UsagePeriodLine, error)
}

// Reports produces usage reports.
type Reports struct {
	Store UsageReader
	Clock datavenue.Clock
}

// Usage is the year's usage report (empty year: this year) for the caller: an operator sees its
// products' use, a buyer its own, the book keepers everyone's; any other role is refused.
func (r Reports) Usage(ctx context.Context, caller datavenue.Caller, year, productID string) (UsageReport, error) {
	y, err := listing.ParseYear(year, civil.Of(r.Clock.Now()))
	if err != nil {
		return UsageReport{}, err
	}
	rep := UsageReport{Year: y, ProductID: productID}
	f := UsageFilter{ProductID: productID}
	f.From, f.To = listing.YearSpan(y)
	switch {
	case caller.Is(access.BookKeepers...):
		rep.Scope = "all"
	case caller.Role == datavenue.RoleOperator:
		rep.Scope, rep.Org, f.Operator = "operator", caller.Org, caller.Org
	case caller.Role == datavenue.RoleBuyer:
		rep.Scope, rep.Org, f.Buyer = "buyer", caller.Org, caller.Org
	default:
		return UsageReport{}, datavenue.Forbidden("role_not_allowed", "usage reports are for operators, buyers and book keepers")
	}
	lines, err := r.Store.UsageLines(ctx, f)
	if err != nil {
		return UsageReport{}, err
	}
	rep.ByPeriod, rep.ByProduct = lines, ByProduct(lines)
	if rep.ByPeriod == nil {
		rep.ByPeriod = []UsagePeriodLine{}
	}
	return rep, nil
}

// ByProduct totals period lines per product and charging unit, ordered by product and unit.
func ByProduct(lines []UsagePeriodLine) []UsageProductLine {
	type key struct{ product, unit string }
	totals, subs := map[key]*UsageProductLine{}, map[key]map[string]bool{}
	for _, l := range lines {
		k := key{l.ProductID, l.Unit}
		if totals[k] == nil {
			totals[k], subs[k] = &UsageProductLine{ProductID: l.ProductID, ProductTitle: l.ProductTitle, Unit: l.Unit}, map[string]bool{}
		}
		t := totals[k]
		t.Records += l.Records
		t.Quantity = t.Quantity.Add(l.Quantity)
		subs[k][l.SubscriptionID] = true
		t.Subscriptions = len(subs[k])
	}
	out := make([]UsageProductLine, 0, len(totals))
	for _, t := range totals {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b UsageProductLine) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Unit, b.Unit))
	})
	return out
}

// Tables are the report as sheets with Chinese headers: by period, then by product.
func (r UsageReport) Tables() []sheet.Table {
	qty := func(h string) sheet.Column { return sheet.Column{Header: h, Width: 20} }
	periods := sheet.Table{Title: "按计费周期使用量", Columns: []sheet.Column{{Header: "产品编号", Width: 30}, {Header: "产品名称", Width: 30},
		{Header: "订阅编号", Width: 32}, {Header: "购买方", Width: 30}, {Header: "运营机构", Width: 30}, {Header: "计费周期起始日", Width: 16},
		{Header: "计量单位", Width: 14}, {Header: "记录条数", Kind: sheet.Int}, qty("使用量"), {Header: "账单金额（元）", Kind: sheet.Money, Width: 18}}}
	for _, l := range r.ByPeriod {
		periods.Rows = append(periods.Rows, []string{l.ProductID, l.ProductTitle, l.SubscriptionID, string(l.BuyerID), string(l.OperatorID),
			l.PeriodStart.String(), listing.UnitLabel(l.Unit), strconv.FormatInt(l.Records, 10), l.Quantity.String(), l.Billed})
	}
	products := sheet.Table{Title: "按产品使用量", Columns: []sheet.Column{{Header: "产品编号", Width: 30}, {Header: "产品名称", Width: 30},
		{Header: "计量单位", Width: 14}, {Header: "订阅数", Kind: sheet.Int}, {Header: "记录条数", Kind: sheet.Int}, qty("使用量")}}
	for _, l := range r.ByProduct {
		products.Rows = append(products.Rows, []string{l.ProductID, l.ProductTitle, listing.UnitLabel(l.Unit), strconv.Itoa(l.Subscriptions),
			strconv.FormatInt(l.Records, 10), l.Quantity.String()})
	}
	return []sheet.Table{periods, products}
}
