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
    payment_code text NOT NULL UNIQUE, -- the code a unit quotes when it remits (缴款码)
    remitted    numeric(17, 2) NOT NULL DEFAULT 0 CHECK (remitted >= 0),
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

-- Treasury statements imported by clerks, their receipts, and the exceptions a clerk resolves.
CREATE TABLE statement_imports (
    id          text PRIMARY KEY CHECK (id ~ '^imp_[0-9A-Z]{26}$'),
    source_name text NOT NULL,
    rows        int NOT NULL,
    imported_by text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE receipts (
    id            text PRIMARY KEY CHECK (id ~ '^rcp_[0-9A-Z]{26}$'),
    import_id     text NOT NULL REFERENCES statement_imports (id),
    line          int NOT NULL,
    slip_no       text NOT NULL,
    payment_code  text NOT NULL,
    unit_name     text NOT NULL,
    amount        numeric(17, 2) NOT NULL CHECK (amount > 0),
    paid_on       date NOT NULL,
    treasury      text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('matched', 'partial', 'over_paid', 'duplicate', 'unmatched')),
    obligation_id text REFERENCES obligations (id)
);
-- A slip number is one receipt: the same slip again is a duplicate receipt, never a second payment.
CREATE UNIQUE INDEX receipts_one_per_slip ON receipts (slip_no) WHERE outcome <> 'duplicate' AND slip_no <> '';
CREATE TABLE reconciliation_exceptions (
    id            text PRIMARY KEY CHECK (id ~ '^exc_[0-9A-Z]{26}$'),
    kind          text NOT NULL CHECK (kind IN ('partial', 'over_paid', 'duplicate', 'unmatched', 'missing')),
    receipt_id    text REFERENCES receipts (id),
    obligation_id text REFERENCES obligations (id),
    detail        text NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution    text,
    resolved_by   text,
    resolved_at   timestamptz,
    CONSTRAINT reconciliation_exceptions_resolved CHECK ((status = 'resolved') = (resolution IS NOT NULL AND resolved_at IS NOT NULL))
);
-- One open "missing" exception per obligation, however many statements are imported.
CREATE UNIQUE INDEX reconciliation_exceptions_one_missing ON reconciliation_exceptions (obligation_id) WHERE kind = 'missing' AND status = 'open';

-- +goose Down
DROP TABLE reconciliation_exceptions;
DROP TABLE receipts;
DROP TABLE statement_imports;
DROP TABLE vouchers;
DROP TABLE obligations;
DROP TABLE settlement_shares;
DROP TABLE settlement_orders;
DROP TABLE contribution_agreements;
