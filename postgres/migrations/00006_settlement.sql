-- Settlement: contribution agreements, orders made from trades, and the obligations a government
-- unit's share (to its treasury) and a state enterprise's share (filing with its supervisor) create.

-- +goose Up
CREATE TABLE contribution_agreements (
    product_id text NOT NULL REFERENCES products (id),
    version    int NOT NULL CHECK (version >= 1),
    basis      text NOT NULL CHECK (basis IN ('ratio', 'cost')),
    parties    jsonb NOT NULL, -- [{party, role, weight}]: agreed ratios, or input costs summed over the stages
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, version)
);
CREATE TRIGGER contribution_agreements_append_only BEFORE UPDATE OR DELETE ON contribution_agreements
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE settlement_orders (
    id                text PRIMARY KEY CHECK (id ~ '^ord_[0-9A-Z]{26}$'),
    trade_id          text NOT NULL UNIQUE REFERENCES trades (id),
    product_id        text NOT NULL REFERENCES products (id),
    buyer_id          text NOT NULL REFERENCES organisations (id),
    seller_id         text NOT NULL REFERENCES organisations (id),
    price             numeric(17, 2) NOT NULL CHECK (price > 0),
    deposit_applied   numeric(17, 2) NOT NULL CHECK (deposit_applied >= 0 AND deposit_applied <= price),
    amount_due        numeric(17, 2) NOT NULL,
    agreement_version int, -- the contribution agreement in force when the trade was made
    status            text NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'delivered', 'confirmed', 'cancelled')),
    payment_due       date NOT NULL,
    payment_ref       text UNIQUE,
    paid_at           timestamptz,
    delivery          jsonb,       -- what was delivered: file hash, API credential id, sandbox account
    delivered_at      timestamptz,
    confirmed_at      timestamptz,
    voucher_id        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settlement_orders_due CHECK (amount_due = price - deposit_applied),
    CONSTRAINT settlement_orders_paid CHECK ((status IN ('paid', 'delivered', 'confirmed')) = (paid_at IS NOT NULL AND payment_ref IS NOT NULL)),
    CONSTRAINT settlement_orders_delivered CHECK ((status IN ('delivered', 'confirmed')) = (delivered_at IS NOT NULL AND delivery IS NOT NULL)),
    CONSTRAINT settlement_orders_confirmed CHECK ((status = 'confirmed') = (confirmed_at IS NOT NULL AND voucher_id IS NOT NULL))
);

-- Each party's share of a paid order, as split.
CREATE TABLE settlement_shares (
    order_id text NOT NULL REFERENCES settlement_orders (id),
    party_id text,             -- NULL: the venue's service fee
    role     text NOT NULL,
    amount   numeric(17, 2) NOT NULL CHECK (amount >= 0),
    account  text NOT NULL,
    PRIMARY KEY (order_id, account)
);

CREATE TABLE obligations (
    id          text PRIMARY KEY CHECK (id ~ '^obl_[0-9A-Z]{26}$'),
    order_id    text NOT NULL REFERENCES settlement_orders (id),
    kind        text NOT NULL CHECK (kind IN ('treasury_remittance', 'supervisor_filing')),
    party_id    text NOT NULL REFERENCES organisations (id),
    counterpart text NOT NULL, -- the treasury remitted to, or the supervisor filed with
    amount      numeric(17, 2) NOT NULL CHECK (amount > 0),
    income_kind text NOT NULL CHECK (income_kind IN ('one_off', 'instalment')),
    event_date  date NOT NULL,   -- receipt (one-off) or quarter end (instalment)
    due_date    date NOT NULL CHECK (due_date > event_date),
    status      text NOT NULL CHECK (status IN ('due', 'remitted', 'filed')),
    settled_at  timestamptz,
    UNIQUE (order_id, kind, party_id),
    CONSTRAINT obligations_settled CHECK ((status = 'due') = (settled_at IS NULL))
);
CREATE INDEX obligations_due ON obligations (status, due_date);

-- Delivery vouchers (交易/交付凭证, D15): signed documents in an append-only log where each entry's
-- hash covers the previous entry's, so altering or removing an earlier voucher breaks the chain.
CREATE TABLE vouchers (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    id         text NOT NULL UNIQUE CHECK (id ~ '^vch_[0-9A-Z]{26}$'),
    order_id   text NOT NULL UNIQUE REFERENCES settlement_orders (id),
    document   text NOT NULL,
    prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER vouchers_append_only BEFORE UPDATE OR DELETE ON vouchers
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- +goose Down
DROP TABLE vouchers;
DROP TABLE obligations;
DROP TABLE settlement_shares;
DROP TABLE settlement_orders;
DROP TABLE contribution_agreements;
