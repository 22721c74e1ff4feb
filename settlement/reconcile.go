package settlement

import (
	"context"
	"iter"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// ReceiptRow is one row of a statement, as the treasury's payment slips (缴款书) state it: the
// slip number (缴款书编号), the payment code (缴款码) that identifies the obligation, the paying
// unit (执收单位), the amount, the day paid (CST) and the receiving treasury (收款国库). D17: the
// government share goes to the treasury of the same level, so the treasury is matched too.
type ReceiptRow struct {
	Line        int        `json:"line"`
	SlipNo      string     `json:"slip_no"`
	PaymentCode string     `json:"payment_code"`
	Unit        string     `json:"unit"`
	Amount      money.Yuan `json:"amount"`
	PaidOn      civil.Date `json:"paid_on"`
	Treasury    string     `json:"treasury"`
}

// ReceiptOutcome is the outcome of one receipt: what the match found and, when it found one, the
// obligation it was applied to.
type ReceiptOutcome struct {
	ReceiptRow
	ID         string `json:"id"`
	Outcome    string `json:"outcome"` // matched, partial, over_paid, duplicate, unmatched
	Obligation string `json:"obligation_id,omitempty"`
}

// RowsOf gives receipts held in memory as the rows a store imports: the store's Import takes an
// iterator so a large statement streams from its file, and small callers (tests) use this.
func RowsOf(rows []ReceiptRow) iter.Seq2[ReceiptRow, error] {
	return func(yield func(ReceiptRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// ReceiptsListed is how many receipts an import's result lists, in line order; the rest of a
// large statement's are read page by page from the import (a 100,000-row statement's outcomes
// would otherwise be one 30 MB answer, held whole in memory).
const ReceiptsListed = 1000

// ImportResult is what an import found.
type ImportResult struct {
	ID string `json:"id"`
	// Receipts are the first ReceiptsListed receipts' outcomes; ReceiptsTotal counts them all.
	Receipts      []ReceiptOutcome `json:"receipts"`
	ReceiptsTotal int              `json:"receipts_total"`
	Missing       []string         `json:"missing_obligations"` // due by the period's end with nothing received: never "balanced"
	Counts        map[string]int   `json:"counts"`
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
	// Amount is what the exception is about: the excess of an over-payment, what remains due
	// after a partial one, the receipt's amount otherwise (zero for a missing receipt).
	Amount money.Yuan `json:"amount"`
}

// ReconcileStore applies a statement in one transaction.
type ReconcileStore interface {
	// Import applies a statement's receipts, total of them, read in line order from rows (a
	// statement is not held in memory: the store takes it a chunk at a time).
	Import(ctx context.Context, name string, rows iter.Seq2[ReceiptRow, error], total int, periodEnd civil.Date) (ImportResult, error)
	Exceptions(ctx context.Context, status string, p Page) ([]Exception, error) // oldest first
	// ImportedReceipts pages through an import's receipts in line order (the cursor is a line
	// number), those with the outcome given or all; an unknown import is not found.
	ImportedReceipts(ctx context.Context, importID, outcome string, p Page) ([]ReceiptOutcome, error)
	ResolveException(ctx context.Context, id, reason string) (Exception, error)
}

// Progress receives how far an import has gone: the stage (parsed, applying) and rows done of
// the total. It is called from the importing goroutine, between rows.
type Progress func(stage string, done, total int)

// progressKey carries the progress receiver in the context, so the store's Import keeps one
// signature whether or not anyone watches (only the streamed HTTP answer does).
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
