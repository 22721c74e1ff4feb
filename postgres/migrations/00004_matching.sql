-- Matching: auctions (the system of record; the hot state is in Redis) and the projection of the
-- engine's events: accepted bids, deposits and outcomes.

-- +goose Up
CREATE TABLE auctions (
    id               text PRIMARY KEY CHECK (id ~ '^auc_[0-9A-Z]{26}$'),
    product_id       text NOT NULL REFERENCES products (id),
    operator_id      text NOT NULL REFERENCES organisations (id),
    kind             text NOT NULL CHECK (kind IN ('english', 'sealed_first', 'sealed_second')),
    status           text NOT NULL CHECK (status IN ('open', 'closed', 'stopped')),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL CHECK (ends_at > starts_at),
    reserve          numeric(17, 2) NOT NULL CHECK (reserve > 0),
    opening          numeric(17, 2) NOT NULL CHECK (opening >= 0), -- English: first bid's minimum (起拍价)
    increment        numeric(17, 2) NOT NULL CHECK (increment >= 0),
    anti_snipe_s     int NOT NULL CHECK (anti_snipe_s BETWEEN 0 AND 3600),
    deposit          numeric(17, 2) NOT NULL CHECK (deposit >= 0),
    band_low         numeric(17, 2),
    band_high        numeric(17, 2),
    floor            numeric(17, 2) NOT NULL DEFAULT 0,
    revisable        boolean NOT NULL,
    price_version    int NOT NULL,
    outcome          text CHECK (outcome IN ('won', 'no_sale', 'stopped')),
    winner_id        text REFERENCES organisations (id),
    price            numeric(17, 2),
    closed_at        timestamptz,
    stop_reason      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT auctions_outcome_when_closed CHECK ((status = 'open') = (outcome IS NULL)),
    CONSTRAINT auctions_winner_has_price CHECK ((outcome = 'won') = (winner_id IS NOT NULL AND price IS NOT NULL))
);
-- One open auction per product.
CREATE UNIQUE INDEX auctions_one_open_per_product ON auctions (product_id) WHERE status = 'open';

CREATE TABLE auction_bids (
    auction_id text NOT NULL REFERENCES auctions (id),
    bid_id     text NOT NULL,
    seq        bigint NOT NULL,
    buyer_id   text NOT NULL,
    amount     numeric(17, 2) NOT NULL CHECK (amount > 0),
    at         timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL, -- the auction's end after this bid (anti-sniping moves it)
    bids_after int NOT NULL,         -- the auction's bid count after this bid
    PRIMARY KEY (auction_id, bid_id)
);
CREATE TRIGGER auction_bids_append_only BEFORE UPDATE OR DELETE ON auction_bids
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE auction_deposits (
    auction_id  text NOT NULL REFERENCES auctions (id),
    buyer_id    text NOT NULL,
    ref         text NOT NULL,
    outcome     text NOT NULL DEFAULT 'held' CHECK (outcome IN ('held', 'apply', 'release')),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (auction_id, buyer_id)
);

-- Negotiations (协议约定) as the projection last saw them; the hot state is in Redis.
CREATE TABLE negotiations (
    id         text PRIMARY KEY CHECK (id ~ '^neg_[0-9A-Z]{26}$'),
    product_id text NOT NULL REFERENCES products (id),
    buyer_id   text NOT NULL REFERENCES organisations (id),
    seller_id  text NOT NULL REFERENCES organisations (id),
    status     text NOT NULL CHECK (status IN ('offered', 'countered', 'accepted', 'rejected', 'withdrawn', 'expired')),
    price      numeric(17, 2) NOT NULL CHECK (price >= 0),
    round      int NOT NULL,
    updated_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE negotiation_moves (
    negotiation_id text NOT NULL REFERENCES negotiations (id),
    round          int NOT NULL,
    action         text NOT NULL,
    actor_id       text NOT NULL,
    price          numeric(17, 2),
    at             timestamptz NOT NULL,
    event_id       text PRIMARY KEY
);

-- A trade is an auction won or a negotiation accepted: what settlement turns into an order.
CREATE TABLE trades (
    id             text PRIMARY KEY CHECK (id ~ '^trd_[0-9A-Z]{26}$'),
    source         text NOT NULL CHECK (source IN ('auction', 'negotiation')),
    source_id      text NOT NULL UNIQUE, -- one trade per auction or negotiation, however often projected
    product_id     text NOT NULL REFERENCES products (id),
    buyer_id       text NOT NULL REFERENCES organisations (id),
    seller_id      text NOT NULL REFERENCES organisations (id),
    price          numeric(17, 2) NOT NULL CHECK (price > 0),
    pricing_method text NOT NULL,
    price_version  int NOT NULL,
    traded_at      timestamptz NOT NULL
);
CREATE INDEX trades_product ON trades (product_id, traded_at);

-- Which stream entries the projection has applied: applying one is idempotent on its id.
CREATE TABLE projected_events (
    stream     text NOT NULL,
    event_id   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, event_id)
);

-- +goose Down
DROP TABLE projected_events;
DROP TABLE trades;
DROP TABLE negotiation_moves;
DROP TABLE negotiations;
DROP TABLE auction_deposits;
DROP TABLE auction_bids;
DROP TABLE auctions;
