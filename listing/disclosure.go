package listing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/sheet"
)

// Public disclosure (N6): the caps and the authorisation information, and the list of products
// and services with their actual fees, published for a calendar year (China Standard Time). The
// rules here are pure: the store reads the rows, these functions decide what a year shows, and
// the column sets (with the Chinese headers people read them by) are part of what is published.

// ParseYear reads a `year` query: empty is this year (China Standard Time, from today), otherwise
// a calendar year between 2000 and 2100.
func ParseYear(s string, today civil.Date) (int, error) {
	if s == "" {
		return today.Time().Year(), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 2000 || n > 2100 {
		return 0, datavenue.Invalid("validation_failed", "the request has invalid fields",
			datavenue.FieldError{Field: "year", Code: "out_of_range", Message: "year is a calendar year between 2000 and 2100"})
	}
	return n, nil
}

// YearSpan is the first and last day of a calendar year.
func YearSpan(year int) (first, last civil.Date) {
	first = civil.FromTime(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC))
	return first, civil.FromTime(time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC))
}

// AsOf is the day a year's disclosure describes the standing on: today for the current year, its
// last day for a past one, its first day for a future one.
func AsOf(year int, today civil.Date) civil.Date {
	first, last := YearSpan(year)
	switch {
	case today.Before(first):
		return first
	case today.After(last):
		return last
	}
	return today
}

// Overlaps reports whether a validity period has at least one day in the year.
func Overlaps(from, until civil.Date, year int) bool {
	first, last := YearSpan(year)
	return !from.After(last) && !until.Before(first)
}

// DisclosedProduct names a product in the disclosure: its operator (by name: the public reads
// names, not ids) and what it serves.
type DisclosedProduct struct {
	ProductID    string          `json:"product_id"`
	Title        string          `json:"title"`
	OperatorID   datavenue.OrgID `json:"operator_id"`
	OperatorName string          `json:"operator_name"`
}

// DisclosedCap is one version of a cap whose validity touches the year, and whether it is the one
// in force on the disclosure's day (a later version of the same product and unit supersedes it).
type DisclosedCap struct {
	Cap
	Title        string          `json:"title"`
	OperatorID   datavenue.OrgID `json:"operator_id"`
	OperatorName string          `json:"operator_name"`
	InForce      bool            `json:"in_force"`
}

// CapDisclosure is a year's caps: those in force and their history (every version valid on some
// day of the year), by product, unit and version.
type CapDisclosure struct {
	Year int            `json:"year"`
	AsOf civil.Date     `json:"as_of"`
	Caps []DisclosedCap `json:"caps"`
}

// DiscloseCaps keeps the caps valid on some day of the year and marks those in force on asOf.
func DiscloseCaps(year int, asOf civil.Date, caps []DisclosedCap) CapDisclosure {
	out := CapDisclosure{Year: year, AsOf: asOf, Caps: []DisclosedCap{}}
	byProduct := map[string][]Cap{}
	for _, c := range caps {
		byProduct[c.ProductID] = append(byProduct[c.ProductID], c.Cap)
	}
	for _, c := range caps {
		if !Overlaps(c.ValidFrom, c.ValidUntil, year) {
			continue
		}
		inForce := CapInForce(byProduct[c.ProductID], c.ChargingUnit, asOf)
		c.InForce = inForce != nil && inForce.ID == c.ID
		out.Caps = append(out.Caps, c)
	}
	slices.SortFunc(out.Caps, func(a, b DisclosedCap) int {
		return cmp.Or(cmp.Compare(a.Title, b.Title), cmp.Compare(a.ProductID, b.ProductID),
			cmp.Compare(a.ChargingUnit, b.ChargingUnit), cmp.Compare(a.Version, b.Version))
	})
	return out
}

