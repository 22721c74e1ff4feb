package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// ApplyEvent applies one engine event in one transaction, recording its id so a second delivery
// changes nothing (see matching.Projector).
//
// The projection is how the Redis engine's outcomes reach PostgreSQL: the engine is the
// authority while an auction runs, and this store keeps the durable record (bids, deposits,
// outcome, trade, settlement order, ledger). Delivery from the Redis stream is at least once
// (a projector may crash after applying and before acknowledging), so every apply is idempotent.
// The system caller is used when the projector runs outside a request.
func (db MatchingStore) ApplyEvent(ctx context.Context, e matching.Event) error {
	if _, ok := datavenue.CallerFrom(ctx); !ok {
		ctx = datavenue.WithCaller(ctx, audit.SystemCaller)
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := applyEvent(ctx, tx, e)
		return err
	})
}

// applyEvent applies one engine event in tx unless it was applied before; it reports whether it
// applied it now.
func applyEvent(ctx context.Context, tx pgx.Tx, e matching.Event) (bool, error) {
	// projected_events (stream, event_id) is the idempotency record: the insert and the event's effects
	// commit together, so an event is applied exactly once however often it is delivered.
	tag, err := tx.Exec(ctx, `INSERT INTO projected_events (stream, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, e.Stream, e.ID)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	switch e.Type {
	case matching.EventBid:
		err = applyBid(ctx, tx, e)
	case matching.EventDeposit:
		err = applyDeposit(ctx, tx, e.Auction, e.Buyer, e.Ref)
	case matching.EventClose:
		err = applyClose(ctx, tx, e)
	case matching.EventNegotiation:
		err = applyNegotiation(ctx, tx, e)
	}
	// open: the record was written before the auction opened; nothing to apply
	return err == nil, err
}

// applyBid copies an accepted bid into auction_bids; the engine has already validated it (bid.lua),
// so there is no rule here. ON CONFLICT DO NOTHING is a second guard behind projected_events.
func applyBid(ctx context.Context, tx pgx.Tx, e matching.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO auction_bids (auction_id, bid_id, seq, buyer_id, amount, at, ends_at, bids_after)
		VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8) ON CONFLICT DO NOTHING`,
		e.Auction, e.BidID, e.Seq, string(e.Buyer), e.Amount.String(), e.At, e.EndsAt, e.Bids)
	return err
}

// applyDeposit records a buyer's deposit and books it in the ledger the moment it is received, at
// the auction's deposit amount.
//
// The amount is the auction's deposit as stored in PostgreSQL (INSERT ... SELECT from auctions),
// not a figure carried in the event. ON CONFLICT DO NOTHING with RETURNING gives no row when the
// deposit was recorded before, so it is booked once. A zero deposit is recorded but not posted (a
// ledger transaction needs two non-zero postings).
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
	if d := yuan(amount).Decimal(); d.IsPositive() {
		return postInTx(ctx, tx, settlement.DepositReceived(auction, buyer, d))
	}
	return nil
}

