-- +goose Up
-- A replayed 201 answers with the Location of what the first request created (issue 12).
ALTER TABLE idempotency_keys ADD COLUMN location text;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN location;
