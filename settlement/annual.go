package settlement

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/sheet"
)

// The operator's annual operating report (N6): its revenue in a calendar year (China Standard
// Time) by product and by purpose of use, against the maximum allowed revenue of that year (N4,
// with the excess carried: N5), its trades and free uses, and its operating costs as it recorded
// them. Revenue is counted exactly as AllowedRevenues counts it: the operator's `operator` shares
// of orders paid and not cancelled, by the day their money was received; the report checks that
// its total is the standing's (the tests hold them equal).

// CostCategories are what an operator's costs are recorded under: the cost elements N3 names
// (data, compute, storage, labour) and the rest of operating.
var CostCategories = []string{"data", "compute", "storage", "labour", "operations", "other"}

var costLabels = map[string]string{"data": "数据成本", "compute": "算力成本", "storage": "存储成本", "labour": "人力成本",
	"operations": "运营维护成本", "other": "其他成本"}

// OperatingCost is one version of an operator's cost of a category for a year. Versions are append-only;
// the newest of each category is the one the report counts.
type OperatingCost struct {
	ID            string          `json:"id"`
	OperatorID    datavenue.OrgID `json:"operator_id"`
	Year          int             `json:"year"`
	Category      string          `json:"category"`
	Version       int             `json:"version"`
	Amount        money.Yuan      `json:"amount"`
	Currency      string          `json:"currency"`
	Note          string          `json:"note"`
	RecordedByOrg datavenue.OrgID `json:"recorded_by_org"`
	RecordedBy    string          `json:"recorded_by"`
	RecordedAt    time.Time       `json:"recorded_at"`
}

