package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
)

// reportLines runs one report query whose rows are (key, label, count, amount) and returns its
// lines, an empty list rather than nil so the JSON shows [] for a period with nothing in it.
func reportLines(ctx context.Context, db SettlementStore, sql string, args ...any) ([]settlement.ReportLine, error) {
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.ReportLine, error) {
		var l settlement.ReportLine
		var amount string
		err := r.Scan(&l.Key, &l.Label, &l.Count, &amount)
		l.Amount = yuan(amount)
		return l, err
	})
	if list == nil {
		list = []settlement.ReportLine{}
	}
	return list, interpretError(err)
}

// Report computes a period's settlement report (dates in China Standard Time).
func (db SettlementStore) Report(ctx context.Context, from, to, today civil.Date) (settlement.Report, error) {
	//
	// Revenue is assigned to the period by the CST day the order was paid (paid_at is a UTC
	// timestamp), the remittances and filings are as they stand today. Each part is its own query
	// against the primary; the report is not one snapshot, which a report of a closed period does not
	// need. Amounts are summed as NUMERIC and rounded to the fen in SQL.
	r := settlement.Report{From: from, To: to, Currency: "CNY"}
	inPeriod := `(o.paid_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1 AND $2`
	var err error
	// Revenue by holder is the D16 split as it was paid out: every share by party and role; the
	// venue's fee (no party) is labelled as the venue's service fee.
	if r.RevenueByHolder, err = reportLines(ctx, db, `SELECT coalesce(s.party_id, 'venue') || ' ' || s.role, coalesce(g.name, '交易场所服务费'),
			count(*), sum(s.amount)::numeric(17,2)::text
		FROM settlement_shares s JOIN settlement_orders o ON o.id = s.order_id LEFT JOIN organisations g ON g.id = s.party_id
		WHERE `+inPeriod+` GROUP BY 1, 2 ORDER BY 1`, from.Time(), to.Time()); err != nil {
		return r, err
	}
	if r.RevenueByProduct, err = reportLines(ctx, db, `SELECT o.product_id, p.title, count(*), sum(o.price)::numeric(17,2)::text
		FROM settlement_orders o JOIN products p ON p.id = o.product_id WHERE `+inPeriod+` GROUP BY 1, 2 ORDER BY 1`, from.Time(), to.Time()); err != nil {
		return r, err
	}
	// What is still owed (due, overdue, or with its due date pending) counts only what remains of
	// an obligation; what reached the treasury, partial payments included, is "remitted": so the
	// report agrees with the ledger's due-to-treasury accounts (issue 17).
	if r.Remittances, err = reportLines(ctx, db, `SELECT st, st, count(*), sum(v)::numeric(17,2)::text FROM (
			SELECT CASE WHEN due_date IS NULL THEN 'due_date_pending' WHEN due_date < $1 THEN 'overdue' ELSE 'due' END AS st, amount - remitted AS v
			FROM obligations WHERE kind = 'treasury_remittance' AND status = 'due'
			UNION ALL
			SELECT 'remitted', remitted FROM obligations WHERE kind = 'treasury_remittance' AND remitted > 0) x
		GROUP BY 1 ORDER BY 1`, today.Time()); err != nil {
		return r, err
	}
	// G6: filings with the supervisor (state enterprises) or the finance department that are still
	// open, by unit.
	r.FilingsDue, err = reportLines(ctx, db, `SELECT o.party_id, g.name, count(*), sum(o.amount)::numeric(17,2)::text
		FROM obligations o JOIN organisations g ON g.id = o.party_id WHERE o.kind IN ('supervisor_filing', 'finance_filing') AND o.status = 'due'
		GROUP BY 1, 2 ORDER BY 1`)
	return r, err
}

var _ settlement.ReportStore = SettlementStore{}
