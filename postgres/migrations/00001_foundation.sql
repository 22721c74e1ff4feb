-- Foundation: organisations, the audit trail and idempotency keys.
-- Landed migrations are never edited: add a new numbered file instead.

-- +goose Up

-- uscc_valid checks a unified social credit code (GB 32100-2015), check character included, so
-- the table refuses a bad code even if application code forgot to validate it.
-- +goose StatementBegin
CREATE FUNCTION uscc_valid(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    alphabet CONSTANT text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    weights CONSTANT int[] := ARRAY[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28];
    total int := 0;
BEGIN
    IF code !~ '^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..17 LOOP
        total := total + (strpos(alphabet, substr(code, i, 1)) - 1) * weights[i];
    END LOOP;
    RETURN substr(alphabet, (31 - total % 31) % 31 + 1, 1) = substr(code, 18, 1);
END
$$;
-- +goose StatementEnd

CREATE TABLE organisations (
    id           text PRIMARY KEY CHECK (id ~ '^org_[0-9A-Z]{26}$'),
    uscc         text NOT NULL UNIQUE CHECK (uscc_valid(uscc)),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    name_en      text NOT NULL DEFAULT '' CHECK (char_length(name_en) <= 200),
    kind         text NOT NULL CHECK (kind IN ('government_unit', 'state_enterprise', 'operator', 'buyer', 'appraiser')),
    fiscal_level text CHECK (fiscal_level IN ('central', 'provincial', 'municipal', 'county', 'township')),
    treasury     text CHECK (char_length(treasury) BETWEEN 1 AND 200),
    supervisor   text CHECK (char_length(supervisor) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- A government unit's share is remitted to the treasury of its fiscal level (收支两条线): it must
    -- have both; nobody else may.
    CONSTRAINT organisations_government_treasury CHECK (
        (kind = 'government_unit') = (fiscal_level IS NOT NULL AND treasury IS NOT NULL)
        AND (kind = 'government_unit' OR (fiscal_level IS NULL AND treasury IS NULL))),
    CONSTRAINT organisations_supervisor_state_enterprise CHECK (supervisor IS NULL OR kind = 'state_enterprise')
);
CREATE INDEX organisations_kind_id ON organisations (kind, id);

CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_org     text NOT NULL,
    actor_role    text NOT NULL,
    actor_subject text NOT NULL,
    actor_issuer  text NOT NULL DEFAULT '',
    request_id    text NOT NULL DEFAULT '',
    action        text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_.]+$'),
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org ON audit_events (actor_org, id);
CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_id, id);

-- The trail is append-only: even the venue's own database user cannot rewrite history.
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    state        text NOT NULL CHECK (state IN ('started', 'completed')),
    locked_until timestamptz,
    status       int CHECK (status BETWEEN 100 AND 599),
    content_type text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (scope, key),
    CONSTRAINT idempotency_keys_completed_has_response CHECK ((state = 'completed') = (status IS NOT NULL AND completed_at IS NOT NULL))
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE organisations;
DROP FUNCTION uscc_valid(text);
