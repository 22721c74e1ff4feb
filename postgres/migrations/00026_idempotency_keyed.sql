-- Idempotency fingerprints keyed (HMAC-SHA256 under a key derived from the venue's keyring) rather
-- than plain SHA-256 of the request: a request body can hold a secret of the client's choosing (a
-- webhook subscription's signing secret), and a plain hash in a dump could be tested against
-- guesses offline. Rows written before keep their plain hash, marked so, and are compared with the
-- plain hash of a retry until the retention purge removes them.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN request_hash_keyed boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN request_hash_keyed;
