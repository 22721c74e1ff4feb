package settlement

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
	"golang.org/x/text/width"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// The dates a receipt may carry.
var earliestReceipt, latestReceipt = civil.MustParse("2000-01-01"), civil.MustParse("2099-12-31")

// Statement fields, and the Chinese headers a treasury or bank receipt statement uses for them.
// A clerk whose file names its columns otherwise sends a mapping (field → header).
var DefaultHeaders = map[string]string{
	"slip_no":      "缴款书编号",
	"payment_code": "缴款码",
	"unit":         "执收单位",
	"amount":       "金额",
	"paid_on":      "缴款日期",
	"treasury":     "收款国库",
}

// headerVariants are the other names under which treasury and bank exports carry a field, written
// as normaliseHeader leaves them (so "金额（元）" and "金额 (元)" are already "金额"). The list stays
// short on purpose: a loose name such as 交易日期 (the bank's booking date, not the day the slip was
// paid) would read the wrong column without a word, where a missing name only asks for a mapping.
var headerVariants = map[string][]string{
	"slip_no":      {"缴款书号", "缴款书号码"},
	"payment_code": {"缴款识别码"},
	"unit":         {"执收单位名称"},
	"amount":       {"缴款金额", "入库金额"},
	"paid_on":      {"入库日期"},
	"treasury":     {"收款国库名称"},
}

// statementFields in the order error messages name them; requiredFields must all be found for a
// row to be the header.
var (
	statementFields = []string{"slip_no", "payment_code", "unit", "amount", "paid_on", "treasury"}
	requiredFields  = []string{"unit", "amount", "paid_on"}
)

// statementRow is one row of a statement as text, with the line (CSV) or row (XLSX) it starts on.
type statementRow struct {
	line  int
	cells []string
}

// statementTable is a statement read into rows of text, whatever its format.
type statementTable struct {
	rows     []statementRow
	xlsx     bool // cells are raw XLSX values: dates may be serial numbers, amounts binary doubles
	date1904 bool // the workbook counts its date serials from 1904 (old Mac Excel)
	sep      rune // a CSV's separator
	readErr  error
}

// columns says which cell holds each field found in a header row.
type columns map[string]int

// ParseStatement reads a whole statement held in memory into its receipts (see ScanStatement).
func ParseStatement(data []byte, format string, mapping map[string]string) ([]ReceiptRow, error) {
	var out []ReceiptRow
	err := ScanStatement(bytes.NewReader(data), format, mapping, func(r ReceiptRow) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// ScanStatement reads a CSV (UTF-8, UTF-16 or GB18030; comma, semicolon or TAB) or XLSX (first
// sheet) statement, with title rows above its header and totals rows among its receipts, and
// gives each receipt to emit in line order. Any malformed row fails the whole statement with its
// line number; a caller that must apply nothing of a bad file scans it once to check it, then
// again to apply it (src is read from its start each time). It holds a row at a time, and the
// rows above the header: a CSV statement of any size is read in constant memory (an XLSX's zip
// is held, its rows streamed).
func ScanStatement(src io.ReadSeeker, format string, mapping map[string]string, emit func(ReceiptRow) error) error {
	names, err := headerNames(mapping)
	if err != nil {
		return err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return datavenue.Malformed("statement_unreadable", "the statement could not be read")
	}
	switch format {
	case "csv":
		return scanCSV(src, names, emit)
	case "xlsx":
		return scanXLSX(src, names, emit)
	}
	return datavenue.Invalid("statement_format", "a statement is csv or xlsx")
}

// scanRows reads the rows below a header from next (which answers false after the last row)
// into receipts, checking the totals rows.
func (t statementTable) scanRows(cols columns, next func() (statementRow, bool, error), emit func(ReceiptRow) error) error {
	check := totals{sum: money.Zero, sinceSubtotal: money.Zero}
	for {
		r, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if isBlank(r.cells) {
			continue
		}
		if word := totalsWord(r.cells); word != "" {
			if err := t.readTotal(r, cols, word, &check); err != nil {
				return err
			}
			continue
		}
		row, err := t.receipt(r, cols)
		if err != nil {
			return err
		}
		if err := emit(row); err != nil {
			return err
		}
		check.sum, check.sinceSubtotal = check.sum.Add(row.Amount), check.sinceSubtotal.Add(row.Amount)
	}
	for _, g := range check.grand {
		if err := matchTotal(g, check.sum); err != nil {
			return err
		}
	}
	return nil
}

// rowsOf walks rows held in memory.
func rowsOf(rows []statementRow) func() (statementRow, bool, error) {
	i := 0
	return func() (statementRow, bool, error) {
		if i >= len(rows) {
			return statementRow{}, false, nil
		}
		i++
		return rows[i-1], true, nil
	}
}

// headerNames gives, for each field, the normalised headers that name it: the clerk's mapping
// alone where there is one, the default and its variants otherwise.
func headerNames(mapping map[string]string) (map[string][]string, error) {
	names := map[string][]string{}
	for _, field := range statementFields {
		if h, ok := mapping[field]; ok {
			if normaliseHeader(h) == "" {
				return nil, datavenue.Invalid("statement_header_missing", fmt.Sprintf("the mapping names no header for %s", field))
			}
			names[field] = []string{normaliseHeader(h)}
			continue
		}
		names[field] = append([]string{DefaultHeaders[field]}, headerVariants[field]...)
	}
	return names, nil
}

// normaliseHeader removes what exports vary in a header without changing its meaning: spaces
// (U+3000 included), full-width parentheses and a trailing "(元)". Other units such as "(万元)"
// stay, so a column in ten-thousands of yuan is never read as yuan.
func normaliseHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, width.Narrow.String(s))
	return strings.TrimSuffix(s, "(元)")
}

