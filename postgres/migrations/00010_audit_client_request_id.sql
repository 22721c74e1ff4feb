-- +goose Up
-- The request id of an audit event is always the venue's own (issue 11): a client-sent
-- X-Request-Id is kept beside it, so two organisations' events can never share a request id.
ALTER TABLE audit_events ADD COLUMN client_request_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN client_request_id;
