package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// The webhooks outbox and delivery log (see package webhooks and migration 00014). Events are
// written by appendWebhookEvents in the transaction of the change they announce, and fanned out
// there and then to one delivery per active subscription of an organisation the event concerns
// that names its type: a subscription receives the events committed after it was created.

// fanOut makes the deliveries of the events in the CTE e (seq, type, resource_type,
// resource_id, orgs): one per active subscription of a concerned organisation naming the type.
const fanOut = `INSERT INTO webhook_deliveries (subscription_id, org_id, event_seq, resource_key, status, next_attempt_at)
	SELECT s.id, s.org_id, e.seq, e.resource_type || ':' || e.resource_id, 'pending', now()
	FROM e JOIN webhook_subscriptions s ON s.org_id = ANY (e.orgs) AND s.status = 'active' AND e.type = ANY (s.events)
	ORDER BY e.seq, s.id`

// appendWebhookEvents writes events to the outbox and their deliveries, in tx, in the order
// given; an event whose dedupe key was written before is skipped (announcing a fact twice
// writes it once).
func appendWebhookEvents(ctx context.Context, tx pgx.Tx, events ...webhooks.Event) error {
	if len(events) == 0 {
		return nil
	}
	sql, args, err := webhookStatement(events)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sql, args...)
	return err
}

// queueWebhookEvents is appendWebhookEvents for a batch: the statement is queued, not run.
func queueWebhookEvents(b *pgx.Batch, events ...webhooks.Event) error {
	if len(events) == 0 {
		return nil
	}
	sql, args, err := webhookStatement(events)
	if err == nil {
		b.Queue(sql, args...)
	}
	return err
}

// webhookStatement is the one statement that writes events and fans them out.
func webhookStatement(events []webhooks.Event) (string, []any, error) {
	n := len(events)
	ids, types, rtypes, rids, orgs, data, keys := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	for i, e := range events {
		o, err := json.Marshal(strs(e.Orgs))
		if err != nil {
			return "", nil, err
		}
		d, err := json.Marshal(e.Data)
		if err != nil {
			return "", nil, err
		}
		ids[i], types[i], rtypes[i], rids[i], orgs[i], data[i], keys[i] = e.ID, e.Type, e.ResourceType, e.ResourceID, string(o), string(d), e.DedupeKey
	}
	// The events are inserted in the given order (WITH ORDINALITY ... ORDER BY n), so their seq values
	// follow it and a resource's events are delivered in the order they were announced. Only the
	// events actually inserted (not skipped by the dedupe key) reach the fan-out through RETURNING.
	return `WITH e AS (
			INSERT INTO webhook_events (id, type, resource_type, resource_id, orgs, data, dedupe_key)
			SELECT id, type, rtype, rid, ARRAY(SELECT jsonb_array_elements_text(orgs::jsonb)), data::jsonb, key
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
				WITH ORDINALITY AS x(id, type, rtype, rid, orgs, data, key, n)
			ORDER BY n
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING seq, type, resource_type, resource_id, orgs)
		` + fanOut, []any{ids, types, rtypes, rids, orgs, data, keys}, nil
}

// announceOrder writes an order's event (order.created, payment.recorded, voucher.issued), once
// per order, to its buyer and seller. The resource is the order, so the three arrive in order.
func announceOrder(ctx context.Context, tx pgx.Tx, typ string, o orderFacts, extra map[string]any) error {
	return appendWebhookEvents(ctx, tx, orderEvent(typ, o, extra))
}

// queueOrderEvent is announceOrder for a batch.
func queueOrderEvent(b *pgx.Batch, typ string, o orderFacts, extra map[string]any) error {
	return queueWebhookEvents(b, orderEvent(typ, o, extra))
}

