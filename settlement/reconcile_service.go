package settlement

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
)

// Reconciliation is the clerk's statement import and exception queue: treasury statements are
// matched against the obligations the venue computed (D17: the government share goes in full and
// on time to the treasury), and every receipt that does not match an obligation exactly becomes an
// exception a clerk resolves with a reason. It also serves the period reports and trial balance.
type Reconciliation struct {
	Store   ReconcileStore
	Reports ReportStore
	Clock   datavenue.Clock
}

// ImportInput describes a statement upload.
type ImportInput struct {
	Name      string
	Format    string            // csv or xlsx
	Mapping   map[string]string // field → header, where the file's headers differ from DefaultHeaders
	PeriodEnd string            // obligations due by this day with nothing received are reported missing
	// Statement is the file as uploaded; it is read twice (checked whole, then applied), from its
	// start each time, one row at a time.
	Statement io.ReadSeeker
}

// MayImport says whether the caller may import statements: the HTTP layer asks before it reads a
// statement's (large) body.
func (r Reconciliation) MayImport(caller datavenue.Caller) error {
	if !caller.Is(datavenue.RoleClerk) {
		return datavenue.Forbidden("role_not_allowed", "a settlement clerk imports statements")
	}
	return nil
}

// Import parses and applies a statement (all or nothing).
func (r Reconciliation) Import(ctx context.Context, caller datavenue.Caller, in ImportInput) (ImportResult, error) {
	if err := r.MayImport(caller); err != nil {
		return ImportResult{}, err
	}
	end, err := civil.Parse(in.PeriodEnd)
	if err != nil {
		return ImportResult{}, datavenue.Invalid("validation_failed", "invalid period end",
			datavenue.FieldError{Field: "period_end", Code: "invalid_date", Message: err.Error()})
	}
	// Checked whole first, so that a bad row fails the statement before anything is applied (and
	// the count is known for the progress); then read again into the store's transaction.
	total := 0
	if err := ScanStatement(in.Statement, in.Format, in.Mapping, func(ReceiptRow) error { total++; return nil }); err != nil {
		return ImportResult{}, err
	}
	ReportProgress(ctx, "parsed", total, total)
	rows := func(yield func(ReceiptRow, error) bool) {
		stopped := errors.New("stopped")
		err := ScanStatement(in.Statement, in.Format, in.Mapping, func(r ReceiptRow) error {
			if !yield(r, nil) {
				return stopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, stopped) {
			yield(ReceiptRow{}, err)
		}
	}
	return r.Store.Import(ctx, in.Name, rows, total, end)
}

// Exceptions lists the queue to clerks, bureaus and auditors.
func (r Reconciliation) Exceptions(ctx context.Context, caller datavenue.Caller, status string, p Page) ([]Exception, error) {
	if !isBookKeeper(caller) {
		return nil, datavenue.Forbidden("role_not_allowed", "clerks, bureaus and auditors read the exception queue")
	}
	return r.Store.Exceptions(ctx, status, p)
}

// ImportedReceipts pages through an import's receipts, every one of a large statement's
// outcomes (the import's answer lists the first ReceiptsListed).
func (r Reconciliation) ImportedReceipts(ctx context.Context, caller datavenue.Caller, importID, outcome string, p Page) ([]ReceiptOutcome, error) {
	if !isBookKeeper(caller) {
		return nil, datavenue.Forbidden("role_not_allowed", "clerks, bureaus and auditors read imported receipts")
	}
	if outcome != "" && !slices.Contains(ReceiptOutcomes, outcome) {
		return nil, datavenue.Invalid("validation_failed", "unknown outcome",
			datavenue.FieldError{Field: "outcome", Code: "unknown_value", Message: "one of " + strings.Join(ReceiptOutcomes, ", ")})
	}
	// This list's cursor is the last statement line listed (receipts are paged in line order), so
	// it is checked here: a forged cursor is the caller's field error, not a failure in the store.
	if p.After != "" {
		if n, err := strconv.Atoi(p.After); err != nil || n < 0 {
			return nil, datavenue.Invalid("validation_failed", "invalid cursor",
				datavenue.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "the cursor is a next_cursor this list gave"})
		}
	}
	return r.Store.ImportedReceipts(ctx, importID, outcome, p)
}

// Resolve closes an exception with the clerk's reason.
func (r Reconciliation) Resolve(ctx context.Context, caller datavenue.Caller, id, reason string) (Exception, error) {
	if !caller.Is(datavenue.RoleClerk) {
		return Exception{}, datavenue.Forbidden("role_not_allowed", "a settlement clerk resolves exceptions")
	}
	// The reason is the audit trail of why a mismatch was accepted (D15: fully traceable), so an
	// empty one is refused rather than defaulted.
	var f datavenue.Fields
	assets.Text(&f, "reason", reason, 1, 500)
	if err := f.Err(); err != nil {
		return Exception{}, err
	}
	return r.Store.ResolveException(ctx, id, reason)
}

// Report computes a period's report for clerks, bureaus and auditors.
func (r Reconciliation) Report(ctx context.Context, caller datavenue.Caller, from, to string) (Report, error) {
	if !isBookKeeper(caller) {
		return Report{}, datavenue.Forbidden("role_not_allowed", "clerks, bureaus and auditors read settlement reports")
	}
	// from and to are CST civil dates, both days included; both are checked before answering so
	// one response names every bad field. "today" decides what is overdue, in CST as well.
	var f datavenue.Fields
	fd, err1 := civil.Parse(from)
	td, err2 := civil.Parse(to)
	if err1 != nil {
		f.Add("from", "invalid_date", err1.Error())
	}
	if err2 != nil {
		f.Add("to", "invalid_date", err2.Error())
	} else if err1 == nil && td.Before(fd) {
		f.Add("to", "invalid_period", "to is on or after from")
	}
	if err := f.Err(); err != nil {
		return Report{}, err
	}
	return r.Reports.Report(ctx, fd, td, civil.Of(r.Clock.Now()))
}
