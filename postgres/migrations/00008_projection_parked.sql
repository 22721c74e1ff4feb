-- +goose Up
-- Engine stream entries the projection could not apply and will never apply as they are (a
-- reference to a row PostgreSQL does not have, a field that does not decode): parked here with
-- everything needed to apply them later, so the shard's stream moves on (issue 18). An entry is
-- resolved when a retry applies it; it is never deleted, so what was parked stays traceable.
CREATE TABLE projection_parked (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream      text NOT NULL,
    event_id    text NOT NULL,
    shard       int NOT NULL CHECK (shard >= 0),
    fields      jsonb NOT NULL,
    error       text NOT NULL,
    error_code  text NOT NULL,
    attempts    int NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    parked_at   timestamptz NOT NULL DEFAULT now(),
    retried_at  timestamptz,
    resolved_at timestamptz,
    UNIQUE (stream, event_id),
    CHECK (resolved_at IS NULL OR retried_at IS NOT NULL)
);
CREATE INDEX projection_parked_open ON projection_parked (id) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE projection_parked;
