package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// CreateFreeOrder makes a free-use trade at 0.00 and its order, settled at once (paid_via
// free_use), in one transaction: no shares, no ledger transaction, no obligation (see
// settlement.FreeUseStore). The product is share-locked while check runs on it, so a suspension
// or a price change committed meanwhile waits and is then seen. The same SourceID again returns
// the order made the first time.
//
// Free use is G7/N1's conditional free use for public governance and public welfare: the trade
// is still made and recorded on the venue (D15: every use traceable), only at 0.00. check is the
// settlement package's rule (the product offers free use for this purpose, it is published...).
func (db SettlementStore) CreateFreeOrder(ctx context.Context, f settlement.FreeOrder, check func(listing.Product) error) (settlement.Order, error) {
	orderID := f.OrderID
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		// Idempotency by the caller's SourceID: the lookup runs inside the transaction, and trades'
		// unique source_id refuses a concurrent duplicate that passed this check at the same moment.
		if err := tx.QueryRow(ctx, `SELECT o.id FROM trades t JOIN settlement_orders o ON o.trade_id = t.id
			WHERE t.source = 'free_use' AND t.source_id = $1 AND t.buyer_id = $2`, f.SourceID, string(f.Buyer)).Scan(&orderID); err == nil {
			return nil // the same request again
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1 FOR SHARE`, f.ProductID))
		if err != nil {
			return notFoundAs(err, datavenue.NotFound("product_not_found", "no published product has this id"))
		}
		if err := check(p); err != nil {
			return err
		}
		var tradedAt time.Time
		if err := tx.QueryRow(ctx, `INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
			SELECT $1, 'free_use', $2, p.id, $3, p.operator_id, 0, p.pricing_method, p.price_version, now() FROM products p WHERE p.id = $4
			RETURNING traded_at`, f.TradeID, f.SourceID, string(f.Buyer), f.ProductID).Scan(&tradedAt); err != nil {
			return err
		}
		// A free product sold as a service also makes a subscription with its quota (subscriptions.go).
		if _, err := subscribeFromTrade(ctx, tx, f.TradeID); err != nil {
			return err
		}
		// The order is paid on the CST day of the trade, which is also its payment due date: there is
		// nothing to pay, so there is nothing to be late for.
		today := civil.Of(tradedAt)
		ref := "free_use:" + orderID
		if _, err := tx.Exec(ctx, `INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied, amount_due,
				status, payment_due, payment_ref, paid_at, paid_via, received_on)
			SELECT $1, t.id, t.product_id, t.buyer_id, t.seller_id, 0, 0, 0, 'paid', $2, $3, t.traded_at, 'free_use', $2
			FROM trades t WHERE t.id = $4`, orderID, today.Time(), ref, f.TradeID); err != nil {
			return err
		}
		facts := orderFacts{ID: orderID, TradeID: f.TradeID, ProductID: p.ID, Buyer: f.Buyer, Seller: p.OperatorID, Price: "0.00", AmountDue: "0.00",
			Status: settlement.OrderPaid, PaymentDue: today, PaymentRef: ref, PaidVia: settlement.PaidViaFreeUse, ReceivedOn: &today}
		purpose := map[string]any{"purpose": p.UseCategory}
		// Buyer and seller get the same two events a paid trade gives them (order.created, then
		// payment.recorded), so an integrator needs no special case for free use.
		if err := announceOrder(ctx, tx, webhooks.OrderCreated, facts, purpose); err != nil {
			return err
		}
		if err := announceOrder(ctx, tx, webhooks.PaymentRecorded, facts, map[string]any{"purpose": p.UseCategory, "income_kind": "one_off"}); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, "trade.made", "trade", f.TradeID, map[string]any{"source": settlement.SourceFreeUse, "source_id": f.SourceID,
			"buyer": f.Buyer, "price": "0.00", "purpose": p.UseCategory}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "order.created", "order", orderID, map[string]any{"trade_id": f.TradeID, "free_use": true, "purpose": p.UseCategory})
	}, func(q querier) (settlement.Order, error) {
		return orderFrom(ctx, q, orderID)
	})
}
