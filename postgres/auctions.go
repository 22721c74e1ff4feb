package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
)

// auctionColumns is the auctions row as matching.Record needs it. The row is the durable record
// of an auction; the live state (bids, the current end time) is in Redis, and only the outcome
// comes back here. Amounts are NUMERIC yuan read as text.
const auctionColumns = `id, product_id, operator_id, kind, status, starts_at, ends_at, reserve::text, opening::text, increment::text,
	anti_snipe_s, deposit::text, band_low::text, band_high::text, floor::text, revisable, price_version, outcome,
	coalesce(winner_id, ''), price::text, closed_at, coalesce(stop_reason, ''), created_at`

// scanAuction reads one auctionColumns row. yuan is safe here because the columns are
// NUMERIC NOT NULL (or NULL-checked), so PostgreSQL's text form always parses. The price band is
// set only for a government-guided price (D14, N4: a base price and a float range), both ends or
// neither; the outcome columns stay NULL while the auction is open.
func scanAuction(row pgx.Row) (matching.Record, error) {
	var r matching.Record
	var reserve, opening, increment, deposit, floor string
	var bandLow, bandHigh, price, outcome *string
	var winner string
	var closedAt *time.Time
	err := row.Scan(&r.ID, &r.ProductID, &r.OperatorID, &r.Kind, &r.Status, &r.StartsAt, &r.EndsAt, &reserve, &opening, &increment,
		&r.AntiSnipeSec, &deposit, &bandLow, &bandHigh, &floor, &r.Revisable, &r.PriceVersion, &outcome, &winner, &price,
		&closedAt, &r.StopReason, &r.CreatedAt)
	if err != nil {
		return r, err
	}
	r.Currency = "CNY"
	r.Reserve, r.Opening, r.Increment = yuan(reserve), yuan(opening), yuan(increment)
	r.Deposit, r.Floor = yuan(deposit), yuan(floor)
	if bandLow != nil && bandHigh != nil {
		lo, hi := yuan(*bandLow), yuan(*bandHigh)
		r.BandLow, r.BandHigh = &lo, &hi
	}
	if outcome != nil {
		o := matching.Outcome{Result: *outcome, Winner: datavenue.OrgID(winner), Price: money.Zero}
		if price != nil {
			o.Price = yuan(*price)
		}
		if closedAt != nil {
			o.ClosedAt = closedAt.UTC()
		}
		r.Outcome = &o
	}
	return r, nil
}

// optionalFen passes an optional amount as a decimal string (for a ::numeric cast) or NULL.
func optionalFen(y *money.Yuan) *string {
	if y == nil {
		return nil
	}
	s := y.String()
	return &s
}

