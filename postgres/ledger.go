package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// Post writes a balanced transaction and its postings in one database transaction, creating the
// accounts it names; the deferred trigger refuses it at commit if it does not balance. A second
// Post with the same key returns the first transaction.
func (db SettlementStore) Post(ctx context.Context, t settlement.Transaction) (settlement.Transaction, error) {
	// Checked in Go first for a clear validation error; the trigger is the guarantee.
	if err := t.Balanced(); err != nil {
		return settlement.Transaction{}, datavenue.Invalid("ledger_unbalanced", err.Error())
	}
	var posted string
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		var err error
		posted, err = postTransaction(ctx, tx, t)
		return err
	}, func(q querier) (settlement.Transaction, error) {
		return ledgerTransactionFrom(ctx, q, posted)
	})
}

// postInTx posts a balanced transaction inside the caller's database transaction.
//
// Callers use it to post the ledger side of a change (a forfeited deposit, a statement's
// remittances) in the transaction that makes the change, so the books and the business records
// cannot disagree after a crash.
func postInTx(ctx context.Context, tx pgx.Tx, t settlement.Transaction) error {
	if err := t.Balanced(); err != nil {
		return datavenue.Invalid("ledger_unbalanced", err.Error())
	}
	_, err := postTransaction(ctx, tx, t)
	return err
}

// postTransaction inserts the transaction (or finds the one posted under its key) and returns
// its id; the accounts it names are created as needed.
func postTransaction(ctx context.Context, tx pgx.Tx, t settlement.Transaction) (string, error) {
	if t.ID == "" {
		t.ID = datavenue.NewID("ltx")
	}
	// ON CONFLICT (idempotency_key) DO NOTHING is the idempotency: a retried request or a second sweep
	// under the same key inserts nothing, and the posted transaction is looked up and returned instead,
	// so a retry is not an error and never posts twice.
	tag, err := tx.Exec(ctx, `INSERT INTO ledger_transactions (id, kind, source_id, idempotency_key, reverses, memo)
		VALUES ($1, $2, $3, $4, nullif($5, ''), $6) ON CONFLICT (idempotency_key) DO NOTHING`,
		t.ID, t.Kind, t.SourceID, t.Key, t.Reverses, t.Memo)
	if err != nil {
		return "", err
	}
	if tag.RowsAffected() == 0 { // posted before: that one stands
		var posted string
		err := tx.QueryRow(ctx, `SELECT id FROM ledger_transactions WHERE idempotency_key = $1`, t.Key).Scan(&posted)
		return posted, err
	}
	// Accounts (created as needed) and postings go in one statement each, whatever their number:
	// a settlement's round trips do not grow with its parties.
	accounts, parties, purposes, amounts := postingColumns(t)
	// Accounts are inserted in id order so two transactions creating the same new accounts take the
	// unique-index locks in the same order and cannot deadlock. Postings keep the transaction's order
	// (WITH ORDINALITY), so a transaction reads back as it was written.
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_accounts (id, party_id, purpose)
		SELECT a, nullif(p, ''), u FROM unnest($1::text[], $2::text[], $3::text[]) AS x(a, p, u) ORDER BY a
		ON CONFLICT DO NOTHING`, accounts, parties, purposes); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount)
		SELECT $1, a, m::numeric FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(a, m, n) ORDER BY n`,
		t.ID, accounts, amounts); err != nil {
		return "", err
	}
	return t.ID, appendAudit(ctx, tx, "ledger.posted", "ledger_transaction", t.ID, map[string]any{"kind": t.Kind, "source_id": t.SourceID})
}

// queuePost is postInTx for a batch: one statement writes the transaction, the accounts it
// names, its postings and its audit record, all four only if the transaction's key is new (a
// second post under the same key writes nothing, as postTransaction does). The deferred trigger
// still checks the balance at commit.
func queuePost(ctx context.Context, b *pgx.Batch, t settlement.Transaction) error {
	if err := t.Balanced(); err != nil {
		return datavenue.Invalid("ledger_unbalanced", err.Error())
	}
	if t.ID == "" {
		t.ID = datavenue.NewID("ltx")
	}
	caller, ok := datavenue.CallerFrom(ctx)
	if !ok {
		return errors.New("audit: no caller in context")
	}
	detail, err := json.Marshal(map[string]any{"kind": t.Kind, "source_id": t.SourceID})
	if err != nil {
		return err
	}
	accounts, parties, purposes, amounts := postingColumns(t)
	// Data-modifying CTEs all run, whatever the final SELECT reads; each one is gated on t (the
	// transaction row actually inserted) with EXISTS or a join, so on a key conflict t is empty and
	// nothing else is written. The audit row is built here from the caller in ctx rather than by
	// appendAudit, because the transaction id is only known inside the statement.
	b.Queue(`WITH t AS (
			INSERT INTO ledger_transactions (id, kind, source_id, idempotency_key, reverses, memo)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),
		a AS (
			INSERT INTO ledger_accounts (id, party_id, purpose)
			SELECT a, nullif(p, ''), u FROM unnest($7::text[], $8::text[], $9::text[]) AS x(a, p, u) WHERE EXISTS (SELECT FROM t) ORDER BY a
			ON CONFLICT DO NOTHING),
		p AS (
			INSERT INTO ledger_postings (transaction_id, account_id, amount)
			SELECT t.id, a, m::numeric FROM t, unnest($7::text[], $10::text[]) WITH ORDINALITY AS x(a, m, n) ORDER BY n)
		INSERT INTO audit_events (actor_org, actor_role, actor_subject, actor_issuer, request_id, client_request_id, action, resource_type, resource_id, detail)
		SELECT $11, $12, $13, $14, $15, $16, 'ledger.posted', 'ledger_transaction', t.id, $17 FROM t`,
		t.ID, t.Kind, t.SourceID, t.Key, t.Reverses, t.Memo, accounts, parties, purposes, amounts,
		caller.Org, caller.Role, caller.Subject, caller.Issuer, datavenue.RequestIDFrom(ctx), datavenue.ClientRequestIDFrom(ctx), detail)
	return nil
}

