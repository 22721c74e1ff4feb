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

// BillPeriods bills a group of due periods once each (see subscriptions.BillStore), in one
// transaction and two round trips whatever the group's size: the subscriptions locked (in id
// order, so two billers cannot deadlock), the periods billed already, every period's units, count and records' digest (subscriptions.RecordsDigest, in SQL:
// byte order by COLLATE "C") and the products' caps; then every trade, order, bill and audit
// record. A bill above 0.00 becomes a trade of source subscription dated at (the biller's clock,
// which decided the period was due; the database's clock would date it otherwise) and its order, made by the
// same queueOrderCreation as every trade's (payment due, the agreement in force, order.created
// announced), its income kind instalment (G6: a government unit files it within 10 working days
// after the quarter ends).
func (db SubscriptionStore) BillPeriods(ctx context.Context, at time.Time, due []subscriptions.Due,
	decide func(subscriptions.Subscription, subscriptions.Period, decimal.Decimal, []listing.Cap) subscriptions.Bill) (int, error) {
	made := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		r, err := readDue(ctx, tx, due)
		if err != nil {
			return err
		}
		w := billWrites{batch: &pgx.Batch{}, now: at}
		for i, d := range due {
			s, ok := r.subs[d.SubID]
			if !ok {
				return datavenue.NotFound("subscription_not_found", "no such subscription")
			}
			if r.billed[billKey{d.SubID, d.Period.Index}] {
				continue
			}
			sum := r.sums[i]
			b := decide(s, d.Period, decimal.RequireFromString(sum.units), r.caps[s.ProductID])
			if err := w.add(ctx, s, d.Period, b, sum); err != nil {
				return err
			}
			r.billed[billKey{d.SubID, d.Period.Index}] = true
		}
		made = w.bills
		return w.send(ctx, tx)
	})
	if err != nil {
		return 0, interpretError(err)
	}
	return made, nil
}

type billKey struct {
	sub   string
	index int
}

// periodSum is what a period's usage records add up to.
type periodSum struct {
	units, digest string
	records       int64
}

// dueReads is what the first round trip reads.
type dueReads struct {
	subs   map[string]subscriptions.Subscription
	billed map[billKey]bool
	sums   []periodSum // by the due period's position
	caps   map[string][]listing.Cap
}

