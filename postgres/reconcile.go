package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// progressEvery is how many receipts an import applies between progress reports.
const progressEvery = 500

// Import applies a statement in one transaction: every receipt is recorded with its outcome,
// remitted amounts post from due-to-treasury to remitted (one ledger transaction for the
// statement), exceptions are queued, and obligations due by the period's end with nothing
// received are reported missing. A failure applies nothing.
//
// The rules are settlement.MatchReceipt's; this is storage, shaped for large statements: the
// candidates by payment code are read (and locked) in one query, each receipt is decided in
// memory against the obligations' running state, and receipts, exceptions, obligation updates and
// postings are written in bulk (COPY and unnest), so an import costs a few statements, not four a
// receipt. A receipt without a payment code is matched by unit, amount still due and date, one
// query each, after the changes before it are written, so it sees them.
func (db *DB) Import(ctx context.Context, name string, rows []settlement.ReceiptRow, periodEnd civil.Date) (settlement.ImportResult, error) {
	res := settlement.ImportResult{ID: datavenue.NewID("imp"), Counts: map[string]int{}}
	caller, _ := datavenue.CallerFrom(ctx)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		res.Receipts, res.Missing, res.Counts = nil, nil, map[string]int{}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('datavenue reconciliation'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO statement_imports (id, source_name, rows, imported_by) VALUES ($1, $2, $3, $4)`,
			res.ID, name, len(rows), caller.Subject); err != nil {
			return err
		}
		b, err := newImportBatch(ctx, tx, res.ID, rows)
		if err != nil {
			return err
		}
		for i, row := range rows {
			if i%progressEvery == 0 {
				settlement.ReportProgress(ctx, "applying", i, len(rows))
			}
			out, err := b.apply(ctx, row)
			if err != nil {
				return err
			}
			res.Receipts = append(res.Receipts, out)
			res.Counts[out.Outcome]++
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		if err := b.post(ctx); err != nil {
			return err
		}
		missing, err := collect(ctx, tx, func(r pgx.Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, `SELECT id FROM obligations WHERE kind = 'treasury_remittance' AND status = 'due' AND remitted = 0 AND due_date <= $1 ORDER BY id`, periodEnd.Time())
		if err != nil {
			return err
		}
		excIDs := make([]string, len(missing))
		for i := range missing {
			excIDs[i] = datavenue.NewID("exc")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reconciliation_exceptions (id, kind, obligation_id, detail, status, amount)
			SELECT e, 'missing', o, 'due by the period end and nothing received', 'open', 0
			FROM unnest($1::text[], $2::text[]) AS x(o, e) ON CONFLICT DO NOTHING`, missing, excIDs); err != nil {
			return err
		}
		res.Missing = missing
		res.Counts["missing"] = len(missing)
		settlement.ReportProgress(ctx, "applying", len(rows), len(rows))
		return appendAudit(ctx, tx, "reconciliation.imported", "statement_import", res.ID, res.Counts)
	})
	return res, err
}

// importBatch is one statement's import in progress: what is known of the obligations it pays,
// and what waits to be written.
type importBatch struct {
	tx       pgx.Tx
	importID string
	seen     map[string]bool                  // slip numbers received before or earlier in the file
	byCode   map[string]*settlement.Candidate // due obligations by payment code, with their running remitted
	party    map[string]string                // obligation -> its unit
	receipts [][]any
	excepts  [][]any
	remitted map[string]decimal.Decimal // obligation -> what this import remits of it, not yet written
	paidBy   map[string]string          // obligation -> the receipt that paid it (missing exceptions)
	postings map[string]decimal.Decimal // account -> the statement's remittance postings
}