// applyClose records an auction's end. The closer (the process that ended the auction in Redis)
// may have recorded the outcome already through RecordOutcome; the compare-and-set on status 'open'
// makes whichever comes second a no-op for the auction row, while the deposits, the announcement
// and the trade are done here in either case, each idempotent on its own.
func applyClose(ctx context.Context, tx pgx.Tx, e matching.Event) error {
	auction, price := e.Auction, e.Price.String()
	o := matching.Outcome{Result: e.Outcome, Winner: e.Winner, Price: e.Price, ClosedAt: e.At}
	status := "closed"
	if o.Result == matching.OutcomeStopped {
		status = "stopped"
	}
	var winner, amount *string
	if o.Result == matching.OutcomeWon {
		w := string(o.Winner)
		winner, amount = &w, &price
	}
	tag, err := tx.Exec(ctx, `UPDATE auctions SET status = $2, outcome = $3, winner_id = $4, price = $5::numeric, closed_at = $6,
		stop_reason = nullif($7, '') WHERE id = $1 AND status = 'open'`, auction, status, o.Result, winner, amount, o.ClosedAt, e.Reason)
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
		if amount := yuan(d.amount).Decimal(); d.outcome == "release" && amount.IsPositive() {
			if err := postInTx(ctx, tx, settlement.DepositReleased(auction, d.buyer, amount)); err != nil {
				return err
			}
		}
	}
	// Announced here, by the projection, whichever of it and the closer recorded the outcome:
	// every bid of the auction is projected by now (they precede the close in its stream).
	if err := announceAuctionClosed(ctx, tx, auction); err != nil {
		return err
	}
	if o.Result == matching.OutcomeWon {
		// A win makes a trade at the winning price; the operator is the seller (the auction sells the
		// operator's product).
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
//
// The caller's transaction decides: the trade, its settlement order (or its subscription) and
// their audit records commit with the event that made them, so a win or an accepted negotiation
// never lacks its order, and never gets two (trades.source_id is unique).
func recordTrade(ctx context.Context, tx pgx.Tx, source, sourceID, partiesSQL string, buyer datavenue.OrgID, price string, at time.Time) error {
	send := func(b *pgx.Batch) error { return tx.SendBatch(ctx, b).Close() }
	_, sold, err := recordTradeOrder(ctx, send, send, source, sourceID, partiesSQL, buyer, price, at)
	if err != nil || sold == "" {
		return err
	}
	// A product sold as a service makes a subscription instead of the one-off order (subscriptions.go).
	made, err := subscribeFromTrade(ctx, tx, sold)
	if err != nil {
		return err
	}
	if !made {
		return fmt.Errorf("trade %s: its product has a subscription plan that could not be read", sold)
	}
	if source == "auction" {
		return refundAppliedDeposit(ctx, tx, sourceID)
	}
	return nil
}

// refundAppliedDeposit refunds the winner's deposit of an auction whose win made a subscription.
// The close marked it to be applied to the price, but a subscription has no order to apply it to
// (its bills come period by period), so it would have stayed in deposits held for good: it has
// done its work, securing the bid, and goes back to the buyer like the losers' (idempotent: the
// outcome moves from apply once, and the ledger posting has its own key).
func refundAppliedDeposit(ctx context.Context, tx pgx.Tx, auctionID string) error {
	rows, err := tx.Query(ctx, `UPDATE auction_deposits SET outcome = 'release' WHERE auction_id = $1 AND outcome = 'apply'
		RETURNING buyer_id, coalesce(amount, 0)::text`, auctionID)
	if err != nil {
		return err
	}
	type deposit struct {
		buyer  datavenue.OrgID
		amount string
	}
	deposits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (d deposit, err error) {
		return d, r.Scan(&d.buyer, &d.amount)
	})
	if err != nil {
		return err
	}
	for _, d := range deposits {
		if amount := yuan(d.amount).Decimal(); amount.IsPositive() {
			if err := postInTx(ctx, tx, settlement.DepositReleased(auctionID, d.buyer, amount)); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordTradeOrder is recordTrade returning the new order's id ("" if the trade was recorded
// before). Two batches, one round trip each: the trade (with what its order's terms need, in its
// RETURNING), sent by send; then the order, its event and both audit records, sent by last (a
// pipelined transaction commits with it). A product sold as a service (a subscription plan in its
// pricing, issue 15) gets no order: the trade and its audit record are written and its id is
// returned as sold, for the caller to make the subscription in the same transaction.
func recordTradeOrder(ctx context.Context, send, last func(*pgx.Batch) error, source, sourceID, partiesSQL string, buyer datavenue.OrgID, price string, at time.Time) (orderID, sold string, err error) {
	tradeID := datavenue.NewID("trd")
	o := orderFacts{ID: datavenue.NewID("ord"), TradeID: tradeID, Status: "awaiting_payment"}
	var partiesErr, tradeErr error
	var stored, deposit string
	var tradedAt time.Time
	var subscription bool
	b := &pgx.Batch{}
	// The parties first, on their own: a source PostgreSQL does not know is an error, as it was
	// when this was a statement of its own; the trade reads them again, in the same snapshot.
	b.Queue(partiesSQL, sourceID).QueryRow(func(r pgx.Row) error {
		var product, seller string
		partiesErr = r.Scan(&product, &seller)
		return nil
	})
	// One statement inserts the trade and returns what the order's terms need, including the
	// winner's deposit to apply (the auction's deposit where the winner's deposit row is marked
	// 'apply' by applyClose; 0 for a negotiation) and whether the product is sold as a service.
	// ON CONFLICT (source_id) DO NOTHING: a source that already made a trade returns no row, which
	// means "recorded before".
	b.Queue(`WITH src(product, seller) AS (`+partiesSQL+`)
		INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
		SELECT $2, $3, $1, p.id, $4, src.seller, $5::numeric, p.pricing_method, p.price_version, $6 FROM src JOIN products p ON p.id = src.product
		ON CONFLICT (source_id) DO NOTHING
		RETURNING price::text, traded_at, product_id, buyer_id, seller_id,
			coalesce((SELECT a.deposit FROM auctions a JOIN auction_deposits d ON d.auction_id = a.id AND d.buyer_id = trades.buyer_id
				WHERE $3 = 'auction' AND a.id = trades.source_id AND d.outcome = 'apply'), 0)::text,
			coalesce((SELECT jsonb_typeof(p.pricing->'subscription') = 'object' FROM products p WHERE p.id = trades.product_id), false)`,
		sourceID, tradeID, source, string(buyer), price, at).QueryRow(func(r pgx.Row) error {
		tradeErr = r.Scan(&stored, &tradedAt, &o.ProductID, &o.Buyer, &o.Seller, &deposit, &subscription)
		return nil
	})
	if err := send(b); err != nil {
		return "", "", err
	}
	if partiesErr != nil {
		return "", "", partiesErr
	}
	if errors.Is(tradeErr, pgx.ErrNoRows) {
		return "", "", nil // recorded before
	}
	if tradeErr != nil {
		return "", "", tradeErr
	}
	b = &pgx.Batch{}
	if subscription {
		sold = tradeID
	} else {
		terms, err := queueOrderCreation(ctx, b, o, stored, deposit, tradedAt)
		if err != nil {
			return "", "", err
		}
		// A winner's deposit above the price goes back to the buyer with the order (the rest is
		// applied to the price); only an auction's trade has a deposit.
		if refund := terms.DepositRefund; source == "auction" && refund.Decimal().IsPositive() {
			if err := queuePost(ctx, b, settlement.DepositExcessRefunded(sourceID, o.Buyer, refund.Decimal())); err != nil {
				return "", "", err
			}
		}
	}
	if err := queueAudit(ctx, b, "trade.made", "trade", tradeID, map[string]any{"source": source, "source_id": sourceID, "buyer": buyer, "price": price}); err != nil {
		return "", "", err
	}
	if sold != "" {
		return "", sold, last(b)
	}
	return o.ID, "", last(b)
}

// queueOrderCreation queues the settlement order of a new trade, in the trade's transaction, on
// the terms settlement.TermsOf gives (the winner's deposit applied, the rest due within the
// payment days, the terms returned); the agreement is the version in force now.
func queueOrderCreation(ctx context.Context, b *pgx.Batch, o orderFacts, price, deposit string, tradedAt time.Time) (settlement.OrderTerms, error) {
	// The payment terms (7 days to pay from the CST trade day, the deposit deducted) are the
	// settlement package's rule (settlement.TermsOf); this store only writes them. The agreement
	// version is the latest one at trade time; NULL when the product has none yet, and payment is
	// then refused until an order is re-made under an agreement.
	terms := settlement.TermsOf(yuan(price), yuan(deposit), tradedAt)
	o.Price, o.AmountDue, o.PaymentDue = yuan(price).String(), terms.AmountDue.String(), terms.PaymentDue
	b.Queue(`INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied, amount_due,
			agreement_version, status, payment_due)
		SELECT $1, t.id, t.product_id, t.buyer_id, t.seller_id, t.price, $2::numeric, $3::numeric,
			(SELECT max(version) FROM contribution_agreements WHERE product_id = t.product_id), 'awaiting_payment', $4
		FROM trades t WHERE t.id = $5`, o.ID, terms.DepositApplied.String(), terms.AmountDue.String(), terms.PaymentDue.Time(), o.TradeID)
	if err := queueAudit(ctx, b, "order.created", "order", o.ID, map[string]any{"trade_id": o.TradeID}); err != nil {
		return terms, err
	}
	return terms, queueOrderEvent(b, webhooks.OrderCreated, o, nil)
}

// applyNegotiation keeps the negotiations row as the latest state and appends the move. The
// upsert only moves forward in time (updated_at <=), so an older event delivered late (a parked
// event retried, a redelivery) cannot take the row back to an earlier state; each move is
// recorded once by its event id. An accepted negotiation makes a trade at the agreed price.
func applyNegotiation(ctx context.Context, tx pgx.Tx, e matching.Event) error {
	price := e.Price.String()
	_, err := tx.Exec(ctx, `INSERT INTO negotiations (id, product_id, buyer_id, seller_id, status, price, round, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, price = EXCLUDED.price, round = EXCLUDED.round,
			updated_at = EXCLUDED.updated_at WHERE negotiations.updated_at <= EXCLUDED.updated_at`,
		e.Negotiation, e.Product, string(e.Buyer), string(e.Seller), e.Status, price, e.Round, e.At)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO negotiation_moves (negotiation_id, round, action, actor_id, price, at, event_id)
		VALUES ($1, $2, $3, $4, $5::numeric, $6, $7) ON CONFLICT DO NOTHING`,
		e.Negotiation, e.Round, e.Action, e.Actor, price, e.At, e.ID); err != nil {
		return err
	}
	if e.Status != matching.NegotiationAccepted {
		return nil
	}
	return recordTrade(ctx, tx, "negotiation", e.Negotiation, `SELECT product_id, seller_id FROM negotiations WHERE id = $1`,
		e.Buyer, price, e.At)
}

var _ matching.Applier = MatchingStore{}
