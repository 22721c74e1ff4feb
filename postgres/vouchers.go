package postgres

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// RecordDelivery records the seller's delivery of a paid order, in two round trips: the order
// locked and checked, then the change, its audit record, the order read back and the commit.
func (db SettlementStore) RecordDelivery(ctx context.Context, orderID string, seller datavenue.OrgID, d settlement.Delivery) (settlement.Order, error) {
	var o *settlement.Order
	var headErr *error
	err := db.inPipe(ctx, func(p *txPipe) error {
		var status, method string
		var owner datavenue.OrgID
		var lockErr error
		b := &pgx.Batch{}
		// The delivery method is read from the product (the listing's current delivery terms) in the
		// locking statement; FOR UPDATE OF o locks only the order, not the product.
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
		// Another seller's order answers not found rather than forbidden: a seller learns nothing about
		// orders that are not theirs.
		if owner != seller {
			return datavenue.NotFound("order_not_found", "no order of yours has this id")
		}
		if status != settlement.OrderPaid {
			return datavenue.Conflict("order_not_paid", "a delivery is recorded for a paid order; this one is "+status)
		}
		if method != "" && d.Method != method {
			return datavenue.Invalid("delivery_method_mismatch", "the product is delivered by "+method+", not "+d.Method)
		}
		// D15/G7: the delivery record is one of the vouchers' inputs, kept as the seller gave it.
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

// Confirm confirms a delivered order and appends its voucher (see settlement.VoucherStore). The
// voucher log's lock serialises appends (the chain has no forks), and each append's transaction
// holds it until its commit is flushed: one append per WAL flush at best. So confirmations that
// arrive together are appended together (voucherAppender): one transaction locks their orders,
// the log once, appends their vouchers in chain order and commits once; each caller gets its own
// answer. A group that fails as a whole (a database error) is retried one confirmation per
// transaction, so a confirmation's outcome never depends on the others'.
func (db SettlementStore) Confirm(ctx context.Context, orderID string, buyer datavenue.OrgID, issue func(settlement.VoucherContent) (string, error)) (settlement.Voucher, error) {
	res := db.appender.confirm(db, &confirmRequest{ctx: ctx, orderID: orderID, buyer: buyer, issue: issue})
	if res.err != nil {
		return settlement.Voucher{}, interpretError(res.err)
	}
	// The order was confirmed by its buyer before: answering with the stored voucher (not an error)
	// makes a retried confirmation idempotent.
	if res.v.Document == "" { // confirmed before: the voucher issued then
		return db.Voucher(ctx, res.v.ID)
	}
	return res.v, nil
}

// confirmRequest is one confirmation waiting to be appended; done receives its result.
type confirmRequest struct {
	ctx     context.Context
	orderID string
	buyer   datavenue.OrgID // "": the venue confirms (AutoConfirm)
	issue   func(settlement.VoucherContent) (string, error)
	done    chan confirmResult
}

// confirmResult is what the leader hands each waiting caller: its voucher or its error, or the
// lead itself when the caller's request is still pending.
type confirmResult struct {
	v    settlement.Voucher // only the id (no document): the voucher a confirmation by the buyer issued before
	err  error
	lead bool // not a result: the caller is to lead the appender now
}

// voucherAppender groups concurrent confirmations (group commit). The caller that finds no
// leader leads: it appends what is pending, one group per transaction, until its own request is
// done, then hands the lead to the oldest request still waiting. Nobody waits for a timer: a
// group is whatever queued while the previous one was being written.
type voucherAppender struct {
	mu      sync.Mutex
	pending []*confirmRequest
	leading bool
}

// maxVoucherGroup bounds a group: its orders are locked and its documents signed while the log
// is locked, so a huge group would only move the wait.
const maxVoucherGroup = 32

// confirm queues req and either waits for a leader to append it or becomes the leader. The mutex
// guards only the queue and the leading flag, never the database work, so callers queue while a
// group is being written and form the next group.
func (a *voucherAppender) confirm(db SettlementStore, req *confirmRequest) confirmResult {
	req.done = make(chan confirmResult, 1)
	a.mu.Lock()
	a.pending = append(a.pending, req)
	if a.leading {
		a.mu.Unlock()
		// No select on ctx: a waiter may be handed the lead, and a request once queued is appended
		// (as a transaction already sent would be committed).
		if res := <-req.done; !res.lead {
			return res
		}
		a.mu.Lock()
	}
	a.leading = true
	for {
		// At most maxVoucherGroup requests, oldest first: the order of the queue is the order of the
		// chain.
		group := a.pending[:min(len(a.pending), maxVoucherGroup)]
		a.pending = a.pending[len(group):]
		a.mu.Unlock()
		db.appendVouchers(group)
		a.mu.Lock()
		select {
		case res := <-req.done: // ours is done: the oldest waiter leads on
			if len(a.pending) > 0 {
				next := a.pending[0]
				next.done <- confirmResult{lead: true}
			} else {
				a.leading = false
			}
			a.mu.Unlock()
			return res
		default:
		}
	}
}

// appendVouchers appends a group in one transaction, or, if that transaction fails, each
// request in its own; every request gets its result.
func (db SettlementStore) appendVouchers(group []*confirmRequest) {
	// The group's transaction is not any one caller's: one caller's cancelled context must not
	// fail the others' confirmations.
	ctx := context.WithoutCancel(group[0].ctx)
	var results []confirmResult
	err := db.inPipe(ctx, func(p *txPipe) (err error) {
		results, err = confirmGroup(ctx, p, group)
		return err
	})
	if err != nil && len(group) > 1 {
		for _, req := range group {
			db.appendVouchers([]*confirmRequest{req})
		}
		return
	}
	for i, req := range group {
		if err != nil {
			req.done <- confirmResult{err: err}
		} else {
			req.done <- results[i]
		}
	}
}

// AutoConfirm confirms, as the venue, deliveries left unconfirmed (see settlement.VoucherStore),
// each order in its own transaction.
//
// Auto-confirmation is the venue confirming a delivery the buyer left unconfirmed past the
// confirmation period, so every trade ends in a voucher (D15). It bypasses the appender: it is a
// background sweep, and the advisory lock in confirmGroup serialises it with the appender's
// groups. 500 orders per sweep, oldest deliveries first.
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
		var results []confirmResult
		err := db.inPipe(ctx, func(p *txPipe) (err error) {
			results, err = confirmGroup(ctx, p, []*confirmRequest{{ctx: ctx, orderID: orderID, issue: issue}})
			return err
		})
		if err == nil {
			err = results[0].err
		}
		if datavenue.KindOf(err) == datavenue.KindConflict {
			continue // confirmed by its buyer meanwhile
		}
		if err != nil {
			return issued, interpretError(err)
		}
		issued = append(issued, results[0].v.ID)
	}
	return issued, nil
}

// confirmedOrder is what a confirmation reads of its order, locked.
// confirmedOrder holds the locked order's fields: v is the voucher content being built, existing
// the voucher already issued (a second confirmation), facts the fields of the order.* webhook
// events.
type confirmedOrder struct {
	v                               settlement.VoucherContent
	status, existing                string
	owner                           datavenue.OrgID
	delivery                        []byte
	tradedAt, deliveredAt, received *time.Time
	payDue                          time.Time
	facts                           orderFacts
}

// confirmGroup confirms delivered orders and appends their vouchers, in the transaction p: each
// by its buyer, or (buyer empty) by the venue once the confirmation period has passed. An
// advisory lock serialises appends, so the log has no gaps and no forks. Two round trips
// whatever the group's size: the orders locked (in id order) and read with the certificates
// their products rest on, then the log's lock and head (statements of their own, so the head is
// read after the lock is held); then the vouchers, the orders' changes, their events, their audit
// records and the commit. A request refused (not found, not delivered...) gets its error and
// writes nothing; the others go on. The error returned is the transaction's.
func confirmGroup(ctx context.Context, p *txPipe, group []*confirmRequest) ([]confirmResult, error) {
	ids := make([]string, len(group))
	for i, req := range group {
		ids[i] = req.orderID
	}
	orders := map[string]*confirmedOrder{}
	certs := map[string][]string{}
	// The chain starts at the genesis hash with seq 1 when the log is empty.
	head := struct {
		hash string
		seq  int64
	}{settlement.GenesisHash, 1}
	b := &pgx.Batch{}
	// The trade's and the product's fields are read by correlated primary-key lookups rather than a
	// join: the transaction runs on generic plans (txPipe.send), and a join planned without the
	// orders' ids could be a hash join over every trade.
	// Orders are locked in id order (ORDER BY o.id FOR UPDATE) so two groups that share orders lock
	// them in the same order and cannot deadlock; the voucher log's advisory lock is taken after them,
	// always in this order.
	b.Queue(`SELECT o.status, o.buyer_id, coalesce(o.voucher_id, ''), o.id, o.trade_id, o.product_id,
			(SELECT pricing_method FROM trades WHERE id = o.trade_id),
			(SELECT use_category FROM products WHERE id = o.product_id),
			o.price::text, o.buyer_id, o.seller_id, (SELECT traded_at FROM trades WHERE id = o.trade_id), o.delivery, o.delivered_at,
			o.amount_due::text, o.payment_due, coalesce(o.payment_ref, ''), coalesce(o.paid_via, ''), o.received_on
		FROM settlement_orders o WHERE o.id = ANY($1) ORDER BY o.id FOR UPDATE`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var c confirmedOrder
			v := &c.v
			if err := rows.Scan(&c.status, &c.owner, &c.existing, &v.OrderID, &v.TradeID, &v.ProductID, &v.Method, &v.Purpose, &v.Price, &v.Buyer, &v.Seller,
				&c.tradedAt, &c.delivery, &c.deliveredAt, &c.facts.AmountDue, &c.payDue, &c.facts.PaymentRef, &c.facts.PaidVia, &c.received); err != nil {
				return err
			}
			orders[v.OrderID] = &c
		}
		return rows.Err()
	})
	// Read after the orders' locks are held, as its own statement: the certificates valid now.
	b.Queue(`SELECT pa.product_id, c.number || ' v' || c.version FROM certificates c JOIN product_assets pa ON pa.asset_id = c.asset_id
		WHERE pa.product_id IN (SELECT product_id FROM settlement_orders WHERE id = ANY($1)) AND c.status = 'valid' ORDER BY 1, 2`, ids).
		Query(func(rows pgx.Rows) error {
			var product, cert string
			_, err := pgx.ForEachRow(rows, []any{&product, &cert}, func() error {
				certs[product] = append(certs[product], cert)
				return nil
			})
			return err
		})
	covered := map[string]*settlement.UsageCovered{}
	queueUsageCovered(b, ids, covered)
	b.Queue(`SELECT pg_advisory_xact_lock(hashtext('datavenue voucher log'))`)
	b.Queue(`SELECT hash, seq + 1 FROM vouchers ORDER BY seq DESC LIMIT 1`).QueryRow(func(r pgx.Row) error {
		return ignoreNoRows(r.Scan(&head.hash, &head.seq)) // none: the genesis entry
	})
	if err := p.send(ctx, b); err != nil {
		return nil, err
	}
	results := make([]confirmResult, len(group))
	var seqs []int64
	var vids, orderIDs, docs, prevs, hashes, confirmedBy []string
	var confirmedAt []time.Time
	var events []webhooks.Event
	b = &pgx.Batch{}
	for i, req := range group {
		c, ok := orders[req.orderID]
		if !ok {
			results[i].err = datavenue.NotFound("order_not_found", "no order with this id")
			continue
		}
		// Each voucher's content is signed (issue) while the log's lock is held, because the document
		// carries prev_hash and seq, which are only known once the head is read under the lock.
		v := c.v // a copy: a second request for the same order sees the first one's outcome below
		v.Certificates = certs[v.ProductID]
		v.Usage = covered[req.orderID]
		v.ConfirmedBy = "buyer"
		if req.buyer == "" {
			v.ConfirmedBy = "auto"
		} else if c.owner != req.buyer {
			results[i].err = datavenue.NotFound("order_not_found", "no order of yours has this id")
			continue
		}
		// A buyer confirming twice gets the voucher already issued (idempotent); the venue's sweep finding
		// it confirmed is a conflict, which AutoConfirm skips.
		if c.status == settlement.OrderConfirmed {
			if req.buyer == "" {
				results[i].err = datavenue.Conflict("order_confirmed", "the order is confirmed already")
			} else {
				results[i].v = settlement.Voucher{ID: c.existing} // confirming twice: the voucher already issued
			}
			continue
		}
		if c.status != settlement.OrderDelivered {
			results[i].err = datavenue.Conflict("order_not_delivered", "only a delivered order is confirmed; this one is "+c.status)
			continue
		}
		if err := json.Unmarshal(c.delivery, &v.Delivery); err != nil {
			results[i].err = err
			continue
		}
		// The voucher's times are RFC 3339 in UTC inside the signed document; the seq and prev_hash chain
		// it to the previous voucher (D15: fully traceable).
		now := time.Now().UTC()
		v.PrevHash, v.Seq = head.hash, head.seq
		v.Currency, v.TradedAt, v.DeliveredAt, v.ConfirmedAt = "CNY", c.tradedAt.UTC().Format(time.RFC3339), c.deliveredAt.UTC().Format(time.RFC3339), now.Format(time.RFC3339)
		v.ID = datavenue.NewID("vch")
		doc, err := req.issue(v)
		if err != nil {
			results[i].err = err
			continue
		}
		out := settlement.Voucher{ID: v.ID, Seq: v.Seq, OrderID: req.orderID, Hash: settlement.ChainHash(v.PrevHash, doc), PrevHash: v.PrevHash, Document: doc}
		results[i].v = out
		head.hash, head.seq = out.Hash, out.Seq+1
		c.status, c.existing = settlement.OrderConfirmed, out.ID
		seqs, vids, orderIDs, docs, prevs, hashes = append(seqs, out.Seq), append(vids, out.ID), append(orderIDs, req.orderID), append(docs, doc),
			append(prevs, out.PrevHash), append(hashes, out.Hash)
		confirmedBy, confirmedAt = append(confirmedBy, v.ConfirmedBy), append(confirmedAt, now)
		o := c.facts
		o.ID, o.TradeID, o.ProductID, o.Buyer, o.Seller, o.Price, o.Status, o.PaymentDue = v.OrderID, v.TradeID, v.ProductID, datavenue.OrgID(v.Buyer), datavenue.OrgID(v.Seller), v.Price,
			"confirmed", civil.FromTime(c.payDue)
		if c.received != nil {
			d := civil.FromTime(*c.received)
			o.ReceivedOn = &d
		}
		events = append(events, orderEvent(webhooks.VoucherIssued, o, map[string]any{"voucher_id": v.ID, "voucher_seq": v.Seq, "confirmed_by": v.ConfirmedBy}))
		// Each record names its own caller and request.
		if err := queueAudit(req.ctx, b, "voucher.issued", "voucher", v.ID, map[string]any{"order_id": req.orderID, "seq": v.Seq, "confirmed_by": v.ConfirmedBy}); err != nil {
			return nil, err
		}
	}
	if len(vids) == 0 {
		return results, p.commit(ctx, &pgx.Batch{}) // nothing appended: end the transaction
	}
	// The vouchers first, in chain order, then the orders, then the events: the order of the
	// single confirmation's statements, the audit records (queued above) last.
	writes := &pgx.Batch{}
	writes.Queue(`INSERT INTO vouchers (seq, id, order_id, document, prev_hash, hash)
		SELECT s, i, o, d, p, h FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(s, i, o, d, p, h, n) ORDER BY n
		RETURNING id, created_at`, seqs, vids, orderIDs, docs, prevs, hashes).Query(func(rows pgx.Rows) error {
		created := map[string]time.Time{}
		var id string
		var at time.Time
		if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { created[id] = at; return nil }); err != nil {
			return err
		}
		for i := range results {
			if t, ok := created[results[i].v.ID]; ok && results[i].v.Document != "" {
				results[i].v.CreatedAt = t
			}
		}
		return nil
	})
	// The orders are found by id = ANY, each one's values by its position in the arrays: a join
	// with unnest was planned (generic plan, row estimate 10) as a hash join over a sequential scan
	// of every order, half a millisecond per group at a few thousand orders and growing with the
	// table; = ANY is an index scan of the primary key however many orders there are. A group
	// holds at most one request per waiting caller, so array_position's linear search is short.
	writes.Queue(`UPDATE settlement_orders SET status = 'confirmed',
			confirmed_at = ($2::timestamptz[])[array_position($1::text[], id)],
			voucher_id = ($3::text[])[array_position($1::text[], id)],
			confirmed_by = ($4::text[])[array_position($1::text[], id)]
		WHERE id = ANY ($1::text[])`,
		orderIDs, confirmedAt, vids, confirmedBy)
	if err := queueWebhookEvents(writes, events...); err != nil {
		return nil, err
	}
	writes.QueuedQueries = append(writes.QueuedQueries, b.QueuedQueries...)
	return results, p.commit(ctx, writes)
}

// Voucher returns one voucher.
// Voucher is read-only: vouchers are append-only, the chain is never rewritten.
func (db SettlementStore) Voucher(ctx context.Context, id string) (settlement.Voucher, error) {
	var v settlement.Voucher
	err := db.Pool.QueryRow(ctx, `SELECT id, seq, order_id, hash, prev_hash, document, created_at FROM vouchers WHERE id = $1`, id).
		Scan(&v.ID, &v.Seq, &v.OrderID, &v.Hash, &v.PrevHash, &v.Document, &v.CreatedAt)
	return v, interpretError(notFoundAs(err, datavenue.NotFound("voucher_not_found", "no voucher has this id")))
}

// VoucherLog returns the whole voucher log in order.
//
// The whole log is read at once for settlement.VerifyChain, which must walk it from the genesis
// entry; datavenue check verifies the chain's hashes and signatures with it.
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
