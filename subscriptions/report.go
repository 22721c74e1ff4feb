package subscriptions

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

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
	Scope     string          `json:"scope" jsonschema:"enum=operator,enum=buyer,enum=all"`
	Org       datavenue.OrgID `json:"org,omitempty"`
	ProductID string          `json:"product_id,omitempty"`
	// ByPeriod is, as JSON, one page of the lines (limit/cursor, next_cursor); the CSV and XLSX
	// exports hold them all.
	ByPeriod []UsagePeriodLine `json:"by_period"`
	// ByProduct is always complete: a page's totals are the whole report's.
	ByProduct []UsageProductLine `json:"by_product"`
	// NextCursor continues by_period where this page ends (absent on the last page).
	NextCursor string `json:"next_cursor,omitempty"`
}

// UsageFilter selects the lines a store sums: period starts in [From, To], optionally one
// product, one operator, one buyer; and a page of them: after a line's key, at most Limit lines
// (0: every line).
type UsageFilter struct {
	From, To        civil.Date
	ProductID       string
	Operator, Buyer datavenue.OrgID
	After           *UsageKey
	Limit           int
}

// UsageKey is a period line's place in the report's order (product, subscription, period, unit):
// a page's cursor is its last line's key.
type UsageKey struct {
	ProductID, SubscriptionID string
	PeriodStart               civil.Date
	Unit                      string
}

// Key is the line's place in the report's order.
func (l UsagePeriodLine) Key() UsageKey {
	return UsageKey{ProductID: l.ProductID, SubscriptionID: l.SubscriptionID, PeriodStart: l.PeriodStart, Unit: l.Unit}
}

// String is the key as a cursor's content: its fields joined by "|" (ids, a date and a unit
// never hold one).
func (k UsageKey) String() string {
	return strings.Join([]string{k.ProductID, k.SubscriptionID, k.PeriodStart.String(), k.Unit}, "|")
}

// ParseUsageKey reads a cursor's content back (422 invalid_cursor when it is not a key).
func ParseUsageKey(s string) (UsageKey, error) {
	f := strings.Split(s, "|")
	bad := datavenue.Invalid("invalid_cursor", "the cursor is not one this report gave",
		datavenue.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "use next_cursor as given"})
	if len(f) != 4 || f[0] == "" || f[1] == "" || f[3] == "" {
		return UsageKey{}, bad
	}
	d, err := civil.Parse(f[2])
	if err != nil {
		return UsageKey{}, bad
	}
	return UsageKey{ProductID: f[0], SubscriptionID: f[1], PeriodStart: d, Unit: f[3]}, nil
}

// UsageReader sums usage records by subscription, period and unit (a page of them, by the
// filter), and per product and unit over every line the filter selects (paging aside).
type UsageReader interface {
	UsageLines(ctx context.Context, f UsageFilter) ([]UsagePeriodLine, error)
	UsageTotals(ctx context.Context, f UsageFilter) ([]UsageProductLine, error)
}

// Reports produces usage reports.
type Reports struct {
	Store UsageReader
	Clock datavenue.Clock
}

// Usage is the year's usage report (empty year: this year) for the caller: an operator sees its
// products' use, a buyer its own, the book keepers everyone's; any other role is refused.
func (r Reports) Usage(ctx context.Context, caller datavenue.Caller, year, productID string) (UsageReport, error) {
	rep, f, err := r.scope(caller, year, productID)
	if err != nil {
		return UsageReport{}, err
	}
	lines, err := r.Store.UsageLines(ctx, f)
	if err != nil {
		return UsageReport{}, err
	}
	rep.ByPeriod, rep.ByProduct = append([]UsagePeriodLine{}, lines...), ByProduct(lines)
	return rep, nil
}

// UsagePage is the report as JSON pages: at most limit period lines after the cursor's
// (after: a key's String, "" from the start) with next_cursor when more follow, and the whole
// report's totals per product (summed by the store, so a page never reads every line).
func (r Reports) UsagePage(ctx context.Context, caller datavenue.Caller, year, productID, after string, limit int) (UsageReport, error) {
	rep, f, err := r.scope(caller, year, productID)
	if err != nil {
		return UsageReport{}, err
	}
	if after != "" {
		k, err := ParseUsageKey(after)
		if err != nil {
			return UsageReport{}, err
		}
		f.After = &k
	}
	f.Limit = limit + 1 // one more than the page, to know whether more follow
	lines, err := r.Store.UsageLines(ctx, f)
	if err != nil {
		return UsageReport{}, err
	}
	if len(lines) > limit {
		lines, rep.NextCursor = lines[:limit], lines[limit-1].Key().String()
	}
	rep.ByPeriod = append([]UsagePeriodLine{}, lines...)
	f.After, f.Limit = nil, 0
	if rep.ByProduct, err = r.Store.UsageTotals(ctx, f); err != nil {
		return UsageReport{}, err
	}
	if rep.ByProduct == nil {
		rep.ByProduct = []UsageProductLine{}
	}
	return rep, nil
}

// scope is whose use the caller sees (an operator its products', a buyer its own, the book
// keepers everyone's; any other role is refused) in the year (empty: this year).
func (r Reports) scope(caller datavenue.Caller, year, productID string) (UsageReport, UsageFilter, error) {
	y, err := listing.ParseYear(year, civil.Of(r.Clock.Now()))
	if err != nil {
		return UsageReport{}, UsageFilter{}, err
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
		return UsageReport{}, UsageFilter{}, datavenue.Forbidden("role_not_allowed", "usage reports are for operators, buyers and book keepers")
	}
	return rep, f, nil
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