func newImportBatch(ctx context.Context, tx pgx.Tx, importID string, rows []settlement.ReceiptRow) (*importBatch, error) {
	b := &importBatch{tx: tx, importID: importID, seen: map[string]bool{}, byCode: map[string]*settlement.Candidate{},
		party: map[string]string{}, remitted: map[string]decimal.Decimal{}, paidBy: map[string]string{}, postings: map[string]decimal.Decimal{}}
	var slips, codes []string
	for _, r := range rows {
		if r.SlipNo != "" {
			slips = append(slips, r.SlipNo)
		}
		if r.PaymentCode != "" {
			codes = append(codes, r.PaymentCode)
		}
	}
	// Slips received in earlier statements (the predicate repeats the partial unique index's).
	known, err := collect(ctx, tx, func(r pgx.Row) (string, error) {
		var s string
		return s, r.Scan(&s)
	}, `SELECT slip_no FROM receipts WHERE slip_no = ANY($1) AND outcome <> 'duplicate' AND slip_no <> ''`, slips)
	if err != nil {
		return nil, err
	}
	for _, s := range known {
		b.seen[s] = true
	}
	// The obligations the payment codes name. Not locked here: imports are serialised (the
	// advisory lock above), nothing else changes what an obligation has remitted, and the bulk
	// UPDATE adds to the value it finds (locking 100,000 rows one by one first cost more than the
	// rest of the import).
	dbRows, err := tx.Query(ctx, candidateColumns+`WHERE o.payment_code = ANY($1) AND o.kind = 'treasury_remittance' AND o.status = 'due'`, codes)
	if err != nil {
		return nil, err
	}
	defer dbRows.Close()
	for dbRows.Next() {
		c, party, code, err := scanCandidate(dbRows)
		if err != nil {
			return nil, err
		}
		c.ByCode = true
		b.byCode[code], b.party[c.ObligationID] = c, party
	}
	return b, dbRows.Err()
}

const candidateColumns = `SELECT o.id, o.party_id, o.amount::text, o.remitted::text, g.name, coalesce(g.fiscal_level, ''), o.counterpart, o.payment_code
	FROM obligations o JOIN organisations g ON g.id = o.party_id `

func scanCandidate(r pgx.Row) (*settlement.Candidate, string, string, error) {
	var c settlement.Candidate
	var party, amount, remitted, level, code string
	if err := r.Scan(&c.ObligationID, &party, &amount, &remitted, &c.UnitName, &level, &c.Treasury, &code); err != nil {
		return nil, "", "", err
	}
	c.Amount, c.Remitted, c.FiscalLevel = money.MustParse(amount), money.MustParse(remitted), parties.FiscalLevel(level)
	return &c, party, code, nil
}

// apply decides one receipt and queues what it writes.
func (b *importBatch) apply(ctx context.Context, row settlement.ReceiptRow) (settlement.ReceiptOutcome, error) {
	out := settlement.ReceiptOutcome{ReceiptRow: row, ID: datavenue.NewID("rcp")}
	duplicate := row.SlipNo != "" && b.seen[row.SlipNo]
	if row.SlipNo != "" {
		b.seen[row.SlipNo] = true
	}
	var cand *settlement.Candidate
	if !duplicate {
		if row.PaymentCode != "" {
			// Remitted in full earlier in this statement, it is no longer due: like any receipt
			// for an obligation that is not due, this one matches nothing.
			if c := b.byCode[row.PaymentCode]; c != nil && c.Remitted.Cmp(c.Amount) < 0 {
				cand = c
			}
		} else {
			var err error
			if cand, err = b.byUnit(ctx, row); err != nil {
				return out, err
			}
		}
	}
	d := settlement.MatchReceipt(row, cand, duplicate)
	out.Outcome = d.Outcome
	var obl *string
	if cand != nil && d.Outcome != "duplicate" {
		out.Obligation = cand.ObligationID
		obl = &out.Obligation
	}
	b.receipts = append(b.receipts, []any{out.ID, b.importID, row.Line, row.SlipNo, row.PaymentCode, row.Unit, row.Amount.Decimal(),
		row.PaidOn.Time(), row.Treasury, out.Outcome, obl})
	if !d.Remit.IsZero() || !d.Excess.IsZero() {
		// The remittance leaves the due-to-treasury account for remitted; an excess was received by
		// the treasury too, and waits in the unit's treasury suspense account for a clerk.
		party := datavenue.OrgID(b.party[cand.ObligationID])
		b.postings[settlement.AccountID(settlement.DueToTreasury, party)] = b.postings[settlement.AccountID(settlement.DueToTreasury, party)].Add(d.Remit.Decimal())
		b.postings[settlement.AccountID(settlement.Remitted, party)] = b.postings[settlement.AccountID(settlement.Remitted, party)].Sub(d.Remit.Decimal().Add(d.Excess.Decimal()))
		if !d.Excess.IsZero() {
			b.postings[settlement.AccountID(settlement.TreasurySuspense, party)] = b.postings[settlement.AccountID(settlement.TreasurySuspense, party)].Add(d.Excess.Decimal())
		}
		cand.Remitted = cand.Remitted.Add(d.Remit)
		b.remitted[cand.ObligationID] = b.remitted[cand.ObligationID].Add(d.Remit.Decimal())
		if _, ok := b.paidBy[cand.ObligationID]; !ok {
			b.paidBy[cand.ObligationID] = out.ID
		}
	}
	for _, f := range d.Findings {
		b.excepts = append(b.excepts, []any{datavenue.NewID("exc"), f.Kind, out.ID, obl, f.Detail, "open", f.Amount.Decimal()})
	}
	return out, nil
}

