package postgres

import (
	"context"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// progressEvery is how many receipts an import decides between progress reports.
const progressEvery = 500

// importChunk is how many receipts an import decides and writes at a time: the candidates, the
// slips already seen and the rows waiting to be written are held for one chunk only, so an
// import's working memory does not grow with the statement.
const importChunk = 5000

// Import applies a statement in one transaction: every receipt is recorded with its outcome,
// remitted amounts post from due-to-treasury to remitted (one ledger transaction for the
// statement), exceptions are queued, and obligations due by the period's end with nothing
// received are reported missing. A failure applies nothing.
//
// The rules are settlement.MatchReceipt's; this is storage, shaped for large statements. Receipts
// are taken a chunk at a time: the chunk's candidates by payment code are read in one query and
// its slips checked against those already received (earlier statements and earlier chunks, which
// are written by then) in another, each receipt is decided in memory against the obligations'
// running state, and the chunk's receipts, exceptions and obligation changes are written in bulk
// (COPY and unnest). An import costs a few statements a chunk, not four a receipt. A receipt
// without a payment code is matched by unit, amount still due and date, one query each, after the
// changes before it are written, so it sees them.
func (db SettlementStore) Import(ctx context.Context, name string, rows iter.Seq2[settlement.ReceiptRow, error], total int, periodEnd civil.Date) (settlement.ImportResult, error) {
	res := settlement.ImportResult{ID: datavenue.NewID("imp")}
	caller, _ := datavenue.CallerFrom(ctx)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Reset what an earlier attempt of this closure collected: inTx may run it again after a
		// serialisation failure, and rows is then iterated from the start again.
		res.Receipts, res.Missing, res.Counts, res.ReceiptsTotal = nil, nil, map[string]int{}, 0
		// The transaction-scoped advisory lock serialises imports (two clerks importing statements at
		// once would otherwise both see an obligation still due and remit it twice); it is released by
		// commit or rollback. It is what lets load read obligations without row locks.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('datavenue reconciliation'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO statement_imports (id, source_name, rows, imported_by) VALUES ($1, $2, $3, $4)`,
			res.ID, name, total, caller.Subject); err != nil {
			return err
		}
		b := newImportBatch(tx, res.ID)
		if err := b.findOpenMissing(ctx); err != nil {
			return err
		}
		done := 0
		apply := func(chunk []settlement.ReceiptRow) error {
			if err := b.load(ctx, chunk); err != nil {
				return err
			}
			for _, row := range chunk {
				if done%progressEvery == 0 {
					settlement.ReportProgress(ctx, "applying", done, total)
				}
				done++
				out, err := b.apply(ctx, row)
				if err != nil {
					return err
				}
				if len(res.Receipts) < settlement.ReceiptsListed {
					res.Receipts = append(res.Receipts, out)
				}
				res.Counts[out.Outcome]++
			}
			return b.flush(ctx)
		}
		chunk := make([]settlement.ReceiptRow, 0, importChunk)
		for row, err := range rows {
			if err != nil {
				return err
			}
			if chunk = append(chunk, row); len(chunk) == importChunk {
				if err := apply(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
		}
		if err := apply(chunk); err != nil {
			return err
		}
		res.ReceiptsTotal = done
		if done != total {
			// The statement read differently the second time (the scan gives the same rows each
			// time; this guards the count the import row recorded).
			if _, err := tx.Exec(ctx, `UPDATE statement_imports SET rows = $2 WHERE id = $1`, res.ID, done); err != nil {
				return err
			}
		}
		settlement.ReportProgress(ctx, "applying", done, total)
		if err := b.post(ctx); err != nil {
			return err
		}
		// D17 requires the government share to reach the treasury in full and on time: a remittance due by
		// the period's end with nothing received is a "missing" exception. ON CONFLICT DO NOTHING leaves an
		// obligation that is already reported missing with its one open exception.
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
		return appendAudit(ctx, tx, "reconciliation.imported", "statement_import", res.ID, res.Counts)
	})
	return res, err
}

