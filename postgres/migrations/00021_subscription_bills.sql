-- +goose Up
-- Billing of subscriptions (issue 15): at each closed period a bill (fixed fee + metered units,
-- capped) becomes a trade of source 'subscription' and its order, settled like any order, its
-- income filed as instalment income (G6). One bill per subscription and period, however often
-- the biller runs.
ALTER TABLE trades DROP CONSTRAINT trades_source_check;
ALTER TABLE trades ADD CONSTRAINT trades_source_check CHECK (source IN ('auction', 'negotiation', 'free_use', 'subscription'));

CREATE TABLE subscription_bills (
    subscription_id text NOT NULL REFERENCES subscriptions (id),
    period_index    int NOT NULL CHECK (period_index >= 0),
    period_start    date NOT NULL,
    period_end      date NOT NULL CHECK (period_end >= period_start),
    units           numeric(24, 6) NOT NULL CHECK (units >= 0),
    unit_price      numeric(17, 2) NOT NULL,
    fixed_fee       numeric(17, 2) NOT NULL,
    metered         numeric(17, 2) NOT NULL,
    total           numeric(17, 2) NOT NULL CHECK (total >= 0),
    capped_by       text[] NOT NULL DEFAULT '{}',
    -- The order the bill became (none for a bill of 0.00: nothing is owed, nothing is settled).
    order_id        text UNIQUE REFERENCES settlement_orders (id),
    billed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, period_index),
    CONSTRAINT subscription_bills_order_when_owed CHECK ((total > 0) = (order_id IS NOT NULL))
);

-- +goose Down
DROP TABLE subscription_bills;
ALTER TABLE trades DROP CONSTRAINT trades_source_check;
ALTER TABLE trades ADD CONSTRAINT trades_source_check CHECK (source IN ('auction', 'negotiation', 'free_use'));
