-- +goose Up
-- An import's receipts are read page by page in line order (a large statement's answer lists the
-- first thousand); one line is one receipt of its import.
CREATE UNIQUE INDEX receipts_import_line ON receipts (import_id, line);

-- +goose Down
DROP INDEX receipts_import_line;