// headerProbeRows is how many rows of a CSV statement are read with each separator to find its
// header; the separator that finds it reads the rest, one row at a time.
const headerProbeRows = 50

// encodingProbe is how much of a text statement its encoding is judged on.
const encodingProbe = 1 << 20

// scanCSV finds a text statement's encoding, separator and header, then reads its receipts row by
// row. A header not among the first rows is searched for in the whole file, with each separator
// (such a file is read whole).
func scanCSV(src io.ReadSeeker, names map[string][]string, emit func(ReceiptRow) error) error {
	prefix, err := io.ReadAll(io.LimitReader(src, encodingProbe))
	if err != nil {
		return datavenue.Malformed("statement_unreadable", "the statement could not be read")
	}
	enc, err := detectEncoding(prefix)
	if err != nil {
		return err
	}
	open := func(sep rune) (*csv.Reader, error) {
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		r := csv.NewReader(enc.reader(src))
		r.Comma, r.FieldsPerRecord, r.ReuseRecord = sep, -1, true
		return r, nil
	}
	separators := []rune{',', ';', '\t'}
	read := func(maxRows int) ([]statementTable, error) {
		tables := make([]statementTable, len(separators))
		for i, sep := range separators {
			r, err := open(sep)
			if err != nil {
				return nil, err
			}
			tables[i] = splitCSV(r, enc, maxRows)
		}
		return tables, nil
	}
	probes, err := read(headerProbeRows)
	if err != nil {
		return err
	}
	t, header, cols, err := findHeader(probes, names)
	if err != nil {
		whole, rerr := read(0)
		if rerr != nil {
			return rerr
		}
		if t, header, cols, err = findHeader(whole, names); err != nil {
			return err
		}
		if err := checkDeclaredUnit(t.rows[:header]); err != nil {
			return err
		}
		return t.scanRows(cols, rowsOf(t.rows[header+1:]), emit)
	}
	if err := checkDeclaredUnit(t.rows[:header]); err != nil {
		return err
	}
	r, err := open(t.sep)
	if err != nil {
		return err
	}
	for range header + 1 { // the title rows and the header, read before
		if _, err := r.Read(); err != nil {
			return datavenue.Invalid("statement_malformed", "the CSV cannot be read: "+err.Error())
		}
	}
	return t.scanRows(cols, func() (statementRow, bool, error) {
		row, err := readRecord(r, enc)
		if errors.Is(err, io.EOF) {
			return statementRow{}, false, nil
		}
		return row, err == nil, err
	}, emit)
}

