package webhooks

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/datavenue/datavenue"
)

// Delivery is one event to one subscription, and its log: attempts, the receiver's last answer
// and what happens next.
type Delivery struct {
	ID             int64    `json:"id"`
	SubscriptionID string   `json:"subscription_id"`
	EventID        string   `json:"event_id"`
	EventType      string   `json:"event_type"`
	Sequence       int64    `json:"sequence"`
	Resource       Resource `json:"resource"`
	Status         string   `json:"status" jsonschema:"enum=pending,enum=delivered,enum=dead"`
	// Attempts counts the attempts since the delivery was created or last replayed.
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" jsonschema:"description=when a pending delivery is next tried (an earlier event of the same resource may hold it back)"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status_code,omitempty" jsonschema:"description=the receiver's HTTP status at the last attempt, when it answered"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	Replays       int        `json:"replays"`
	CreatedAt     time.Time  `json:"created_at"`
}

// Statuses of a delivery.
const (
	Pending   = "pending"
	Delivered = "delivered"
	Dead      = "dead" // given up (or its subscription deleted); a replay makes it pending again
)

// DeliveryFilter selects a subscription's deliveries, newest first.
type DeliveryFilter struct {
	SubscriptionID string
	Status         string // "" for all
	Before         int64  // the last id of the previous page (0: from the newest)
	Limit          int
}

// Health is what the metrics show of the queue.
type Health struct {
	Pending          int     // deliveries waiting
	OldestPendingAge float64 // seconds since the oldest pending delivery was created or replayed (0: none)
	Dead             int     // deliveries given up and not replayed
}

// Store keeps subscriptions, the outbox and the delivery log. Every change is audited in its own
// transaction.
type Store interface {
	CreateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	WebhookSubscription(ctx context.Context, id string) (Subscription, error)
	WebhookSubscriptions(ctx context.Context, org datavenue.OrgID, after string, limit int) ([]Subscription, error)
	// DeleteSubscription marks it deleted (once) and gives up its pending deliveries.
	DeleteSubscription(ctx context.Context, id string) (Subscription, error)
	// PingSubscription writes ev and its one delivery, to this subscription only.
	PingSubscription(ctx context.Context, subscriptionID string, ev Event) (Delivery, error)
	WebhookDelivery(ctx context.Context, id int64) (Delivery, error)
	WebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// ReplayWebhookDelivery makes a delivered or dead delivery pending again, due now, and with it the
	// dead deliveries of later events of the same resource to the same subscription.
	ReplayWebhookDelivery(ctx context.Context, id int64) (Delivery, error)
	WebhookHealth(ctx context.Context) (Health, error)
}

// SecretBox seals the subscriptions' signing secrets for the store and opens them for the worker
// to sign with (auth.Keyring: see auth.Keyring.Seal). The subscription's id is the context, so a
// sealed secret opens for its own subscription only.
type SecretBox interface {
	Seal(secret, subscriptionID string) (string, error)
	Open(sealed, subscriptionID string) (string, error)
}

var errNoSecretBox = errors.New("webhooks: no SecretBox to seal or open signing secrets with")

// Service is what the API offers of webhooks, with the access rules applied.
type Service struct {
	Store Store
	Clock datavenue.Clock
	// AllowHTTP accepts http:// subscription URLs (DATAVENUE_WEBHOOK_ALLOW_HTTP).
	AllowHTTP bool
	// Wake asks the worker to run now (a ping or a replay); nil: at its next tick.
	Wake func()
	// Secrets seals each new subscription's secret before it is stored.
	Secrets SecretBox
}

var (
	errSubscriptionNotFound = datavenue.NotFound("subscription_not_found", "no webhook subscription with this id is visible to you")
	errDeliveryNotFound     = datavenue.NotFound("delivery_not_found", "no webhook delivery with this id is visible to you")
)

// CreateSubscription subscribes the caller's organisation; the answer carries the secret, once.
func (s Service) CreateSubscription(ctx context.Context, caller datavenue.Caller, in SubscriptionInput) (Subscription, error) {
	if caller.Is(datavenue.RoleAuditor) {
		return Subscription{}, datavenue.Forbidden("role_not_allowed", "auditors read webhooks; they do not subscribe")
	}
	if err := in.Validate(s.AllowHTTP); err != nil {
		return Subscription{}, err
	}
	sub := NewSubscription(caller.Org, in, s.Clock.Now())
	if s.Secrets == nil {
		return Subscription{}, errNoSecretBox
	}
	// The store is given the sealed secret only: the readable one goes back to the caller, once.
	stored := sub
	var err error
	if stored.SealedSecret, err = s.Secrets.Seal(sub.Secret, sub.ID); err != nil {
		return Subscription{}, err
	}
	stored.Secret = ""
	created, err := s.Store.CreateSubscription(ctx, stored)
	if err != nil {
		return Subscription{}, err
	}
	created.Secret = sub.Secret
	return created, nil
}

