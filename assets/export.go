package assets

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// ledgerColumn is one column of the exported ledger: a Chinese header a finance clerk reads, and
// how to get the cell from a card.
// money marks an amount column, written to XLSX as a number (so it sums) rather than text;
// width is the XLSX column width in characters.
type ledgerColumn struct {
	header string
	cell   func(Asset) string
	money  bool
	width  float64
}

// labels are the Chinese terms of the card's codes, as the pilot documents and accounting
// practice name them (e.g. 名义金额 for G4's nominal amount, 备查簿登记 for the memorandum book).
var labels = map[string]string{
	"data_resource": "数据资源", "data_asset": "数据资产",
	"holding": "持有权", "processing": "加工使用权", "operating": "产品经营权",
	"general": "一般数据", "important": "重要数据", "core": "核心数据",
	"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度", "yearly": "每年", "irregular": "不定期", "static": "不更新",
	"self_built": "自建", "purchased": "外购", "shared": "共享获取", "donated": "无偿划入", "other": "其他",
	"cost": "历史成本", "nominal": "名义金额",
	"not_booked": "未入账", "memorandum": "备查簿登记", "booked": "已入账",
}

// label falls back to the code itself, so a value added to a vocabulary without a label still
// exports (in English) instead of as an empty cell.
func label(v string) string {
	if l, ok := labels[v]; ok {
		return l
	}
	return v
}

// The columns follow the asset card of D4/G2 (name, summary, rights, classification and grading,
// source, accounting status, financial information); both formats are generated from this one
// table, so the CSV and the XLSX cannot disagree.
var ledgerColumns = []ledgerColumn{
	{"资产编号", func(a Asset) string { return string(a.ID) }, false, 32},
	{"资产名称", func(a Asset) string { return a.Name }, false, 28},
	{"类别", func(a Asset) string { return label(a.Category) }, false, 10},
	{"持有单位", func(a Asset) string { return a.HolderName }, false, 26},
	{"卡片版本", func(a Asset) string { return fmt.Sprint(a.Version) }, false, 8},
	{"摘要", func(a Asset) string { return a.Summary }, false, 36},
	{"权属", func(a Asset) string {
		var out []string
		for _, r := range a.Rights {
			out = append(out, label(r))
		}
		return strings.Join(out, "、")
	}, false, 24},
	{"分类", func(a Asset) string { return a.Classification }, false, 12},
	{"分级", func(a Asset) string { return label(a.Grade) }, false, 10},
	{"数据来源", func(a Asset) string { return a.Source }, false, 24},
	{"共享来源单位", func(a Asset) string { return string(a.SharedFrom) }, false, 20},
	{"共享同意记录", func(a Asset) string { return a.SharedConsentRef }, false, 16},
	{"数据规模", func(a Asset) string { return a.Scale }, false, 14},
	{"更新频率", func(a Asset) string { return label(a.UpdateFrequency) }, false, 10},
	{"取得方式", func(a Asset) string { return label(a.AcquisitionMode) }, false, 10},
	{"原始成本（元）", func(a Asset) string { return a.OriginalCost.String() }, true, 16},
	{"计量属性", func(a Asset) string { return label(a.MeasurementBasis) }, false, 10},
	{"账面价值（元）", func(a Asset) string { return a.BookValue.String() }, true, 16},
	{"入账状态", func(a Asset) string { return label(a.AccountingStatus) }, false, 12},
	// Timestamps keep their offset (stored in UTC), so a reader never guesses the zone.
	{"更新时间", func(a Asset) string { return a.UpdatedAt.Format("2006-01-02 15:04:05Z07:00") }, false, 22},
}

// LedgerHeaders are the exported ledger's column headers, in order.
func LedgerHeaders() []string {
	out := make([]string, len(ledgerColumns))
	for i, c := range ledgerColumns {
		out[i] = c.header
	}
	return out
}

// WriteCSV writes the ledger as UTF-8 CSV with a byte-order mark, which Excel needs to show
// Chinese text correctly.
func WriteCSV(w io.Writer, rows []Asset) error {
	// The BOM comes before any CSV record; without it Excel on Windows reads the file as the local
	// code page (GBK) and the Chinese text is garbled.
	if _, err := w.Write([]byte("\uFEFF")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(LedgerHeaders()); err != nil {
		return err
	}
	for _, a := range rows {
		rec := make([]string, len(ledgerColumns))
		for i, c := range ledgerColumns {
			rec[i] = CSVSafe(c.cell(a))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe defuses spreadsheet formula injection: a cell a spreadsheet would evaluate gets a
// leading apostrophe (OWASP "CSV injection").
func CSVSafe(v string) string {
	// A tab or carriage return counts as well: some spreadsheets strip leading whitespace and then
	// evaluate what follows. Amounts are never negative, so no number loses its sign to this.
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// LedgerSheet is the worksheet name of the XLSX ledger.
const LedgerSheet = "数据资产台账"

// WriteXLSX writes the ledger as an XLSX workbook (excelize): bold frozen header row, column
// widths, and amounts as numeric cells formatted to the fen, written from their exact decimal text
// (never through a float).
func WriteXLSX(w io.Writer, rows []Asset) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", LedgerSheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#E8EEF7"}}})
	if err != nil {
		return err
	}
	amount, err := f.NewStyle(&excelize.Style{NumFmt: 4}) // "#,##0.00"
	if err != nil {
		return err
	}
	// The header row and widths first, then one row per card from row 2.
	for i, c := range ledgerColumns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetCellStr(LedgerSheet, col+"1", c.header); err != nil {
			return err
		}
		if err := f.SetColWidth(LedgerSheet, col, col, c.width); err != nil {
			return err
		}
	}
	last, _ := excelize.ColumnNumberToName(len(ledgerColumns))
	if err := f.SetCellStyle(LedgerSheet, "A1", last+"1", bold); err != nil {
		return err
	}
	for r, a := range rows {
		for i, c := range ledgerColumns {
			cell, _ := excelize.CoordinatesToCellName(i+1, r+2)
			if c.money {
				// SetCellDefault stores the decimal text as the cell's number value unchanged, so "1234.50"
				// stays exact in the file and Excel formats it as 1,234.50. Text cells are written as strings
				// (SetCellStr): a value beginning with "=" is shown, never evaluated, so no CSVSafe is needed.
				err = f.SetCellDefault(LedgerSheet, cell, c.cell(a))
				if err == nil {
					err = f.SetCellStyle(LedgerSheet, cell, cell, amount)
				}
			} else {
				err = f.SetCellStr(LedgerSheet, cell, c.cell(a))
			}
			if err != nil {
				return err
			}
		}
	}
	if err := f.SetPanes(LedgerSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	// The workbook is built in memory and written in one piece, so a failure mid-way leaves the
	// response unwritten and the caller can still answer with an error.
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