// CreateAuction inserts an open auction (one per product: a second is a conflict, auction_open).
//
// The partial unique index auctions_one_open_per_product makes the "one open auction per product"
// rule hold under concurrency; the matching service opens the Redis side only after this insert
// commits, so Redis never runs an auction that has no row.
func (db MatchingStore) CreateAuction(ctx context.Context, r matching.Record) (matching.Record, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO auctions (id, product_id, operator_id, kind, status, starts_at, ends_at, reserve,
			increment, anti_snipe_s, deposit, band_low, band_high, floor, revisable, price_version, opening)
			VALUES ($1, $2, $3, $4, 'open', $5, $6, $7::numeric, $8::numeric, $9, $10::numeric, $11::numeric, $12::numeric,
			$13::numeric, $14, $15, $16::numeric)`,
			r.ID, r.ProductID, r.OperatorID, r.Kind, r.StartsAt, r.EndsAt, r.Reserve.String(), r.Increment.String(), r.AntiSnipeSec,
			r.Deposit.String(), optionalFen(r.BandLow), optionalFen(r.BandHigh), r.Floor.String(), r.Revisable, r.PriceVersion, r.Opening.String())
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "auction.opened", "auction", r.ID, map[string]any{"product_id": r.ProductID, "kind": r.Kind})
	}, func(q querier) (matching.Record, error) {
		return auctionFrom(ctx, q, r.ID)
	})
}

// Auction returns one auction record.
func (db MatchingStore) Auction(ctx context.Context, id string) (matching.Record, error) {
	return auctionFrom(ctx, db.Pool, id)
}

// auctionFrom is Auction read through q: the pool, or the transaction that has just written it (readBack).
func auctionFrom(ctx context.Context, q querier, id string) (matching.Record, error) {
	r, err := scanAuction(q.QueryRow(ctx, `SELECT `+auctionColumns+` FROM auctions WHERE id = $1`, id))
	return r, interpretError(notFoundAs(err, datavenue.NotFound("auction_not_found", "no auction has this id")))
}

// Auctions lists auctions of a product (all when productID is empty), newest first.
func (db MatchingStore) Auctions(ctx context.Context, productID, status string) ([]matching.Record, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+auctionColumns+` FROM auctions
		WHERE ($1 = '' OR product_id = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT 200`, productID, status)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.Record, error) { return scanAuction(r) })
	return list, interpretError(err)
}

// ListAuctions pages through auctions, newest first.
func (db MatchingStore) ListAuctions(ctx context.Context, f matching.AuctionFilter) ([]matching.Record, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+auctionColumns+` FROM auctions
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR kind = $2) AND ($3 = '' OR product_id = $3) AND ($4 = '' OR operator_id = $4)
			AND ($5 = '' OR id < $5)
		ORDER BY id DESC LIMIT $6`, f.Status, f.Kind, f.ProductID, string(f.OperatorID), f.After, clampLimit(f.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.Record, error) { return scanAuction(r) })
	return list, interpretError(err)
}

// ListNegotiations pages through the negotiations the projection has applied, by id descending (the
// keyset). An id is a ULID, newest first, unless the buyer sent an Idempotency-Key, which derives
// it from the key: such negotiations sort among the others by that hash.
func (db MatchingStore) ListNegotiations(ctx context.Context, f matching.NegotiationFilter) ([]matching.NegotiationRecord, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, product_id, buyer_id, seller_id, status, price::text, round, updated_at, created_at
		FROM negotiations
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR product_id = $2) AND ($3 = '' OR buyer_id = $3) AND ($4 = '' OR seller_id = $4)
			AND ($5 = '' OR id < $5)
		ORDER BY id DESC LIMIT $6`, f.Status, f.ProductID, string(f.Buyer), string(f.Seller), f.After, clampLimit(f.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.NegotiationRecord, error) {
		var n matching.NegotiationRecord
		var price string
		err := r.Scan(&n.ID, &n.ProductID, &n.Buyer, &n.Seller, &n.Status, &price, &n.Round, &n.UpdatedAt, &n.CreatedAt)
		n.Price = yuan(price)
		return n, err
	})
	return list, interpretError(err)
}

// RecordOutcome stores how an open auction ended, once.
//
// It is the compare-and-set "AND status = 'open'" that makes it once: the closer, the stopper (a
// product suspended mid-auction) and a lowered price cap (matching/caps.go) may all report an
// outcome, from several venue processes; the first to commit wins and the others update no row and return
// nil, writing no second audit record. Winner and price are set only for a won auction.
func (db MatchingStore) RecordOutcome(ctx context.Context, id string, o matching.Outcome, reason string) error {
	if _, ok := datavenue.CallerFrom(ctx); !ok {
		ctx = datavenue.WithCaller(ctx, audit.SystemCaller)
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		status := "closed"
		if o.Result == matching.OutcomeStopped {
			status = "stopped"
		}
		var winner, price *string
		if o.Result == matching.OutcomeWon {
			w, p := string(o.Winner), o.Price.String()
			winner, price = &w, &p
		}
		tag, err := tx.Exec(ctx, `UPDATE auctions SET status = $2, outcome = $3, winner_id = $4, price = $5::numeric,
			closed_at = $6, stop_reason = nullif($7, '') WHERE id = $1 AND status = 'open'`,
			id, status, o.Result, winner, price, o.ClosedAt, reason)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return appendAudit(ctx, tx, "auction."+status, "auction", id, o)
	})
}

