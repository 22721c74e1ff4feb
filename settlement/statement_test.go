package settlement_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// The statements in testdata/statements were written as treasury and bank systems write them,
// not by the importer: see testdata/statements/README.md for how each was made.
const fixtures = "testdata/statements"

func mustReadFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// rowText writes a parsed row as line|slip|code|unit|amount|date|treasury, so that a test states
// every field it expects.
func rowText(r settlement.ReceiptRow) string {
	return fmt.Sprintf("%d|%s|%s|%s|%s|%s|%s", r.Line, r.SlipNo, r.PaymentCode, r.Unit, r.Amount, r.PaidOn, r.Treasury)
}

func wantRows(t *testing.T, got []settlement.ReceiptRow, err error, want []string) {
	t.Helper()
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	var lines []string
	for _, r := range got {
		lines = append(lines, rowText(r))
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got rows\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// wantRefused checks the code of a refusal and that its detail names what the clerk must fix.
func wantRefused(t *testing.T, rows []settlement.ReceiptRow, err error, code string, detail ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted %d rows, want refused with %s", len(rows), code)
	}
	e := datavenue.AsError(err)
	if e.Kind != datavenue.KindInvalid || e.Code != code {
		t.Fatalf("got %v (kind %v), want code %s", err, e.Kind, code)
	}
	for _, d := range detail {
		if !strings.Contains(e.Message, d) {
			t.Fatalf("got detail %q, want it to name %q", e.Message, d)
		}
	}
}

func TestParseStatementFixtures(t *testing.T) {
	utf16Rows := []string{
		"3|0012345|JK01|市交通运输局|2000.01|2026-12-09|市级国库",
		"4|0012346||市财政局|1500.00|2026-12-10|市级国库",
	}
	tests := []struct {
		file string
		want []string
	}{
		// Title block, 单位：元, 金额（元）, ¥ and ￥ amounts with thousands separators, a matching 合计.
		{"gbk_title_total.csv", []string{
			"6|3502001|JK2026120001|市交通运输局|1234.56|2026-12-09|市级国库",
			"7|3502002|JK2026120002|市财政局|500.00|2026-12-09|市级国库",
			"8|3502003||市自然资源局|1234567.89|2026-12-08|区级国库",
		}},
		// Header variants (缴款书号, 缴款识别码, 执收单位名称, 金额 (元), 入库日期), a matching 小计.
		{"utf8_bom_semicolon.csv", []string{
			"2|S-0001|PC0001|市交通运输局|1000.50|2026-12-09|市级国库",
			"3|S-0002|PC0002|市财政局|0.50|2026-12-10|市级国库",
		}},
		{"utf16le_bom.txt", utf16Rows},
		{"utf16be_bom.txt", utf16Rows},
		{"utf16le_nobom.txt", utf16Rows},
		{"date_forms.csv", []string{
			"2|D1||市财政局|1.00|2026-12-09|市级国库",
			"3|D2||市财政局|2.00|2026-12-09|市级国库",
			"4|D3||市财政局|3.00|2026-12-09|市级国库",
			"5|D4||市财政局|4.00|2026-12-09|市级国库",
			"6|D5||市财政局|5.00|2026-12-09|市级国库",
			"7|D6||市财政局|6.00|2026-12-09|市级国库",
			"8|D7||市财政局|7.00|2026-12-09|市级国库",
			"9|D8||市财政局|8.00|2026-12-09|市级国库",
			"10|D9||市财政局|9.00|2026-12-09|市级国库",
		}},
		// Full-width digits and punctuation, apostrophes, U+3000 padding, three kinds of blank row.
		{"gbk_fullwidth_apostrophe_blank.csv", []string{
			"2|0012345|JK03|市交通运输局|1234.56|2026-12-09|市级国库",
			"6|0012346|JK04|市财政局|1000.00|2026-12-10|市级国库",
		}},
		// Date serials under formats 14, 22, 31, 57, 58; currency-formatted numbers; a text date
		// and a text amount; a matching 合计.
		{"xlsx_dates.xlsx", []string{
			"5|0012345|JK01|市交通运输局|1234.56|2026-12-09|市级国库",
			"6|0012346|JK02|市财政局|2000.01|2026-12-09|市级国库",
			"7|0012347||市自然资源局|500.00|2026-12-08|区级国库",
			"8|0012348|JK04|市财政局|0.50|2026-12-01|市级国库",
			"9|0012349|JK05|市财政局|100.10|2026-12-10|市级国库",
			"10|0012350|JK06|市财政局|88.00|2026-12-09|市级国库",
		}},
		// 2000.0100000000002, 0.30000000000000004, 1.0000000000000001E-2 and 2000.01000000000 as
		// stored doubles.
		{"xlsx_float_noise.xlsx", []string{
			"2|N1||市财政局|2000.01|2026-12-09|市级国库",
			"3|N2||市财政局|0.30|2026-12-09|市级国库",
			"4|N3||市财政局|0.01|2026-12-09|市级国库",
			"5|N4||市财政局|2000.01|2026-12-09|市级国库",
		}},
		{"xlsx_date1904.xlsx", []string{
			"2|M1||市财政局|10.00|2026-12-09|市级国库",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			format := "csv"
			if strings.HasSuffix(tt.file, ".xlsx") {
				format = "xlsx"
			}
			rows, err := settlement.ParseStatement(mustReadFixture(t, tt.file), format, nil)
			wantRows(t, rows, err, tt.want)
		})
	}
}

func TestParseStatementRefusesFixtures(t *testing.T) {
	tests := []struct {
		file, code string
		detail     []string
	}{
		{"gbk_total_mismatch.csv", "statement_total_mismatch", []string{"line 9", "1236302.54", "1236302.45"}},
		{"bad_grouping.csv", "statement_row_invalid", []string{"line 3", `"1,23,4.56"`, "thousands separators"}},
		{"xlsx_float_refused.xlsx", "statement_row_invalid", []string{"line 2", "2000.015", "fen"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			format := "csv"
			if strings.HasSuffix(tt.file, ".xlsx") {
				format = "xlsx"
			}
			rows, err := settlement.ParseStatement(mustReadFixture(t, tt.file), format, nil)
			wantRefused(t, rows, err, tt.code, tt.detail...)
		})
	}
}

const headerLine = "缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n"

func TestParseStatementRefusesRows(t *testing.T) {
	tests := []struct {
		name, csv, code string
		detail          []string
	}{
		{"zero", headerLine + "S1,,市财政局,0.00,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", "zero"}},
		{"negative", headerLine + "S1,,市财政局,-5.00,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", "negative"}},
		{"negative after ¥", headerLine + "S1,,市财政局,¥-5.00,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", "negative"}},
		{"three decimals", headerLine + "S1,,市财政局,5.001,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", `"5.001"`}},
		{"float noise in a CSV", headerLine + "S1,,市财政局,2000.0100000000002,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2"}},
		{"European decimal comma", headerLine + "S1,,市财政局,\"1234,56\",2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", "thousands separators"}},
		{"no such day", headerLine + "S1,,市财政局,1.00,2026-02-30,市级国库\n", "statement_row_invalid", []string{"line 2", "2026-02-30"}},
		{"day first", headerLine + "S1,,市财政局,1.00,09/12/2026,市级国库\n", "statement_row_invalid", []string{"line 2", "09/12/2026"}},
		{"before the window", headerLine + "S1,,市财政局,1.00,1999年12月31日,市级国库\n", "statement_row_invalid", []string{"line 2", "outside"}},
		{"a serial in a CSV", headerLine + "S1,,市财政局,1.00,46365,市级国库\n", "statement_row_invalid", []string{"line 2", "46365"}},
		{"hour 24", headerLine + "S1,,市财政局,1.00,2026-12-09 24:00,市级国库\n", "statement_row_invalid", []string{"line 2"}},
		{"nothing to match on", headerLine + ",,,1.00,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", "slip number"}},
		{"line after blank lines", headerLine + "\n\n,,,,,\nS1,,市财政局,1.O0,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 5", "1.O0"}},
		{"a 小计 that does not match", headerLine + "S1,,市财政局,1.00,2026-12-09,市级国库\n小计,,,1.00,,\nS2,,市财政局,2.00,2026-12-09,市级国库\n小计,,,3.00,,\n",
			"statement_total_mismatch", []string{"line 5", "3.00", "2.00"}},
		{"a 合计 above the receipts", headerLine + "合计,,,3.01,,\nS1,,市财政局,1.00,2026-12-09,市级国库\nS2,,市财政局,2.00,2026-12-09,市级国库\n",
			"statement_total_mismatch", []string{"line 2", "3.01", "3.00"}},
		{"amounts in 万元", "国库收入明细表\n单位：万元\n" + headerLine + "S1,,市财政局,1.00,2026-12-09,市级国库\n", "statement_row_invalid", []string{"line 2", "万元"}},
		{"金额(万元) is not 金额", "缴款书编号,执收单位,金额(万元),缴款日期\nS1,市财政局,1.00,2026-12-09\n", "statement_header_missing", []string{"金额"}},
		{"交易日期 is not 缴款日期", "缴款书编号,执收单位,金额,交易日期\nS1,市财政局,1.00,2026-12-09\n", "statement_header_missing", []string{"缴款日期"}},
		{"two amount columns", "执收单位,金额,缴款金额,缴款日期\n市财政局,1.00,1.00,2026-12-09\n", "statement_header_missing", []string{"line 1", `amount: "金额" and "缴款金额"`}},
		{"unterminated quote", headerLine + "S1,,\"市财政局,1.00,2026-12-09,市级国库\n", "statement_malformed", nil},
		{"empty", "", "statement_empty", nil},
		{"blank lines only", "\n ,\n\n", "statement_empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := settlement.ParseStatement([]byte(tt.csv), "csv", nil)
			wantRefused(t, rows, err, tt.code, tt.detail...)
		})
	}
}