// splitCSV reads up to maxRows records (0: all). It keeps the rows before a syntax error, so that
// the separator can be judged on the header; the error fails the statement only if that
// separator is chosen.
func splitCSV(r *csv.Reader, enc textEncoding, maxRows int) statementTable {
	t := statementTable{sep: r.Comma}
	for maxRows == 0 || len(t.rows) < maxRows {
		row, err := readRecord(r, enc)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.readErr = err
			}
			return t
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// readRecord reads one record with the line it starts on (not its index: csv skips empty lines
// and a quoted cell may span several, and the clerk looks for the line in an editor). Its cells
// must be text in the statement's encoding.
func readRecord(r *csv.Reader, enc textEncoding) (statementRow, error) {
	cells, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return statementRow{}, err
		}
		return statementRow{}, datavenue.Invalid("statement_malformed", "the CSV cannot be read: "+err.Error())
	}
	line, _ := r.FieldPos(0)
	cells = slices.Clone(cells) // the reader reuses its record
	for _, c := range cells {
		// A decoder puts U+FFFD where bytes mean nothing in its encoding, and UTF-8 read as it
		// is may be invalid past the part its encoding was judged on: such a file would otherwise
		// be read as garbled text (or refused by the database).
		if (enc.decoded && strings.ContainsRune(c, utf8.RuneError)) || !utf8.ValidString(c) {
			return statementRow{}, datavenue.Invalid("statement_malformed", fmt.Sprintf(
				"line %d: the CSV is neither UTF-8, UTF-16 nor GB18030 (GBK) text", line))
		}
	}
	return statementRow{line: line, cells: cells}, nil
}

// textEncoding is how a text statement's bytes become UTF-8.
type textEncoding struct {
	skip    int64             // bytes to skip first (a UTF-8 BOM)
	decoder *encoding.Decoder // nil: UTF-8 as it is
	decoded bool
}

func (e textEncoding) reader(r io.Reader) io.Reader {
	if e.skip > 0 {
		_, _ = io.CopyN(io.Discard, r, e.skip)
	}
	if e.decoder == nil {
		return r
	}
	return transform.NewReader(r, e.decoder)
}

// detectEncoding judges a text statement's encoding on its first bytes. Chinese Excel and bank
// systems save "CSV" as GB18030 (GBK) without a mark and "Unicode text" as UTF-16 with a BOM;
// UTF-8 may carry a BOM.
func detectEncoding(prefix []byte) (textEncoding, error) {
	even := prefix[:len(prefix)&^1]
	order, isUTF16 := utf16Order(even)
	switch {
	case bytes.HasPrefix(prefix, []byte("PK\x03\x04")):
		return textEncoding{}, datavenue.Invalid("statement_format", "the statement is an XLSX (zip) file; send it as xlsx")
	case bytes.HasPrefix(prefix, []byte("\xEF\xBB\xBF")):
		return textEncoding{skip: 3}, nil
	case bytes.HasPrefix(prefix, []byte("\xFF\xFE")), bytes.HasPrefix(prefix, []byte("\xFE\xFF")):
		// The BOM decides the byte order; the one named here is a default never used.
		return textEncoding{decoder: xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM).NewDecoder(), decoded: true}, nil
	case isUTF16:
		return textEncoding{decoder: xunicode.UTF16(order, xunicode.IgnoreBOM).NewDecoder(), decoded: true}, nil
	case validUTF8Prefix(prefix):
		return textEncoding{}, nil
	}
	return textEncoding{decoder: simplifiedchinese.GB18030.NewDecoder(), decoded: true}, nil
}

// validUTF8Prefix says whether b is UTF-8, allowing a character cut off at its end.
func validUTF8Prefix(b []byte) bool {
	for cut := 0; cut < utf8.UTFMax && cut <= len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return cut == 0 || !utf8.FullRune(b[len(b)-cut:])
		}
	}
	return false
}

// utf16Order recognises UTF-16 without a BOM by its NUL bytes: every ASCII character (digits,
// separators, line ends) is a NUL and a byte, so they fall on one side, while UTF-8 and GB18030
// text has none. A few on the other side are allowed: some Chinese characters (退 is U+9000) have
// a NUL low byte.
func utf16Order(data []byte) (order xunicode.Endianness, ok bool) {
	if len(data) < 4 || len(data)%2 != 0 {
		return order, false
	}
	var even, odd int
	for i, b := range data {
		if b == 0 && i%2 == 0 {
			even++
		} else if b == 0 {
			odd++
		}
	}
	units := len(data) / 2
	switch {
	case odd*8 >= units && even*8 <= odd:
		return xunicode.LittleEndian, true
	case even*8 >= units && odd*8 <= even:
		return xunicode.BigEndian, true
	}
	return order, false
}

