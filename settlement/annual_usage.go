package settlement

import (
	"context"
	"strconv"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/sheet"
)

// UsageTotal is the metered use of one of the operator's products of one charging unit in the
// report's year (issue 15: the usage counts feed the annual report), by the instant of use in
// China Standard Time, whatever period it was billed in.
type UsageTotal struct {
	ProductID     string `json:"product_id"`
	ProductTitle  string `json:"product_title"`
	Unit          string `json:"unit"`
	Subscriptions int    `json:"subscriptions"`
	Records       int64  `json:"records"`
	Quantity      string `json:"quantity" jsonschema:"description=units used as a decimal string (six places)"`
}

// UsageCounter reads the year's metered use of an operator's products (the subscriptions'
// store; settlement cannot import the subscriptions package, which builds on it).
type UsageCounter interface {
	UsageInYear(ctx context.Context, operator datavenue.OrgID, year int) ([]UsageTotal, error)
}

// withUsage adds the year's usage to a report (none without a counter).
func (s Annual) withUsage(ctx context.Context, r AnnualReport) (AnnualReport, error) {
	r.Usage = []UsageTotal{}
	if s.Usage == nil {
		return r, nil
	}
	u, err := s.Usage.UsageInYear(ctx, r.OperatorID, r.Year)
	if len(u) > 0 {
		r.Usage = u
	}
	return r, err
}

// usageTable is the report's usage as a sheet.
func (r AnnualReport) usageTable() sheet.Table {
	t := sheet.Table{Title: "按产品使用量", Columns: []sheet.Column{{Header: "产品编号", Width: 32}, {Header: "产品名称", Width: 30},
		{Header: "计量单位", Width: 14}, {Header: "订阅数", Kind: sheet.Int}, {Header: "记录条数", Kind: sheet.Int}, {Header: "使用量", Width: 20}}}
	for _, u := range r.Usage {
		t.Rows = append(t.Rows, []string{u.ProductID, u.ProductTitle, listing.UnitLabel(u.Unit), strconv.Itoa(u.Subscriptions),
			strconv.FormatInt(u.Records, 10), u.Quantity})
	}
	return t
}

// usageCSVRows are the usage lines in the report's one CSV table: the section 按产品使用量, the
// product, and the unit, count and quantity in 说明 (the table's columns are the revenue's).
func (r AnnualReport) usageCSVRows() [][]string {
	var rows [][]string
	for _, u := range r.Usage {
		rows = append(rows, []string{"按产品使用量", u.ProductID, u.ProductTitle, "", "", "", "", "", "",
			listing.UnitLabel(u.Unit) + "：使用量 " + u.Quantity + "，记录 " + strconv.FormatInt(u.Records, 10) + " 条，订阅 " + strconv.Itoa(u.Subscriptions) + " 个"})
	}
	return rows
}