func TestParseStatementRefusesFiles(t *testing.T) {
	xlsx := mustReadFixture(t, "xlsx_dates.xlsx")
	tests := []struct {
		name   string
		data   []byte
		format string
		code   string
	}{
		{"not text in any encoding", []byte{0xff, 0xff, 0x81, 0x20, 0xfe}, "csv", "statement_malformed"},
		{"an XLSX sent as CSV", xlsx, "csv", "statement_format"},
		{"a CSV sent as XLSX", mustReadFixture(t, "date_forms.csv"), "xlsx", "statement_malformed"},
		{"another format", xlsx, "ods", "statement_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := settlement.ParseStatement(tt.data, tt.format, nil)
			wantRefused(t, rows, err, tt.code)
		})
	}
}

func TestParseStatementHeaderVariants(t *testing.T) {
	for _, amount := range []string{"金额", "金额（元）", "金额(元)", "金额 (元)", "缴款金额", "入库金额", " 金　额 "} {
		t.Run(amount, func(t *testing.T) {
			data := "执收单位," + amount + ",缴款日期\n市财政局,12.30,2026-12-09\n"
			rows, err := settlement.ParseStatement([]byte(data), "csv", nil)
			wantRows(t, rows, err, []string{"2|||市财政局|12.30|2026-12-09|"})
		})
	}
}

