package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

func field(f map[string]any, k string) string {
	s, _ := f[k].(string)
	return s
}

// undecodable is the error of an entry field that does not decode: the entry can never apply as
// it is, so the projection parks it.
func undecodable(k, v string) error {
	return datavenue.Invalid("event_undecodable", fmt.Sprintf("projection: field %s does not decode: %q", k, v))
}

func fenField(f map[string]any, k string) (string, error) {
	n, err := strconv.ParseInt(field(f, k), 10, 64)
	if err != nil {
		return "", undecodable(k, field(f, k))
	}
	return money.FromFen(n).String(), nil
}

func msField(f map[string]any, k string) (time.Time, error) {
	n, err := strconv.ParseInt(field(f, k), 10, 64)
	if err != nil {
		return time.Time{}, undecodable(k, field(f, k))
	}
	return time.UnixMilli(n).UTC(), nil
}

// ApplyEvent applies one engine event in one transaction, recording its id so a second delivery
// changes nothing (see matching.Projector).
func (db *DB) ApplyEvent(ctx context.Context, stream, id string, f map[string]any) error {
	if _, ok := datavenue.CallerFrom(ctx); !ok {
		ctx = datavenue.WithCaller(ctx, audit.SystemCaller)
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := applyEvent(ctx, tx, stream, id, f)
		return err
	})
}

// applyEvent applies one engine event in tx unless it was applied before; it reports whether it
// applied it now.
func applyEvent(ctx context.Context, tx pgx.Tx, stream, id string, f map[string]any) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO projected_events (stream, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, stream, id)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	auction := field(f, "auction")
	switch field(f, "type") {
	case "bid":
		err = applyBid(ctx, tx, auction, f)
	case "deposit":
		err = applyDeposit(ctx, tx, auction, datavenue.OrgID(field(f, "buyer")), field(f, "ref"))
	case "close":
		err = applyClose(ctx, tx, auction, f)
	case "negotiation":
		err = applyNegotiation(ctx, tx, id, f)
	}
	// open: the record was written before the auction opened; nothing to apply
	return err == nil, err
}