// orderEvent builds an order.* event. The dedupe key "type:order id" is what makes each event
// once per order, even when a payment or a confirmation is retried. The payment fields appear
// once there is a payment.
func orderEvent(typ string, o orderFacts, extra map[string]any) webhooks.Event {
	data := map[string]any{"order_id": o.ID, "trade_id": o.TradeID, "product_id": o.ProductID, "buyer_id": o.Buyer, "seller_id": o.Seller,
		"price": o.Price, "amount_due": o.AmountDue, "currency": "CNY", "status": o.Status, "payment_due": o.PaymentDue}
	if typ != webhooks.OrderCreated {
		data["payment_reference"], data["paid_via"] = o.PaymentRef, o.PaidVia
		if o.ReceivedOn != nil {
			data["received_on"] = *o.ReceivedOn
		}
	}
	for k, v := range extra {
		data[k] = v
	}
	return webhooks.NewEvent(typ, "order", o.ID, webhooks.Parties{Buyer: o.Buyer, Seller: o.Seller}, data, typ+":"+o.ID)
}

// orderFacts are what an order's events say of it, as the transaction announcing them left it:
// the callers have it in hand, so announcing reads nothing.
type orderFacts struct {
	ID, TradeID, ProductID string
	Buyer, Seller          datavenue.OrgID
	Price, AmountDue       string // as money.Yuan prints them
	Status                 string
	PaymentDue             civil.Date
	PaymentRef, PaidVia    string
	ReceivedOn             *civil.Date
}

// factsOf takes an order's facts from a settlement.Order the caller has already read.
func factsOf(o settlement.Order) orderFacts {
	return orderFacts{ID: o.ID, TradeID: o.TradeID, ProductID: o.ProductID, Buyer: o.BuyerID, Seller: o.SellerID, Price: o.Price.String(),
		AmountDue: o.AmountDue.String(), Status: o.Status, PaymentDue: o.PaymentDue, PaymentRef: o.PaymentRef, PaidVia: o.PaidVia, ReceivedOn: o.ReceivedOn}
}

// announceAuctionClosed writes auction.closed, once per auction, to its operator, the product's
// holders, the winner and the buyers who bid or paid a deposit.
func announceAuctionClosed(ctx context.Context, tx pgx.Tx, auctionID string) error {
	var p webhooks.Parties
	var productID, outcome string
	var winner, price *string
	var closedAt *time.Time
	var holders, bidders []string
	if err := tx.QueryRow(ctx, `SELECT a.operator_id, a.product_id, coalesce(a.outcome, ''), a.winner_id, a.price::text, a.closed_at, p.holder_ids,
			ARRAY(SELECT buyer_id FROM auction_bids WHERE auction_id = a.id UNION SELECT buyer_id FROM auction_deposits WHERE auction_id = a.id)
		FROM auctions a JOIN products p ON p.id = a.product_id WHERE a.id = $1`, auctionID).
		Scan(&p.Operator, &productID, &outcome, &winner, &price, &closedAt, &holders, &bidders); err != nil {
		return ignoreNoRows(err) // an auction PostgreSQL does not know: nothing to announce (its trade, if any, parks the entry)
	}
	p.Holders, p.Bidders = orgIDs(holders), orgIDs(bidders)
	data := map[string]any{"auction_id": auctionID, "product_id": productID, "outcome": outcome, "closed_at": closedAt, "currency": "CNY"}
	if winner != nil {
		p.Winner = datavenue.OrgID(*winner)
		data["winner_id"], data["price"] = *winner, *price
	}
	return appendWebhookEvents(ctx, tx, webhooks.NewEvent(webhooks.AuctionClosed, "auction", auctionID, p, data,
		webhooks.AuctionClosed+":"+auctionID))
}

// announceProductSuspended writes product.suspended, once per version of the product, to its
// operator and holders.
func announceProductSuspended(ctx context.Context, tx pgx.Tx, p listing.Product) error {
	data := map[string]any{"product_id": p.ID, "title": p.Title, "status": p.Status, "version": p.Version, "suspension": p.Suspension}
	return appendWebhookEvents(ctx, tx, webhooks.NewEvent(webhooks.ProductSuspended, "product", p.ID,
		webhooks.Parties{Operator: p.OperatorID, Holders: p.HolderIDs}, data,
		webhooks.ProductSuspended+":"+p.ID+":"+strconv.Itoa(p.Version)))
}

