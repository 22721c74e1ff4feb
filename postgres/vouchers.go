package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// RecordDelivery records the seller's delivery of a paid order.
func (db SettlementStore) RecordDelivery(ctx context.Context, orderID string, seller datavenue.OrgID, d settlement.Delivery) (settlement.Order, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var status, method string
		var owner datavenue.OrgID
		if err := tx.QueryRow(ctx, `SELECT o.status, o.seller_id, coalesce(p.delivery->>'method', '') FROM settlement_orders o
			JOIN products p ON p.id = o.product_id WHERE o.id = $1 FOR UPDATE OF o`, orderID).Scan(&status, &owner, &method); err != nil {
			return notFoundAs(err, datavenue.NotFound("order_not_found", "no order with this id"))
		}
		if owner != seller {
			return datavenue.NotFound("order_not_found", "no order of yours has this id")
		}
		if status != settlement.OrderPaid {
			return datavenue.Conflict("order_not_paid", "a delivery is recorded for a paid order; this one is "+status)
		}
		if method != "" && d.Method != method {
			return datavenue.Invalid("delivery_method_mismatch", "the product is delivered by "+method+", not "+d.Method)
		}
		raw, _ := json.Marshal(d)
		if _, err := tx.Exec(ctx, `UPDATE settlement_orders SET status = 'delivered', delivery = $2, delivered_at = now() WHERE id = $1`, orderID, raw); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "order.delivered", "order", orderID, d)
	})
	if err != nil {
		return settlement.Order{}, err
	}
	return db.Order(ctx, orderID)
}

// Confirm confirms a delivered order and appends its voucher (see settlement.VoucherStore).
func (db SettlementStore) Confirm(ctx context.Context, orderID string, buyer datavenue.OrgID, issue func(settlement.VoucherContent) (string, error)) (settlement.Voucher, error) {
	var id string
	err := db.inTx(ctx, func(tx pgx.Tx) (err error) {
		id, err = confirmInTx(ctx, tx, orderID, buyer, issue)
		return err
	})
	if err != nil {
		return settlement.Voucher{}, err
	}
	return db.Voucher(ctx, id)
}

