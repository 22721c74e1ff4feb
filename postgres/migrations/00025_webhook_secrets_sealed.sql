-- +goose Up
-- Webhook signing secrets are kept sealed (auth.Keyring.Seal: AES-256-GCM under a key derived from
-- the venue's signing keys, bound to the subscription's id), never readable in the database: a dump
-- or a backup alone must not let anyone sign deliveries as the venue. A subscription made before
-- this migration keeps its readable secret until the webhook worker of a venue with the keyring
-- seals it (at its start; webhooks.Worker.SealSecrets); every new one is sealed. Exactly one of the
-- two is set.
ALTER TABLE webhook_subscriptions ADD COLUMN secret_sealed text
    CHECK (secret_sealed ~ '^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$');
ALTER TABLE webhook_subscriptions ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_one_secret
    CHECK ((secret IS NULL) <> (secret_sealed IS NULL));

-- +goose Down
-- The sealed secrets cannot be unsealed here (the key is not in the database): the subscriptions
-- holding one lose their secret, and their receivers must subscribe again.
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_one_secret;
UPDATE webhook_subscriptions SET secret = 'sealed-secret-lost-on-downgrade', status = 'deleted', deleted_at = coalesce(deleted_at, now())
    WHERE secret IS NULL;
ALTER TABLE webhook_subscriptions ALTER COLUMN secret SET NOT NULL;
ALTER TABLE webhook_subscriptions DROP COLUMN secret_sealed;
