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

// RecordDelivery records the seller's delivery of a paid order, in two round trips: the order
// locked and checked, then the change, its audit record, the order read back and the commit.
func (db *DB) RecordDelivery(ctx context.Context, orderID string, seller datavenue.OrgID, d settlement.Delivery) (settlement.Order, error) {
	var o *settlement.Order
	var headErr *error
	err := db.inPipe(ctx, func(p *txPipe) error {
		var status, method string
		var owner datavenue.OrgID
		var lockErr error
		b := &pgx.Batch{}
		b.Queue(`SELECT o.status, o.seller_id, coalesce(p.delivery->>'method', '') FROM settlement_orders o
			JOIN products p ON p.id = o.product_id WHERE o.id = $1 FOR UPDATE OF o`, orderID).QueryRow(func(r pgx.Row) error {
			lockErr = r.Scan(&status, &owner, &method)
			return nil
		})
		if err := p.send(ctx, b); err != nil {
			return err
		}
		if lockErr != nil {
			// The message the service's own check (OrderHead) gives: it no longer reads first.
			return notFoundAs(lockErr, datavenue.NotFound("order_not_found", "no order with this id is visible to you"))
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
		b = &pgx.Batch{}
		b.Queue(`UPDATE settlement_orders SET status = 'delivered', delivery = $2, delivered_at = now() WHERE id = $1`, orderID, raw)
		if err := queueAudit(ctx, b, "order.delivered", "order", orderID, d); err != nil {
			return err
		}
		o, headErr = queueOrder(b, orderID)
		return p.commit(ctx, b)
	})
	if err != nil {
		return settlement.Order{}, err
	}
	if *headErr != nil {
		return settlement.Order{}, interpretError(*headErr)
	}
	return *o, nil
}

// Confirm confirms a delivered order and appends its voucher (see settlement.VoucherStore).
func (db *DB) Confirm(ctx context.Context, orderID string, buyer datavenue.OrgID, issue func(settlement.VoucherContent) (string, error)) (settlement.Voucher, error) {
	var v settlement.Voucher
	err := db.inPipe(ctx, func(p *txPipe) (err error) {
		v, err = confirm(ctx, p, orderID, buyer, issue)
		return err
	})
	if err != nil {
		return settlement.Voucher{}, err
	}
	if v.Document == "" { // confirmed before: the voucher issued then
		return db.Voucher(ctx, v.ID)
	}
	return v, nil
}

// AutoConfirm confirms, as the venue, deliveries left unconfirmed (see settlement.VoucherStore),
// each order in its own transaction.
func (db *DB) AutoConfirm(ctx context.Context, deliveredBefore time.Time, issue func(settlement.VoucherContent) (string, error)) ([]string, error) {
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
		var v settlement.Voucher
		err := db.inPipe(ctx, func(p *txPipe) (err error) {
			v, err = confirm(ctx, p, orderID, "", issue)
			return err
		})
		if datavenue.KindOf(err) == datavenue.KindConflict {
			continue // confirmed by its buyer meanwhile
		}
		if err != nil {
			return issued, err
		}
		issued = append(issued, v.ID)
	}
	return issued, nil
}

