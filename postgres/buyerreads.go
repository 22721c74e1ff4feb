package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
)

// BuyerReads are the read-only lists the console's buyer pages show that the API has no list
// for: a buyer's deposits across auctions (the API reads one deposit at a time), its
// negotiations, and which voucher settled an order. They read what the projection and the
// settlement store wrote; nothing here decides anything (the deposit's outcome is the one the
// auction's close or the subscription's start recorded).
type BuyerReads struct{ conn }

// BuyerReads is the console's buyer lists' store.
func (db *DB) BuyerReads() BuyerReads { return BuyerReads{db.conn} }

// Deposits lists buyer's deposits, the latest recorded first (at most limit).
func (db BuyerReads) Deposits(ctx context.Context, buyer datavenue.OrgID, limit int) ([]matching.BuyerDeposit, error) {
	rows, err := db.Pool.Query(ctx, `SELECT d.auction_id, a.product_id, p.title, a.kind, a.status,
			coalesce(d.amount, a.deposit)::text, d.outcome, d.ref, d.recorded_at
		FROM auction_deposits d JOIN auctions a ON a.id = d.auction_id JOIN products p ON p.id = a.product_id
		WHERE d.buyer_id = $1 ORDER BY d.recorded_at DESC, d.auction_id LIMIT $2`, buyer, limit)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.BuyerDeposit, error) {
		var d matching.BuyerDeposit
		var amount string
		err := r.Scan(&d.AuctionID, &d.ProductID, &d.Title, &d.Kind, &d.Status, &amount, &d.Outcome, &d.Ref, &d.RecordedAt)
		d.Amount = yuan(amount)
		return d, err
	})
	return list, interpretError(err)
}

// Negotiations lists buyer's negotiations, the latest moved first (at most limit).
func (db BuyerReads) Negotiations(ctx context.Context, buyer datavenue.OrgID, limit int) ([]matching.BuyerNegotiation, error) {
	rows, err := db.Pool.Query(ctx, `SELECT n.id, n.product_id, p.title, n.status, n.seller_id, n.price::text, n.round, n.updated_at
		FROM negotiations n JOIN products p ON p.id = n.product_id
		WHERE n.buyer_id = $1 ORDER BY n.updated_at DESC, n.id LIMIT $2`, buyer, limit)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.BuyerNegotiation, error) {
		var n matching.BuyerNegotiation
		var price string
		err := r.Scan(&n.ID, &n.ProductID, &n.Title, &n.Status, &n.Seller, &price, &n.Round, &n.UpdatedAt)
		n.Price = yuan(price)
		return n, err
	})
	return list, interpretError(err)
}

// VoucherOf is the id of the voucher that settled an order ("" before the order is confirmed).
// The caller has already been allowed to read the order.
func (db BuyerReads) VoucherOf(ctx context.Context, orderID string) (string, error) {
	var id string
	err := db.Pool.QueryRow(ctx, `SELECT id FROM vouchers WHERE order_id = $1`, orderID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, interpretError(err)
}

// ChainHashAt is the stored hash of the voucher log's entry seq ("" when there is none): the
// previous hash the next entry must carry.
func (db BuyerReads) ChainHashAt(ctx context.Context, seq int64) (string, error) {
	var hash string
	err := db.Pool.QueryRow(ctx, `SELECT hash FROM vouchers WHERE seq = $1`, seq).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return hash, interpretError(err)
}