// obligationData is an obligation event's data, as SQL over obligations o, so the bulk
// announcement (appendObligationsRemitted) and the scan write the same fields.
const obligationData = `jsonb_build_object('obligation_id', o.id, 'order_id', o.order_id, 'kind', o.kind, 'party_id', o.party_id,
	'counterpart', o.counterpart, 'amount', o.amount::text, 'remitted', o.remitted::text, 'remaining', (o.amount - o.remitted)::text,
	'currency', 'CNY', 'income_kind', o.income_kind, 'due_date', o.due_date, 'status', o.status, 'payment_code', o.payment_code)`

// appendObligationsRemitted announces obligation.remitted, in tx and in one statement, for those
// of obligationIDs that are now fully remitted (status remitted), once per obligation however
// often it is called: the statement import calls it with the obligations a chunk touched, after
// updating them. Recipients: the obligation's party (webhooks.Recipients gives that for every
// obligation event; TestWebhooksEndToEnd checks the two agree). Only parties subscribed to it are
// announced to: this outbox exists for deliveries, a subscription receives only what is announced
// after it was made, so an event nobody subscribes to would never be sent, and a statement paying
// off 100,000 obligations would write 100,000 rows for nobody (a third of the import's time).
func appendObligationsRemitted(ctx context.Context, tx pgx.Tx, obligationIDs []string) error {
	if len(obligationIDs) == 0 {
		return nil
	}
	eventIDs := make([]string, len(obligationIDs))
	for i := range eventIDs {
		eventIDs[i] = datavenue.NewID("evt")
	}
	_, err := tx.Exec(ctx, `WITH e AS (
			INSERT INTO webhook_events (id, type, resource_type, resource_id, orgs, data, dedupe_key)
			SELECT x.event_id, 'obligation.remitted', 'obligation', o.id, ARRAY[o.party_id], `+obligationData+`, 'obligation.remitted:' || o.id
			FROM unnest($1::text[], $2::text[]) AS x(obligation, event_id) JOIN obligations o ON o.id = x.obligation
			WHERE o.id = ANY ($1::text[]) AND o.status = 'remitted' AND EXISTS (SELECT 1 FROM webhook_subscriptions s
				WHERE s.org_id = o.party_id AND s.status = 'active' AND 'obligation.remitted' = ANY (s.events))
			ORDER BY o.id
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING seq, type, resource_type, resource_id, orgs)
		`+fanOut, obligationIDs, eventIDs)
	return err
}

// AnnounceObligationsRemitted is appendObligationsRemitted in a transaction of its own (for
// tests and repairs; the import calls appendObligationsRemitted in its own transaction).
func (db WebhookStore) AnnounceObligationsRemitted(ctx context.Context, obligationIDs []string) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return appendObligationsRemitted(ctx, tx, obligationIDs) })
}

// AnnounceObligations writes obligation.due for open obligations due by dueBy and
// obligation.overdue for those due before overdueBefore, once each (the dedupe key), due before
// overdue. The obligations are locked (skipping those a remittance holds: the next scan sees
// them), so an announcement and a remittance of the same obligation are ordered.
func (db WebhookStore) AnnounceObligations(ctx context.Context, dueBy, overdueBefore civil.Date) (int, error) {
	total := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		total = 0
		// Due and overdue are decided in SQL against the dedupe keys already written, so the scan selects
		// only obligations with something left to announce, and the two flags say which. SKIP LOCKED lets
		// several venue processes scan at once, each taking other obligations, and keeps the scan from
		// waiting behind an import that holds a row.
		rows, err := tx.Query(ctx, `SELECT o.id, o.party_id, `+obligationData+`,
				NOT EXISTS (SELECT 1 FROM webhook_events WHERE dedupe_key = 'obligation.due:' || o.id),
				o.due_date < $2 AND NOT EXISTS (SELECT 1 FROM webhook_events WHERE dedupe_key = 'obligation.overdue:' || o.id)
			FROM obligations o
			WHERE o.status = 'due' AND o.due_date <= $1
				AND (NOT EXISTS (SELECT 1 FROM webhook_events WHERE dedupe_key = 'obligation.due:' || o.id)
					OR o.due_date < $2 AND NOT EXISTS (SELECT 1 FROM webhook_events WHERE dedupe_key = 'obligation.overdue:' || o.id))
			ORDER BY o.due_date, o.id LIMIT 500 FOR UPDATE OF o SKIP LOCKED`, dueBy.Time(), overdueBefore.Time())
		if err != nil {
			return err
		}
		var events []webhooks.Event
		var id string
		var party datavenue.OrgID
		var data json.RawMessage
		var due, overdue bool
		_, err = pgx.ForEachRow(rows, []any{&id, &party, &data, &due, &overdue}, func() error {
			p := webhooks.Parties{Obligated: party}
			if due {
				events = append(events, webhooks.NewEvent(webhooks.ObligationDue, "obligation", id, p, data, webhooks.ObligationDue+":"+id))
			}
			if overdue {
				events = append(events, webhooks.NewEvent(webhooks.ObligationOverdue, "obligation", id, p, data, webhooks.ObligationOverdue+":"+id))
			}
			return nil
		})
		if err != nil {
			return err
		}
		total = len(events)
		return appendWebhookEvents(ctx, tx, events...)
	})
	return total, err
}

