package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/settlement"
)

// Invariant is one rule the stored data must satisfy whatever happened to the processes that
// wrote it, with the rows that break it (at most a few, by id).
type Invariant struct {
	Name      string   `json:"name"`
	Rule      string   `json:"rule"`
	Checked   int64    `json:"checked"` // rows the rule was checked on
	Violating []string `json:"violating,omitempty"`
}

// OK reports whether nothing breaks the rule.
func (i Invariant) OK() bool { return len(i.Violating) == 0 }

// invariantQueries are the rules `datavenue check` verifies: each query returns the ids that break
// its rule, and counts the rows it looked at. They read one snapshot (one REPEATABLE READ
// transaction), so a venue writing meanwhile cannot make a consistent database look broken.
var invariantQueries = []struct {
	name, rule, count, violating string
}{
	// Double entry: the deferred trigger refuses an unbalanced transaction at commit; this re-checks
	// what is stored (a trigger dropped or disabled by hand would not be noticed otherwise).
	{"ledger_transactions_balanced", "every ledger transaction's postings sum to zero, with at least two postings",
		`SELECT count(*) FROM ledger_transactions`,
		`SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
			GROUP BY t.id HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.id) < 2`},
	{"ledger_total_balanced", "all postings together sum to zero",
		`SELECT count(*) FROM ledger_postings`,
		`SELECT 'total ' || sum(amount)::text FROM ledger_postings HAVING sum(amount) <> 0`},
	// Account sides: a debit balance is positive. Money received but not yet passed on (deposits
	// held, payables, what is due to a treasury, fees) is a liability and must never go positive.
	{"ledger_accounts_sign", "no account holds the wrong side: clearing is never in credit; what is held, owed or fee'd is never in debit",
		`SELECT count(*) FROM ledger_accounts`,
		`SELECT a.id || ' ' || sum(p.amount)::text FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
			GROUP BY a.id, a.purpose
			HAVING (a.purpose = 'clearing' AND sum(p.amount) < 0)
			    OR (a.purpose IN ('deposits_held', 'payable', 'due_to_treasury', 'venue_fees', 'forfeited_deposits') AND sum(p.amount) > 0)`},
	// D17: a government unit's share is non-tax revenue owed in full to its treasury. The ledger's
	// due-to-treasury balance and the obligations' unremitted amounts are two records of the same debt;
	// reconciliation moves both in one transaction, so any difference is a bug or a lost write.
	{"treasury_account_matches_obligations", "each government unit's due-to-treasury balance is what its treasury obligations still owe",
		`SELECT count(DISTINCT party_id) FROM obligations WHERE kind = 'treasury_remittance'`,
		`WITH owed AS (SELECT party_id, sum(amount - remitted) AS owed FROM obligations WHERE kind = 'treasury_remittance' GROUP BY party_id),
			booked AS (SELECT a.party_id, -sum(p.amount) AS booked FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
				WHERE a.purpose = 'due_to_treasury' GROUP BY a.party_id)
		SELECT coalesce(o.party_id, b.party_id) || ' owes ' || coalesce(o.owed, 0)::text || ', booked ' || coalesce(b.booked, 0)::text
		FROM owed o FULL JOIN booked b ON b.party_id = o.party_id WHERE coalesce(o.owed, 0) <> coalesce(b.booked, 0)`},
	{"government_shares_have_obligations", "every government unit's shares of an order have one treasury obligation of the same amount",
		`SELECT count(*) FROM settlement_shares WHERE account LIKE 'acc_due_to_treasury:%' AND amount > 0`,
		`SELECT s.order_id || ' ' || s.party_id FROM (SELECT order_id, party_id, sum(amount) AS amount FROM settlement_shares
				WHERE account LIKE 'acc_due_to_treasury:%' GROUP BY order_id, party_id HAVING sum(amount) > 0) s
			LEFT JOIN obligations o ON o.order_id = s.order_id AND o.party_id = s.party_id AND o.kind = 'treasury_remittance'
			WHERE o.id IS NULL OR o.amount <> s.amount`},
	{"obligations_remitted_xor_due", "no obligation is both remitted and still due: remitted ones are paid in full, due ones are not",
		`SELECT count(*) FROM obligations`,
		`SELECT id FROM obligations WHERE (status = 'remitted' AND remitted <> amount) OR (status = 'due' AND remitted >= amount)`},
	// Auction closing happens once (RecordOutcome's compare-and-set, the engine's single close): a won
	// auction has one trade, a no-sale none.
	{"closed_auctions_one_outcome", "every closed auction has exactly one outcome: a win with exactly one trade, or no sale with none",
		`SELECT count(*) FROM auctions WHERE status IN ('closed', 'stopped')`,
		`SELECT a.id FROM auctions a LEFT JOIN trades t ON t.source_id = a.id WHERE a.status IN ('closed', 'stopped')
			GROUP BY a.id, a.outcome, a.winner_id
			HAVING a.outcome IS NULL OR (a.outcome = 'won') <> (count(t.id) = 1) OR count(t.id) > 1 OR (a.outcome = 'won') <> (a.winner_id IS NOT NULL)`},
	{"trades_one_order", "every trade has exactly one settlement order, except a paid trade for a product sold as a service: one subscription (its bills have the orders)",
		`SELECT count(*) FROM trades`,
		`SELECT t.id FROM trades t LEFT JOIN settlement_orders o ON o.trade_id = t.id LEFT JOIN subscriptions s ON s.trade_id = t.id
			GROUP BY t.id, t.source HAVING count(o.id) <> CASE WHEN count(s.id) = 1 AND t.source <> 'free_use' THEN 0 ELSE 1 END`},
	{"projection_nothing_parked", "every engine event is applied: none waits parked (see datavenue parked list)",
		`SELECT count(*) FROM projection_parked`,
		`SELECT 'parked ' || id || ' ' || stream || '/' || event_id || ': ' || error_code FROM projection_parked WHERE resolved_at IS NULL ORDER BY id`},
	// Settlement happens once per order (RecordPayment is idempotent by payment reference, the ledger
	// by key); free-use orders (G7/N1, price 0.00) post nothing.
	{"orders_settled_once", "a paid order has exactly one settlement transaction; an unpaid, cancelled or free-use (0.00) one has none",
		`SELECT count(*) FROM settlement_orders`,
		`SELECT o.id FROM settlement_orders o LEFT JOIN ledger_transactions t ON t.source_id = o.id AND t.kind = 'settlement'
			GROUP BY o.id, o.status, o.price HAVING count(t.id) <> CASE WHEN o.status IN ('paid', 'delivered', 'confirmed') AND o.price > 0 THEN 1 ELSE 0 END`},
	// D16: the split hands out the whole price; a fen lost or created by rounding shows up here.
	{"shares_sum_to_price", "a paid order's shares add up to its price, to the fen",
		`SELECT count(*) FROM settlement_orders WHERE status IN ('paid', 'delivered', 'confirmed')`,
		`SELECT o.id FROM settlement_orders o LEFT JOIN settlement_shares s ON s.order_id = o.id
			WHERE o.status IN ('paid', 'delivered', 'confirmed') GROUP BY o.id, o.price HAVING coalesce(sum(s.amount), 0) <> o.price`},
	// An import is one transaction, so a half-applied statement would mean that boundary was broken.
	{"imports_whole", "every statement import holds all the receipts it counted (none half-applied)",
		`SELECT count(*) FROM statement_imports`,
		`SELECT i.id FROM statement_imports i LEFT JOIN receipts r ON r.import_id = i.id GROUP BY i.id, i.rows HAVING count(r.id) <> i.rows`},
	// D15/G7: vouchers are the traceable record of trading; the log is numbered without gaps, which
	// the advisory lock in the voucher appender guarantees (vouchers.go).
	{"voucher_log_contiguous", "voucher sequence numbers run 1, 2, 3 … with no gap",
		`SELECT count(*) FROM vouchers`,
		`SELECT 'gap before ' || seq FROM (SELECT seq, lag(seq, 1, 0::bigint) OVER (ORDER BY seq) AS prev FROM vouchers) v WHERE seq <> prev + 1`},
}

