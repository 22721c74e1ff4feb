package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// errOperatorNotFound is reported for an unknown operator id, before any maximum is read or set.
var errOperatorNotFound = datavenue.NotFound("organisation_not_found", "no such operator")

// allowedSelect reads a version of an operator's maximum allowed revenue for a year (N4: set by the
// pricing authority and the data bureau; operating cost, permitted profit and taxes). Versions are
// append-only: a revised maximum is a new version, and the history stays for the N6 report.
const allowedSelect = `SELECT id, operator_id, year, version, amount::text, approval_ref, pricing_doc_number,
	set_by_org, set_by, set_at FROM allowed_revenues `

// scanAllowed parses the amount only when the row was read; the amount is NUMERIC yuan.
func scanAllowed(row pgx.Row) (settlement.AllowedRevenue, error) {
	var a settlement.AllowedRevenue
	var amount string
	err := row.Scan(&a.ID, &a.OperatorID, &a.Year, &a.Version, &amount, &a.ApprovalRef, &a.PricingDocNumber,
		&a.SetByOrg, &a.SetBy, &a.SetAt)
	if err == nil {
		a.Amount, a.Currency = yuan(amount), "CNY"
	}
	return a, err
}

// SetAllowedRevenue appends the next version of an operator's maximum for a year, with its audit
// record. The organisation row is locked so that two settings number their versions in turn.
func (db SettlementStore) SetAllowedRevenue(ctx context.Context, a settlement.AllowedRevenue) (settlement.AllowedRevenue, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM organisations WHERE id = $1 FOR UPDATE`, a.OperatorID).Scan(new(string)); err != nil {
			return notFoundAs(err, errOperatorNotFound)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM allowed_revenues WHERE operator_id = $1 AND year = $2`,
			a.OperatorID, a.Year).Scan(&a.Version); err != nil {
			return err
		}
		// The amount goes as a decimal.Decimal, which pgx encodes as NUMERIC exactly.
		if _, err := tx.Exec(ctx, `INSERT INTO allowed_revenues (id, operator_id, year, version, amount, approval_ref, pricing_doc_number,
			set_by_org, set_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, a.ID, a.OperatorID, a.Year, a.Version, a.Amount.Decimal(),
			a.ApprovalRef, a.PricingDocNumber, a.SetByOrg, a.SetBy); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "allowed_revenue.set", "organisation", string(a.OperatorID), map[string]any{"allowed_revenue_id": a.ID,
			"year": a.Year, "version": a.Version, "amount": a.Amount, "approval_ref": a.ApprovalRef, "pricing_doc_number": a.PricingDocNumber})
	}, func(q querier) (settlement.AllowedRevenue, error) {
		return scanAllowed(q.QueryRow(ctx, allowedSelect+`WHERE id = $1`, a.ID))
	})
}

// AllowedRevenues lists every version of an operator's maximum for a year, oldest first.
func (db SettlementStore) AllowedRevenues(ctx context.Context, operator datavenue.OrgID, year int) ([]settlement.AllowedRevenue, error) {
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM organisations WHERE id = $1`, operator).Scan(new(string)); err != nil {
		return nil, interpretError(notFoundAs(err, errOperatorNotFound))
	}
	rows, err := db.Pool.Query(ctx, allowedSelect+`WHERE operator_id = $1 AND year = $2 ORDER BY version`, operator, year)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.AllowedRevenue, error) { return scanAllowed(r) })
	return list, interpretError(err)
}

// RevenueYears reads, for each year from the first with a maximum set up to upTo, the maximum in
// force (the newest version) and the operator's revenue: its `operator` shares of orders that are
// paid and not cancelled, by the year (China Standard Time) their money was received.
func (db SettlementStore) RevenueYears(ctx context.Context, operator datavenue.OrgID, upTo int) ([]settlement.RevenueYear, error) {
	// span lists every year from the first with a maximum (or upTo alone) to upTo, so a year with
	// revenue but no maximum still appears. maxima takes the newest version per year (DISTINCT ON
	// ... ORDER BY version DESC). earned sums the operator's shares of orders whose money was
	// received, by the CST year of received_on (a DATE), because N4/N5 compare a year's revenue with
	// that year's maximum; cancelled and unpaid orders earned nothing.
	rows, err := db.Pool.Query(ctx, `
		WITH span AS (SELECT generate_series(least(coalesce(min(year), $2), $2), $2) AS year FROM allowed_revenues
			WHERE operator_id = $1 AND year <= $2),
		maxima AS (SELECT DISTINCT ON (year) year, amount FROM allowed_revenues WHERE operator_id = $1 AND year <= $2
			ORDER BY year, version DESC),
		earned AS (SELECT extract(year FROM o.received_on)::int AS year, sum(s.amount) AS amount
			FROM settlement_shares s JOIN settlement_orders o ON o.id = s.order_id
			WHERE s.role = 'operator' AND s.party_id = $1 AND o.status IN ('paid', 'delivered', 'confirmed')
			AND o.received_on IS NOT NULL AND o.received_on <= make_date($2, 12, 31) GROUP BY 1)
		SELECT span.year, maxima.amount::text, coalesce(earned.amount, 0)::text FROM span
		LEFT JOIN maxima USING (year) LEFT JOIN earned USING (year) ORDER BY span.year`, operator, upTo)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.RevenueYear, error) {
		var y settlement.RevenueYear
		var allowed *string
		var earned string
		if err := r.Scan(&y.Year, &allowed, &earned); err != nil {
			return y, err
		}
		if allowed != nil {
			a := yuan(*allowed)
			y.Allowed = &a
		}
		y.Earned = yuan(earned)
		return y, nil
	})
	return list, interpretError(err)
}

// RecordRevenueWarning records a standing's status once per operator and year, with an audit
// event (allowed_revenue.approaching, .reached or .exceeded).
func (db SettlementStore) RecordRevenueWarning(ctx context.Context, s settlement.RevenueStanding) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		// allowed_revenue_warnings has one row per (operator, year, status): the sweep that watches the
		// standings can run daily, in several processes, and still warns once per level.
		tag, err := tx.Exec(ctx, `INSERT INTO allowed_revenue_warnings (operator_id, year, status) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, s.OperatorID, s.Year, s.Status)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return appendAudit(ctx, tx, "allowed_revenue."+s.Status, "organisation", string(s.OperatorID), map[string]any{
			"year": s.Year, "allowed": s.Allowed, "deducted": s.Deducted, "effective": s.Effective, "earned": s.Earned,
			"ratio": s.Ratio, "excess": s.Excess})
	})
}

// OperatorsWithAllowedRevenue lists the operators with a maximum set for a year.
func (db SettlementStore) OperatorsWithAllowedRevenue(ctx context.Context, year int) ([]datavenue.OrgID, error) {
	// The settlement sweep uses it to find whose standing to compute for a year.
	rows, err := db.Pool.Query(ctx, `SELECT DISTINCT operator_id FROM allowed_revenues WHERE year = $1 ORDER BY 1`, year)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[datavenue.OrgID])
	return list, interpretError(err)
}

var _ settlement.AllowedRevenueStore = SettlementStore{}