// AnnounceCertificateEvent writes a certificates outbox event to the webhooks outbox, once (see
// webhooks.CertificateEvents), with the parties webhooks.Recipients names for its type.
func (db WebhookStore) AnnounceCertificateEvent(ctx context.Context, e certificates.Event) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var p webhooks.Parties
		// The recipients depend on the resource: a certificate concerns its holder and the operators
		// trading on the asset (products not delisted, active grants); an authorisation its operator and
		// the asset's holder; an approval its holder (webhooks.Recipients).
		resource, _, _ := strings.Cut(e.Type, ".")
		var holders, operators []string
		var err error
		switch resource {
		case "certificate":
			err = tx.QueryRow(ctx, `SELECT ARRAY[c.holder_id],
				ARRAY(SELECT p.operator_id FROM products p JOIN product_assets pa ON pa.product_id = p.id
					WHERE pa.asset_id = c.asset_id AND p.status <> 'delisted'
					UNION SELECT operator_id FROM authorisations WHERE asset_id = c.asset_id AND status = 'active')
				FROM certificates c WHERE c.id = $1`, e.SubjectID).Scan(&holders, &operators)
		case "authorisation":
			err = tx.QueryRow(ctx, `SELECT g.operator_id, ARRAY[a.holder_id] FROM authorisations g JOIN assets a ON a.id = g.asset_id
				WHERE g.id = $1`, e.SubjectID).Scan(&p.Operator, &holders)
		case "approval":
			err = tx.QueryRow(ctx, `SELECT ARRAY[holder_id] FROM approvals WHERE id = $1`, e.SubjectID).Scan(&holders)
		}
		if err != nil {
			return err
		}
		p.Holders, p.Operators = orgIDs(holders), orgIDs(operators)
		data := map[string]any{"subject_id": e.SubjectID, "asset_id": e.AssetID, "detail": e.Payload, "occurred_at": e.CreatedAt}
		// The dedupe key is the certificates outbox id, so a redelivery from that outbox (at least once)
		// announces once.
		return appendWebhookEvents(ctx, tx, webhooks.NewEvent(e.Type, resource, e.SubjectID, p, data, "certificates:"+strconv.FormatInt(e.ID, 10)))
	})
}

