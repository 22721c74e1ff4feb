package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
)

// capSelect reads a version of a product's price cap for one charging unit (N4: the authorising body
// sets a cap per product, the operator prices at or below it; N3: per quantity, call, time or
// volume, the charging unit). Versions are append-only with their approval reference and pricing
// document, so the cap in force on any past day can be shown.
const capSelect = `SELECT id, product_id, charging_unit, version, amount::text, approval_ref, pricing_doc_number,
	valid_from, valid_until, filed_by_org, filed_by, filed_at FROM price_caps `

// scanCap reads one capSelect row; the validity dates are CST civil dates, the amount NUMERIC yuan.
func scanCap(row pgx.Row) (listing.Cap, error) {
	var c listing.Cap
	var amount string
	var from, until time.Time
	err := row.Scan(&c.ID, &c.ProductID, &c.ChargingUnit, &c.Version, &amount, &c.ApprovalRef, &c.PricingDocNumber,
		&from, &until, &c.FiledByOrg, &c.FiledBy, &c.FiledAt)
	if err == nil {
		c.Amount, c.Currency = yuan(amount), "CNY"
		c.ValidFrom, c.ValidUntil = civil.FromTime(from), civil.FromTime(until)
	}
	return c, err
}

// FileCap appends the next version of a product's cap for a charging unit, with its audit record.
// The product row is locked so that two filings number their versions one after the other, and a
// publishing step running meanwhile sees the cap or not at all.
func (db ListingStore) FileCap(ctx context.Context, c listing.Cap) (listing.Cap, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM products WHERE id = $1 FOR UPDATE`, c.ProductID).Scan(&status); err != nil {
			return notFoundAs(err, errProductNotFound)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM price_caps WHERE product_id = $1 AND charging_unit = $2`,
			c.ProductID, c.ChargingUnit).Scan(&c.Version); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO price_caps (id, product_id, charging_unit, version, amount, approval_ref,
			pricing_doc_number, valid_from, valid_until, filed_by_org, filed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			RETURNING filed_at`, c.ID, c.ProductID, c.ChargingUnit, c.Version, c.Amount.Decimal(), c.ApprovalRef, c.PricingDocNumber,
			c.ValidFrom.Time(), c.ValidUntil.Time(), c.FiledByOrg, c.FiledBy).Scan(&c.FiledAt)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "price_cap.filed", "product", c.ProductID, map[string]any{"cap_id": c.ID,
			"charging_unit": c.ChargingUnit, "version": c.Version, "amount": c.Amount, "approval_ref": c.ApprovalRef,
			"pricing_doc_number": c.PricingDocNumber, "valid_from": c.ValidFrom, "valid_until": c.ValidUntil})
	}, func(q querier) (listing.Cap, error) {
		return scanCap(q.QueryRow(ctx, capSelect+`WHERE id = $1`, c.ID))
	})
}

// Caps lists every cap version of a product, oldest first.
func (db ListingStore) Caps(ctx context.Context, productID string) ([]listing.Cap, error) {
	rows, err := db.Pool.Query(ctx, capSelect+`WHERE product_id = $1 ORDER BY charging_unit, version`, productID)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.Cap, error) { return scanCap(r) })
	return list, interpretError(err)
}

// CapInForce returns the cap in force for a product's charging unit on a day, or nil.
func (db ListingStore) CapInForce(ctx context.Context, productID, unit string, day civil.Date) (*listing.Cap, error) {
	// Which version is in force on a day is the listing package's rule (listing.CapInForce); the store
	// only reads every version, which is a handful per product.
	caps, err := db.Caps(ctx, productID)
	if err != nil {
		return nil, err
	}
	return listing.CapInForce(caps, unit, day), nil
}

var _ listing.CapStore = ListingStore{}

// CapsChanged lists the products with an open auction whose cap took effect or lapsed on a day in
// (after, upTo] (after zero: every product with an open auction).
func (db MatchingStore) CapsChanged(ctx context.Context, after, upTo civil.Date) ([]string, error) {
	var since *time.Time
	if !after.IsZero() {
		t := after.Time()
		since = &t
	}
	// A cap takes effect on valid_from and lapses the day after valid_until (CST civil dates), so a
	// lapse in (after, upTo] is a valid_until in [after, upTo). Only products with an open auction
	// matter: a cap reaches anything else when it is next read (publishing, negotiation moves).
	rows, err := db.Pool.Query(ctx, `SELECT DISTINCT a.product_id FROM auctions a WHERE a.status = 'open'
		AND ($1::date IS NULL OR EXISTS (SELECT 1 FROM price_caps c WHERE c.product_id = a.product_id
			AND ((c.valid_from > $1::date AND c.valid_from <= $2::date) OR (c.valid_until >= $1::date AND c.valid_until < $2::date))))
		ORDER BY 1`, since, upTo.Time())
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return list, interpretError(err)
}

var _ matching.CapSchedule = MatchingStore{}
