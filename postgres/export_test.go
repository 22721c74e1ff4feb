package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
)

// RecordTrade makes a trade and its settlement order as the projection does when a negotiation is
// accepted, for tests and benchmarks that start from a trade; it returns the order's id. The
// product's operator sells.
func (db *DB) RecordTrade(ctx context.Context, sourceID, productID string, buyer datavenue.OrgID, price string) (string, error) {
	var orderID string
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if orderID, err = recordTradeOrder(ctx, tx, "negotiation", sourceID, `SELECT id, operator_id FROM products WHERE id = '`+productID+`' AND $1 <> ''`,
			buyer, price, time.Now()); err != nil || orderID != "" {
			return err
		}
		return tx.QueryRow(ctx, `SELECT o.id FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE t.source_id = $1`, sourceID).Scan(&orderID)
	})
	return orderID, err
}