// importBatch is one statement's import in progress: what is known of the obligations the
// current chunk pays, and what waits to be written.
type importBatch struct {
	tx          pgx.Tx
	importID    string
	openMissing bool                             // some obligation has an open "missing" exception a receipt may answer
	announce    bool                             // some organisation subscribes to obligation.remitted
	seen        map[string]bool                  // the chunk's slip numbers received before or earlier in the file
	byCode      map[string]*settlement.Candidate // due obligations by payment code, with their running remitted
	party       map[string]string                // obligation -> its unit
	receipts    [][]any
	excepts     [][]any
	remitted    map[string]decimal.Decimal // obligation -> what this import remits of it, not yet written
	paidBy      map[string]string          // obligation -> the receipt that paid it (missing exceptions)
	postings    map[string]decimal.Decimal // account -> the statement's remittance postings
}

func newImportBatch(tx pgx.Tx, importID string) *importBatch {
	return &importBatch{tx: tx, importID: importID, seen: map[string]bool{}, byCode: map[string]*settlement.Candidate{},
		party: map[string]string{}, remitted: map[string]decimal.Decimal{}, paidBy: map[string]string{}, postings: map[string]decimal.Decimal{}}
}

// findOpenMissing learns whether any "missing" exception is open and whether anyone subscribes to
// obligation.remitted, so that chunks skip answering and announcing when nothing would.
func (b *importBatch) findOpenMissing(ctx context.Context) error {
	return b.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reconciliation_exceptions WHERE kind = 'missing' AND status = 'open'),
			EXISTS (SELECT 1 FROM webhook_subscriptions WHERE status = 'active' AND 'obligation.remitted' = ANY (events))`).
		Scan(&b.openMissing, &b.announce)
}

// load reads what a chunk's receipts need: the slips already received and the obligations their
// payment codes name. The obligations are not locked: imports are serialised (the advisory lock),
// nothing else changes what an obligation has remitted, and the bulk UPDATE adds to the value it
// finds (locking 100,000 rows one by one cost more than the rest of the import).
func (b *importBatch) load(ctx context.Context, chunk []settlement.ReceiptRow) error {
	clear(b.seen)
	clear(b.byCode)
	clear(b.party)
	var slips, codes []string
	for _, r := range chunk {
		if r.SlipNo != "" {
			slips = append(slips, r.SlipNo)
		}
		if r.PaymentCode != "" {
			codes = append(codes, r.PaymentCode)
		}
	}
	// Slips received in earlier statements or chunks (the predicate repeats the partial unique index's).
	known, err := collect(ctx, b.tx, func(r pgx.Row) (string, error) {
		var s string
		return s, r.Scan(&s)
	}, `SELECT slip_no FROM receipts WHERE slip_no = ANY($1) AND outcome <> 'duplicate' AND slip_no <> ''`, slips)
	if err != nil {
		return err
	}
	for _, s := range known {
		b.seen[s] = true
	}
	dbRows, err := b.tx.Query(ctx, candidateColumns+`WHERE o.payment_code = ANY($1) AND o.kind = 'treasury_remittance' AND o.status = 'due'`, codes)
	if err != nil {
		return err
	}
	defer dbRows.Close()
	for dbRows.Next() {
		c, party, code, err := scanCandidate(dbRows)
		if err != nil {
			return err
		}
		c.ByCode = true
		b.byCode[code], b.party[c.ObligationID] = c, party
	}
	return dbRows.Err()
}

// candidateColumns reads a treasury-remittance obligation with what matching a receipt compares:
// the unit's name (receipts without a payment code carry only the unit name), the fiscal level and
// the treasury that should have received it (D17: the treasury of the same level).
const candidateColumns = `SELECT o.id, o.party_id, o.amount::text, o.remitted::text, g.name, coalesce(g.fiscal_level, ''), o.counterpart, o.payment_code,
		o.event_date, o.due_date
	FROM obligations o JOIN organisations g ON g.id = o.party_id `

// scanCandidate returns the candidate, its unit's id and its payment code (the keys importBatch
// files it under).
func scanCandidate(r pgx.Row) (*settlement.Candidate, string, string, error) {
	var c settlement.Candidate
	var party, amount, remitted, level, code string
	var event time.Time
	var due *time.Time
	if err := r.Scan(&c.ObligationID, &party, &amount, &remitted, &c.UnitName, &level, &c.Treasury, &code, &event, &due); err != nil {
		return nil, "", "", err
	}
	c.Amount, c.Remitted, c.FiscalLevel, c.EventDate = yuan(amount), yuan(remitted), parties.FiscalLevel(level), civil.FromTime(event)
	if due != nil {
		d := civil.FromTime(*due)
		c.DueDate = &d
	}
	return &c, party, code, nil
}

// apply decides one receipt and queues what it writes.
//
// The decision is settlement.MatchReceipt's; apply keeps the running state that makes later
// receipts of the same statement see earlier ones (the slip already seen, the amount already
// remitted) before anything is written, and queues the rows for flush. A duplicate slip is
// recorded as a receipt with the outcome duplicate and never matched, so the same bank slip in two
// statements cannot remit twice (the partial unique index receipts_one_per_slip is the last guard).
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
	b.receipts = append(b.receipts, []any{out.ID, b.importID, row.Line, row.SlipNo, row.PaymentCode, row.Unit, row.Amount.String(),
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
	// Findings are the rule's exceptions (duplicate, unmatched, wrong treasury, partial, over-paid,
	// unit mismatch): each becomes
	// an open reconciliation exception for a clerk.
	for _, f := range d.Findings {
		b.excepts = append(b.excepts, []any{datavenue.NewID("exc"), f.Kind, out.ID, obl, f.Detail, "open", f.Amount.String()})
	}
	return out, nil
}

// byUnit finds the obligation a receipt without a payment code pays: settlement.PickByUnit among
// the unit's obligations owing exactly the amount, the earliest deadline first. What this statement remitted so far is written
// first, so the lookup sees it.
func (b *importBatch) byUnit(ctx context.Context, row settlement.ReceiptRow) (*settlement.Candidate, error) {
	if err := b.flushObligations(ctx); err != nil {
		return nil, err
	}
	// The query narrows by settlement.MayPayByUnit's window (so that a unit with many obligations
	// of the same amount costs one row, locked), and PickByUnit decides.
	// The row is locked (FOR UPDATE OF o) although imports are serialised, because this query may pick
	// an obligation that the byCode path does not know yet and its running state starts from the
	// locked value. due_date + LateReceiptDays is the late-receipt window (settlement/terms.go).
	rows, err := b.tx.Query(ctx, candidateColumns+`WHERE o.kind = 'treasury_remittance' AND o.status = 'due'
			AND g.name = $1 AND o.amount - o.remitted = $2::numeric AND $3 >= o.event_date AND (o.due_date IS NULL OR $3 <= o.due_date + $4::int)
		ORDER BY o.due_date NULLS LAST, o.id LIMIT 1 FOR UPDATE OF o`, row.Unit, row.Amount.String(), row.PaidOn.Time(), settlement.LateReceiptDays)
	if err != nil {
		return nil, err
	}
	var found []*settlement.Candidate
	partyOf, codeOf := map[*settlement.Candidate]string{}, map[*settlement.Candidate]string{}
	for rows.Next() {
		c, party, code, err := scanCandidate(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found, partyOf[c], codeOf[c] = append(found, c), party, code
	}
	if rows.Close(); rows.Err() != nil {
		return nil, rows.Err()
	}
	c := settlement.PickByUnit(row.PaidOn, found)
	if c == nil {
		return nil, nil
	}
	if known := b.byCode[codeOf[c]]; known != nil {
		return known, nil // one obligation, one running state
	}
	b.byCode[codeOf[c]], b.party[c.ObligationID] = c, partyOf[c]
	return c, nil
}

// flush writes the receipts, exceptions and obligation changes queued so far. (Receipts reference
// obligations and exceptions reference receipts: both are written before anything is committed,
// and the foreign keys are checked as they are copied, so the order is receipts, then exceptions.)
func (b *importBatch) flush(ctx context.Context) error {
	if len(b.receipts) > 0 {
		// COPY is the bulk path: one stream per chunk instead of one INSERT per receipt.
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
	// In id order: the rows are then visited in the order of the primary key's pages.
	ids := slices.Sorted(maps.Keys(b.remitted))
	amounts, receipts := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		amounts[i], receipts[i] = b.remitted[id].StringFixed(2), b.paidBy[id]
	}
	// One UPDATE ... FROM unnest adds each obligation's remitted amount for the chunk and marks it
	// remitted when it is paid in full (an over-payment is held in the suspense account, not here).
	// Amounts are passed as numeric[] of fixed two-place strings.
	if _, err := b.tx.Exec(ctx, `UPDATE obligations o SET remitted = o.remitted + x.amount,
			status = CASE WHEN o.remitted + x.amount >= o.amount THEN 'remitted' ELSE o.status END,
			settled_at = CASE WHEN o.remitted + x.amount >= o.amount THEN now() ELSE o.settled_at END
		FROM unnest($1::text[], $2::numeric[]) AS x(id, amount) WHERE o.id = x.id`, ids, amounts); err != nil {
		return err
	}
	// Integrators learn which obligations are now paid off (webhooks: obligation.remitted).
	if b.announce {
		if err := appendObligationsRemitted(ctx, b.tx, ids); err != nil {
			return err
		}
	}
	// A "missing" exception of an obligation is answered by the receipt that paid it.
	if !b.openMissing {
		clear(b.remitted)
		clear(b.paidBy)
		return nil
	}
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
//
// The account totals were accumulated across the whole statement (apply), so a statement of
// 100,000 receipts is one balanced ledger transaction, sorted by account so the same statement
// always posts the same lines. Its idempotency key "remit:<import id>" makes a second posting of
// the same import a no-op.
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
// Keyset paging on id, oldest first: the clerk's queue of exceptions to work through.
func (db SettlementStore) Exceptions(ctx context.Context, status string, p settlement.Page) ([]settlement.Exception, error) {
	return db.exceptions(ctx, `WHERE ($1 = '' OR status = $1) AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3`, status, p.After, pageLimit(p))
}

// where is SQL written by this file; values are arguments. A "missing" exception has no receipt
// and amount 0, hence the coalesces.
func (db SettlementStore) exceptions(ctx context.Context, where string, args ...any) ([]settlement.Exception, error) {
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
		e.Amount = yuan(amount)
		return e, err
	})
	return list, interpretError(err)
}

// ImportedReceipts pages through an import's receipts in line order.
func (db SettlementStore) ImportedReceipts(ctx context.Context, importID, outcome string, p settlement.Page) ([]settlement.ReceiptOutcome, error) {
	// An unknown import is not_found; a known import with no receipts on the page is an empty list.
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM statement_imports WHERE id = $1)`, importID).Scan(&exists); err != nil {
		return nil, interpretError(err)
	}
	if !exists {
		return nil, datavenue.NotFound("import_not_found", "no statement import has this id")
	}
	after := 0
	if p.After != "" {
		after, _ = strconv.Atoi(p.After) // checked by the service
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, line, slip_no, payment_code, unit_name, amount::text, paid_on, treasury, outcome, coalesce(obligation_id, '')
		FROM receipts WHERE import_id = $1 AND ($2 = '' OR outcome = $2) AND line > $3 ORDER BY line LIMIT $4`, importID, outcome, after, pageLimit(p))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.ReceiptOutcome, error) {
		var o settlement.ReceiptOutcome
		var amount string
		var paidOn time.Time
		err := r.Scan(&o.ID, &o.Line, &o.SlipNo, &o.PaymentCode, &o.Unit, &amount, &paidOn, &o.Treasury, &o.Outcome, &o.Obligation)
		o.Amount, o.PaidOn = yuan(amount), civil.FromTime(paidOn)
		return o, err
	})
	return list, interpretError(err)
}

// ResolveException closes an open exception with the clerk's reason, audited.
func (db SettlementStore) ResolveException(ctx context.Context, id, reason string) (settlement.Exception, error) {
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
		return settlement.Exception{}, datavenue.NotFound("exception_not_found", "no exception has this id")
	}
	return list[0], nil
}

var _ settlement.ReconcileStore = SettlementStore{}