// CreateSubscription stores a new subscription, audited (without its secret).
func (db WebhookStore) CreateSubscription(ctx context.Context, s webhooks.Subscription) (webhooks.Subscription, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		caller, _ := datavenue.CallerFrom(ctx)
		// The secret is stored sealed (webhooks.SecretBox) so deliveries can be signed with it
		// (ClaimDeliveries reads it for the worker to open), but no read a client reaches returns it
		// (subscriptionColumns leaves it out) and the audit record omits it. A subscription without a
		// sealed secret is refused rather than stored readable.
		if s.SealedSecret == "" {
			return errors.New("postgres: a webhook subscription's secret must be sealed before it is stored")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions (id, org_id, url, events, secret_sealed, description, status, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)`, s.ID, string(s.Org), s.URL, s.Events, s.SealedSecret, s.Description,
			caller.Subject, s.CreatedAt); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "webhook.subscribed", "webhook_subscription", s.ID, map[string]any{"url": s.URL, "events": s.Events})
	}, func(q querier) (webhooks.Subscription, error) {
		return webhookSubscriptionFrom(ctx, q, s.ID)
	})
}

const subscriptionColumns = `id, org_id, url, events, description, status, created_at, deleted_at`

func scanSubscription(row pgx.Row) (webhooks.Subscription, error) {
	var s webhooks.Subscription
	err := row.Scan(&s.ID, &s.Org, &s.URL, &s.Events, &s.Description, &s.Status, &s.CreatedAt, &s.DeletedAt)
	return s, err
}

var errSubscriptionNotFound = datavenue.NotFound("subscription_not_found", "no webhook subscription with this id")

// WebhookSubscription returns one subscription, without its secret.
func (db WebhookStore) WebhookSubscription(ctx context.Context, id string) (webhooks.Subscription, error) {
	return webhookSubscriptionFrom(ctx, db.Pool, id)
}

// webhookSubscriptionFrom is WebhookSubscription read through q: the pool, or the transaction that has just written it (readBack).
func webhookSubscriptionFrom(ctx context.Context, q querier, id string) (webhooks.Subscription, error) {
	s, err := scanSubscription(q.QueryRow(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = $1`, id))
	return s, interpretError(notFoundAs(err, errSubscriptionNotFound))
}