// The clerk's mapping names the file's own headers, normalised like the defaults; a mapped field
// reads only its mapped column.
func TestParseStatementMapping(t *testing.T) {
	data := "票号\t单位\t实缴金额（元）\t交易日期\t缴款日期\nP1\t市财政局\t¥5.00\t2026/12/9\t2026/12/1\n"
	mapping := map[string]string{"slip_no": "票号", "unit": "单位", "amount": "实缴金额(元)", "paid_on": "交易日期"}
	rows, err := settlement.ParseStatement([]byte(data), "csv", mapping)
	wantRows(t, rows, err, []string{"2|P1||市财政局|5.00|2026-12-09|"})

	_, err = settlement.ParseStatement([]byte(data), "csv", map[string]string{"slip_no": "票号"})
	wantRefused(t, nil, err, "statement_header_missing", `"执收单位" (unit)`, `"金额" (amount)`)
	_, err = settlement.ParseStatement([]byte(data), "csv", map[string]string{"unit": " "})
	wantRefused(t, nil, err, "statement_header_missing", "unit")
}

// Totals rows are checked, not imported: 小计 against the receipts since the previous 小计, 合计 and
// 总计 against all of them, wherever the export prints them.
func TestParseStatementTotals(t *testing.T) {
	data := headerLine +
		",,合 计：,\"3,000.30\",,\n" + // above the receipts, spaced, with a colon, not in the first cell
		"S1,,市财政局,1000.10,2026-12-09,市级国库\n" +
		"S2,,市财政局,1000.10,2026-12-09,市级国库\n" +
		"小计,,,2000.20,,\n" +
		"S3,,市财政局,1000.10,2026-12-09,市级国库\n" +
		"小计,,,1000.10,,\n" +
		"总计,,,3000.30,,\n" +
		"合计,,,,,\n" // no amount: nothing to check
	rows, err := settlement.ParseStatement([]byte(data), "csv", nil)
	wantRows(t, rows, err, []string{
		"3|S1||市财政局|1000.10|2026-12-09|市级国库",
		"4|S2||市财政局|1000.10|2026-12-09|市级国库",
		"6|S3||市财政局|1000.10|2026-12-09|市级国库",
	})
}

