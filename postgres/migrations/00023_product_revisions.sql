-- +goose Up
-- Revisions of file products sold as a service (issue 15): the operator publishes a revision
-- (a version label, the content's checksum, where to fetch it); each subscription active at that
-- instant gets one delivery record, made in the same transaction, and its buyer one
-- revision.published event. The keys make both exactly once: a version is published once per
-- product, and a subscription is delivered a revision once.
CREATE TABLE product_revisions (
    id           text PRIMARY KEY CHECK (id ~ '^rev_[0-9A-Z]{26}$'),
    product_id   text NOT NULL REFERENCES products (id),
    version      text NOT NULL CHECK (length(version) BETWEEN 1 AND 64),
    checksum     text NOT NULL CHECK (checksum ~ '^sha256:[0-9a-f]{64}$'),
    url          text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    published_by text NOT NULL REFERENCES organisations (id),
    published_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, version),
    CONSTRAINT product_revisions_where CHECK (url <> '' OR description <> '')
);
CREATE INDEX product_revisions_product ON product_revisions (product_id, published_at);

CREATE TABLE revision_deliveries (
    revision_id     text NOT NULL REFERENCES product_revisions (id),
    subscription_id text NOT NULL REFERENCES subscriptions (id),
    buyer_id        text NOT NULL REFERENCES organisations (id),
    delivered_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (revision_id, subscription_id)
);
CREATE INDEX revision_deliveries_subscription ON revision_deliveries (subscription_id, revision_id);

-- +goose Down
DROP TABLE revision_deliveries;
DROP TABLE product_revisions;
