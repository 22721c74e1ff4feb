-- +goose Up
-- What a subscription bill covers (issue 15): the number of usage records billed and a digest of
-- their ids, fixed when the bill is made (the records of a closed period never change), so the
-- period's voucher can list them and a buyer can check the venue billed exactly the records its
-- gateway reported. The digest is subscriptions.RecordsDigest: SHA-256 over the ids in byte order,
-- one per line.
ALTER TABLE subscription_bills
    ADD COLUMN record_count   bigint NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    ADD COLUMN records_digest text NOT NULL DEFAULT '' CHECK (records_digest = '' OR records_digest ~ '^sha256:[0-9a-f]{64}$');

-- +goose Down
ALTER TABLE subscription_bills DROP COLUMN records_digest, DROP COLUMN record_count;