// The separator is the one that splits the header into the most known columns, even when another
// one occurs in the title rows or the cells.
func TestParseStatementSniffsSeparator(t *testing.T) {
	data := "报表;2026年12月\n" +
		"缴款书编号\t缴款码\t执收单位\t金额\t缴款日期\t收款国库\n" +
		"S1;a\tJK,1\t市财政局\t1,234.00\t2026-12-09\t市级国库\n"
	rows, err := settlement.ParseStatement([]byte(data), "csv", nil)
	wantRows(t, rows, err, []string{"3|S1;a|JK,1|市财政局|1234.00|2026-12-09|市级国库"})
}

func TestParseStatementXLSXSerials(t *testing.T) {
	tests := []struct {
		name, date string
		numeric    bool
		want       string // the date read, or "" when the row is refused
	}{
		{"serial", "46365", true, "2026-12-09"},
		{"serial with a time of day", "46365.999988425923", true, "2026-12-09"},
		{"serial as text", "46365", false, "2026-12-09"},
		{"first day of the window", "36526", true, "2000-01-01"},
		{"last day of the window", "73050", true, "2099-12-31"},
		{"before the window", "36525", true, ""},
		{"after the window", "73051", true, ""},
		{"Excel's 1900-02-29", "60", true, ""},
		{"ISO date of a t=\"d\" cell", "2026-12-09T14:03:00", false, "2026-12-09"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := excelize.NewFile()
			defer x.Close()
			mustSetRow(t, x, 1, "执收单位", "金额", "缴款日期")
			mustSetRow(t, x, 2, "市财政局", 1.5)
			if tt.numeric {
				mustOK(t, x.SetCellDefault("Sheet1", "C2", tt.date))
			} else {
				mustOK(t, x.SetCellStr("Sheet1", "C2", tt.date))
			}
			rows, err := settlement.ParseStatement(mustWrite(t, x), "xlsx", nil)
			if tt.want == "" {
				wantRefused(t, rows, err, "statement_row_invalid", "line 2")
				return
			}
			wantRows(t, rows, err, []string{"2|||市财政局|1.50|" + tt.want + "|"})
		})
	}
}

func mustOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func mustSetRow(tb testing.TB, x *excelize.File, row int, values ...any) {
	tb.Helper()
	cell, err := excelize.CoordinatesToCellName(1, row)
	mustOK(tb, err)
	mustOK(tb, x.SetSheetRow("Sheet1", cell, &values))
}

func mustWrite(tb testing.TB, x *excelize.File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	mustOK(tb, x.Write(&buf))
	return buf.Bytes()
}

// The XLSX fixtures hold what the importer must read: their raw cells are serials and doubles
// with the noise of binary floating point, whatever their number format shows.
func TestXLSXFixturesAreRaw(t *testing.T) {
	raw := map[string]map[string]string{
		"xlsx_dates.xlsx":       {"E5": "46365", "E6": "46365.58541666667", "D5": "1234.56"},
		"xlsx_float_noise.xlsx": {"D2": "2000.0100000000002", "D3": "0.30000000000000004", "D4": "1.0000000000000001E-2", "D5": "2000.01000000000"},
		"xlsx_date1904.xlsx":    {"E2": "44903"},
	}
	for file, cells := range raw {
		x, err := excelize.OpenReader(bytes.NewReader(mustReadFixture(t, file)))
		mustOK(t, err)
		for cell, want := range cells {
			got, err := x.GetCellValue("Sheet1", cell, excelize.Options{RawCellValue: true})
			if err != nil || got != want {
				t.Errorf("%s %s holds %q (%v), want %q", file, cell, got, err, want)
			}
		}
		x.Close()
	}
}

