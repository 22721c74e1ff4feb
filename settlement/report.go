package settlement

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// ReportLine is one line of a report section.
type ReportLine struct {
	Key    string     `json:"key"`   // holder, product or status
	Label  string     `json:"label"` // its name
	Count  int        `json:"count"`
	Amount money.Yuan `json:"amount"`
}

// Report is a period's settlement report.
type Report struct {
	From             civil.Date   `json:"from"`
	To               civil.Date   `json:"to"`
	RevenueByHolder  []ReportLine `json:"revenue_by_holder"`  // shares of orders paid in the period, by party and role
	RevenueByProduct []ReportLine `json:"revenue_by_product"` // prices of orders paid in the period
	Remittances      []ReportLine `json:"remittances"`        // treasury obligations by status: due, overdue, remitted
	FilingsDue       []ReportLine `json:"filings_due"`        // supervisor filings still due, by enterprise
	Currency         string       `json:"currency"`
}

// ReportStore computes reports. The sums are the database's NUMERIC aggregates (never floats),
// over periods of CST civil dates with both ends included.
type ReportStore interface {
	Report(ctx context.Context, from, to, today civil.Date) (Report, error)
	TrialBalance(ctx context.Context) (TrialBalance, error)
}

// TrialBalance reads every account's balance (clerks, bureaus and auditors).
func (r Reconciliation) TrialBalance(ctx context.Context, caller datavenue.Caller) (TrialBalance, error) {
	if !isBookKeeper(caller) {
		return TrialBalance{}, datavenue.Forbidden("role_not_allowed", "clerks, bureaus and auditors read the ledger")
	}
	return r.Reports.TrialBalance(ctx)
}

// AccountBalance is one ledger account's balance: debits minus credits (a credit balance is
// negative).
type AccountBalance struct {
	Account string          `json:"account"`
	Party   datavenue.OrgID `json:"party,omitempty"`
	Purpose string          `json:"purpose"`
	Balance string          `json:"balance" jsonschema:"description=yuan, two places, signed: debits minus credits"`
}

// TrialBalance is every account's balance and their total, which is zero in a balanced ledger.
type TrialBalance struct {
	Accounts     []AccountBalance `json:"accounts"`
	Total        string           `json:"total" jsonschema:"description=the sum of all balances: 0.00 in a balanced ledger"`
	Transactions int64            `json:"transactions"`
}

// sectionNames fixes the order of the sections in both exports (sections() is a map, whose order
// would change from run to run) and their Chinese titles: the reports are filed with Chinese
// finance departments (G6), so the headers are in the language they are filed in.
var sectionNames = []struct{ key, title string }{
	{"revenue_by_holder", "按持有方收入"}, {"revenue_by_product", "按产品收入"}, {"remittances", "上缴情况"}, {"filings_due", "待备案"},
}

func (r Report) sections() map[string][]ReportLine {
	return map[string][]ReportLine{"revenue_by_holder": r.RevenueByHolder, "revenue_by_product": r.RevenueByProduct,
		"remittances": r.Remittances, "filings_due": r.FilingsDue}
}

// CSV writes the report as one UTF-8 CSV (with BOM) whose first column names the section.
func (r Report) CSV() ([]byte, error) {
	// The byte order mark makes Excel read the file as UTF-8; without it Excel on a Chinese
	// Windows reads it as GBK and the names come out garbled. Labels are names people typed, so
	// they are neutralised against formula injection (=, +, -, @ at the start) before export.
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.Write([]string{"报表", "项目", "名称", "笔数", "金额（元）"})
	for _, s := range sectionNames {
		for _, l := range r.sections()[s.key] {
			w.Write([]string{s.title, l.Key, assets.CSVSafe(l.Label), strconv.Itoa(l.Count), l.Amount.String()})
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// XLSX writes the report as a workbook with one sheet per section.
func (r Report) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	// Built-in number format 4 is "#,##0.00": amounts show to the fen with thousands separators.
	// The cells are written with SetCellStr for text (never read as a formula) and from the
	// decimal's text for amounts, so no amount goes through a float64 on its way to the file.
	amount, _ := f.NewStyle(&excelize.Style{NumFmt: 4})
	for i, s := range sectionNames {
		if i == 0 {
			f.SetSheetName("Sheet1", s.title)
		} else {
			f.NewSheet(s.title)
		}
		for c, h := range []string{"项目", "名称", "笔数", "金额（元）"} {
			cell, _ := excelize.CoordinatesToCellName(c+1, 1)
			f.SetCellStr(s.title, cell, h)
		}
		for row, l := range r.sections()[s.key] {
			n := row + 2
			f.SetCellStr(s.title, cellName(1, n), l.Key)
			f.SetCellStr(s.title, cellName(2, n), l.Label)
			f.SetCellInt(s.title, cellName(3, n), int64(l.Count))
			f.SetCellDefault(s.title, cellName(4, n), l.Amount.String()) // exact decimal text, numeric cell
			f.SetCellStyle(s.title, cellName(4, n), cellName(4, n), amount)
		}
	}
	var buf bytes.Buffer
	err := f.Write(&buf)
	return buf.Bytes(), err
}

func cellName(col, row int) string {
	n, _ := excelize.CoordinatesToCellName(col, row)
	return n
}