// DisclosedAuthorisation is a scenario authorisation behind a product (D9, N1): who authorised
// what, for which purpose, for how long.
type DisclosedAuthorisation struct {
	DisclosedProduct
	AuthorisationID string          `json:"authorisation_id"`
	AssetID         string          `json:"asset_id"`
	AssetName       string          `json:"asset_name"`
	Scenario        string          `json:"scenario"`
	ProductTypes    []string        `json:"product_types"`
	Conditions      string          `json:"conditions"`
	Purpose         string          `json:"purpose"`
	AuthorisedBy    datavenue.OrgID `json:"authorised_by"`
	AuthorisedName  string          `json:"authorised_by_name"`
	ValidFrom       civil.Date      `json:"valid_from"`
	ValidUntil      civil.Date      `json:"valid_until"`
	Status          string          `json:"status"`
}

// AuthorisationDisclosure is a year's authorisation information.
type AuthorisationDisclosure struct {
	Year           int                      `json:"year"`
	AsOf           civil.Date               `json:"as_of"`
	Authorisations []DisclosedAuthorisation `json:"authorisations"`
}

// DiscloseAuthorisations keeps the authorisations valid on some day of the year.
func DiscloseAuthorisations(year int, asOf civil.Date, list []DisclosedAuthorisation) AuthorisationDisclosure {
	out := AuthorisationDisclosure{Year: year, AsOf: asOf, Authorisations: []DisclosedAuthorisation{}}
	for _, a := range list {
		if Overlaps(a.ValidFrom, a.ValidUntil, year) {
			out.Authorisations = append(out.Authorisations, a)
		}
	}
	slices.SortFunc(out.Authorisations, func(a, b DisclosedAuthorisation) int {
		return cmp.Or(cmp.Compare(a.Title, b.Title), cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.AuthorisationID, b.AuthorisationID))
	})
	return out
}

// FeeProduct is a product on the market in the year, with its list price as the catalogue shows it.
type FeeProduct struct {
	DisclosedProduct
	ProductType   string     `json:"product_type"`
	Purpose       string     `json:"purpose"`
	PricingMethod string     `json:"pricing_method"`
	ChargingUnit  string     `json:"charging_unit"`
	ListPrice     money.Yuan `json:"list_price"`
	Status        string     `json:"status"`
}

// Charge is one order of the year as the disclosure counts it: paid (or obtained free) and not
// cancelled, in the year its money was received, as the operator's revenue is counted.
type Charge struct {
	ProductID string
	Price     money.Yuan
	Free      bool
}

// ProductFees is a product with what it actually cost in the year: the number of paid trades,
// their lowest, highest and average price (to the fen, half away from zero) and total, and the
// free uses. The prices are absent when nothing was paid.
type ProductFees struct {
	FeeProduct
	Currency string      `json:"currency"`
	Trades   int         `json:"trades"`
	Min      *money.Yuan `json:"min_price"`
	Max      *money.Yuan `json:"max_price"`
	Average  *money.Yuan `json:"average_price"`
	Total    money.Yuan  `json:"total_charged"`
	FreeUses int         `json:"free_uses"`
}

// FeeDisclosure is a year's list of products and services with their actual fees.
type FeeDisclosure struct {
	Year     int           `json:"year"`
	AsOf     civil.Date    `json:"as_of"`
	Products []ProductFees `json:"products"`
}

// DiscloseFees sums the year's charges per product. A charge of a product not in the list still
// counts (the list is built from it too), so no fee the venue took is left out.
func DiscloseFees(year int, asOf civil.Date, products []FeeProduct, charges []Charge) FeeDisclosure {
	rows := map[string]*ProductFees{}
	for _, p := range products {
		rows[p.ProductID] = &ProductFees{FeeProduct: p, Currency: "CNY", Total: money.Zero}
	}
	for _, c := range charges {
		r := rows[c.ProductID]
		if r == nil {
			r = &ProductFees{FeeProduct: FeeProduct{DisclosedProduct: DisclosedProduct{ProductID: c.ProductID}}, Currency: "CNY", Total: money.Zero}
			rows[c.ProductID] = r
		}
		r.add(c)
	}
	out := FeeDisclosure{Year: year, AsOf: asOf, Products: make([]ProductFees, 0, len(rows))}
	for _, r := range rows {
		if r.Trades > 0 {
			avg := money.FromDecimal(r.Total.Decimal().Div(decimal.NewFromInt(int64(r.Trades))))
			r.Average = &avg
		}
		out.Products = append(out.Products, *r)
	}
	slices.SortFunc(out.Products, func(a, b ProductFees) int {
		return cmp.Or(cmp.Compare(a.Title, b.Title), cmp.Compare(a.ProductID, b.ProductID))
	})
	return out
}