// byUnit finds the obligation a receipt without a payment code pays: the unit's, with exactly
// the amount still due, the receipt dated from its event to 30 days past its deadline. What this
// statement remitted so far is written first, so the lookup sees it.
func (b *importBatch) byUnit(ctx context.Context, row settlement.ReceiptRow) (*settlement.Candidate, error) {
	if err := b.flushObligations(ctx); err != nil {
		return nil, err
	}
	c, party, code, err := scanCandidate(b.tx.QueryRow(ctx, candidateColumns+`WHERE o.kind = 'treasury_remittance' AND o.status = 'due'
			AND g.name = $1 AND o.amount - o.remitted = $2::numeric AND $3 >= o.event_date AND (o.due_date IS NULL OR $3 <= o.due_date + 30)
		ORDER BY o.due_date NULLS LAST LIMIT 1 FOR UPDATE OF o`, row.Unit, row.Amount.String(), row.PaidOn.Time()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if known := b.byCode[code]; known != nil {
		return known, nil // one obligation, one running state
	}
	b.byCode[code], b.party[c.ObligationID] = c, party
	return c, nil
}

// flush writes the receipts, exceptions and obligation changes queued so far. (Receipts reference
// obligations and exceptions reference receipts: both are written before anything is committed,
// and the foreign keys are checked as they are copied, so the order is receipts, then exceptions.)
func (b *importBatch) flush(ctx context.Context) error {
	if len(b.receipts) > 0 {
		if _, err := b.tx.CopyFrom(ctx, pgx.Identifier{"receipts"}, []string{"id", "import_id", "line", "slip_no", "payment_code", "unit_name",
			"amount", "paid_on", "treasury", "outcome", "obligation_id"}, pgx.CopyFromRows(b.receipts)); err != nil {
			return err
		}
		b.receipts = b.receipts[:0]
	}
	if len(b.excepts) > 0 {
		if _, err := b.tx.CopyFrom(ctx, pgx.Identifier{"reconciliation_exceptions"}, []string{"id", "kind", "receipt_id", "obligation_id",
			"detail", "status", "amount"}, pgx.CopyFromRows(b.excepts)); err != nil {
			return err
		}
		b.excepts = b.excepts[:0]
	}
	return b.flushObligations(ctx)
}

// flushObligations writes what the statement remitted of each obligation so far.
func (b *importBatch) flushObligations(ctx context.Context) error {
	if len(b.remitted) == 0 {
		return nil
	}
	ids, amounts, receipts := make([]string, 0, len(b.remitted)), make([]string, 0, len(b.remitted)), make([]string, 0, len(b.remitted))
	for id, a := range b.remitted {
		ids, amounts, receipts = append(ids, id), append(amounts, a.StringFixed(2)), append(receipts, b.paidBy[id])
	}
	if _, err := b.tx.Exec(ctx, `UPDATE obligations o SET remitted = o.remitted + x.amount,
			status = CASE WHEN o.remitted + x.amount >= o.amount THEN 'remitted' ELSE o.status END,
			settled_at = CASE WHEN o.remitted + x.amount >= o.amount THEN now() ELSE o.settled_at END
		FROM unnest($1::text[], $2::numeric[]) AS x(id, amount) WHERE o.id = x.id`, ids, amounts); err != nil {
		return err
	}
	// A "missing" exception of an obligation is answered by the receipt that paid it.
	if _, err := b.tx.Exec(ctx, `UPDATE reconciliation_exceptions e SET status = 'resolved', resolved_at = now(), resolved_by = 'reconciliation',
			resolution = 'received: receipt ' || x.receipt || ' (import ' || $3 || ')'
		FROM unnest($1::text[], $2::text[]) AS x(obligation, receipt)
		WHERE e.obligation_id = x.obligation AND e.kind = 'missing' AND e.status = 'open'`, ids, receipts, b.importID); err != nil {
		return err
	}
	clear(b.remitted)
	clear(b.paidBy)
	return nil
}

// post books the statement's remittances as one ledger transaction.
func (b *importBatch) post(ctx context.Context) error {
	var postings []settlement.Posting
	for account, amount := range b.postings {
		if !amount.IsZero() {
			postings = append(postings, settlement.Posting{Account: account, Amount: amount})
		}
	}
	if len(postings) == 0 {
		return nil
	}
	slices.SortFunc(postings, func(x, y settlement.Posting) int { return strings.Compare(x.Account, y.Account) })
	return postInTx(ctx, b.tx, settlement.Transaction{Kind: "remittance", SourceID: b.importID, Key: "remit:" + b.importID,
		Memo: "treasury statement " + b.importID, Postings: postings})
}

// Exceptions lists reconciliation exceptions by status (empty: all).
func (db *DB) Exceptions(ctx context.Context, status string, p settlement.Page) ([]settlement.Exception, error) {
	return db.exceptions(ctx, `WHERE ($1 = '' OR status = $1) AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3`, status, p.After, pageLimit(p))
}

func (db *DB) exceptions(ctx context.Context, where string, args ...any) ([]settlement.Exception, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, kind, coalesce(receipt_id, ''), coalesce(obligation_id, ''), detail, status, coalesce(resolution, ''),
			coalesce(amount, 0)::text
		FROM reconciliation_exceptions `+where, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.Exception, error) {
		var e settlement.Exception
		var amount string
		err := r.Scan(&e.ID, &e.Kind, &e.Receipt, &e.Obligation, &e.Detail, &e.Status, &e.Resolution, &amount)
		e.Amount = money.MustParse(amount)
		return e, err
	})
	return list, interpretError(err)
}

// ResolveException closes an open exception with the clerk's reason, audited.
func (db *DB) ResolveException(ctx context.Context, id, reason string) (settlement.Exception, error) {
	caller, _ := datavenue.CallerFrom(ctx)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reconciliation_exceptions SET status = 'resolved', resolution = $2, resolved_by = $3, resolved_at = $4
			WHERE id = $1 AND status = 'open'`, id, reason, caller.Subject, time.Now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return datavenue.Conflict("exception_not_open", "no open exception has this id")
		}
		return appendAudit(ctx, tx, "reconciliation.resolved", "reconciliation_exception", id, map[string]string{"reason": reason})
	})
	if err != nil {
		return settlement.Exception{}, err
	}
	list, err := db.exceptions(ctx, `WHERE id = $1`, id)
	if err != nil || len(list) == 0 {
		return settlement.Exception{}, notFoundAs(pgx.ErrNoRows, datavenue.NotFound("exception_not_found", "no exception has this id"))
	}
	return list[0], nil
}

var _ settlement.ReconcileStore = (*DB)(nil)
