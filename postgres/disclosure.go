package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
)

// Reads for the public disclosure (N6) and the operator's annual report. Which rows a year shows,
// and every sum, is the domain's (listing/disclosure.go, settlement/annual.go): these queries
// only narrow the rows to the year.

// onMarket selects the products the public sees in a year's disclosure: past the publishing step
// (published, suspended or delisted), published before the year ended and not delisted before it
// began (China Standard Time). A delisted product never changes again, so its updated_at is the
// day it was delisted.
const onMarket = `p.status IN ('published', 'suspended', 'delisted')
	AND p.published_at < (make_date($1 + 1, 1, 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
	AND NOT (p.status = 'delisted' AND p.updated_at < (make_date($1, 1, 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))`

// DisclosedCaps reads the caps of the products on the market whose validity touches the year.
func (db ListingStore) DisclosedCaps(ctx context.Context, year int) ([]listing.DisclosedCap, error) {
	rows, err := db.Pool.Query(ctx, `SELECT c.id, c.product_id, c.charging_unit, c.version, c.amount::text, c.approval_ref,
		c.pricing_doc_number, c.valid_from, c.valid_until, c.filed_by_org, c.filed_by, c.filed_at, p.title, p.operator_id, o.name
		FROM price_caps c JOIN products p ON p.id = c.product_id JOIN organisations o ON o.id = p.operator_id
		WHERE `+onMarket+` AND c.valid_from <= make_date($1, 12, 31) AND c.valid_until >= make_date($1, 1, 1)
		ORDER BY c.product_id, c.charging_unit, c.version`, year)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.DisclosedCap, error) {
		var d listing.DisclosedCap
		var amount string
		var from, until time.Time
		err := r.Scan(&d.ID, &d.ProductID, &d.ChargingUnit, &d.Version, &amount, &d.ApprovalRef, &d.PricingDocNumber, &from, &until,
			&d.FiledByOrg, &d.FiledBy, &d.FiledAt, &d.Title, &d.OperatorID, &d.OperatorName)
		d.Amount, d.Currency = yuan(amount), "CNY"
		d.ValidFrom, d.ValidUntil = civil.FromTime(from), civil.FromTime(until)
		return d, err
	})
	return list, interpretError(err)
}

// DisclosedAuthorisations reads the scenario authorisations behind the products on the market
// (as the publishing gate matches them: the product's operator, scenario and type, on one of its
// source assets) whose validity touches the year.
func (db ListingStore) DisclosedAuthorisations(ctx context.Context, year int) ([]listing.DisclosedAuthorisation, error) {
	rows, err := db.Pool.Query(ctx, `SELECT DISTINCT p.id, p.title, p.operator_id, op.name, g.id, g.asset_id, a.name, g.scenario,
		g.product_types, g.conditions, g.purpose, g.granted_by_org, b.name, g.valid_from, g.valid_until, g.status
		FROM products p JOIN organisations op ON op.id = p.operator_id
		JOIN product_assets pa ON pa.product_id = p.id
		JOIN authorisations g ON g.asset_id = pa.asset_id AND g.operator_id = p.operator_id AND g.scenario = p.scenario
			AND p.product_type = ANY (g.product_types)
		JOIN assets a ON a.id = g.asset_id JOIN organisations b ON b.id = g.granted_by_org
		WHERE `+onMarket+` AND g.valid_from <= make_date($1, 12, 31) AND g.valid_until >= make_date($1, 1, 1)`, year)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.DisclosedAuthorisation, error) {
		var d listing.DisclosedAuthorisation
		var from, until time.Time
		err := r.Scan(&d.ProductID, &d.Title, &d.OperatorID, &d.OperatorName, &d.AuthorisationID, &d.AssetID, &d.AssetName, &d.Scenario,
			&d.ProductTypes, &d.Conditions, &d.Purpose, &d.AuthorisedBy, &d.AuthorisedName, &from, &until, &d.Status)
		d.ValidFrom, d.ValidUntil = civil.FromTime(from), civil.FromTime(until)
		return d, err
	})
	return list, interpretError(err)
}

// paidInYear are the orders a year counts, as the operator's revenue counts them
// (RevenueYears): paid and not cancelled, by the day (China Standard Time) their money was
// received. A free-use order is received the day it is obtained.
const paidInYear = `o.status IN ('paid', 'delivered', 'confirmed') AND o.received_on BETWEEN make_date($1, 1, 1) AND make_date($1, 12, 31)`

