-- +goose Up
-- Prices under the national rules (发改价格〔2025〕65号, DOMAIN.md N1–N3).
-- N1: every scenario authorisation names its purpose of use; public governance and public welfare
-- are free, industry (and sector) development is paid. Authorisations granted before this
-- migration were all for paid trading.
ALTER TABLE authorisations ADD COLUMN purpose text NOT NULL DEFAULT 'industry'
    CHECK (purpose IN ('public_governance', 'public_welfare', 'industry'));
ALTER TABLE authorisations ALTER COLUMN purpose DROP DEFAULT;

-- N2–N4: the authorising body's cap per product and charging unit (上限收费标准). Append-only:
-- a new filing for the same product and unit is the next version; the cap in force on a day is
-- the newest version whose validity covers it.
CREATE TABLE price_caps (
    id                 text PRIMARY KEY CHECK (id ~ '^cap_[0-9A-Z]{26}$'),
    product_id         text NOT NULL REFERENCES products (id),
    charging_unit      text NOT NULL CHECK (charging_unit IN ('one_off', 'per_call', 'per_time_unit', 'per_volume')),
    version            int NOT NULL CHECK (version >= 1),
    amount             numeric(17, 2) NOT NULL CHECK (amount > 0),
    approval_ref       text NOT NULL CHECK (char_length(approval_ref) BETWEEN 1 AND 200),
    pricing_doc_number text NOT NULL DEFAULT '' CHECK (char_length(pricing_doc_number) <= 200),
    valid_from         date NOT NULL,
    valid_until        date NOT NULL,
    filed_by_org       text NOT NULL REFERENCES organisations (id),
    filed_by           text NOT NULL,
    filed_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT price_caps_valid_dates CHECK (valid_until >= valid_from),
    UNIQUE (product_id, charging_unit, version)
);

-- +goose StatementBegin
CREATE FUNCTION price_caps_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'price caps are append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER price_caps_append_only BEFORE UPDATE OR DELETE ON price_caps
    FOR EACH ROW EXECUTE FUNCTION price_caps_append_only();

-- +goose Down
DROP TABLE price_caps;
DROP FUNCTION price_caps_append_only();
ALTER TABLE authorisations DROP COLUMN purpose;
