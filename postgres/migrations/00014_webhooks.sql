-- Webhooks for integrators (issue 12): an organisation's subscriptions, the outbox of events
-- written in the transaction of the change each announces, and one delivery per subscription and
-- event, retried with back-off until delivered or given up (dead, and then replayable).

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          text PRIMARY KEY CHECK (id ~ '^whs_[0-9A-Z]{26}$'),
    org_id      text NOT NULL REFERENCES organisations (id),
    url         text NOT NULL CHECK (url ~ '^https?://' AND char_length(url) <= 2000),
    events      text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    secret      text NOT NULL CHECK (char_length(secret) BETWEEN 24 AND 200),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    status      text NOT NULL CHECK (status IN ('active', 'deleted')),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT webhook_subscriptions_deleted CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org_id, id);

-- The outbox. orgs are the organisations the event concerns (webhooks.Recipients): no delivery
-- of it may go to a subscription of any other (the trigger below). dedupe_key makes announcing
-- a fact idempotent: an obligation is announced due once, an order created once, however often
-- the scan or a redelivered projection entry runs. seq orders events; within one resource it is
-- the order of the transactions that changed it (each holds the resource's row lock).
CREATE TABLE webhook_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text NOT NULL UNIQUE CHECK (id ~ '^evt_[0-9A-Z]{26}$'),
    type          text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    resource_type text NOT NULL CHECK (resource_type ~ '^[a-z_]+$'),
    resource_id   text NOT NULL CHECK (char_length(resource_id) BETWEEN 1 AND 100),
    orgs          text[] NOT NULL,
    data          jsonb NOT NULL,
    dedupe_key    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER webhook_events_append_only BEFORE UPDATE OR DELETE ON webhook_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id  text NOT NULL REFERENCES webhook_subscriptions (id),
    org_id           text NOT NULL REFERENCES organisations (id),
    event_seq        bigint NOT NULL REFERENCES webhook_events (seq),
    resource_key     text NOT NULL, -- resource_type:resource_id, what deliveries are ordered within
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         int NOT NULL DEFAULT 0 CHECK (attempts >= 0),       -- since created or last replayed
    next_attempt_at  timestamptz NOT NULL,
    lease            text,          -- the claim of the worker sending it now; its result is recorded only under it
    cycle_started_at timestamptz NOT NULL DEFAULT now(), -- created or last replayed: the give-up window runs from it
    last_attempt_at  timestamptz,
    last_status      int,           -- the receiver's HTTP status, when it answered
    last_error       text CHECK (char_length(last_error) <= 500),
    delivered_at     timestamptz,
    replays          int NOT NULL DEFAULT 0 CHECK (replays >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, event_seq), -- one delivery per subscription and event (a replay re-sends it)
    CONSTRAINT webhook_deliveries_delivered CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
    CONSTRAINT webhook_deliveries_lease CHECK (lease IS NULL OR status = 'pending')
);
-- What the worker claims: due pending deliveries; and what holds a later one back: an earlier
-- pending one of the same subscription and resource.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_resource ON webhook_deliveries (subscription_id, resource_key, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (subscription_id) WHERE status = 'dead';

-- Never to another organisation: a delivery's subscription belongs to one of the organisations
-- its event concerns, and the delivery carries that organisation.
-- +goose StatementBegin
CREATE FUNCTION webhook_delivery_to_party() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions s JOIN webhook_events e ON e.seq = NEW.event_seq
                   WHERE s.id = NEW.subscription_id AND s.org_id = NEW.org_id AND NEW.org_id = ANY (e.orgs)) THEN
        RAISE EXCEPTION 'webhook delivery % of event % to an organisation the event does not concern', NEW.id, NEW.event_seq
            USING ERRCODE = 'check_violation', CONSTRAINT = 'webhook_deliveries_to_party';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER webhook_deliveries_to_party BEFORE INSERT OR UPDATE OF subscription_id, org_id, event_seq ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION webhook_delivery_to_party();

-- +goose Down
DROP TABLE webhook_deliveries;
DROP FUNCTION webhook_delivery_to_party();
DROP TABLE webhook_events;
DROP TABLE webhook_subscriptions;
