-- +goose Up
-- Subscriptions and metered use (issue 15, N3): a trade for a product whose pricing carries a
-- subscription plan makes a subscription (one per trade) instead of a one-off order. Only active
-- and cancelled are stored: expiry follows from the term and is computed when read.
CREATE TABLE subscriptions (
    id             text PRIMARY KEY CHECK (id ~ '^sub_[0-9A-Z]{26}$'),
    trade_id       text NOT NULL UNIQUE REFERENCES trades (id),
    product_id     text NOT NULL REFERENCES products (id),
    buyer_id       text NOT NULL REFERENCES organisations (id),
    seller_id      text NOT NULL REFERENCES organisations (id),
    charging_unit  text NOT NULL CHECK (charging_unit IN ('per_call', 'per_time_unit', 'per_volume')),
    unit_price     numeric(17, 2) NOT NULL CHECK (unit_price >= 0),
    fixed_fee      numeric(17, 2) NOT NULL CHECK (fixed_fee >= 0),
    plan_maximum   numeric(17, 2) CHECK (plan_maximum > 0 AND plan_maximum >= fixed_fee),
    quota          numeric(18, 6) CHECK (quota > 0),
    billing_period text NOT NULL CHECK (billing_period IN ('monthly', 'quarterly')),
    term_periods   int NOT NULL CHECK (term_periods BETWEEN 1 AND 36),
    renewal        boolean NOT NULL,
    starts_on      date NOT NULL,
    started_at     timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    cancelled_at   timestamptz,
    cancelled_by   text CHECK (cancelled_by IN ('buyer', 'operator')),
    cancel_reason  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Free use is priced by quota alone (N1): no price, no fee, no maximum; paid use has no quota.
    CONSTRAINT subscriptions_free_by_quota CHECK ((quota IS NOT NULL) = (unit_price = 0 AND fixed_fee = 0 AND plan_maximum IS NULL)),
    CONSTRAINT subscriptions_cancellation CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL AND cancel_reason IS NOT NULL))
);
CREATE INDEX subscriptions_buyer ON subscriptions (buyer_id, id);
CREATE INDEX subscriptions_seller ON subscriptions (seller_id, id);
-- A free-use quota is per buyer (N1): one active free subscription per buyer and product, so a
-- second free order cannot open a second quota.
CREATE UNIQUE INDEX subscriptions_free_once ON subscriptions (buyer_id, product_id) WHERE quota IS NOT NULL AND status = 'active';

-- Usage records, exactly once: the primary key is the operator's record id, so a batch retried
-- after a timeout inserts nothing twice (ON CONFLICT DO NOTHING tells the duplicates apart).
-- period_start is the billing period the use counts in, fixed when it is accepted.
CREATE TABLE usage_records (
    operator_id     text NOT NULL,
    record_id       text NOT NULL CHECK (length(record_id) BETWEEN 1 AND 100),
    subscription_id text NOT NULL REFERENCES subscriptions (id),
    unit            text NOT NULL,
    quantity        numeric(18, 6) NOT NULL CHECK (quantity > 0),
    used_at         timestamptz NOT NULL,
    period_start    date NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator_id, record_id)
);
-- A bill sums a subscription's period; a quota reads the same.
CREATE INDEX usage_records_period ON usage_records (subscription_id, period_start);

-- +goose Down
DROP TABLE usage_records;
DROP TABLE subscriptions;