// OpenAuctionsOnAsset lists the open auctions of products derived from an asset that are no
// longer published.
//
// The stopper uses it after a certificate, grant or approval event: an open auction on a product
// that the suspender has taken off the market must be stopped too (D9/G5 revocation stops
// trading).
func (db MatchingStore) OpenAuctionsOnAsset(ctx context.Context, assetID string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `SELECT a.id FROM auctions a
		JOIN product_assets pa ON pa.product_id = a.product_id JOIN products p ON p.id = a.product_id
		WHERE pa.asset_id = $1 AND a.status = 'open' AND p.status <> 'published' ORDER BY a.id`, assetID)
	if err != nil {
		return nil, interpretError(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, interpretError(err)
}

var _ matching.Store = MatchingStore{}

// ComparableTrades summarises the trades of products of one domain and type since a time.
//
// It is the reference a buyer or operator sees when pricing a product (D14 appraisal-based and
// competitive pricing): quartiles of the prices of comparable trades, rounded to the fen. Free-use
// trades (G7, N1 conditional free use) are excluded since a zero price is not a market price.
// percentile_cont returns NULL over no rows, hence the optional quartiles.
func (db MatchingStore) ComparableTrades(ctx context.Context, domain, productType string, since time.Time) (matching.TradeStats, error) {
	s := matching.TradeStats{Since: since}
	var median, q1, q3 *string
	err := db.Pool.QueryRow(ctx, `SELECT count(*),
			(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.price))::numeric(17, 2)::text,
			(percentile_cont(0.25) WITHIN GROUP (ORDER BY t.price))::numeric(17, 2)::text,
			(percentile_cont(0.75) WITHIN GROUP (ORDER BY t.price))::numeric(17, 2)::text
		FROM trades t JOIN products p ON p.id = t.product_id
		WHERE p.domain = $1 AND p.product_type = $2 AND t.traded_at >= $3 AND t.source <> 'free_use'`, domain, productType, since).Scan(&s.Count, &median, &q1, &q3)
	if err != nil {
		return s, interpretError(err)
	}
	for _, v := range []struct {
		src *string
		dst **money.Yuan
	}{{median, &s.Median}, {q1, &s.Q1}, {q3, &s.Q3}} {
		if v.src != nil {
			y := yuan(*v.src)
			*v.dst = &y
		}
	}
	return s, nil
}

// AuctionBids returns an auction's projected bids in sequence order.
func (db MatchingStore) AuctionBids(ctx context.Context, id string) ([]matching.ProjectedBid, error) {
	// Bids are projected from the engine's event stream (projection.go); seq is the engine's order,
	// which is the order the bids were accepted in.
	rows, err := db.Pool.Query(ctx, `SELECT bid_id, buyer_id, amount::text, seq, at, ends_at, bids_after
		FROM auction_bids WHERE auction_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.ProjectedBid, error) {
		var b matching.ProjectedBid
		var amount string
		err := r.Scan(&b.BidID, &b.Buyer, &amount, &b.Seq, &b.At, &b.EndsAt, &b.BidsAfter)
		b.Amount = yuan(amount)
		return b, err
	})
	return list, interpretError(err)
}

// DepositBuyers returns the buyers whose deposit for an auction is recorded and held.
func (db MatchingStore) DepositBuyers(ctx context.Context, id string) ([]datavenue.OrgID, error) {
	rows, err := db.Pool.Query(ctx, `SELECT buyer_id FROM auction_deposits WHERE auction_id = $1 AND outcome = 'held' ORDER BY buyer_id`, id)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[datavenue.OrgID])
	return list, interpretError(err)
}
