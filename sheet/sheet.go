// Package sheet writes tables for people who open them in a spreadsheet: UTF-8 CSV with a
// byte-order mark (Chinese Excel needs it to read the headers) and XLSX workbooks with one sheet
// per table. The domain packages decide the columns (their Chinese headers are part of what the
// rules publish); this package only lays them out, so every export of the venue looks the same.
package sheet

import (
	"bytes"
	"encoding/csv"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue/assets"
)

// Kind is how a cell is written to a workbook: text, a whole number, or an amount in yuan (a
// numeric cell formatted to the fen, written from its exact decimal text, never through a float).
type Kind int

// Cell kinds.
const (
	Text Kind = iota
	Int
	Money
)

// Column is one column of a table: its header and the kind of its cells.
type Column struct {
	Header string
	Kind   Kind
	Width  float64
}

// Table is a titled grid: the title names the workbook sheet, every row has one string per
// column (an amount as its decimal text, "" for none).
type Table struct {
	Title   string
	Columns []Column
	Rows    [][]string
}

// Headers are the table's column headers, in order.
func (t Table) Headers() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Header
	}
	return out
}

// CSV writes one table as UTF-8 CSV with a byte-order mark; text cells a spreadsheet would
// evaluate as a formula are defused (assets.CSVSafe).
func CSV(t Table) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	if err := w.Write(t.Headers()); err != nil {
		return nil, err
	}
	for _, row := range t.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = v
			if t.Columns[i].Kind == Text {
				rec[i] = assets.CSVSafe(v)
			}
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// XLSX writes the tables as one workbook, a sheet each (named by its title), with a bold frozen
// header row and column widths.
func XLSX(tables ...Table) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#E8EEF7"}}})
	if err != nil {
		return nil, err
	}
	amount, err := f.NewStyle(&excelize.Style{NumFmt: 4}) // "#,##0.00"
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		if i == 0 {
			err = f.SetSheetName("Sheet1", t.Title)
		} else {
			_, err = f.NewSheet(t.Title)
		}
		if err == nil {
			err = writeSheet(f, t, bold, amount)
		}
		if err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	err = f.Write(&buf)
	return buf.Bytes(), err
}

func writeSheet(f *excelize.File, t Table, bold, amount int) error {
	for i, c := range t.Columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetCellStr(t.Title, col+"1", c.Header); err != nil {
			return err
		}
		if err := f.SetColWidth(t.Title, col, col, max(c.Width, 12)); err != nil {
			return err
		}
	}
	last, _ := excelize.ColumnNumberToName(max(len(t.Columns), 1))
	if err := f.SetCellStyle(t.Title, "A1", last+"1", bold); err != nil {
		return err
	}
	for r, row := range t.Rows {
		for i, v := range row {
			if err := writeCell(f, t.Title, i+1, r+2, t.Columns[i].Kind, v, amount); err != nil {
				return err
			}
		}
	}
	return f.SetPanes(t.Title, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}

func writeCell(f *excelize.File, sheet string, col, row int, kind Kind, v string, amount int) error {
	cell, _ := excelize.CoordinatesToCellName(col, row)
	switch {
	case v == "" || kind == Text:
		return f.SetCellStr(sheet, cell, v)
	case kind == Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return f.SetCellStr(sheet, cell, v)
		}
		return f.SetCellInt(sheet, cell, n)
	default:
		if err := f.SetCellDefault(sheet, cell, v); err != nil {
			return err
		}
		return f.SetCellStyle(sheet, cell, cell, amount)
	}
}