// scanXLSX reads the first sheet's raw values: dates as serial numbers and amounts as the stored
// numbers, whatever their number format, where formatted text would depend on the locale. The
// rows above the header are read first, then the receipts one row at a time.
func scanXLSX(src io.ReadSeeker, names map[string][]string, emit func(ReceiptRow) error) error {
	// An XLSX is a zip: a small upload can unfold into gigabytes (excelize allows 16 GB by
	// default). A statement's sheets unzip to at most 512 MiB, and a worksheet larger than 64 MiB
	// is read from a temporary file rather than memory.
	f, err := excelize.OpenReader(src, excelize.Options{UnzipSizeLimit: 512 << 20, UnzipXMLSizeLimit: 64 << 20})
	if err != nil {
		return datavenue.Invalid("statement_malformed", "the XLSX cannot be read")
	}
	defer f.Close()
	t := statementTable{xlsx: true}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		t.date1904 = *props.Date1904
	}
	rows, err := f.Rows(f.GetSheetName(0))
	if err != nil {
		return datavenue.Invalid("statement_malformed", "the XLSX's first sheet cannot be read")
	}
	defer rows.Close()
	line := 0
	next := func() (statementRow, bool, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return statementRow{}, false, datavenue.Invalid("statement_malformed", "the XLSX's first sheet cannot be read")
			}
			return statementRow{}, false, nil
		}
		// Rows keeps empty rows between filled ones, so the count is the sheet's row number.
		line++
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return statementRow{}, false, datavenue.Invalid("statement_malformed", fmt.Sprintf("row %d of the XLSX cannot be read", line))
		}
		return statementRow{line: line, cells: cells}, true, nil
	}
	// The header is searched for among the first rows, then, if need be, in the whole sheet.
	for {
		r, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		t.rows = append(t.rows, r)
		if len(t.rows) >= headerProbeRows {
			if scan := t.scanHeader(names); scan.index >= 0 {
				break
			}
		}
	}
	found, header, cols, err := findHeader([]statementTable{t}, names)
	if err != nil {
		return err
	}
	if err := checkDeclaredUnit(found.rows[:header]); err != nil {
		return err
	}
	held := rowsOf(t.rows[header+1:])
	return t.scanRows(cols, func() (statementRow, bool, error) {
		if r, ok, _ := held(); ok {
			return r, true, nil
		}
		return next()
	}, emit)
}

// headerScan is what a table's rows say about its header.
type headerScan struct {
	index   int     // the header row, -1 when no row names every required field
	cols    columns // the fields the header row names
	dup     string  // a field that two columns of the header row name
	nearest columns // without a header: the row naming the most required fields, for the message
}

// scanHeader finds the first row that names every required field.
func (t statementTable) scanHeader(names map[string][]string) headerScan {
	scan := headerScan{index: -1}
	for i, r := range t.rows {
		cols, dup := matchHeader(r.cells, names)
		found := countRequired(cols)
		if found == len(requiredFields) {
			return headerScan{index: i, cols: cols, dup: dup}
		}
		if found > countRequired(scan.nearest) {
			scan.nearest = cols
		}
	}
	return scan
}

// matchHeader says which cells of a row name which fields, and describes a field named twice.
func matchHeader(cells []string, names map[string][]string) (cols columns, dup string) {
	cols = columns{}
	for i, c := range cells {
		h := normaliseHeader(c)
		for _, field := range statementFields {
			if !slices.Contains(names[field], h) {
				continue
			}
			if first, seen := cols[field]; seen {
				dup = fmt.Sprintf("%s: %q and %q", field, strings.TrimSpace(cells[first]), strings.TrimSpace(c))
			} else {
				cols[field] = i
			}
		}
	}
	return cols, dup
}

// countRequired is how many of the required fields cols names.
func countRequired(cols columns) int {
	n := 0
	for _, field := range requiredFields {
		if _, ok := cols[field]; ok {
			n++
		}
	}
	return n
}