// postingColumns are a transaction's postings as the columns the statements unnest: the account,
// the party and purpose it is made of, the amount.
func postingColumns(t settlement.Transaction) (accounts, parties, purposes, amounts []string) {
	accounts, parties, purposes, amounts = make([]string, len(t.Postings)), make([]string, len(t.Postings)), make([]string, len(t.Postings)), make([]string, len(t.Postings))
	for i, p := range t.Postings {
		// Account ids are "acc_<purpose>:<party>" (settlement.AccountID); the venue's own accounts have no
		// party part and store a NULL party.
		purpose, party, _ := strings.Cut(strings.TrimPrefix(p.Account, "acc_"), ":")
		// StringFixed(2): postings are in yuan to the fen.
		accounts[i], parties[i], purposes[i], amounts[i] = p.Account, party, purpose, p.Amount.StringFixed(2)
	}
	return accounts, parties, purposes, amounts
}

// LedgerTransaction reads a transaction with its postings.
func (db SettlementStore) LedgerTransaction(ctx context.Context, id string) (settlement.Transaction, error) {
	return ledgerTransactionFrom(ctx, db.Pool, id)
}

// ledgerTransactionFrom is LedgerTransaction read through q: the pool, or the transaction that has just written it (readBack).
func ledgerTransactionFrom(ctx context.Context, q querier, id string) (settlement.Transaction, error) {
	var t settlement.Transaction
	err := q.QueryRow(ctx, `SELECT id, kind, source_id, idempotency_key, coalesce(reverses, ''), memo, created_at
		FROM ledger_transactions WHERE id = $1`, id).Scan(&t.ID, &t.Kind, &t.SourceID, &t.Key, &t.Reverses, &t.Memo, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, datavenue.NotFound("ledger_transaction_not_found", "no ledger transaction has this id")
	}
	if err != nil {
		return t, interpretError(err)
	}
	rows, err := q.Query(ctx, `SELECT account_id, amount::text FROM ledger_postings WHERE transaction_id = $1 ORDER BY id`, id)
	if err != nil {
		return t, interpretError(err)
	}
	t.Postings, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.Posting, error) {
		var p settlement.Posting
		var amount string
		if err := r.Scan(&p.Account, &amount); err != nil {
			return p, err
		}
		p.Amount, err = decimal.NewFromString(amount)
		return p, err
	})
	return t, interpretError(err)
}

// TrialBalance returns every account's balance and the total, from one snapshot.
//
// REPEATABLE READ, read-only: both statements see the same snapshot, so the account balances add
// up to the total even while settlements post concurrently. In a correct ledger the total is 0.00
// (every transaction balances); datavenue check reports it otherwise.
func (db SettlementStore) TrialBalance(ctx context.Context) (settlement.TrialBalance, error) {
	tb := settlement.TrialBalance{Total: "0.00", Accounts: []settlement.AccountBalance{}}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT a.id, coalesce(a.party_id, ''), a.purpose, coalesce(sum(p.amount), 0)::numeric(17, 2)::text
			FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id GROUP BY a.id ORDER BY a.purpose, a.id`)
		if err != nil {
			return err
		}
		if tb.Accounts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (b settlement.AccountBalance, err error) {
			return b, r.Scan(&b.Account, &b.Party, &b.Purpose, &b.Balance)
		}); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT coalesce(sum(amount), 0)::numeric(17, 2)::text, (SELECT count(*) FROM ledger_transactions) FROM ledger_postings`).
			Scan(&tb.Total, &tb.Transactions)
	})
	return tb, interpretError(err)
}

// Balance is an account's balance: the sum of its postings (debits positive).
func (db SettlementStore) Balance(ctx context.Context, account string) (decimal.Decimal, error) {
	var s string
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0)::text FROM ledger_postings WHERE account_id = $1`, account).Scan(&s)
	if err != nil {
		return decimal.Zero, interpretError(err)
	}
	return decimal.NewFromString(s)
}