// OperatingCostInput is a cost as the operator records it.
type OperatingCostInput struct {
	Year     int    `json:"year" jsonschema:"minimum=2000,maximum=2100,description=the calendar year in China Standard Time"`
	Category string `json:"category" jsonschema:"enum=data,enum=compute,enum=storage,enum=labour,enum=operations,enum=other"`
	Amount   string `json:"amount" jsonschema:"description=the year's cost of the category in yuan as a decimal string (it replaces an earlier figure),pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
	Note     string `json:"note,omitempty" jsonschema:"maxLength=2000,description=what the figure covers and where it comes from"`
}

// Validate checks the input and returns the cost it describes (id, version and recorder unset).
func (in OperatingCostInput) Validate() (OperatingCost, error) {
	var f datavenue.Fields
	c := OperatingCost{Year: in.Year, Category: in.Category, Currency: "CNY", Note: strings.TrimSpace(in.Note)}
	if in.Year < 2000 || in.Year > 2100 {
		f.Add("year", "out_of_range", "year is a calendar year between 2000 and 2100")
	}
	if !slices.Contains(CostCategories, in.Category) {
		f.Add("category", "invalid_value", "category is one of "+strings.Join(CostCategories, ", "))
	}
	if y, err := money.Parse(in.Amount); err != nil {
		f.Add("amount", "invalid_amount", err.Error())
	} else {
		c.Amount = y
	}
	assets.Text(&f, "note", c.Note, 0, 2000)
	return c, f.Err()
}

// Earning is one order of the year that concerns the operator: one of its products' or one it
// holds an operator share of; Share is that share (0.00 for a free use).
type Earning struct {
	OrderID      string
	ProductID    string
	ProductTitle string
	Purpose      string
	Price        money.Yuan
	Share        money.Yuan
	Free         bool
	ReceivedOn   civil.Date
}

// AnnualLine is one line of the report's revenue by product or by purpose.
type AnnualLine struct {
	Key      string     `json:"key"`
	Label    string     `json:"label"`
	Purpose  string     `json:"purpose,omitempty"`
	Trades   int        `json:"trades"`
	FreeUses int        `json:"free_uses"`
	Turnover money.Yuan `json:"turnover"` // the prices of the paid orders
	Revenue  money.Yuan `json:"revenue"`  // the operator's shares of them
}

// CostLine is a category's cost in the report: the newest version.
type CostLine struct {
	Category string     `json:"category"`
	Label    string     `json:"label"`
	Amount   money.Yuan `json:"amount"`
	Note     string     `json:"note"`
	Version  int        `json:"version"`
}

// AnnualReport is an operator's operating report for a year.
type AnnualReport struct {
	OperatorID   datavenue.OrgID `json:"operator_id"`
	OperatorName string          `json:"operator_name"`
	Year         int             `json:"year"`
	Currency     string          `json:"currency"`
	Trades       int             `json:"trades"`
	FreeUses     int             `json:"free_uses"`
	Turnover     money.Yuan      `json:"turnover"`
	Revenue      money.Yuan      `json:"revenue"`
	ByProduct    []AnnualLine    `json:"by_product"`
	ByPurpose    []AnnualLine    `json:"by_purpose"`
	// Allowed is the revenue against the year's maximum (allowed, deducted, effective, excess…).
	Allowed RevenueStanding `json:"allowed_revenue"`
	Costs   []CostLine      `json:"costs"`
	// TotalCost is the sum of the categories' newest figures; Result is revenue less it.
	TotalCost money.Yuan `json:"total_cost"`
	Result    string     `json:"result" jsonschema:"description=revenue less total cost in yuan, signed, two places"`
	// Usage is the metered use of the operator's products in the year (issue 15).
	Usage []UsageTotal `json:"usage"`
}

// BuildAnnual assembles the report from the year's earnings, the standing and the cost versions.
func BuildAnnual(operator datavenue.OrgID, name string, year int, earnings []Earning, standing RevenueStanding, costs []OperatingCost) AnnualReport {
	r := AnnualReport{OperatorID: operator, OperatorName: name, Year: year, Currency: "CNY", Turnover: money.Zero, Revenue: money.Zero,
		Allowed: standing, TotalCost: money.Zero}
	products, purposes := map[string]*AnnualLine{}, map[string]*AnnualLine{}
	for _, e := range earnings {
		p := lineOf(products, e.ProductID, e.ProductTitle, e.Purpose)
		u := lineOf(purposes, e.Purpose, listing.PurposeLabel(e.Purpose), "")
		for _, l := range []*AnnualLine{p, u} {
			l.count(e)
		}
		if e.Free {
			r.FreeUses++
		} else {
			r.Trades++
			r.Turnover = r.Turnover.Add(e.Price)
		}
		r.Revenue = r.Revenue.Add(e.Share)
	}
	r.ByProduct, r.ByPurpose = sortedLines(products), sortedLines(purposes)
	r.Costs = newestCosts(costs)
	for _, c := range r.Costs {
		r.TotalCost = r.TotalCost.Add(c.Amount)
	}
	r.Result = r.Revenue.Decimal().Sub(r.TotalCost.Decimal()).StringFixed(2)
	return r
}

func lineOf(m map[string]*AnnualLine, key, label, purpose string) *AnnualLine {
	if m[key] == nil {
		m[key] = &AnnualLine{Key: key, Label: label, Purpose: purpose, Turnover: money.Zero, Revenue: money.Zero}
	}
	return m[key]
}

func (l *AnnualLine) count(e Earning) {
	if e.Free {
		l.FreeUses++
	} else {
		l.Trades++
		l.Turnover = l.Turnover.Add(e.Price)
	}
	l.Revenue = l.Revenue.Add(e.Share)
}

func sortedLines(m map[string]*AnnualLine) []AnnualLine {
	out := make([]AnnualLine, 0, len(m))
	for _, l := range m {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b AnnualLine) int { return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.Key, b.Key)) })
	return out
}

// newestCosts keeps each category's newest version, in the order of CostCategories.
func newestCosts(costs []OperatingCost) []CostLine {
	newest := map[string]OperatingCost{}
	for _, c := range costs {
		if n, ok := newest[c.Category]; !ok || c.Version > n.Version {
			newest[c.Category] = c
		}
	}
	out := []CostLine{}
	for _, cat := range CostCategories {
		if c, ok := newest[cat]; ok {
			out = append(out, CostLine{Category: cat, Label: costLabels[cat], Amount: c.Amount, Note: c.Note, Version: c.Version})
		}
	}
	return out
}

// Tables are the report as sheets: a summary, revenue by product, by purpose, and costs.
func (r AnnualReport) Tables() []sheet.Table {
	money2 := func(h string) sheet.Column { return sheet.Column{Header: h, Kind: sheet.Money, Width: 18} }
	a := r.Allowed
	opt := func(y *money.Yuan) string {
		if y == nil {
			return ""
		}
		return y.String()
	}
	summary := sheet.Table{Title: "年度运营概况", Columns: []sheet.Column{{Header: "项目", Width: 28}, {Header: "数值", Width: 24}},
		Rows: [][]string{{"运营机构", r.OperatorName}, {"运营机构编号", string(r.OperatorID)}, {"年度", strconv.Itoa(r.Year)},
			{"收费交易笔数", strconv.Itoa(r.Trades)}, {"免费使用次数", strconv.Itoa(r.FreeUses)}, {"交易金额（元）", r.Turnover.String()},
			{"运营收入（元）", r.Revenue.String()}, {"最高准许收入（元）", opt(a.Allowed)}, {"上年超收扣减（元）", a.Deducted.String()},
			{"本年有效最高准许收入（元）", opt(a.Effective)}, {"超收金额（元）", a.Excess.String()}, {"收入状态", a.Status},
			{"运营成本合计（元）", r.TotalCost.String()}, {"收支结余（元）", r.Result}}}
	lines := func(title, keyHeader string, ls []AnnualLine) sheet.Table {
		t := sheet.Table{Title: title, Columns: []sheet.Column{{Header: keyHeader, Width: 32}, {Header: "名称", Width: 30}, {Header: "使用用途", Width: 18},
			{Header: "收费交易笔数", Kind: sheet.Int}, {Header: "免费使用次数", Kind: sheet.Int}, money2("交易金额（元）"), money2("运营收入（元）")}}
		for _, l := range ls {
			t.Rows = append(t.Rows, []string{l.Key, l.Label, listing.PurposeLabel(cmp.Or(l.Purpose, l.Key)), strconv.Itoa(l.Trades),
				strconv.Itoa(l.FreeUses), l.Turnover.String(), l.Revenue.String()})
		}
		return t
	}
	costs := sheet.Table{Title: "运营成本", Columns: []sheet.Column{{Header: "成本类别", Width: 18}, {Header: "类别名称", Width: 18},
		money2("金额（元）"), {Header: "说明", Width: 40}, {Header: "版本", Kind: sheet.Int}}}
	for _, c := range r.Costs {
		costs.Rows = append(costs.Rows, []string{c.Category, c.Label, c.Amount.String(), c.Note, strconv.Itoa(c.Version)})
	}
	return []sheet.Table{summary, lines("按产品收入", "产品编号", r.ByProduct), lines("按用途收入", "使用用途代码", r.ByPurpose), costs, r.usageTable()}
}

// AnnualStore keeps costs and reads a year's earnings.
type AnnualStore interface {
	// RecordCost appends the next version of the operator's cost for the year and category, with
	// its audit record (not found: an unknown organisation).
	RecordCost(ctx context.Context, c OperatingCost) (OperatingCost, error)
	// Costs lists every cost version of the operator for the year, oldest first.
	Costs(ctx context.Context, operator datavenue.OrgID, year int) ([]OperatingCost, error)
	// Earnings lists the orders of the year that concern the operator (see Earning).
	Earnings(ctx context.Context, operator datavenue.OrgID, year int) ([]Earning, error)
	// OrganisationName is an organisation's name (not found: unknown).
	OrganisationName(ctx context.Context, id datavenue.OrgID) (string, error)
}

// Annual records operators' costs and produces their annual reports.
type Annual struct {
	Store   AnnualStore
	Revenue AllowedRevenues
	Clock   datavenue.Clock
	// Usage counts the year's metered use (nil: the report lists none).
	Usage UsageCounter
}

// mayRead: the operator itself and the overseers (the bureaus, the auditors); anyone else is told
// there is no such operator, as for the allowed revenue.
func mayRead(caller datavenue.Caller, operator string) error {
	if (caller.Org == datavenue.OrgID(operator) && caller.Is(datavenue.RoleOperator)) || caller.Is(access.Overseers...) {
		return nil
	}
	return datavenue.NotFound("organisation_not_found", "no such operator")
}

// RecordCost records the operator's own cost of a category for a year: only the operator does
// (its costs are its own statement; the authorities read them).
func (s Annual) RecordCost(ctx context.Context, caller datavenue.Caller, operator string, in OperatingCostInput) (OperatingCost, error) {
	if caller.Org != datavenue.OrgID(operator) || !caller.Is(datavenue.RoleOperator) {
		return OperatingCost{}, datavenue.Forbidden("role_not_allowed", "an operator records its own operating costs")
	}
	c, err := in.Validate()
	if err != nil {
		return OperatingCost{}, err
	}
	c.ID, c.OperatorID, c.RecordedByOrg, c.RecordedBy = datavenue.NewID("cst"), datavenue.OrgID(operator), caller.Org, caller.Subject
	return s.Store.RecordCost(ctx, c)
}

// Costs lists every cost version of the operator for a year (empty: this year).
func (s Annual) Costs(ctx context.Context, caller datavenue.Caller, operator, year string) ([]OperatingCost, error) {
	if err := mayRead(caller, operator); err != nil {
		return nil, err
	}
	y, err := listing.ParseYear(year, civil.Of(s.Clock.Now()))
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.OrganisationName(ctx, datavenue.OrgID(operator)); err != nil {
		return nil, err
	}
	list, err := s.Store.Costs(ctx, datavenue.OrgID(operator), y)
	if list == nil {
		list = []OperatingCost{}
	}
	return list, err
}

// Report is the operator's annual report for a year (empty: this year).
func (s Annual) Report(ctx context.Context, caller datavenue.Caller, operator, year string) (AnnualReport, error) {
	if err := mayRead(caller, operator); err != nil {
		return AnnualReport{}, err
	}
	y, err := listing.ParseYear(year, civil.Of(s.Clock.Now()))
	if err != nil {
		return AnnualReport{}, err
	}
	op := datavenue.OrgID(operator)
	name, err := s.Store.OrganisationName(ctx, op)
	if err != nil {
		return AnnualReport{}, err
	}
	standing, err := s.Revenue.Measure(ctx, op, y)
	if err != nil {
		return AnnualReport{}, err
	}
	earnings, err := s.Store.Earnings(ctx, op, y)
	if err != nil {
		return AnnualReport{}, err
	}
	costs, err := s.Store.Costs(ctx, op, y)
	if err != nil {
		return AnnualReport{}, err
	}
	// The standing and the earnings are two reads of one rule: a payment between them could make
	// them differ by its share, which the next report shows; the tests hold them equal.
	return s.withUsage(ctx, BuildAnnual(op, name, y, earnings, standing, costs))
}

// CSVTable is the report as one table, for CSV (one sheet only): the first column names the
// section (概况, 按产品收入, 按用途收入, 运营成本), amounts of the summary and the costs in 金额.
func (r AnnualReport) CSVTable() sheet.Table {
	m := func(h string) sheet.Column { return sheet.Column{Header: h, Kind: sheet.Money} }
	t := sheet.Table{Title: "年度运营报告", Columns: []sheet.Column{{Header: "报表"}, {Header: "编号"}, {Header: "名称"}, {Header: "使用用途"},
		{Header: "收费交易笔数", Kind: sheet.Int}, {Header: "免费使用次数", Kind: sheet.Int}, m("交易金额（元）"), m("运营收入（元）"), m("金额（元）"), {Header: "说明"}}}
	a := r.Allowed
	sum := func(key, name, amount, note string) {
		t.Rows = append(t.Rows, []string{"概况", key, name, "", "", "", "", "", amount, note})
	}
	t.Rows = append(t.Rows, []string{"概况", "total", "合计", "", strconv.Itoa(r.Trades), strconv.Itoa(r.FreeUses), r.Turnover.String(), r.Revenue.String(), "", r.OperatorName + " " + strconv.Itoa(r.Year)})
	if a.Allowed != nil {
		sum("allowed", "最高准许收入", a.Allowed.String(), "")
		sum("effective", "本年有效最高准许收入", a.Effective.String(), "")
	}
	sum("deducted", "上年超收扣减", a.Deducted.String(), "")
	sum("excess", "超收金额", a.Excess.String(), a.Status)
	sum("total_cost", "运营成本合计", r.TotalCost.String(), "")
	sum("result", "收支结余", r.Result, "")
	for _, s := range []struct {
		title string
		lines []AnnualLine
	}{{"按产品收入", r.ByProduct}, {"按用途收入", r.ByPurpose}} {
		for _, l := range s.lines {
			t.Rows = append(t.Rows, []string{s.title, l.Key, l.Label, listing.PurposeLabel(cmp.Or(l.Purpose, l.Key)), strconv.Itoa(l.Trades),
				strconv.Itoa(l.FreeUses), l.Turnover.String(), l.Revenue.String(), "", ""})
		}
	}
	for _, c := range r.Costs {
		t.Rows = append(t.Rows, []string{"运营成本", c.Category, c.Label, "", "", "", "", "", c.Amount.String(), c.Note})
	}
	t.Rows = append(t.Rows, r.usageCSVRows()...)
	return t
}
