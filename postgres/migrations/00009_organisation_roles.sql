-- +goose Up
-- The roles each organisation may act in (issue 11): a token naming a role its organisation does
-- not hold is refused. The kind bounds them here too, so no code path can give a buyer the clerk
-- role; existing organisations get their kind's default (bureau, clerk and auditor roles are
-- granted afterwards with `datavenue org roles`, which `datavenue seed` does for the demo).
ALTER TABLE organisations ADD COLUMN roles text[] NOT NULL DEFAULT '{}';
UPDATE organisations SET roles = CASE kind
    WHEN 'buyer' THEN ARRAY['buyer']
    WHEN 'appraiser' THEN ARRAY['appraiser']
    ELSE ARRAY['operator'] END;
ALTER TABLE organisations ADD CONSTRAINT organisations_roles_fit_kind CHECK (roles <@ CASE kind
    WHEN 'government_unit' THEN ARRAY['operator', 'buyer', 'data_bureau', 'finance_bureau', 'auditor']
    WHEN 'state_enterprise' THEN ARRAY['operator', 'buyer', 'clerk', 'auditor']
    WHEN 'operator' THEN ARRAY['operator', 'buyer']
    WHEN 'buyer' THEN ARRAY['buyer']
    WHEN 'appraiser' THEN ARRAY['appraiser']
    ELSE ARRAY[]::text[] END);

-- +goose Down
ALTER TABLE organisations DROP COLUMN roles;