// findHeader picks the header row: the first row of a table that names every required field, in
// the table (one per CSV separator) where that row names the most fields.
func findHeader(tables []statementTable, names map[string][]string) (statementTable, int, columns, error) {
	best, nearest := -1, 0
	scans := make([]headerScan, len(tables))
	for i, t := range tables {
		scans[i] = t.scanHeader(names)
		if scans[i].index >= 0 && (best < 0 || len(scans[i].cols) > len(scans[best].cols)) {
			best = i
		}
		if countRequired(scans[i].nearest) > countRequired(scans[nearest].nearest) {
			nearest = i
		}
	}
	if best < 0 {
		return statementTable{}, 0, nil, missingHeader(tables[nearest], scans[nearest].nearest, names)
	}
	t, scan := tables[best], scans[best]
	if t.readErr != nil {
		return statementTable{}, 0, nil, datavenue.Invalid("statement_malformed", "the CSV cannot be read: "+t.readErr.Error())
	}
	if scan.dup != "" {
		return statementTable{}, 0, nil, datavenue.Invalid("statement_header_missing", fmt.Sprintf(
			"line %d: two columns hold %s; send a mapping naming the one to read", t.rows[scan.index].line, scan.dup))
	}
	return t, scan.index, scan.cols, nil
}

// missingHeader explains why no header was found, from the table that came closest.
func missingHeader(t statementTable, nearest columns, names map[string][]string) error {
	if t.readErr != nil {
		return datavenue.Invalid("statement_malformed", "the CSV cannot be read: "+t.readErr.Error())
	}
	if !slices.ContainsFunc(t.rows, func(r statementRow) bool { return !isBlank(r.cells) }) {
		return datavenue.Invalid("statement_empty", "the statement has no header row")
	}
	var missing []string
	for _, field := range requiredFields {
		if _, ok := nearest[field]; !ok {
			missing = append(missing, fmt.Sprintf("%q (%s)", names[field][0], field))
		}
	}
	return datavenue.Invalid("statement_header_missing", fmt.Sprintf(
		"the statement has no header row with the columns %s; send a mapping", strings.Join(missing, ", ")))
}

// foreignUnit is a title line stating amounts in multiples of yuan, such as "单位：万元": read as
// yuan they would be ten thousand times too small.
var foreignUnit = regexp.MustCompile(`单位:(人民币)?[十百千万亿]+元`)

// checkDeclaredUnit refuses a statement whose title rows state amounts in other units than yuan.
func checkDeclaredUnit(title []statementRow) error {
	for _, r := range title {
		for _, c := range r.cells {
			if foreignUnit.MatchString(normaliseHeader(c)) {
				return datavenue.Invalid("statement_row_invalid", fmt.Sprintf(
					"line %d: the statement states its amounts as %q; only amounts in yuan (元) are read", r.line, strings.TrimSpace(c)))
			}
		}
	}
	return nil
}

// totalsWords mark a row that states a total of the receipts above it rather than a receipt.
var totalsWords = map[string]bool{"合计": true, "总计": true, "小计": true}

// totals holds what a statement's totals rows state, to check against the receipts read: a 小计
// covers the receipts since the previous 小计, a 合计 or 总计 the whole statement (some exports
// print it above the receipts).
type totals struct {
	sum, sinceSubtotal money.Yuan
	grand              []statedTotal
}

type statedTotal struct {
	line   int
	amount money.Yuan
}

// readTotal checks a 小计 at once and keeps a 合计 or 总计 for the end. A totals row without an
// amount states nothing to check.
func (t statementTable) readTotal(r statementRow, cols columns, word string, check *totals) error {
	s := cellOf(r, cols, "amount")
	if strings.TrimSpace(s) == "" {
		return nil
	}
	amount, err := t.amount(s)
	if err != nil {
		return rowInvalid(r.line, err)
	}
	if word != "小计" {
		check.grand = append(check.grand, statedTotal{line: r.line, amount: amount})
		return nil
	}
	since := check.sinceSubtotal
	check.sinceSubtotal = money.Zero
	return matchTotal(statedTotal{line: r.line, amount: amount}, since)
}

func matchTotal(stated statedTotal, sum money.Yuan) error {
	if stated.amount.Cmp(sum) == 0 {
		return nil
	}
	return datavenue.Invalid("statement_total_mismatch", fmt.Sprintf(
		"line %d: the total %s differs from the sum of the receipts it covers, %s", stated.line, stated.amount, sum))
}