// WebhookSubscriptions lists an organisation's subscriptions ("": every organisation's) in id order.
func (db WebhookStore) WebhookSubscriptions(ctx context.Context, org datavenue.OrgID, after string, limit int) ([]webhooks.Subscription, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions
		WHERE ($1 = '' OR org_id = $1) AND id > $2 ORDER BY id LIMIT $3`, string(org), after, clampLimit(limit))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.Subscription, error) { return scanSubscription(r) })
	return list, interpretError(err)
}

// DeleteSubscription marks a subscription deleted and gives up its pending deliveries, audited;
// deleting it again changes nothing.
func (db WebhookStore) DeleteSubscription(ctx context.Context, id string) (webhooks.Subscription, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET status = 'deleted', deleted_at = now() WHERE id = $1 AND status = 'active'`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		// Pending deliveries of the deleted subscription are marked dead so no worker sends them; the
		// ones already delivered keep their history.
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead', lease = NULL, last_error = 'the subscription was deleted'
			WHERE subscription_id = $1 AND status = 'pending'`, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "webhook.unsubscribed", "webhook_subscription", id, nil)
	}, func(q querier) (webhooks.Subscription, error) {
		return webhookSubscriptionFrom(ctx, q, id)
	})
}

// PingSubscription writes a ping event and its one delivery, to this subscription only, audited.
func (db WebhookStore) PingSubscription(ctx context.Context, subscriptionID string, ev webhooks.Event) (webhooks.Delivery, error) {
	var id int64
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		orgs, _ := json.Marshal(strs(ev.Orgs))
		data, err := json.Marshal(ev.Data)
		if err != nil {
			return err
		}
		// The ping is an ordinary event with one delivery made directly to this subscription (no fan-out),
		// so it exercises the same worker, signature and retry path as real events. No row from the
		// INSERT ... SELECT means the subscription is not active.
		if err := tx.QueryRow(ctx, `WITH e AS (
				INSERT INTO webhook_events (id, type, resource_type, resource_id, orgs, data, dedupe_key)
				VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6::jsonb, $7) RETURNING seq, resource_type, resource_id)
			INSERT INTO webhook_deliveries (subscription_id, org_id, event_seq, resource_key, status, next_attempt_at)
			SELECT s.id, s.org_id, e.seq, e.resource_type || ':' || e.resource_id, 'pending', now()
			FROM e, webhook_subscriptions s WHERE s.id = $8 AND s.status = 'active' RETURNING id`,
			ev.ID, ev.Type, ev.ResourceType, ev.ResourceID, string(orgs), string(data), ev.DedupeKey, subscriptionID).Scan(&id); err != nil {
			return notFoundAs(err, datavenue.Conflict("subscription_deleted", "the subscription is deleted"))
		}
		return appendAudit(ctx, tx, "webhook.pinged", "webhook_subscription", subscriptionID, map[string]any{"delivery_id": id})
	}, func(q querier) (webhooks.Delivery, error) {
		return webhookDeliveryFrom(ctx, q, id)
	})
}

const deliveryColumns = `d.id, d.subscription_id, e.id, e.type, e.seq, e.resource_type, e.resource_id, d.status, d.attempts,
	d.next_attempt_at, d.last_attempt_at, coalesce(d.last_status, 0), coalesce(d.last_error, ''), d.delivered_at, d.replays, d.created_at
	FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq `

// scanDelivery reads one deliveryColumns row; next_attempt_at is meaningful only while pending,
// so it is reported only then.
func scanDelivery(row pgx.Row) (webhooks.Delivery, error) {
	var d webhooks.Delivery
	var next time.Time
	err := row.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Sequence, &d.Resource.Type, &d.Resource.ID, &d.Status, &d.Attempts,
		&next, &d.LastAttemptAt, &d.LastStatus, &d.LastError, &d.DeliveredAt, &d.Replays, &d.CreatedAt)
	if d.Status == webhooks.Pending {
		d.NextAttemptAt = &next
	}
	return d, err
}

// WebhookDelivery returns one delivery.
func (db WebhookStore) WebhookDelivery(ctx context.Context, id int64) (webhooks.Delivery, error) {
	return webhookDeliveryFrom(ctx, db.Pool, id)
}

// webhookDeliveryFrom is WebhookDelivery read through q: the pool, or the transaction that has just written it (readBack).
func webhookDeliveryFrom(ctx context.Context, q querier, id int64) (webhooks.Delivery, error) {
	d, err := scanDelivery(q.QueryRow(ctx, `SELECT `+deliveryColumns+`WHERE d.id = $1`, id))
	return d, interpretError(notFoundAs(err, datavenue.NotFound("delivery_not_found", "no webhook delivery with this id")))
}

// WebhookDeliveries lists a subscription's deliveries, newest first.
func (db WebhookStore) WebhookDeliveries(ctx context.Context, f webhooks.DeliveryFilter) ([]webhooks.Delivery, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+deliveryColumns+`WHERE d.subscription_id = $1 AND ($2 = '' OR d.status = $2)
		AND ($3 = 0 OR d.id < $3) ORDER BY d.id DESC LIMIT $4`, f.SubscriptionID, f.Status, f.Before, clampLimit(f.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.Delivery, error) { return scanDelivery(r) })
	return list, interpretError(err)
}

// ReplayWebhookDelivery makes a delivered or dead delivery pending and due now, with a fresh give-up
// window, audited. Replaying a dead one also replays the dead deliveries of later events of the
// same resource to the same subscription (they died with it, or after it), so the resource's
// events arrive in order again.
func (db WebhookStore) ReplayWebhookDelivery(ctx context.Context, id int64) (webhooks.Delivery, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		var sub, key, status string
		var seq int64
		err := tx.QueryRow(ctx, `SELECT subscription_id, resource_key, status, event_seq FROM webhook_deliveries WHERE id = $1 FOR UPDATE`, id).
			Scan(&sub, &key, &status, &seq)
		if err != nil {
			return notFoundAs(err, datavenue.NotFound("delivery_not_found", "no webhook delivery with this id"))
		}
		if status == webhooks.Pending {
			return datavenue.Conflict("delivery_pending", "the delivery is pending: it will be tried at next_attempt_at")
		}
		// The subscription is locked against its deletion, which would otherwise not see the
		// deliveries made pending here.
		var subStatus string
		if err := tx.QueryRow(ctx, `SELECT status FROM webhook_subscriptions WHERE id = $1 FOR SHARE`, sub).Scan(&subStatus); err != nil {
			return err
		}
		if subStatus != "active" {
			return datavenue.Conflict("subscription_deleted", "the delivery's subscription was deleted: there is nowhere to send it")
		}
		// Replaying resets the attempts and the give-up window (cycle_started_at), so the delivery gets
		// the full retry schedule again.
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), cycle_started_at = now(),
				delivered_at = NULL, lease = NULL, replays = replays + 1
			WHERE id = $1 OR ($2 = 'dead' AND subscription_id = $3 AND resource_key = $4 AND event_seq > $5 AND status = 'dead')`,
			id, status, sub, key, seq)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "webhook.delivery_replayed", "webhook_delivery", strconv.FormatInt(id, 10),
			map[string]any{"subscription_id": sub, "was": status, "replayed": tag.RowsAffected()})
	}, func(q querier) (webhooks.Delivery, error) {
		return webhookDeliveryFrom(ctx, q, id)
	})
}