func (r *ProductFees) add(c Charge) {
	if c.Free {
		r.FreeUses++
		return
	}
	r.Trades++
	r.Total = r.Total.Add(c.Price)
	if r.Min == nil || c.Price.Cmp(*r.Min) < 0 {
		p := c.Price
		r.Min = &p
	}
	if r.Max == nil || c.Price.Cmp(*r.Max) > 0 {
		p := c.Price
		r.Max = &p
	}
}

// Chinese labels of the words the disclosure prints.
var (
	purposeLabels = map[string]string{"public_governance": "公共治理", "public_welfare": "公益事业", "industry": "产业发展、行业发展"}
	unitLabels    = map[string]string{UnitOneOff: "按产品（一次性）", "per_call": "按调用次数", "per_time_unit": "按服务时长", "per_volume": "按数据量"}
)

// PurposeLabel is a purpose of use in Chinese (the word itself when unknown).
func PurposeLabel(p string) string { return cmp.Or(purposeLabels[p], p) }

// UnitLabel is a charging unit in Chinese.
func UnitLabel(u string) string { return cmp.Or(unitLabels[u], u) }

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

func opt(y *money.Yuan) string {
	if y == nil {
		return ""
	}
	return y.String()
}

// Table is the caps as a sheet (收费标准公示).
func (d CapDisclosure) Table() sheet.Table {
	t := sheet.Table{Title: "上限收费标准", Columns: []sheet.Column{{Header: "产品编号", Width: 32}, {Header: "产品名称", Width: 30},
		{Header: "运营机构", Width: 24}, {Header: "收费单位", Width: 16}, {Header: "版本", Kind: sheet.Int}, {Header: "上限收费标准（元）", Kind: sheet.Money, Width: 18},
		{Header: "批准文号", Width: 26}, {Header: "价格主管部门文号", Width: 26}, {Header: "有效期起"}, {Header: "有效期止"}, {Header: "是否现行"}}}
	for _, c := range d.Caps {
		t.Rows = append(t.Rows, []string{c.ProductID, c.Title, c.OperatorName, UnitLabel(c.ChargingUnit), strconv.Itoa(c.Version),
			c.Amount.String(), c.ApprovalRef, c.PricingDocNumber, c.ValidFrom.String(), c.ValidUntil.String(), yesNo(c.InForce)})
	}
	return t
}

// Table is the authorisation information as a sheet (授权信息).
func (d AuthorisationDisclosure) Table() sheet.Table {
	t := sheet.Table{Title: "授权信息", Columns: []sheet.Column{{Header: "产品编号", Width: 32}, {Header: "产品名称", Width: 30},
		{Header: "运营机构", Width: 24}, {Header: "授权编号", Width: 32}, {Header: "授权主体", Width: 24}, {Header: "数据资源", Width: 24},
		{Header: "应用场景", Width: 30}, {Header: "授权范围", Width: 30}, {Header: "授权条件", Width: 30}, {Header: "使用用途", Width: 18},
		{Header: "有效期起"}, {Header: "有效期止"}, {Header: "状态"}}}
	for _, a := range d.Authorisations {
		t.Rows = append(t.Rows, []string{a.ProductID, a.Title, a.OperatorName, a.AuthorisationID, a.AuthorisedName, a.AssetName,
			a.Scenario, strings.Join(a.ProductTypes, "、"), a.Conditions, PurposeLabel(a.Purpose), a.ValidFrom.String(), a.ValidUntil.String(), a.Status})
	}
	return t
}

