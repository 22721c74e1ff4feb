package settlement

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

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

// ReceiptRow is one row of a statement.
type ReceiptRow struct {
	Line        int        `json:"line"`
	SlipNo      string     `json:"slip_no"`
	PaymentCode string     `json:"payment_code"`
	Unit        string     `json:"unit"`
	Amount      money.Yuan `json:"amount"`
	PaidOn      civil.Date `json:"paid_on"`
	Treasury    string     `json:"treasury"`
}

// ParseStatement reads a CSV (UTF-8, BOM allowed) or XLSX (first sheet) statement. Any malformed
// row fails the whole statement with its line number: nothing of a bad file is applied.
func ParseStatement(data []byte, format string, mapping map[string]string) ([]ReceiptRow, error) {
	var rows [][]string
	switch format {
	case "csv":
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
		r.FieldsPerRecord = -1
		var err error
		if rows, err = r.ReadAll(); err != nil {
			return nil, datavenue.Invalid("statement_malformed", "the CSV cannot be read: "+err.Error())
		}
	case "xlsx":
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, datavenue.Invalid("statement_malformed", "the XLSX cannot be read")
		}
		defer f.Close()
		if rows, err = f.GetRows(f.GetSheetName(0)); err != nil {
			return nil, datavenue.Invalid("statement_malformed", "the XLSX's first sheet cannot be read")
		}
	default:
		return nil, datavenue.Invalid("statement_format", "a statement is csv or xlsx")
	}
	if len(rows) < 1 {
		return nil, datavenue.Invalid("statement_empty", "the statement has no header row")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(h)] = i
	}
	index := map[string]int{}
	for field, header := range DefaultHeaders {
		if m, ok := mapping[field]; ok {
			header = m
		}
		i, ok := col[header]
		if !ok && field != "slip_no" && field != "payment_code" && field != "treasury" {
			return nil, datavenue.Invalid("statement_header_missing", fmt.Sprintf("the statement has no column %q (%s); send a mapping", header, field))
		}
		if ok {
			index[field] = i
		}
	}
	var out []ReceiptRow
	for n, row := range rows[1:] {
		line := n + 2
		get := func(field string) string {
			if i, ok := index[field]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		if strings.Join(row, "") == "" {
			continue
		}
		amount, err := money.Parse(strings.ReplaceAll(get("amount"), ",", ""))
		if err != nil || amount.IsZero() {
			return nil, datavenue.Invalid("statement_row_invalid", fmt.Sprintf("line %d: the amount %q is not a positive amount in yuan", line, get("amount")))
		}
		paid, err := civil.Parse(strings.ReplaceAll(get("paid_on"), "/", "-"))
		if err != nil {
			return nil, datavenue.Invalid("statement_row_invalid", fmt.Sprintf("line %d: the date %q is not YYYY-MM-DD", line, get("paid_on")))
		}
		// A receipt of the year 1 (found by fuzzing) or 9999 is a broken export, not a payment.
		if paid.Before(earliestReceipt) || paid.After(latestReceipt) {
			return nil, datavenue.Invalid("statement_row_invalid", fmt.Sprintf("line %d: the date %s is outside %s to %s", line, paid, earliestReceipt, latestReceipt))
		}
		if get("slip_no") == "" && get("payment_code") == "" && get("unit") == "" {
			return nil, datavenue.Invalid("statement_row_invalid", fmt.Sprintf("line %d: a receipt names a slip number, a payment code or a unit", line))
		}
		out = append(out, ReceiptRow{Line: line, SlipNo: get("slip_no"), PaymentCode: get("payment_code"), Unit: get("unit"),
			Amount: amount, PaidOn: paid, Treasury: get("treasury")})
	}
	return out, nil
}

// Outcome of one receipt.
type ReceiptOutcome struct {
	ReceiptRow
	ID         string `json:"id"`
	Outcome    string `json:"outcome"` // matched, partial, over_paid, duplicate, unmatched
	Obligation string `json:"obligation_id,omitempty"`
}

// ImportResult is what an import found.
type ImportResult struct {
	ID       string           `json:"id"`
	Receipts []ReceiptOutcome `json:"receipts"`
	Missing  []string         `json:"missing_obligations"` // due by the period's end with nothing received: never "balanced"
	Counts   map[string]int   `json:"counts"`
}

// Exception is a receipt or obligation a clerk must resolve.
type Exception struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Receipt    string `json:"receipt_id,omitempty"`
	Obligation string `json:"obligation_id,omitempty"`
	Detail     string `json:"detail"`
	Status     string `json:"status"`
	Resolution string `json:"resolution,omitempty"`
}

// ReconcileStore applies a statement in one transaction.
type ReconcileStore interface {
	Import(ctx context.Context, name string, rows []ReceiptRow, periodEnd civil.Date) (ImportResult, error)
	Exceptions(ctx context.Context, status string, p Page) ([]Exception, error) // oldest first
	ResolveException(ctx context.Context, id, reason string) (Exception, error)
}

// Progress receives how far an import has gone: the stage (parsed, applying) and rows done of
// the total. It is called from the importing goroutine, between rows.
type Progress func(stage string, done, total int)

type progressKey struct{}

// WithProgress makes imports under ctx report their progress to fn.
func WithProgress(ctx context.Context, fn Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// ReportProgress tells the progress receiver of ctx, if any, how far an import has gone.
func ReportProgress(ctx context.Context, stage string, done, total int) {
	if fn, ok := ctx.Value(progressKey{}).(Progress); ok {
		fn(stage, done, total)
	}
}