// Subscription returns one subscription the caller may read.
func (s Service) Subscription(ctx context.Context, caller datavenue.Caller, id string) (Subscription, error) {
	sub, err := s.Store.WebhookSubscription(ctx, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound || err == nil && !MayRead(caller, sub.Org) {
		return Subscription{}, errSubscriptionNotFound
	}
	return sub, err
}

// Subscriptions lists the caller's organisation's subscriptions; clerks and auditors may name
// another organisation, or none for all.
func (s Service) Subscriptions(ctx context.Context, caller datavenue.Caller, org datavenue.OrgID, after string, limit int) ([]Subscription, error) {
	if !caller.Is(datavenue.RoleClerk, datavenue.RoleAuditor) {
		if org != "" && org != caller.Org {
			return nil, datavenue.Forbidden("role_not_allowed", "you read your own organisation's webhooks")
		}
		org = caller.Org
	}
	return s.Store.WebhookSubscriptions(ctx, org, after, limit)
}

// DeleteSubscription stops deliveries to a subscription; deleting it again answers it as it is.
func (s Service) DeleteSubscription(ctx context.Context, caller datavenue.Caller, id string) (Subscription, error) {
	sub, err := s.Subscription(ctx, caller, id)
	if err != nil {
		return sub, err
	}
	if !MayManage(caller, sub.Org) {
		return Subscription{}, datavenue.Forbidden("role_not_allowed", "only the organisation's own people (not its auditors) delete its webhooks")
	}
	if sub.Status == StatusDeleted {
		return sub, nil
	}
	return s.Store.DeleteSubscription(ctx, id)
}

// Ping sends the subscription a webhook.ping event, whatever the event types it names.
func (s Service) Ping(ctx context.Context, caller datavenue.Caller, id string) (Delivery, error) {
	sub, err := s.Subscription(ctx, caller, id)
	if err != nil {
		return Delivery{}, err
	}
	if !MayManage(caller, sub.Org) {
		return Delivery{}, datavenue.Forbidden("role_not_allowed", "only the organisation's own people (not its auditors) ping its webhooks")
	}
	if sub.Status != StatusActive {
		return Delivery{}, datavenue.Conflict("subscription_deleted", "the subscription is deleted")
	}
	now := s.Clock.Now()
	ev := NewEvent(Ping, "subscription", sub.ID, Parties{Subscriber: sub.Org},
		map[string]any{"subscription_id": sub.ID, "sent_at": now}, Ping+":"+datavenue.NewID("png"))
	d, err := s.Store.PingSubscription(ctx, sub.ID, ev)
	if err == nil && s.Wake != nil {
		s.Wake()
	}
	return d, err
}

// Deliveries lists a subscription's deliveries, newest first, by status ("" for all).
func (s Service) Deliveries(ctx context.Context, caller datavenue.Caller, subscriptionID, status string, before int64, limit int) ([]Delivery, error) {
	if status != "" && status != Pending && status != Delivered && status != Dead {
		return nil, datavenue.Invalid("validation_failed", "invalid query parameter",
			datavenue.FieldError{Field: "status", Code: "invalid_value", Message: "status is pending, delivered or dead"})
	}
	if _, err := s.Subscription(ctx, caller, subscriptionID); err != nil {
		return nil, err
	}
	return s.Store.WebhookDeliveries(ctx, DeliveryFilter{SubscriptionID: subscriptionID, Status: status, Before: before, Limit: limit})
}

// Delivery returns one delivery the caller may read.
func (s Service) Delivery(ctx context.Context, caller datavenue.Caller, id string) (Delivery, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return Delivery{}, errDeliveryNotFound
	}
	d, err := s.Store.WebhookDelivery(ctx, n)
	if datavenue.KindOf(err) == datavenue.KindNotFound {
		return Delivery{}, errDeliveryNotFound
	}
	if err != nil {
		return Delivery{}, err
	}
	if _, err := s.Subscription(ctx, caller, d.SubscriptionID); err != nil {
		return Delivery{}, errDeliveryNotFound
	}
	return d, nil
}

// Replay sends a delivered or dead delivery again (see Store.ReplayDelivery).
func (s Service) Replay(ctx context.Context, caller datavenue.Caller, id string) (Delivery, error) {
	d, err := s.Delivery(ctx, caller, id)
	if err != nil {
		return d, err
	}
	sub, err := s.Store.WebhookSubscription(ctx, d.SubscriptionID)
	if err != nil {
		return Delivery{}, err
	}
	switch {
	case !MayReplay(caller, sub.Org):
		return Delivery{}, datavenue.Forbidden("role_not_allowed", "the organisation's own people (not its auditors) and the venue's clerks replay deliveries")
	case sub.Status != StatusActive:
		return Delivery{}, datavenue.Conflict("subscription_deleted", "the subscription is deleted")
	case d.Status == Pending:
		return Delivery{}, datavenue.Conflict("delivery_pending", "the delivery is pending: it will be tried at next_attempt_at")
	}
	d, err = s.Store.ReplayWebhookDelivery(ctx, d.ID)
	if err == nil && s.Wake != nil {
		s.Wake()
	}
	return d, err
}

// Health reads the queue's figures for the metrics.
func (s Service) Health(ctx context.Context) (Health, error) { return s.Store.WebhookHealth(ctx) }