// TestWriteXLSXFixtures writes the XLSX fixtures with excelize, the way a spreadsheet program
// stores dates and amounts: serial numbers and doubles under number formats. It runs only when
// asked: DATAVENUE_WRITE_FIXTURES=1 go test -run TestWriteXLSXFixtures ./settlement
func TestWriteXLSXFixtures(t *testing.T) {
	if os.Getenv("DATAVENUE_WRITE_FIXTURES") != "1" {
		t.Skip("set DATAVENUE_WRITE_FIXTURES=1 to write the XLSX fixtures")
	}
	for name, write := range map[string]func(testing.TB, *excelize.File){
		"xlsx_dates.xlsx": writeDatesFixture, "xlsx_float_noise.xlsx": writeFloatNoiseFixture,
		"xlsx_float_refused.xlsx": writeFloatRefusedFixture, "xlsx_date1904.xlsx": writeDate1904Fixture,
	} {
		x := excelize.NewFile()
		write(t, x)
		mustOK(t, x.SaveAs(filepath.Join(fixtures, name)))
		x.Close()
	}
}

func mustStyle(tb testing.TB, x *excelize.File, style excelize.Style) int {
	tb.Helper()
	id, err := x.NewStyle(&style)
	mustOK(tb, err)
	return id
}

// setDate stores day as a date serial under the built-in number format numFmt.
func setDate(tb testing.TB, x *excelize.File, cell string, day time.Time, numFmt int) {
	tb.Helper()
	mustOK(tb, x.SetCellValue("Sheet1", cell, day))
	mustOK(tb, x.SetCellStyle("Sheet1", cell, cell, mustStyle(tb, x, excelize.Style{NumFmt: numFmt})))
}

// setYuan stores amount as a number under the zh-CN currency format, written as Excel writes a
// double: the shortest decimal that reads back as the same double (SetCellFloat would cut it to
// 15 significant digits and hide the noise).
func setYuan(tb testing.TB, x *excelize.File, cell string, amount float64) {
	tb.Helper()
	mustOK(tb, x.SetCellDefault("Sheet1", cell, strconv.FormatFloat(amount, 'f', -1, 64)))
	setYuanFormat(tb, x, cell)
}

func setYuanFormat(tb testing.TB, x *excelize.File, cell string) {
	tb.Helper()
	yuan := `[$¥-804]#,##0.00;[$¥-804]-#,##0.00`
	mustOK(tb, x.SetCellStyle("Sheet1", cell, cell, mustStyle(tb, x, excelize.Style{CustomNumFmt: &yuan})))
}

func wallClock(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, time.UTC)
}

func writeDatesFixture(tb testing.TB, x *excelize.File) {
	mustSetRow(tb, x, 1, "国库收入退库明细表")
	mustOK(tb, x.MergeCell("Sheet1", "A1", "F1"))
	mustSetRow(tb, x, 2, "单位：元")
	mustSetRow(tb, x, 4, "缴款书编号", "缴款码", "执收单位", "金额（元）", "缴款日期", "收款国库")
	receipts := []struct {
		slip, code, unit string
		amount           float64
		paid             time.Time
		numFmt           int // 14 m/d/yyyy (yyyy/m/d in zh-CN), 22 with h:mm, 31 yyyy年m月d日, 57 yyyy年m月, 58 m月d日
		treasury         string
	}{
		{"0012345", "JK01", "市交通运输局", 1234.56, wallClock(2026, 12, 9, 0, 0), 14, "市级国库"},
		{"0012346", "JK02", "市财政局", 2000.01, wallClock(2026, 12, 9, 14, 3), 22, "市级国库"},
		{"0012347", "", "市自然资源局", 500, wallClock(2026, 12, 8, 0, 0), 31, "区级国库"},
		{"0012348", "JK04", "市财政局", 0.5, wallClock(2026, 12, 1, 0, 0), 57, "市级国库"},
		{"0012349", "JK05", "市财政局", 100.1, wallClock(2026, 12, 10, 0, 0), 58, "市级国库"},
	}
	for i, r := range receipts {
		row := 5 + i
		mustSetRow(tb, x, row, r.slip, r.code, r.unit)
		setYuan(tb, x, fmt.Sprintf("D%d", row), r.amount)
		setDate(tb, x, fmt.Sprintf("E%d", row), r.paid, r.numFmt)
		mustOK(tb, x.SetCellStr("Sheet1", fmt.Sprintf("F%d", row), r.treasury))
	}
	// A row typed as text, as clerks paste it.
	mustSetRow(tb, x, 10, "0012350", "JK06", "市财政局", "¥88.00", "2026年12月9日", "市级国库")
	mustSetRow(tb, x, 11, "合计")
	setYuan(tb, x, "D11", 3923.17)
}

