package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/webhooks"
)

// PublishRevision publishes a revision of a file product to its active subscribers (see
// subscriptions.RevisionStore). The product is locked FOR SHARE (a suspension waits for the
// revision, and a revision for a suspension), the subscriptions FOR SHARE (a cancellation waits, so
// a subscription cancelled a moment after is still delivered the revision it was active for, and one
// cancelled a moment before gets none). The keys make it exactly once: the version per product, the
// delivery per revision and subscription, the event's dedupe key.
func (db SubscriptionStore) PublishRevision(ctx context.Context, operator datavenue.OrgID, productID string, in subscriptions.RevisionInput,
	deliver func(subscriptions.Subscription) bool) (subscriptions.Revision, error) {
	var out subscriptions.Revision
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var owner datavenue.OrgID
		var status, method string
		err := tx.QueryRow(ctx, `SELECT operator_id, status, coalesce(delivery->>'method', '') FROM products WHERE id = $1 FOR SHARE`, productID).
			Scan(&owner, &status, &method)
		if err == nil && owner != operator {
			err = pgx.ErrNoRows // another operator's product is not there for this one
		}
		if err != nil {
			return notFoundAs(err, datavenue.NotFound("product_not_found", "no product of yours has this id"))
		}
		if method != "file" {
			return datavenue.Conflict("not_a_file_product", "revisions are published for a product delivered as a file; this one is delivered by "+method)
		}
		if status != "published" {
			return datavenue.Conflict("product_not_published", "a revision is published for a product on the market; this one is "+status)
		}
		out = subscriptions.Revision{ID: datavenue.NewID("rev"), ProductID: productID, Version: in.Version, Checksum: in.Checksum,
			URL: in.URL, Description: in.Description, PublishedBy: operator}
		tag, err := tx.Exec(ctx, `INSERT INTO product_revisions (id, product_id, version, checksum, url, description, published_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (product_id, version) DO NOTHING`,
			out.ID, productID, in.Version, in.Checksum, in.URL, in.Description, operator)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return datavenue.Conflict("revision_exists", "this product has a revision "+in.Version+" already")
		}
		if err := tx.QueryRow(ctx, `SELECT published_at FROM product_revisions WHERE id = $1`, out.ID).Scan(&out.PublishedAt); err != nil {
			return err
		}
		subs, err := revisionSubscribers(ctx, tx, productID, deliver)
		if err != nil {
			return err
		}
		out.Deliveries = len(subs)
		return deliverRevision(ctx, tx, out, subs)
	})
	if err != nil {
		return subscriptions.Revision{}, interpretError(err)
	}
	return out, nil
}

// revisionSubscribers locks the product's subscriptions stored as active and keeps those the
// rule delivers to (not expired at the instant).
func revisionSubscribers(ctx context.Context, tx pgx.Tx, productID string, deliver func(subscriptions.Subscription) bool) ([]subscriptions.Subscription, error) {
	rows, err := tx.Query(ctx, `SELECT `+meteredColumns+` FROM subscriptions s WHERE s.product_id = $1 AND s.status = 'active' ORDER BY s.id FOR SHARE`, productID)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.Subscription, error) { return scanMetered(r) })
	if err != nil {
		return nil, err
	}
	var keep []subscriptions.Subscription
	for _, s := range all {
		if deliver(s) {
			keep = append(keep, s)
		}
	}
	return keep, nil
}