// confirm confirms a delivered order and appends its voucher: by its buyer, or (buyer empty) by
// the venue once the confirmation period has passed. An advisory lock serialises appends, so the
// log has no gaps and no forks. Three round trips: the order locked and read with the
// certificates its product rests on; the log's lock and head (a statement of its own, so it reads
// the head after the lock is held); the voucher, the order's change, its event, its audit record
// and the commit. It returns the voucher written, or only the id (no document) of the voucher a
// confirmation by the buyer issued before.
func confirm(ctx context.Context, p *txPipe, orderID string, buyer datavenue.OrgID, issue func(settlement.VoucherContent) (string, error)) (settlement.Voucher, error) {
	var v settlement.VoucherContent
	var status, existing string
	var owner datavenue.OrgID
	var delivery []byte
	var tradedAt, deliveredAt, receivedOn *time.Time
	var payDue time.Time
	var o orderFacts
	var orderErr error
	b := &pgx.Batch{}
	b.Queue(`SELECT o.status, o.buyer_id, coalesce(o.voucher_id, ''), o.id, o.trade_id, o.product_id, t.pricing_method,
			(SELECT use_category FROM products WHERE id = o.product_id),
			o.price::text, o.buyer_id, o.seller_id, t.traded_at, o.delivery, o.delivered_at,
			o.amount_due::text, o.payment_due, coalesce(o.payment_ref, ''), coalesce(o.paid_via, ''), o.received_on
		FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE o.id = $1 FOR UPDATE OF o`, orderID).QueryRow(func(r pgx.Row) error {
		orderErr = r.Scan(&status, &owner, &existing, &v.OrderID, &v.TradeID, &v.ProductID, &v.Method, &v.Purpose, &v.Price, &v.Buyer, &v.Seller, &tradedAt, &delivery, &deliveredAt,
			&o.AmountDue, &payDue, &o.PaymentRef, &o.PaidVia, &receivedOn)
		return nil // answered after the batch, as before the certificates were read
	})
	// Read after the order's lock is held, as its own statement: the certificates valid now.
	b.Queue(`SELECT c.number || ' v' || c.version FROM certificates c JOIN product_assets pa ON pa.asset_id = c.asset_id
		WHERE pa.product_id = (SELECT product_id FROM settlement_orders WHERE id = $1) AND c.status = 'valid' ORDER BY 1`, orderID).
		Query(func(rows pgx.Rows) (err error) {
			v.Certificates, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	if err := p.send(ctx, b); err != nil {
		return settlement.Voucher{}, err
	}
	if orderErr != nil {
		return settlement.Voucher{}, notFoundAs(orderErr, datavenue.NotFound("order_not_found", "no order with this id"))
	}
	v.ConfirmedBy = "buyer"
	if buyer == "" {
		v.ConfirmedBy = "auto"
	} else if owner != buyer {
		return settlement.Voucher{}, datavenue.NotFound("order_not_found", "no order of yours has this id")
	}
	if status == settlement.OrderConfirmed {
		if buyer == "" {
			return settlement.Voucher{}, datavenue.Conflict("order_confirmed", "the order is confirmed already")
		}
		// Confirming twice: the voucher already issued. Nothing was written: end the transaction.
		return settlement.Voucher{ID: existing}, p.commit(ctx, &pgx.Batch{})
	}
	if status != settlement.OrderDelivered {
		return settlement.Voucher{}, datavenue.Conflict("order_not_delivered", "only a delivered order is confirmed; this one is "+status)
	}
	if err := json.Unmarshal(delivery, &v.Delivery); err != nil {
		return settlement.Voucher{}, err
	}
	v.PrevHash, v.Seq = settlement.GenesisHash, 1
	b = &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtext('datavenue voucher log'))`)
	b.Queue(`SELECT hash, seq + 1 FROM vouchers ORDER BY seq DESC LIMIT 1`).QueryRow(func(r pgx.Row) error {
		return ignoreNoRows(r.Scan(&v.PrevHash, &v.Seq)) // none: the genesis entry
	})
	if err := p.send(ctx, b); err != nil {
		return settlement.Voucher{}, err
	}
	now := time.Now().UTC()
	v.Currency, v.TradedAt, v.DeliveredAt, v.ConfirmedAt = "CNY", tradedAt.UTC().Format(time.RFC3339), deliveredAt.UTC().Format(time.RFC3339), now.Format(time.RFC3339)
	v.ID = datavenue.NewID("vch")
	doc, err := issue(v)
	if err != nil {
		return settlement.Voucher{}, err
	}
	out := settlement.Voucher{ID: v.ID, Seq: v.Seq, OrderID: orderID, Hash: settlement.ChainHash(v.PrevHash, doc), PrevHash: v.PrevHash, Document: doc}
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO vouchers (seq, id, order_id, document, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
		out.Seq, out.ID, orderID, doc, out.PrevHash, out.Hash).QueryRow(func(r pgx.Row) error { return r.Scan(&out.CreatedAt) })
	b.Queue(`UPDATE settlement_orders SET status = 'confirmed', confirmed_at = $2, voucher_id = $3, confirmed_by = $4 WHERE id = $1`,
		orderID, now, v.ID, v.ConfirmedBy)
	o.ID, o.TradeID, o.ProductID, o.Buyer, o.Seller, o.Price, o.Status, o.PaymentDue = v.OrderID, v.TradeID, v.ProductID, datavenue.OrgID(v.Buyer), datavenue.OrgID(v.Seller), v.Price,
		"confirmed", civil.FromTime(payDue)
	if receivedOn != nil {
		d := civil.FromTime(*receivedOn)
		o.ReceivedOn = &d
	}
	if err := queueOrderEvent(b, webhooks.VoucherIssued, o, map[string]any{"voucher_id": v.ID, "voucher_seq": v.Seq,
		"confirmed_by": v.ConfirmedBy}); err != nil {
		return settlement.Voucher{}, err
	}
	if err := queueAudit(ctx, b, "voucher.issued", "voucher", v.ID, map[string]any{"order_id": orderID, "seq": v.Seq, "confirmed_by": v.ConfirmedBy}); err != nil {
		return settlement.Voucher{}, err
	}
	return out, p.commit(ctx, b)
}

// Voucher returns one voucher.
func (db *DB) Voucher(ctx context.Context, id string) (settlement.Voucher, error) {
	var v settlement.Voucher
	err := db.Pool.QueryRow(ctx, `SELECT id, seq, order_id, hash, prev_hash, document, created_at FROM vouchers WHERE id = $1`, id).
		Scan(&v.ID, &v.Seq, &v.OrderID, &v.Hash, &v.PrevHash, &v.Document, &v.CreatedAt)
	return v, interpretError(notFoundAs(err, datavenue.NotFound("voucher_not_found", "no voucher has this id")))
}

// VoucherLog returns the whole voucher log in order.
func (db *DB) VoucherLog(ctx context.Context) ([]settlement.ChainEntry, error) {
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

var _ settlement.VoucherStore = (*DB)(nil)
