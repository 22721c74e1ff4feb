package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/webhooks"
)

// AppendWebhookEvents is appendWebhookEvents in a transaction of its own, for the tests.
func (db *DB) AppendWebhookEvents(ctx context.Context, events ...webhooks.Event) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return appendWebhookEvents(ctx, tx, events...) })
}
