package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// Billables is a keyset page of paid subscriptions with the index of their last billed period.
func (db SubscriptionStore) Billables(ctx context.Context, after string, limit int) ([]subscriptions.Billable, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+meteredColumns+`,
			coalesce((SELECT max(b.period_index) FROM subscription_bills b WHERE b.subscription_id = s.id), -1)
		FROM subscriptions s WHERE s.quota IS NULL AND s.id > $1 ORDER BY s.id LIMIT $2`, after, clampLimit(limit))
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.Billable, error) {
		var b subscriptions.Billable
		var err error
		b.Sub, err = scanMetered(rowWithExtra{r, []any{&b.LastBilled}})
		return b, err
	})
	return out, interpretError(err)
}

// BillPeriod bills one period of a subscription once (see subscriptions.BillStore): a bill above
// 0.00 becomes a trade of source subscription and its order, made by the same queueOrderCreation as
// every trade's (payment due, the agreement in force, order.created announced), its income kind
// instalment (G6: a government unit files it within 10 working days after the quarter ends).
func (db SubscriptionStore) BillPeriod(ctx context.Context, subID string, p subscriptions.Period,
	decide func(subscriptions.Subscription, decimal.Decimal, []listing.Cap) subscriptions.Bill) (bool, error) {
	billed := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		billed = false
		s, err := scanMetered(tx.QueryRow(ctx, `SELECT `+meteredColumns+` FROM subscriptions s WHERE s.id = $1 FOR NO KEY UPDATE`, subID))
		if err != nil {
			return notFoundAs(err, datavenue.NotFound("subscription_not_found", "no such subscription"))
		}
		var exists bool
		var units, digest string
		var records int64
		// The records' count and digest (subscriptions.RecordsDigest, in SQL: byte order by
		// COLLATE "C") are read with their sum, so the voucher lists exactly what was summed.
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscription_bills WHERE subscription_id = $1 AND period_index = $2), u.*
				FROM (SELECT coalesce(sum(quantity), 0)::text, count(*),
					'sha256:' || encode(sha256(convert_to(coalesce(string_agg(record_id, E'\n' ORDER BY record_id COLLATE "C"), ''), 'UTF8')), 'hex')
					FROM usage_records WHERE subscription_id = $1 AND period_start = $3) u`,
			subID, p.Index, p.Start.Time()).Scan(&exists, &units, &records, &digest); err != nil || exists {
			return err
		}
		rows, err := tx.Query(ctx, capSelect+`WHERE product_id = $1 ORDER BY charging_unit, version`, s.ProductID)
		if err != nil {
			return err
		}
		caps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.Cap, error) { return scanCap(r) })
		if err != nil {
			return err
		}
		b := decide(s, decimal.RequireFromString(units), caps)
		orderID, err := billOrder(ctx, tx, s, p, b)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO subscription_bills (subscription_id, period_index, period_start, period_end, units, unit_price,
				fixed_fee, metered, total, capped_by, order_id, record_count, records_digest)
				VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8::numeric, $9::numeric, $10, $11, $12, $13)`,
			subID, p.Index, p.Start.Time(), p.End.Time(), b.Units.String(), b.UnitPrice.String(), b.FixedFee.String(), b.Metered.String(),
			b.Total.String(), append([]string{}, b.CappedBy...), orderID, records, digest); err != nil {
			return err
		}
		billed = true
		return appendAudit(ctx, tx, "subscription.billed", "subscription", subID, map[string]any{"bill": b, "order_id": orderID})
	})
	return billed, interpretError(err)
}

// billOrder makes the trade and order of a bill above 0.00 and returns the order's id (nil for a
// bill of 0.00: nothing is owed).
func billOrder(ctx context.Context, tx pgx.Tx, s subscriptions.Subscription, p subscriptions.Period, b subscriptions.Bill) (*string, error) {
	if !b.Total.Decimal().IsPositive() {
		return nil, nil
	}
	tradeID, sourceID := datavenue.NewID("trd"), "bill:"+s.ID+":"+strconv.Itoa(p.Index)
	var tradedAt time.Time
	if err := tx.QueryRow(ctx, `INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
		SELECT $1, 'subscription', $2, p.id, $3, $4, $5::numeric, p.pricing_method, p.price_version, now() FROM products p WHERE p.id = $6
		RETURNING traded_at`,
		tradeID, sourceID, string(s.BuyerID), string(s.SellerID), b.Total.String(), s.ProductID).Scan(&tradedAt); err != nil {
		return nil, err
	}
	// The bill's order is made as every trade's is (queueOrderCreation: its terms, its event and
	// audit record); no deposit applies to a bill.
	order := orderFacts{ID: datavenue.NewID("ord"), TradeID: tradeID, Status: "awaiting_payment", ProductID: s.ProductID, Buyer: s.BuyerID, Seller: s.SellerID}
	batch := &pgx.Batch{}
	if err := queueOrderCreation(ctx, batch, order, b.Total.String(), "0", tradedAt); err != nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, err
	}
	var orderID string
	if err := tx.QueryRow(ctx, `UPDATE settlement_orders SET income_kind = $2 WHERE trade_id = $1 RETURNING id`,
		tradeID, settlement.IncomeInstalment).Scan(&orderID); err != nil {
		return nil, err
	}
	return &orderID, appendAudit(ctx, tx, "trade.made", "trade", tradeID, map[string]any{"source": "subscription", "source_id": sourceID,
		"buyer": s.BuyerID, "price": b.Total, "subscription_id": s.ID, "period": p})
}

var _ subscriptions.BillStore = SubscriptionStore{}