// receipt reads one receipt row.
func (t statementTable) receipt(r statementRow, cols columns) (ReceiptRow, error) {
	amount, err := t.amount(cellOf(r, cols, "amount"))
	if err == nil && amount.IsZero() {
		err = fmt.Errorf("the amount %q is zero: a receipt is a positive amount", cellOf(r, cols, "amount"))
	}
	if err != nil {
		return ReceiptRow{}, rowInvalid(r.line, err)
	}
	paid, err := t.date(cellOf(r, cols, "paid_on"))
	if err != nil {
		return ReceiptRow{}, rowInvalid(r.line, err)
	}
	row := ReceiptRow{Line: r.line, SlipNo: reference(cellOf(r, cols, "slip_no")), PaymentCode: reference(cellOf(r, cols, "payment_code")),
		Unit: reference(cellOf(r, cols, "unit")), Amount: amount, PaidOn: paid, Treasury: reference(cellOf(r, cols, "treasury"))}
	if row.SlipNo == "" && row.PaymentCode == "" && row.Unit == "" {
		return ReceiptRow{}, rowInvalid(r.line, errors.New("a receipt names a slip number, a payment code or a unit"))
	}
	return row, nil
}

func rowInvalid(line int, why error) error {
	return datavenue.Invalid("statement_row_invalid", fmt.Sprintf("line %d: %v", line, why))
}

func cellOf(r statementRow, cols columns, field string) string {
	if i, ok := cols[field]; ok && i < len(r.cells) {
		return r.cells[i]
	}
	return ""
}

func isBlank(cells []string) bool {
	return !slices.ContainsFunc(cells, func(c string) bool { return strings.TrimSpace(c) != "" })
}

func totalsWord(cells []string) string {
	for _, c := range cells {
		if w := strings.TrimSuffix(normaliseHeader(c), ":"); totalsWords[w] {
			return w
		}
	}
	return ""
}

// reference cleans a slip number, payment code, unit or treasury as Excel and Chinese systems
// pad them: a leading apostrophe (Excel's mark for "keep as text", so 0012345 keeps its zeros)
// and full-width spaces used to align names.
func reference(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\u3000", ""))
	return strings.TrimSpace(strings.TrimPrefix(s, "'"))
}

// groupedThousands is an amount whose thousands separators stand where they belong: 1,234,567.89.
var groupedThousands = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)

// amount reads an amount in yuan, as typed (¥1,234.56, 1234.56元, full-width digits) or, in an
// XLSX, as the stored double.
func (t statementTable) amount(s string) (money.Yuan, error) {
	y, err := writtenAmount(s)
	if raw := strings.TrimSpace(s); err != nil && t.xlsx && storedDouble.MatchString(raw) {
		return doubleAmount(raw)
	}
	return y, err
}

func writtenAmount(s string) (money.Yuan, error) {
	v := strings.TrimSpace(width.Narrow.String(s)) // full-width digits, ，．and ￥ become ASCII and ¥
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "¥"), "元"))
	if v == "" {
		return money.Yuan{}, errors.New("the amount is empty")
	}
	if strings.Contains(v, ",") {
		if !groupedThousands.MatchString(strings.TrimPrefix(v, "-")) {
			return money.Yuan{}, fmt.Errorf("the amount %q has thousands separators out of place", s)
		}
		v = strings.ReplaceAll(v, ",", "")
	}
	if n, negative := strings.CutPrefix(v, "-"); negative {
		if _, err := money.Parse(n); err == nil {
			return money.Yuan{}, fmt.Errorf("the amount %q is negative: a receipt is a positive amount", s)
		}
	}
	y, err := money.Parse(v)
	if errors.Is(err, money.ErrTooLarge) {
		return money.Yuan{}, fmt.Errorf("the amount %q has more than 15 digits before the decimal point", s)
	} else if err != nil {
		return money.Yuan{}, fmt.Errorf("the amount %q is not an amount in yuan with at most two decimals", s)
	}
	return y, nil
}

// storedDouble is a number as an XLSX stores it: up to 17 significant digits, with an exponent for
// small and large ones.
var storedDouble = regexp.MustCompile(`^-?[0-9]{1,17}(\.[0-9]{1,17})?([eE][-+]?[0-9]{1,3})?$`)

// fenTolerance is how far a stored double may be from a whole number of fen and still be read as
// that number: 2000.01 typed into Excel is stored as the nearest double, which may read
// 2000.0100000000002, while a value a thousandth of a fen away was never typed as an amount.
var fenTolerance = decimal.New(1, -6)