// CheckAll is every invariant (CheckInvariants) and the voucher chain's, whose hashes and
// signatures are verified with keys (settlement.VerifyChain): what `datavenue check` and the
// console's integrity page report.
func (db *DB) CheckAll(ctx context.Context, keys auth.KeySource) ([]Invariant, error) {
	results, err := db.CheckInvariants(ctx)
	if err != nil {
		return nil, err
	}
	log, err := db.Settlement().VoucherLog(ctx)
	if err != nil {
		return nil, err
	}
	chain := Invariant{Name: "voucher_chain_intact", Checked: int64(len(log)),
		Rule: "every voucher's signature verifies and each entry's hash covers the one before"}
	if err := settlement.VerifyChain(log, keys); err != nil {
		chain.Violating = []string{err.Error()}
	}
	return append(results, chain), nil
}

// CheckInvariants runs every invariant on one snapshot of the database. Only the voucher chain's
// hashes and signatures are left to the caller (they need the venue's keys): see
// settlement.VerifyChain over VoucherLog.
func (db *DB) CheckInvariants(ctx context.Context) ([]Invariant, error) {
	var out []Invariant
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, q := range invariantQueries {
			inv := Invariant{Name: q.name, Rule: q.rule}
			if err := tx.QueryRow(ctx, q.count).Scan(&inv.Checked); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			// At most 20 violating rows are listed per invariant: enough to start investigating without
			// flooding the report.
			rows, err := tx.Query(ctx, `SELECT * FROM (`+q.violating+`) v LIMIT 20`)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			if inv.Violating, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			out = append(out, inv)
		}
		return nil
	})
	return out, interpretError(err)
}

// String is the invariant as `datavenue check` prints it.
func (i Invariant) String() string {
	if i.OK() {
		return fmt.Sprintf("ok    %-38s %8d checked  %s", i.Name, i.Checked, i.Rule)
	}
	return fmt.Sprintf("FAIL  %-38s %8d checked  %s\n      broken by: %s", i.Name, i.Checked, i.Rule, strings.Join(i.Violating, "; "))
}