// ClaimDeliveries leases due deliveries to a worker (see webhooks.Queue).
func (db WebhookStore) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]webhooks.Attempt, error) {
	token := datavenue.NewID("lse")
	var out []webhooks.Attempt
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Pending deliveries that can never be sent are given up first: those of a subscription
		// deleted while a long transaction was fanning events out to it (the deletion could not
		// see them), and those of a resource whose earlier event to the same subscription was given
		// up after they were written (they must not arrive before it; replaying it replays them).
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries d SET status = 'dead', lease = NULL, last_error = 'the subscription was deleted'
			FROM webhook_subscriptions s WHERE s.id = d.subscription_id AND s.status = 'deleted' AND d.status = 'pending'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries d SET status = 'dead', lease = NULL,
				last_error = 'held back: an earlier event of this resource was given up'
			WHERE d.status = 'pending' AND EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.subscription_id = d.subscription_id
				AND p.resource_key = d.resource_key AND p.status = 'dead' AND p.event_seq < d.event_seq)`); err != nil {
			return err
		}
		// The claim is one statement: pick due deliveries whose subscription is active and that have no
		// earlier pending event of the same resource to the same subscription (per-resource order), lock
		// them with SKIP LOCKED so concurrent workers in several processes claim disjoint sets, then set a
		// lease token and push next_attempt_at out by the lease length. If the worker dies, the delivery
		// becomes due again when the lease runs out and another worker claims it: at-least-once delivery.
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.status = 'active'
				WHERE d.status = 'pending' AND d.next_attempt_at <= $1
					AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.subscription_id = d.subscription_id
						AND p.resource_key = d.resource_key AND p.status = 'pending' AND p.event_seq < d.event_seq)
				ORDER BY d.next_attempt_at, d.event_seq LIMIT $2
				FOR UPDATE OF d SKIP LOCKED),
			claimed AS (
				UPDATE webhook_deliveries d SET lease = $3, next_attempt_at = $1::timestamptz + $4::interval
				FROM due WHERE d.id = due.id RETURNING d.id, d.subscription_id, d.event_seq, d.attempts, d.cycle_started_at)
			SELECT c.id, c.subscription_id, s.url, coalesce(s.secret, ''), coalesce(s.secret_sealed, ''), c.attempts, c.cycle_started_at,
				e.id, e.type, e.seq, e.created_at, e.resource_type, e.resource_id, e.data
			FROM claimed c JOIN webhook_subscriptions s ON s.id = c.subscription_id JOIN webhook_events e ON e.seq = c.event_seq
			ORDER BY e.seq`, now, limit, token, lease)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.Attempt, error) {
			a := webhooks.Attempt{Lease: token}
			var data []byte
			err := r.Scan(&a.DeliveryID, &a.SubscriptionID, &a.URL, &a.Secret, &a.SealedSecret, &a.Attempts, &a.CycleStarted,
				&a.Envelope.ID, &a.Envelope.Type, &a.Envelope.Sequence, &a.Envelope.CreatedAt, &a.Envelope.Resource.Type, &a.Envelope.Resource.ID, &data)
			a.Envelope.Data = data
			a.Envelope.CreatedAt = a.Envelope.CreatedAt.UTC()
			return a, err
		})
		return err
	})
	return out, err
}