// deliverRevision writes one delivery record and one revision.published event per subscription,
// and the audit record.
func deliverRevision(ctx context.Context, tx pgx.Tx, rev subscriptions.Revision, subs []subscriptions.Subscription) error {
	ids, buyers := make([]string, len(subs)), make([]string, len(subs))
	events := make([]webhooks.Event, len(subs))
	for i, s := range subs {
		ids[i], buyers[i] = s.ID, string(s.BuyerID)
		events[i] = webhooks.NewEvent(webhooks.RevisionPublished, "subscription", s.ID, webhooks.Parties{Buyer: s.BuyerID},
			map[string]any{"revision_id": rev.ID, "subscription_id": s.ID, "product_id": rev.ProductID, "version": rev.Version,
				"checksum": rev.Checksum, "url": rev.URL, "description": rev.Description, "published_at": rev.PublishedAt},
			webhooks.RevisionPublished+":"+rev.ID+":"+s.ID)
	}
	if len(subs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO revision_deliveries (revision_id, subscription_id, buyer_id)
			SELECT $1, s, b FROM unnest($2::text[], $3::text[]) AS x(s, b)`, rev.ID, ids, buyers); err != nil {
			return err
		}
		if err := appendWebhookEvents(ctx, tx, events...); err != nil {
			return err
		}
	}
	return appendAudit(ctx, tx, "revision.published", "product", rev.ProductID, map[string]any{"revision": rev, "subscriptions": ids})
}

// ProductOperator is the operator of a product.
func (db SubscriptionStore) ProductOperator(ctx context.Context, productID string) (datavenue.OrgID, error) {
	var op datavenue.OrgID
	err := db.Pool.QueryRow(ctx, `SELECT operator_id FROM products WHERE id = $1`, productID).Scan(&op)
	return op, interpretError(notFoundAs(err, datavenue.NotFound("product_not_found", "no product has this id")))
}

// RevisionReaders is a product's operator and whether org holds or held a subscription to it.
func (db SubscriptionStore) RevisionReaders(ctx context.Context, productID string, org datavenue.OrgID) (datavenue.OrgID, bool, error) {
	var op datavenue.OrgID
	var subscriber bool
	err := db.Pool.QueryRow(ctx, `SELECT p.operator_id, EXISTS (SELECT 1 FROM subscriptions s WHERE s.product_id = p.id AND s.buyer_id = $2)
		FROM products p WHERE p.id = $1`, productID, string(org)).Scan(&op, &subscriber)
	return op, subscriber, interpretError(notFoundAs(err, datavenue.NotFound("product_not_found", "no product has this id")))
}

// ProductRevisions is a keyset page of a product's revisions by id, each with its deliveries'
// count (an index-only count on the deliveries' key).
func (db SubscriptionStore) ProductRevisions(ctx context.Context, productID string, p subscriptions.Page) ([]subscriptions.Revision, error) {
	rows, err := db.Pool.Query(ctx, `SELECT r.id, r.product_id, r.version, r.checksum, r.url, r.description, r.published_by, r.published_at,
			(SELECT count(*) FROM revision_deliveries d WHERE d.revision_id = r.id)
		FROM product_revisions r WHERE r.product_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3`, productID, p.After, clampLimit(p.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.Revision, error) {
		var v subscriptions.Revision
		err := r.Scan(&v.ID, &v.ProductID, &v.Version, &v.Checksum, &v.URL, &v.Description, &v.PublishedBy, &v.PublishedAt, &v.Deliveries)
		return v, err
	})
	return out, interpretError(err)
}

// RevisionDeliveries is a keyset page of the revisions delivered to a subscription, by revision id.
func (db SubscriptionStore) RevisionDeliveries(ctx context.Context, subscriptionID string, p subscriptions.Page) ([]subscriptions.RevisionDelivery, error) {
	rows, err := db.Pool.Query(ctx, `SELECT r.id, d.subscription_id, r.product_id, r.version, r.checksum, r.url, r.description, r.published_at, d.delivered_at
		FROM revision_deliveries d JOIN product_revisions r ON r.id = d.revision_id
		WHERE d.subscription_id = $1 AND d.revision_id > $2 ORDER BY d.revision_id LIMIT $3`, subscriptionID, p.After, clampLimit(p.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.RevisionDelivery, error) {
		var v subscriptions.RevisionDelivery
		err := r.Scan(&v.RevisionID, &v.SubscriptionID, &v.ProductID, &v.Version, &v.Checksum, &v.URL, &v.Description, &v.PublishedAt, &v.DeliveredAt)
		return v, err
	})
	return out, interpretError(err)
}

var _ subscriptions.RevisionStore = SubscriptionStore{}