func readDue(ctx context.Context, tx pgx.Tx, due []subscriptions.Due) (dueReads, error) {
	ids, starts := make([]string, len(due)), make([]time.Time, len(due))
	for i, d := range due {
		ids[i], starts[i] = d.SubID, d.Period.Start.Time()
	}
	r := dueReads{subs: map[string]subscriptions.Subscription{}, billed: map[billKey]bool{}, sums: make([]periodSum, len(due)), caps: map[string][]listing.Cap{}}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+meteredColumns+` FROM subscriptions s WHERE s.id = ANY($1) ORDER BY s.id FOR NO KEY UPDATE`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			s, err := scanMetered(rows)
			if err != nil {
				return err
			}
			r.subs[s.ID] = s
		}
		return rows.Err()
	})
	b.Queue(`SELECT subscription_id, period_index FROM subscription_bills WHERE subscription_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var k billKey
		_, err := pgx.ForEachRow(rows, []any{&k.sub, &k.index}, func() error { r.billed[k] = true; return nil })
		return err
	})
	b.Queue(`SELECT x.n, coalesce(sum(u.quantity), 0)::text, count(u.record_id),
			'sha256:' || encode(sha256(convert_to(coalesce(string_agg(u.record_id, E'\n' ORDER BY u.record_id COLLATE "C"), ''), 'UTF8')), 'hex')
		FROM unnest($1::text[], $2::date[]) WITH ORDINALITY AS x(s, d, n)
		LEFT JOIN usage_records u ON u.subscription_id = x.s AND u.period_start = x.d
		GROUP BY x.n`, ids, starts).Query(func(rows pgx.Rows) error {
		var n int
		var p periodSum
		_, err := pgx.ForEachRow(rows, []any{&n, &p.units, &p.records, &p.digest}, func() error { r.sums[n-1] = p; return nil })
		return err
	})
	b.Queue(capSelect+`WHERE product_id IN (SELECT product_id FROM subscriptions WHERE id = ANY($1)) ORDER BY product_id, charging_unit, version`, ids).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				c, err := scanCap(rows)
				if err != nil {
					return err
				}
				r.caps[c.ProductID] = append(r.caps[c.ProductID], c)
			}
			return rows.Err()
		})
	return r, tx.SendBatch(ctx, b).Close()
}

// billWrites gathers the second round trip: the trades in one statement, then each order as every
// trade's is made, then the orders' income kind, the bills in one statement, the audit records.
type billWrites struct {
	batch                                                *pgx.Batch
	now                                                  time.Time
	bills                                                int
	tradeIDs, sources, products, buyers, sellers, prices []string
	orders                                               []orderFacts
	billRows                                             [][]any
	audits                                               []func(*pgx.Batch) error
}

func (w *billWrites) add(ctx context.Context, s subscriptions.Subscription, p subscriptions.Period, b subscriptions.Bill, sum periodSum) error {
	w.bills++
	var orderID *string
	if b.Total.Decimal().IsPositive() {
		tradeID, sourceID := datavenue.NewID("trd"), "bill:"+s.ID+":"+strconv.Itoa(p.Index)
		o := orderFacts{ID: datavenue.NewID("ord"), TradeID: tradeID, Status: "awaiting_payment", ProductID: s.ProductID, Buyer: s.BuyerID, Seller: s.SellerID}
		w.tradeIDs, w.sources, w.products = append(w.tradeIDs, tradeID), append(w.sources, sourceID), append(w.products, s.ProductID)
		w.buyers, w.sellers, w.prices = append(w.buyers, string(s.BuyerID)), append(w.sellers, string(s.SellerID)), append(w.prices, b.Total.String())
		w.orders, orderID = append(w.orders, o), &o.ID
		detail := map[string]any{"source": "subscription", "source_id": sourceID, "buyer": s.BuyerID, "price": b.Total, "subscription_id": s.ID, "period": p}
		w.audits = append(w.audits, func(batch *pgx.Batch) error { return queueAudit(ctx, batch, "trade.made", "trade", tradeID, detail) })
	}
	w.billRows = append(w.billRows, []any{s.ID, p.Index, p.Start.Time(), p.End.Time(), b.Units.String(), b.UnitPrice.String(), b.FixedFee.String(),
		b.Metered.String(), b.Total.String(), append([]string{}, b.CappedBy...), orderID, sum.records, sum.digest})
	subID := s.ID
	w.audits = append(w.audits, func(batch *pgx.Batch) error {
		return queueAudit(ctx, batch, "subscription.billed", "subscription", subID, map[string]any{"bill": b, "order_id": orderID,
			"records": sum.records, "records_digest": sum.digest})
	})
	return nil
}

func (w *billWrites) send(ctx context.Context, tx pgx.Tx) error {
	b := w.batch
	if len(w.tradeIDs) > 0 {
		b.Queue(`INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
			SELECT x.id, 'subscription', x.src, p.id, x.buyer, x.seller, x.price::numeric, p.pricing_method, p.price_version, $7
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(id, src, product, buyer, seller, price)
			JOIN products p ON p.id = x.product`, w.tradeIDs, w.sources, w.products, w.buyers, w.sellers, w.prices, w.now)
		for i, o := range w.orders {
			// The bill's order is made as every trade's is (its terms, its event and audit
			// record); no deposit applies to a bill.
			if _, err := queueOrderCreation(ctx, b, o, w.prices[i], "0", w.now); err != nil {
				return err
			}
		}
		b.Queue(`UPDATE settlement_orders SET income_kind = $2 WHERE trade_id = ANY($1)`, w.tradeIDs, settlement.IncomeInstalment)
	}
	for _, row := range w.billRows {
		b.Queue(`INSERT INTO subscription_bills (subscription_id, period_index, period_start, period_end, units, unit_price,
				fixed_fee, metered, total, capped_by, order_id, record_count, records_digest)
			VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8::numeric, $9::numeric, $10, $11, $12, $13)`, row...)
	}
	for _, a := range w.audits {
		if err := a(b); err != nil {
			return err
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

var _ subscriptions.BillStore = SubscriptionStore{}