func writeFloatNoiseFixture(tb testing.TB, x *excelize.File) {
	mustSetRow(tb, x, 1, "缴款书编号", "缴款码", "执收单位", "金额", "缴款日期", "收款国库")
	for i, slip := range []string{"N1", "N2", "N3", "N4"} {
		mustSetRow(tb, x, 2+i, slip, "", "市财政局")
		setDate(tb, x, fmt.Sprintf("E%d", 2+i), wallClock(2026, 12, 9, 0, 0), 14)
		mustOK(tb, x.SetCellStr("Sheet1", fmt.Sprintf("F%d", 2+i), "市级国库"))
	}
	setYuan(tb, x, "D2", math.Nextafter(2000.01, math.Inf(1))) // stored as 2000.0100000000002
	tenth, fifth := 0.1, 0.2                                   // variables: constants would be added exactly
	setYuan(tb, x, "D3", tenth+fifth)                          // a formula's sum: 0.30000000000000004
	// Excel writes small doubles with an exponent.
	mustOK(tb, x.SetCellDefault("Sheet1", "D4", "1.0000000000000001E-2"))
	// What excelize's own SetCellFloat writes: 15 significant digits, trailing zeros kept.
	mustOK(tb, x.SetCellFloat("Sheet1", "D5", math.Nextafter(2000.01, math.Inf(1)), -1, 64))
	setYuanFormat(tb, x, "D5")
}

func writeFloatRefusedFixture(tb testing.TB, x *excelize.File) {
	mustSetRow(tb, x, 1, "缴款书编号", "缴款码", "执收单位", "金额", "缴款日期", "收款国库")
	mustSetRow(tb, x, 2, "R1", "", "市财政局")
	setYuan(tb, x, "D2", 2000.015) // shown as ¥2,000.02, stored with a third decimal
	setDate(tb, x, "E2", wallClock(2026, 12, 9, 0, 0), 14)
}

func writeDate1904Fixture(tb testing.TB, x *excelize.File) {
	date1904 := true
	mustOK(tb, x.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}))
	mustSetRow(tb, x, 1, "缴款书编号", "缴款码", "执收单位", "金额", "缴款日期", "收款国库")
	mustSetRow(tb, x, 2, "M1", "", "市财政局")
	setYuan(tb, x, "D2", 10)
	setDate(tb, x, "E2", wallClock(2026, 12, 9, 0, 0), 14)
	mustOK(tb, x.SetCellStr("Sheet1", "F2", "市级国库"))
}

// A statement is scanned twice by an import (checked, then applied): the second scan reads the
// same receipts from the file's start, whatever the first left of its position.
func TestAStatementScansTheSameTwice(t *testing.T) {
	data := "\uFEFF缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nS1,JK1,市交通运输局,3000.00,2026-12-01,市级国库\nS2,JK2,市交通运输局,1.00,2026-12-01,市级国库\n"
	src := strings.NewReader(data)
	var scans [2][]settlement.ReceiptRow
	for i := range scans {
		if err := settlement.ScanStatement(src, "csv", nil, func(r settlement.ReceiptRow) error { scans[i] = append(scans[i], r); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(scans[0]) != 2 || fmt.Sprint(scans[0]) != fmt.Sprint(scans[1]) || scans[1][0].SlipNo != "S1" {
		t.Fatalf("first scan %+v, second %+v", scans[0], scans[1])
	}
}
