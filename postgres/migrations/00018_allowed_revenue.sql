-- +goose Up
-- The operator's maximum allowed revenue (最高准许收入, DOMAIN.md N4/N5), set by the authorities (a
-- finance bureau) per operator and calendar year (China Standard Time). Append-only: a new setting
-- for the same operator and year is the next version, and the newest version is in force.
CREATE TABLE allowed_revenues (
    id                 text PRIMARY KEY CHECK (id ~ '^arv_[0-9A-Z]{26}$'),
    operator_id        text NOT NULL REFERENCES organisations (id),
    year               int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    version            int NOT NULL CHECK (version >= 1),
    amount             numeric(17, 2) NOT NULL CHECK (amount >= 0),
    approval_ref       text NOT NULL CHECK (char_length(approval_ref) BETWEEN 1 AND 200),
    pricing_doc_number text NOT NULL DEFAULT '' CHECK (char_length(pricing_doc_number) <= 200),
    set_by_org         text NOT NULL REFERENCES organisations (id),
    set_by             text NOT NULL,
    set_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (operator_id, year, version)
);
CREATE TRIGGER allowed_revenues_append_only BEFORE UPDATE OR DELETE ON allowed_revenues
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The warnings recorded as an operator's revenue approaches, reaches and passes its maximum: one
-- per operator, year and status, so that each is audited once.
CREATE TABLE allowed_revenue_warnings (
    operator_id text NOT NULL REFERENCES organisations (id),
    year        int NOT NULL,
    status      text NOT NULL CHECK (status IN ('approaching', 'reached', 'exceeded')),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator_id, year, status)
);

-- The operator's revenue by year: its shares of orders by the day their money was received.
CREATE INDEX settlement_orders_received ON settlement_orders (received_on) WHERE received_on IS NOT NULL;

-- +goose Down
DROP INDEX settlement_orders_received;
DROP TABLE allowed_revenue_warnings;
DROP TABLE allowed_revenues;