// FeeProducts reads the products on the market in the year and the year's charges.
func (db ListingStore) FeeProducts(ctx context.Context, year int) ([]listing.FeeProduct, []listing.Charge, error) {
	rows, err := db.Pool.Query(ctx, `SELECT p.id, p.title, p.operator_id, o.name, p.product_type, p.use_category, p.pricing_method,
		coalesce(p.pricing->>'charging_unit', 'one_off'), p.ref_price::text, p.status
		FROM products p JOIN organisations o ON o.id = p.operator_id
		WHERE (`+onMarket+`) OR p.id IN (SELECT o.product_id FROM settlement_orders o WHERE `+paidInYear+`)`, year)
	if err != nil {
		return nil, nil, interpretError(err)
	}
	products, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.FeeProduct, error) {
		var p listing.FeeProduct
		var price string
		err := r.Scan(&p.ProductID, &p.Title, &p.OperatorID, &p.OperatorName, &p.ProductType, &p.Purpose, &p.PricingMethod,
			&p.ChargingUnit, &price, &p.Status)
		p.ListPrice = yuan(price)
		return p, err
	})
	if err != nil {
		return nil, nil, interpretError(err)
	}
	rows, err = db.Pool.Query(ctx, `SELECT o.product_id, o.price::text, o.paid_via IS NOT DISTINCT FROM 'free_use'
		FROM settlement_orders o WHERE `+paidInYear, year)
	if err != nil {
		return nil, nil, interpretError(err)
	}
	charges, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.Charge, error) {
		var c listing.Charge
		var price string
		err := r.Scan(&c.ProductID, &price, &c.Free)
		c.Price = yuan(price)
		return c, err
	})
	return products, charges, interpretError(err)
}

const costSelect = `SELECT id, operator_id, year, category, version, amount::text, note, recorded_by_org, recorded_by, recorded_at
	FROM operating_costs `

func scanCost(row pgx.Row) (settlement.OperatingCost, error) {
	var c settlement.OperatingCost
	var amount string
	err := row.Scan(&c.ID, &c.OperatorID, &c.Year, &c.Category, &c.Version, &amount, &c.Note, &c.RecordedByOrg, &c.RecordedBy, &c.RecordedAt)
	if err == nil {
		c.Amount, c.Currency = yuan(amount), "CNY"
	}
	return c, err
}

// RecordCost appends the next version of an operator's cost for a year and category, with its
// audit record. The organisation row is locked so that two recordings number their versions in
// turn.
func (db SettlementStore) RecordCost(ctx context.Context, c settlement.OperatingCost) (settlement.OperatingCost, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM organisations WHERE id = $1 FOR UPDATE`, c.OperatorID).Scan(new(string)); err != nil {
			return notFoundAs(err, errOperatorNotFound)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM operating_costs WHERE operator_id = $1 AND year = $2 AND category = $3`,
			c.OperatorID, c.Year, c.Category).Scan(&c.Version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO operating_costs (id, operator_id, year, category, version, amount, note, recorded_by_org,
			recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, c.OperatorID, c.Year, c.Category, c.Version, c.Amount.Decimal(),
			c.Note, c.RecordedByOrg, c.RecordedBy); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "operating_cost.recorded", "organisation", string(c.OperatorID), map[string]any{"cost_id": c.ID,
			"year": c.Year, "category": c.Category, "version": c.Version, "amount": c.Amount, "note": c.Note})
	}, func(q querier) (settlement.OperatingCost, error) {
		return scanCost(q.QueryRow(ctx, costSelect+`WHERE id = $1`, c.ID))
	})
}

// Costs lists every cost version of an operator for a year, oldest first.
func (db SettlementStore) Costs(ctx context.Context, operator datavenue.OrgID, year int) ([]settlement.OperatingCost, error) {
	rows, err := db.Pool.Query(ctx, costSelect+`WHERE operator_id = $1 AND year = $2 ORDER BY category, version`, operator, year)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.OperatingCost, error) { return scanCost(r) })
	return list, interpretError(err)
}

// Earnings reads the year's orders that concern an operator: those of its products and those it
// holds an operator share of, with that share (the sum of its `operator` shares of the order).
func (db SettlementStore) Earnings(ctx context.Context, operator datavenue.OrgID, year int) ([]settlement.Earning, error) {
	rows, err := db.Pool.Query(ctx, `SELECT o.id, o.product_id, p.title, p.use_category, o.price::text, coalesce(s.amount, 0)::text,
		o.paid_via IS NOT DISTINCT FROM 'free_use', o.received_on
		FROM settlement_orders o JOIN products p ON p.id = o.product_id
		LEFT JOIN (SELECT order_id, sum(amount) AS amount FROM settlement_shares WHERE role = 'operator' AND party_id = $2
			GROUP BY order_id) s ON s.order_id = o.id
		WHERE `+paidInYear+` AND (s.order_id IS NOT NULL OR p.operator_id = $2) ORDER BY o.received_on, o.id`, year, operator)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.Earning, error) {
		var e settlement.Earning
		var price, share string
		var on time.Time
		err := r.Scan(&e.OrderID, &e.ProductID, &e.ProductTitle, &e.Purpose, &price, &share, &e.Free, &on)
		e.Price, e.Share, e.ReceivedOn = yuan(price), yuan(share), civil.FromTime(on)
		return e, err
	})
	return list, interpretError(err)
}

// OrganisationName is an organisation's name.
func (db PartyStore) OrganisationName(ctx context.Context, id datavenue.OrgID) (string, error) {
	var name string
	err := db.Pool.QueryRow(ctx, `SELECT name FROM organisations WHERE id = $1`, id).Scan(&name)
	return name, interpretError(notFoundAs(err, errOperatorNotFound))
}

var _ settlement.AnnualStore = SettlementStore{}

var _ listing.DisclosureStore = ListingStore{}
