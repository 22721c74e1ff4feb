-- +goose Up
-- The operator's operating costs (DOMAIN.md N3/N6), as it records them for its annual operating
-- report: per operator, calendar year (China Standard Time) and category. Append-only like the
-- caps and the allowed revenue: a new figure for the same operator, year and category is the next
-- version, and the report counts the newest.
CREATE TABLE operating_costs (
    id              text PRIMARY KEY CHECK (id ~ '^cst_[0-9A-Z]{26}$'),
    operator_id     text NOT NULL REFERENCES organisations (id),
    year            int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    category        text NOT NULL CHECK (category IN ('data', 'compute', 'storage', 'labour', 'operations', 'other')),
    version         int NOT NULL CHECK (version >= 1),
    amount          numeric(17, 2) NOT NULL CHECK (amount >= 0),
    note            text NOT NULL DEFAULT '' CHECK (char_length(note) <= 2000),
    recorded_by_org text NOT NULL REFERENCES organisations (id),
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (operator_id, year, category, version)
);
CREATE TRIGGER operating_costs_append_only BEFORE UPDATE OR DELETE ON operating_costs
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The cap sweep looks for caps that begin or end between two days.
CREATE INDEX price_caps_valid_from ON price_caps (valid_from);
CREATE INDEX price_caps_valid_until ON price_caps (valid_until);

-- +goose Down
DROP INDEX price_caps_valid_until;
DROP INDEX price_caps_valid_from;
DROP TABLE operating_costs;