// SealSecrets seals the readable secrets left from before secrets were sealed (migration 00025),
// in one transaction: the rows are locked, so two venue processes starting together seal each
// secret once (the second finds none left); each is audited without the secret.
func (db WebhookStore) SealSecrets(ctx context.Context, seal func(secret, subscriptionID string) (string, error)) (int, error) {
	sealed := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		sealed = 0
		// FOR NO KEY UPDATE: the key share locks of deliveries being written to these subscriptions
		// (their foreign key) go on meanwhile.
		rows, err := tx.Query(ctx, `SELECT id, secret FROM webhook_subscriptions WHERE secret IS NOT NULL ORDER BY id FOR NO KEY UPDATE`)
		if err != nil {
			return err
		}
		type readable struct{ id, secret string }
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (readable, error) {
			var x readable
			return x, r.Scan(&x.id, &x.secret)
		})
		if err != nil {
			return err
		}
		ctx := datavenue.WithCaller(ctx, audit.SystemCaller)
		for _, x := range list {
			s, err := seal(x.secret, x.id)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET secret_sealed = $2, secret = NULL WHERE id = $1`, x.id, s); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, "webhook.secret_sealed", "webhook_subscription", x.id, map[string]any{}); err != nil {
				return err
			}
			sealed++
		}
		return nil
	})
	return sealed, interpretError(err)
}

// RecordAttempt records what came of an attempt, under its lease (a worker whose lease ran out
// records nothing). A delivery given up takes the pending deliveries of later events of the
// same resource to the same subscription with it: they must not arrive before it.
func (db WebhookStore) RecordAttempt(ctx context.Context, r webhooks.Result) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		status := webhooks.Pending
		var deliveredAt *time.Time
		switch {
		case r.Delivered:
			status, deliveredAt = webhooks.Delivered, &r.At
		case r.Dead:
			status = webhooks.Dead
		}
		next := r.NextAt
		if next.IsZero() {
			next = r.At
		}
		var sub, key string
		var seq int64
		// "lease = $2" is the fence: a worker that took longer than its lease, whose delivery was claimed
		// again by another, updates no row, so a stale result never overwrites a newer one.
		err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, last_attempt_at = $4,
				last_status = nullif($5, 0), last_error = nullif($6, ''), delivered_at = $7, next_attempt_at = $8, lease = NULL
			WHERE id = $1 AND lease = $2 RETURNING subscription_id, resource_key, event_seq`,
			r.DeliveryID, r.Lease, status, r.At, r.Status, r.Error, deliveredAt, next).Scan(&sub, &key, &seq)
		if err != nil || !r.Dead {
			return ignoreNoRows(err) // no row: the lease ran out and another attempt owns the delivery
		}
		// "lease IS NULL" leaves alone a later delivery that another worker is sending right now; it is
		// held back at the next claim instead (the "held back" sweep in ClaimDeliveries).
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead',
				last_error = 'held back: delivery ' || $4 || ' of an earlier event of this resource was given up'
			WHERE subscription_id = $1 AND resource_key = $2 AND event_seq > $3 AND status = 'pending' AND lease IS NULL`,
			sub, key, seq, strconv.FormatInt(r.DeliveryID, 10))
		return err
	})
}

// WebhookHealth counts pending and dead deliveries and the age of the oldest pending one.
func (db WebhookStore) WebhookHealth(ctx context.Context) (webhooks.Health, error) {
	var h webhooks.Health
	// The oldest pending age is measured from the start of the delivery's retry cycle, which is what
	// an operator needs to see a subscriber that has been failing for long.
	err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),
			coalesce((SELECT extract(epoch FROM now() - min(cycle_started_at)) FROM webhook_deliveries WHERE status = 'pending'), 0)::float8,
			(SELECT count(*) FROM webhook_deliveries WHERE status = 'dead')`).Scan(&h.Pending, &h.OldestPendingAge, &h.Dead)
	return h, interpretError(err)
}

var (
	_ webhooks.Store                = WebhookStore{}
	_ webhooks.Queue                = WebhookStore{}
	_ webhooks.CertificateAnnouncer = WebhookStore{}
)
