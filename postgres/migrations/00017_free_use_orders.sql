-- +goose Up
-- Free-use orders (N1, G7): a product whose purpose is public governance or public welfare is
-- obtained at 0.00, with no payment, no split, no ledger posting and no obligation. A zero price
-- is allowed only there: a trade is at 0.00 exactly when its source is free_use, and an order is
-- at 0.00 exactly when it was settled as free use (paid_via free_use), so a paid trade can never
-- clear at zero and a free one never carries a price.
ALTER TABLE trades DROP CONSTRAINT trades_source_check;
ALTER TABLE trades ADD CONSTRAINT trades_source_check CHECK (source IN ('auction', 'negotiation', 'free_use'));
ALTER TABLE trades DROP CONSTRAINT trades_price_check;
ALTER TABLE trades ADD CONSTRAINT trades_price_check CHECK (price >= 0);
ALTER TABLE trades ADD CONSTRAINT trades_free_use_zero CHECK ((price = 0) = (source = 'free_use'));

ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_price_check;
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_price_check CHECK (price >= 0);
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_paid_via_check;
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_paid_via_check CHECK (paid_via IN ('clerk', 'callback', 'free_use'));
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_free_use_zero
    CHECK ((price = 0) = (coalesce(paid_via, '') = 'free_use'));
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_free_use_unsplit
    CHECK (paid_via IS DISTINCT FROM 'free_use' OR (agreement_version IS NULL AND deposit_applied = 0 AND amount_due = 0));

-- +goose Down
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_free_use_unsplit;
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_free_use_zero;
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_paid_via_check;
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_paid_via_check CHECK (paid_via IN ('clerk', 'callback'));
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_price_check;
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_price_check CHECK (price > 0);
ALTER TABLE trades DROP CONSTRAINT trades_free_use_zero;
ALTER TABLE trades DROP CONSTRAINT trades_price_check;
ALTER TABLE trades ADD CONSTRAINT trades_price_check CHECK (price > 0);
ALTER TABLE trades DROP CONSTRAINT trades_source_check;
ALTER TABLE trades ADD CONSTRAINT trades_source_check CHECK (source IN ('auction', 'negotiation'));
