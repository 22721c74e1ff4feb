package sheet_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue/sheet"
)

var table = sheet.Table{Title: "表", Columns: []sheet.Column{{Header: "名称"}, {Header: "笔数", Kind: sheet.Int}, {Header: "金额（元）", Kind: sheet.Money}},
	Rows: [][]string{{"=1+1", "3", "1234.50"}, {"乙", "0", ""}}}

// CSV: a byte-order mark, the headers, text cells defused against formulas, amounts as written.
func TestCSV(t *testing.T) {
	out, err := sheet.CSV(table)
	if err != nil || !bytes.HasPrefix(out, []byte("\uFEFF")) {
		t.Fatalf("CSV %q, %v", out, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out[3:])).ReadAll()
	if err != nil || !slices.Equal(rows[0], []string{"名称", "笔数", "金额（元）"}) || !slices.Equal(rows[1], []string{"'=1+1", "3", "1234.50"}) {
		t.Fatalf("rows %q, %v", rows, err)
	}
}

// XLSX: a sheet per table, amounts as numbers from their exact text, counts as integers.
func TestXLSX(t *testing.T) {
	other := table
	other.Title = "另一表"
	out, err := sheet.XLSX(table, other)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"表", "另一表"}) {
		t.Fatalf("sheets %v", got)
	}
	rows, _ := f.GetRows("表", excelize.Options{RawCellValue: true})
	if !slices.Equal(rows[1], []string{"=1+1", "3", "1234.50"}) {
		t.Fatalf("row %q", rows[1])
	}
	if formula, _ := f.GetCellFormula("表", "A2"); formula != "" {
		t.Errorf("a text cell became the formula %q", formula)
	}
	if v, _ := f.GetCellValue("表", "C2"); v != "1,234.50" {
		t.Errorf("the amount shows %q, want 1,234.50", v)
	}
}
