package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// progressEvery is how many receipts an import applies between progress reports.
const progressEvery = 500

// Import applies a statement in one transaction: every receipt is recorded with its outcome,
// matched amounts post from due-to-treasury to remitted, exceptions are queued, and obligations
// due by the period's end with nothing received are reported missing. A failure applies nothing.
//
// Matching: first by payment code (缴款码) or, failing that, by the paying unit's name and the
// amount still due, with the payment dated from the obligation's event to 30 days past its due
// date. A slip number seen before (in an earlier statement or earlier in this one) is a
// duplicate receipt, never a second payment.
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
		seen := map[string]bool{}
		for i, row := range rows {
			if i%progressEvery == 0 {
				settlement.ReportProgress(ctx, "applying", i, len(rows))
			}
			out, err := applyReceipt(ctx, tx, res.ID, row, seen)
			if err != nil {
				return err
			}
			res.Receipts = append(res.Receipts, out)
			res.Counts[out.Outcome]++
		}
		missing, err := collect(ctx, tx, func(r pgx.Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, `SELECT id FROM obligations WHERE kind = 'treasury_remittance' AND status = 'due' AND remitted = 0 AND due_date <= $1 ORDER BY id`, periodEnd.Time())
		if err != nil {
			return err
		}
		for _, id := range missing {
			if _, err := tx.Exec(ctx, `INSERT INTO reconciliation_exceptions (id, kind, obligation_id, detail, status)
				VALUES ($1, 'missing', $2, 'due by the period end and nothing received', 'open') ON CONFLICT DO NOTHING`, datavenue.NewID("exc"), id); err != nil {
				return err
			}
		}
		res.Missing = missing
		res.Counts["missing"] = len(missing)
		settlement.ReportProgress(ctx, "applying", len(rows), len(rows))
		return appendAudit(ctx, tx, "reconciliation.imported", "statement_import", res.ID, res.Counts)
	})
	return res, err
}

func applyReceipt(ctx context.Context, tx pgx.Tx, importID string, row settlement.ReceiptRow, seen map[string]bool) (settlement.ReceiptOutcome, error) {
	out := settlement.ReceiptOutcome{ReceiptRow: row, ID: datavenue.NewID("rcp")}
	duplicate := false
	if row.SlipNo != "" {
		var n int
		// The predicate repeats the partial unique index's, so that the lookup uses it.
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE slip_no = $1 AND outcome <> 'duplicate' AND slip_no <> ''`, row.SlipNo).Scan(&n); err != nil {
			return out, err
		}
		duplicate = n > 0 || seen[row.SlipNo]
		seen[row.SlipNo] = true
	}
	var cand *settlement.Candidate
	var party string
	if !duplicate {
		// By payment code (its unique index), or, for a receipt without one, by unit, amount and date.
		const columns = `SELECT o.id, o.party_id, o.amount::text, o.remitted::text, g.name, coalesce(g.fiscal_level, ''), o.counterpart
			FROM obligations o JOIN organisations g ON g.id = o.party_id `
		var r pgx.Row
		if row.PaymentCode != "" {
			r = tx.QueryRow(ctx, columns+`WHERE o.payment_code = $1 AND o.kind = 'treasury_remittance' AND o.status = 'due' FOR UPDATE OF o`, row.PaymentCode)
		} else {
			r = tx.QueryRow(ctx, columns+`WHERE o.kind = 'treasury_remittance' AND o.status = 'due' AND g.name = $1 AND o.amount - o.remitted = $2::numeric
					AND $3 >= o.event_date AND (o.due_date IS NULL OR $3 <= o.due_date + 30)
				ORDER BY o.due_date NULLS LAST LIMIT 1 FOR UPDATE OF o`, row.Unit, row.Amount.String(), row.PaidOn.Time())
		}
		var c settlement.Candidate
		var amount, remitted, level string
		err := r.Scan(&c.ObligationID, &party, &amount, &remitted, &c.UnitName, &level, &c.Treasury)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return out, err
		}
		if err == nil {
			c.Amount, c.Remitted, c.FiscalLevel, c.ByCode = money.MustParse(amount), money.MustParse(remitted), parties.FiscalLevel(level), row.PaymentCode != ""
			cand = &c
		}
	}
	d := settlement.MatchReceipt(row, cand, duplicate)
	out.Outcome = d.Outcome
	var obl *string
	if cand != nil && d.Outcome != "duplicate" {
		out.Obligation = cand.ObligationID
		obl = &out.Obligation
	}
	if _, err := tx.Exec(ctx, `INSERT INTO receipts (id, import_id, line, slip_no, payment_code, unit_name, amount, paid_on, treasury, outcome, obligation_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9, $10, $11)`, out.ID, importID, row.Line, row.SlipNo, row.PaymentCode, row.Unit,
		row.Amount.String(), row.PaidOn.Time(), row.Treasury, out.Outcome, obl); err != nil {
		return out, err
	}
	if !d.Remit.IsZero() || !d.Excess.IsZero() {
		// The remittance leaves the due-to-treasury account for remitted; an excess was received by
		// the treasury too, and waits in the unit's treasury suspense account for a clerk.
		postings := []settlement.Posting{
			{Account: settlement.AccountID(settlement.DueToTreasury, datavenue.OrgID(party)), Amount: d.Remit.Decimal()},
			{Account: settlement.AccountID(settlement.Remitted, datavenue.OrgID(party)), Amount: d.Remit.Decimal().Add(d.Excess.Decimal()).Neg()},
		}
		if !d.Excess.IsZero() {
			postings = append(postings, settlement.Posting{Account: settlement.AccountID(settlement.TreasurySuspense, datavenue.OrgID(party)), Amount: d.Excess.Decimal()})
		}
		if _, err := postTransaction(ctx, tx, settlement.Transaction{Kind: "remittance", SourceID: cand.ObligationID, Key: "remit:" + out.ID,
			Memo: "receipt " + row.SlipNo + row.PaymentCode, Postings: postings}); err != nil {
			return out, err
		}
		if _, err := tx.Exec(ctx, `UPDATE obligations SET remitted = remitted + $2::numeric,
				status = CASE WHEN remitted + $2::numeric >= amount THEN 'remitted' ELSE status END,
				settled_at = CASE WHEN remitted + $2::numeric >= amount THEN now() ELSE settled_at END
			WHERE id = $1`, cand.ObligationID, d.Remit.String()); err != nil {
			return out, err
		}
		// A "missing" exception of this obligation is answered by this receipt.
		if _, err := tx.Exec(ctx, `UPDATE reconciliation_exceptions SET status = 'resolved', resolved_at = now(), resolved_by = 'reconciliation',
				resolution = 'received: receipt ' || $2 || ' (import ' || $3 || ')'
			WHERE obligation_id = $1 AND kind = 'missing' AND status = 'open'`, cand.ObligationID, out.ID, importID); err != nil {
			return out, err
		}
	}
	for _, f := range d.Findings {
		if _, err := tx.Exec(ctx, `INSERT INTO reconciliation_exceptions (id, kind, receipt_id, obligation_id, detail, status, amount)
			VALUES ($1, $2, $3, $4, $5, 'open', $6::numeric)`, datavenue.NewID("exc"), f.Kind, out.ID, obl, f.Detail, f.Amount.String()); err != nil {
			return out, err
		}
	}
	return out, nil
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