// AutoConfirm confirms, as the venue, deliveries left unconfirmed (see settlement.VoucherStore),
// each order in its own transaction.
func (db SettlementStore) AutoConfirm(ctx context.Context, deliveredBefore time.Time, issue func(settlement.VoucherContent) (string, error)) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id FROM settlement_orders WHERE status = 'delivered' AND delivered_at < $1 ORDER BY delivered_at, id LIMIT 500`, deliveredBefore)
	if err != nil {
		return nil, interpretError(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, interpretError(err)
	}
	var issued []string
	for _, orderID := range ids {
		var id string
		err := db.inTx(ctx, func(tx pgx.Tx) (err error) {
			id, err = confirmInTx(ctx, tx, orderID, "", issue)
			return err
		})
		if datavenue.KindOf(err) == datavenue.KindConflict {
			continue // confirmed by its buyer meanwhile
		}
		if err != nil {
			return issued, err
		}
		issued = append(issued, id)
	}
	return issued, nil
}

// confirmInTx confirms a delivered order and appends its voucher: by its buyer, or (buyer empty)
// by the venue once the confirmation period has passed. An advisory lock serialises appends, so
// the log has no gaps and no forks.
func confirmInTx(ctx context.Context, tx pgx.Tx, orderID string, buyer datavenue.OrgID, issue func(settlement.VoucherContent) (string, error)) (string, error) {
	var v settlement.VoucherContent
	var status, existing string
	var owner datavenue.OrgID
	var delivery []byte
	var tradedAt, deliveredAt, receivedOn *time.Time
	var payDue time.Time
	var o orderFacts
	err := tx.QueryRow(ctx, `SELECT o.status, o.buyer_id, coalesce(o.voucher_id, ''), o.id, o.trade_id, o.product_id, t.pricing_method,
			(SELECT use_category FROM products WHERE id = o.product_id),
			o.price::text, o.buyer_id, o.seller_id, t.traded_at, o.delivery, o.delivered_at,
			o.amount_due::text, o.payment_due, coalesce(o.payment_ref, ''), coalesce(o.paid_via, ''), o.received_on
		FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE o.id = $1 FOR UPDATE OF o`, orderID).
		Scan(&status, &owner, &existing, &v.OrderID, &v.TradeID, &v.ProductID, &v.Method, &v.Purpose, &v.Price, &v.Buyer, &v.Seller, &tradedAt, &delivery, &deliveredAt,
			&o.AmountDue, &payDue, &o.PaymentRef, &o.PaidVia, &receivedOn)
	if err != nil {
		return "", notFoundAs(err, datavenue.NotFound("order_not_found", "no order with this id"))
	}
	v.ConfirmedBy = "buyer"
	if buyer == "" {
		v.ConfirmedBy = "auto"
	} else if owner != buyer {
		return "", datavenue.NotFound("order_not_found", "no order of yours has this id")
	}
	if status == settlement.OrderConfirmed {
		if buyer == "" {
			return "", datavenue.Conflict("order_confirmed", "the order is confirmed already")
		}
		return existing, nil // confirming twice: the voucher already issued
	}
	if status != settlement.OrderDelivered {
		return "", datavenue.Conflict("order_not_delivered", "only a delivered order is confirmed; this one is "+status)
	}
	if err := json.Unmarshal(delivery, &v.Delivery); err != nil {
		return "", err
	}
	rows, err := tx.Query(ctx, `SELECT c.number || ' v' || c.version FROM certificates c JOIN product_assets pa ON pa.asset_id = c.asset_id
		WHERE pa.product_id = $1 AND c.status = 'valid' ORDER BY 1`, v.ProductID)
	if err != nil {
		return "", err
	}
	if v.Certificates, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('datavenue voucher log'))`); err != nil {
		return "", err
	}
	v.PrevHash, v.Seq = settlement.GenesisHash, 1
	if err := tx.QueryRow(ctx, `SELECT hash, seq + 1 FROM vouchers ORDER BY seq DESC LIMIT 1`).Scan(&v.PrevHash, &v.Seq); ignoreNoRows(err) != nil {
		return "", err
	}
	now := time.Now().UTC()
	v.Currency, v.TradedAt, v.DeliveredAt, v.ConfirmedAt = "CNY", tradedAt.UTC().Format(time.RFC3339), deliveredAt.UTC().Format(time.RFC3339), now.Format(time.RFC3339)
	v.ID = datavenue.NewID("vch")
	doc, err := issue(v)
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO vouchers (seq, id, order_id, document, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)`,
		v.Seq, v.ID, orderID, doc, v.PrevHash, settlement.ChainHash(v.PrevHash, doc)); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `UPDATE settlement_orders SET status = 'confirmed', confirmed_at = $2, voucher_id = $3, confirmed_by = $4 WHERE id = $1`,
		orderID, now, v.ID, v.ConfirmedBy); err != nil {
		return "", err
	}
	o.ID, o.TradeID, o.ProductID, o.Buyer, o.Seller, o.Price, o.Status, o.PaymentDue = v.OrderID, v.TradeID, v.ProductID, datavenue.OrgID(v.Buyer), datavenue.OrgID(v.Seller), v.Price,
		"confirmed", civil.FromTime(payDue)
	if receivedOn != nil {
		d := civil.FromTime(*receivedOn)
		o.ReceivedOn = &d
	}
	if err := announceOrder(ctx, tx, webhooks.VoucherIssued, o, map[string]any{"voucher_id": v.ID, "voucher_seq": v.Seq,
		"confirmed_by": v.ConfirmedBy}); err != nil {
		return "", err
	}
	return v.ID, appendAudit(ctx, tx, "voucher.issued", "voucher", v.ID, map[string]any{"order_id": orderID, "seq": v.Seq, "confirmed_by": v.ConfirmedBy})
}

// Voucher returns one voucher.
func (db SettlementStore) Voucher(ctx context.Context, id string) (settlement.Voucher, error) {
	var v settlement.Voucher
	err := db.Pool.QueryRow(ctx, `SELECT id, seq, order_id, hash, prev_hash, document, created_at FROM vouchers WHERE id = $1`, id).
		Scan(&v.ID, &v.Seq, &v.OrderID, &v.Hash, &v.PrevHash, &v.Document, &v.CreatedAt)
	return v, interpretError(notFoundAs(err, datavenue.NotFound("voucher_not_found", "no voucher has this id")))
}

// VoucherLog returns the whole voucher log in order.
func (db SettlementStore) VoucherLog(ctx context.Context) ([]settlement.ChainEntry, error) {
	rows, err := db.Pool.Query(ctx, `SELECT seq, document, prev_hash, hash FROM vouchers ORDER BY seq`)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.ChainEntry, error) {
		var e settlement.ChainEntry
		err := r.Scan(&e.Seq, &e.Document, &e.PrevHash, &e.Hash)
		return e, err
	})
	return list, interpretError(err)
}

var _ settlement.VoucherStore = SettlementStore{}