func applyBid(ctx context.Context, tx pgx.Tx, auction string, f map[string]any) error {
	amount, err := fenField(f, "amount")
	if err != nil {
		return err
	}
	at, err := msField(f, "at_ms")
	if err != nil {
		return err
	}
	endsAt, err := msField(f, "end_ms")
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO auction_bids (auction_id, bid_id, seq, buyer_id, amount, at, ends_at, bids_after)
		VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8) ON CONFLICT DO NOTHING`,
		auction, field(f, "bid"), field(f, "seq"), field(f, "buyer"), amount, at, endsAt, field(f, "bids"))
	return err
}

// applyDeposit records a buyer's deposit and books it in the ledger the moment it is received, at
// the auction's deposit amount.
func applyDeposit(ctx context.Context, tx pgx.Tx, auction string, buyer datavenue.OrgID, ref string) error {
	var amount string
	err := tx.QueryRow(ctx, `INSERT INTO auction_deposits (auction_id, buyer_id, ref, amount)
		SELECT $1, $2, $3, deposit FROM auctions WHERE id = $1 ON CONFLICT DO NOTHING RETURNING amount::text`,
		auction, string(buyer), ref).Scan(&amount)
	if err == pgx.ErrNoRows {
		return nil // recorded before
	}
	if err != nil {
		return err
	}
	if d := money.MustParse(amount).Decimal(); d.IsPositive() {
		return postInTx(ctx, tx, settlement.DepositReceived(auction, buyer, d))
	}
	return nil
}

func applyClose(ctx context.Context, tx pgx.Tx, auction string, f map[string]any) error {
	price, err := fenField(f, "price")
	if err != nil {
		return err
	}
	closedAt, err := msField(f, "at_ms")
	if err != nil {
		return err
	}
	o := matching.Outcome{Result: field(f, "outcome"), Winner: datavenue.OrgID(field(f, "winner")), Price: money.MustParse(price), ClosedAt: closedAt}
	status := "closed"
	if o.Result == "stopped" {
		status = "stopped"
	}
	var winner, amount *string
	if o.Result == "won" {
		w := string(o.Winner)
		winner, amount = &w, &price
	}
	tag, err := tx.Exec(ctx, `UPDATE auctions SET status = $2, outcome = $3, winner_id = $4, price = $5::numeric, closed_at = $6,
		stop_reason = nullif($7, '') WHERE id = $1 AND status = 'open'`, auction, status, o.Result, winner, amount, o.ClosedAt, field(f, "reason"))
	if err != nil {
		return err
	}
	// Deposits: the winner's is applied to the price (settlement takes it out of deposits held),
	// the others are released and refunded.
	rows, err := tx.Query(ctx, `UPDATE auction_deposits SET outcome = CASE WHEN buyer_id = $2 THEN 'apply' ELSE 'release' END
		WHERE auction_id = $1 AND outcome = 'held' RETURNING buyer_id, outcome, coalesce(amount, 0)::text`, auction, string(o.Winner))
	if err != nil {
		return err
	}
	type deposit struct {
		buyer           datavenue.OrgID
		outcome, amount string
	}
	deposits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (d deposit, err error) {
		return d, r.Scan(&d.buyer, &d.outcome, &d.amount)
	})
	if err != nil {
		return err
	}
	for _, d := range deposits {
		if amount := money.MustParse(d.amount).Decimal(); d.outcome == "release" && amount.IsPositive() {
			if err := postInTx(ctx, tx, settlement.DepositReleased(auction, d.buyer, amount)); err != nil {
				return err
			}
		}
	}
	if o.Result == "won" {
		if err := recordTrade(ctx, tx, "auction", auction, `SELECT product_id, operator_id FROM auctions WHERE id = $1`,
			o.Winner, price, o.ClosedAt); err != nil {
			return err
		}
	}
	if tag.RowsAffected() == 0 {
		return nil // the closer's OnClose recorded it first
	}
	return appendAudit(ctx, tx, "auction."+status, "auction", auction, o)
}

// recordTrade inserts the trade an auction win or an accepted negotiation makes, once (source_id
// is unique). The product's pricing method and price version are those in force now, when the
// trade is made.
func recordTrade(ctx context.Context, tx pgx.Tx, source, sourceID, partiesSQL string, buyer datavenue.OrgID, price string, at time.Time) error {
	var product, seller string
	if err := tx.QueryRow(ctx, partiesSQL, sourceID).Scan(&product, &seller); err != nil {
		return err
	}
	tradeID := datavenue.NewID("trd")
	tag, err := tx.Exec(ctx, `INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
		SELECT $1, $2, $3, p.id, $4, $5, $6::numeric, p.pricing_method, p.price_version, $7 FROM products p WHERE p.id = $8
		ON CONFLICT (source_id) DO NOTHING`,
		tradeID, source, sourceID, string(buyer), seller, price, at, product)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	if err := createOrder(ctx, tx, tradeID, source, sourceID); err != nil {
		return err
	}
	return appendAudit(ctx, tx, "trade.made", "trade", tradeID, map[string]any{"source": source, "source_id": sourceID, "buyer": buyer, "price": price})
}

// paymentDays is how long a buyer has to pay for a trade (calendar days).
const paymentDays = 7

// createOrder makes the settlement order of a new trade, in the trade's transaction: the amount
// due is the price less the winner's deposit (applied at the close), and the agreement is the
// version in force now.
func createOrder(ctx context.Context, tx pgx.Tx, tradeID, source, sourceID string) error {
	deposit := "0"
	if source == "auction" {
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT a.deposit FROM auctions a JOIN auction_deposits d ON d.auction_id = a.id
			JOIN trades t ON t.source_id = a.id AND t.buyer_id = d.buyer_id WHERE a.id = $1 AND d.outcome = 'apply'), 0)::text`,
			sourceID).Scan(&deposit); err != nil {
			return err
		}
	}
	orderID := datavenue.NewID("ord")
	_, err := tx.Exec(ctx, `INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied, amount_due,
			agreement_version, status, payment_due)
		SELECT $1, t.id, t.product_id, t.buyer_id, t.seller_id, t.price, least($2::numeric, t.price), t.price - least($2::numeric, t.price),
			(SELECT max(version) FROM contribution_agreements WHERE product_id = t.product_id), 'awaiting_payment',
			(t.traded_at AT TIME ZONE 'Asia/Shanghai')::date + $3::int
		FROM trades t WHERE t.id = $4`, orderID, deposit, paymentDays, tradeID)
	if err != nil {
		return err
	}
	return appendAudit(ctx, tx, "order.created", "order", orderID, map[string]any{"trade_id": tradeID})
}

func applyNegotiation(ctx context.Context, tx pgx.Tx, eventID string, f map[string]any) error {
	id, status := field(f, "negotiation"), field(f, "status")
	price, err := fenField(f, "price")
	if err != nil {
		return err
	}
	at, err := msField(f, "at_ms")
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO negotiations (id, product_id, buyer_id, seller_id, status, price, round, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, price = EXCLUDED.price, round = EXCLUDED.round,
			updated_at = EXCLUDED.updated_at WHERE negotiations.updated_at <= EXCLUDED.updated_at`,
		id, field(f, "product"), field(f, "buyer"), field(f, "seller"), status, price, field(f, "round"), at)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO negotiation_moves (negotiation_id, round, action, actor_id, price, at, event_id)
		VALUES ($1, $2, $3, $4, $5::numeric, $6, $7) ON CONFLICT DO NOTHING`,
		id, field(f, "round"), field(f, "action"), field(f, "actor"), price, at, eventID); err != nil {
		return err
	}
	if status != "accepted" {
		return nil
	}
	return recordTrade(ctx, tx, "negotiation", id, `SELECT product_id, seller_id FROM negotiations WHERE id = $1`,
		datavenue.OrgID(field(f, "buyer")), price, at)
}

var _ matching.Applier = (*DB)(nil)