// Table is the products and their actual fees as a sheet (产品和服务目录及实际收费).
func (d FeeDisclosure) Table() sheet.Table {
	t := sheet.Table{Title: "产品和服务及实际收费", Columns: []sheet.Column{{Header: "产品编号", Width: 32}, {Header: "产品名称", Width: 30},
		{Header: "运营机构", Width: 24}, {Header: "产品类型", Width: 16}, {Header: "使用用途", Width: 18}, {Header: "定价方式"},
		{Header: "收费单位", Width: 16}, {Header: "挂牌价（元）", Kind: sheet.Money, Width: 16}, {Header: "实际收费笔数", Kind: sheet.Int},
		{Header: "实际收费最低价（元）", Kind: sheet.Money, Width: 20}, {Header: "实际收费最高价（元）", Kind: sheet.Money, Width: 20},
		{Header: "实际收费平均价（元）", Kind: sheet.Money, Width: 20}, {Header: "实际收费合计（元）", Kind: sheet.Money, Width: 20},
		{Header: "免费使用次数", Kind: sheet.Int}}}
	for _, p := range d.Products {
		t.Rows = append(t.Rows, []string{p.ProductID, p.Title, p.OperatorName, p.ProductType, PurposeLabel(p.Purpose), p.PricingMethod,
			UnitLabel(p.ChargingUnit), p.ListPrice.String(), strconv.Itoa(p.Trades), opt(p.Min), opt(p.Max), opt(p.Average),
			p.Total.String(), strconv.Itoa(p.FreeUses)})
	}
	return t
}

// Filename is the name an export of a disclosure is saved under: its kind and year.
func Filename(kind string, year int, ext string) string {
	return fmt.Sprintf("disclosure-%s-%d.%s", kind, year, ext)
}

// DisclosureStore reads what a year's disclosure is made of.
type DisclosureStore interface {
	DisclosedCaps(ctx context.Context, year int) ([]DisclosedCap, error)
	DisclosedAuthorisations(ctx context.Context, year int) ([]DisclosedAuthorisation, error)
	FeeProducts(ctx context.Context, year int) ([]FeeProduct, []Charge, error)
}

// Disclosure publishes a year's disclosure (N6). It is public: no caller is checked.
type Disclosure struct {
	Store DisclosureStore
	Clock datavenue.Clock
}

func (s Disclosure) year(q string) (int, civil.Date, error) {
	today := civil.Of(s.Clock.Now())
	y, err := ParseYear(q, today)
	return y, AsOf(y, today), err
}

// Caps is the year's caps (year: a `year` query, empty for this year).
func (s Disclosure) Caps(ctx context.Context, year string) (CapDisclosure, error) {
	y, asOf, err := s.year(year)
	if err != nil {
		return CapDisclosure{}, err
	}
	caps, err := s.Store.DisclosedCaps(ctx, y)
	return DiscloseCaps(y, asOf, caps), err
}

// Authorisations is the year's authorisation information.
func (s Disclosure) Authorisations(ctx context.Context, year string) (AuthorisationDisclosure, error) {
	y, asOf, err := s.year(year)
	if err != nil {
		return AuthorisationDisclosure{}, err
	}
	list, err := s.Store.DisclosedAuthorisations(ctx, y)
	return DiscloseAuthorisations(y, asOf, list), err
}

// Fees is the year's products and services with their actual fees.
func (s Disclosure) Fees(ctx context.Context, year string) (FeeDisclosure, error) {
	y, asOf, err := s.year(year)
	if err != nil {
		return FeeDisclosure{}, err
	}
	products, charges, err := s.Store.FeeProducts(ctx, y)
	return DiscloseFees(y, asOf, products, charges), err
}
