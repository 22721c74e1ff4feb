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
	err := db.inPipe(ctx, func(p *txPipe) error {
		var err error
		send, last := func(b *pgx.Batch) error { return p.send(ctx, b) }, func(b *pgx.Batch) error { return p.commit(ctx, b) }
		if orderID, _, err = recordTradeOrder(ctx, send, last, "negotiation", sourceID, `SELECT id, operator_id FROM products WHERE id = '`+productID+`' AND $1 <> ''`,
			buyer, price, time.Now()); err != nil || orderID != "" {
			return err
		}
		// Recorded before: its order.
		b := &pgx.Batch{}
		b.Queue(`SELECT o.id FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE t.source_id = $1`, sourceID).
			QueryRow(func(r pgx.Row) error { return r.Scan(&orderID) })
		return p.commit(ctx, b)
	})
	return orderID, err
}

// PublishEvent writes a certificate event in tx as the stores do, for the outbox's ordering test.
func PublishEvent(ctx context.Context, tx pgx.Tx, typ, subjectID string) error {
	return publish(ctx, tx, typ, subjectID, "ast_test", map[string]any{})
}

// ReadBack is readBack, for the test of what it promises.
func ReadBack(ctx context.Context, db *DB, write func(pgx.Tx) error, read func(pgx.Tx) (int, error)) (int, error) {
	return readBack(ctx, db.conn, write, func(q querier) (int, error) { return read(q.(pgx.Tx)) })
}