// doubleAmount reads a stored double exactly, in decimal, never through float64.
func doubleAmount(raw string) (money.Yuan, error) {
	d, err := decimal.NewFromString(raw)
	if err != nil {
		return money.Yuan{}, fmt.Errorf("the amount %q is not a number", raw)
	}
	if d.IsNegative() {
		return money.Yuan{}, fmt.Errorf("the amount %s is negative: a receipt is a positive amount", raw)
	}
	fen := d.Round(2)
	if d.Sub(fen).Abs().GreaterThan(fenTolerance) {
		return money.Yuan{}, fmt.Errorf("the amount %s is not a whole number of fen", raw)
	}
	y, err := money.Parse(fen.StringFixed(2))
	if err != nil {
		return money.Yuan{}, fmt.Errorf("the amount %s has more than 15 digits before the decimal point", raw)
	}
	return y, nil
}

// timeOfDay may follow a date; it is dropped, as the receipt date is the calendar day as written
// (China Standard Time).
const timeOfDay = `(?:[ T]+(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?)?$`

// dateForms are the ways exports write a day: year, month, day in this order in each.
var dateForms = []*regexp.Regexp{
	regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})` + timeOfDay),
	regexp.MustCompile(`^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})` + timeOfDay),
	regexp.MustCompile(`^([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})` + timeOfDay),
	regexp.MustCompile(`^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日` + timeOfDay),
	regexp.MustCompile(`^([0-9]{4})([0-9]{2})([0-9]{2})` + timeOfDay),
}

// dateSerial is a date as an XLSX stores it, whatever its number format: whole days since the
// workbook's epoch, a fraction for the time of day. Eight digits are a written 20261209.
var dateSerial = regexp.MustCompile(`^([0-9]{1,7})(\.[0-9]+)?$`)

// date reads the day a receipt was paid.
func (t statementTable) date(s string) (civil.Date, error) {
	v := strings.TrimSpace(width.Narrow.String(s))
	var d civil.Date
	var err error
	if m := dateSerial.FindStringSubmatch(v); m != nil && t.xlsx {
		d, err = t.serialDate(m[1])
	} else {
		d, err = writtenDate(v, s)
	}
	if err != nil {
		return civil.Date{}, err
	}
	// A receipt of the year 1 (found by fuzzing) or 9999 is a broken export, not a payment.
	if d.Before(earliestReceipt) || d.After(latestReceipt) {
		return civil.Date{}, fmt.Errorf("the date %q (%s) is outside %s to %s", s, d, earliestReceipt, latestReceipt)
	}
	return d, nil
}

func writtenDate(v, original string) (civil.Date, error) {
	if v == "" {
		return civil.Date{}, errors.New("the date is empty")
	}
	for _, form := range dateForms {
		m := form.FindStringSubmatch(v)
		if m == nil {
			continue
		}
		year, _ := strconv.Atoi(m[1])
		month, _ := strconv.Atoi(m[2])
		day, _ := strconv.Atoi(m[3])
		d, err := civil.Parse(fmt.Sprintf("%04d-%02d-%02d", year, month, day))
		if err != nil {
			return civil.Date{}, fmt.Errorf("the date %q is not a day of the calendar", original)
		}
		return d, nil
	}
	return civil.Date{}, fmt.Errorf("the date %q is not a date such as 2026-12-09, 2026/12/9, 2026年12月9日, 20261209 or 2026.12.09", original)
}

// excelEpoch is day 0 of Excel's 1900 date system for serials from 61 (1900-03-01) on. Excel
// counts a 1900-02-29 that never was (serial 60, kept from Lotus 1-2-3), so serials before it
// count from one day later.
var excelEpoch = civil.MustParse("1899-12-30")

// serialDate converts the whole days of a date serial (at most seven digits) to the day.
func (t statementTable) serialDate(whole string) (civil.Date, error) {
	days, _ := strconv.Atoi(whole)
	if t.date1904 {
		days += 1462 // 1904-01-01 in the 1900 system
	}
	switch {
	case days == 60:
		return civil.Date{}, errors.New("the date serial 60 is Excel's 1900-02-29, a day that never was")
	case days < 60:
		days++
	}
	return excelEpoch.AddDays(days), nil
}
