package api

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/webhooks"
)

// Webhooks is what the API needs of the webhooks service (webhooks.Service). Health takes no
// caller: only the metrics collector calls it, and /metrics is venue staff's.
type Webhooks interface {
	CreateSubscription(ctx context.Context, caller datavenue.Caller, in webhooks.SubscriptionInput) (webhooks.Subscription, error)
	Subscriptions(ctx context.Context, caller datavenue.Caller, org datavenue.OrgID, after string, limit int) ([]webhooks.Subscription, error)
	Subscription(ctx context.Context, caller datavenue.Caller, id string) (webhooks.Subscription, error)
	DeleteSubscription(ctx context.Context, caller datavenue.Caller, id string) (webhooks.Subscription, error)
	Ping(ctx context.Context, caller datavenue.Caller, id string) (webhooks.Delivery, error)
	Deliveries(ctx context.Context, caller datavenue.Caller, subscriptionID, status string, before int64, limit int) ([]webhooks.Delivery, error)
	Delivery(ctx context.Context, caller datavenue.Caller, id string) (webhooks.Delivery, error)
	Replay(ctx context.Context, caller datavenue.Caller, id string) (webhooks.Delivery, error)
	Health(ctx context.Context) (webhooks.Health, error)
}

// webhooksDescription is the delivery contract a receiver must implement, written once and put in
// the subscription's operation description, where integrators read it in the generated docs.
const webhooksDescription = "Events are POSTed as JSON (`{id, type, sequence, created_at, resource: {type, id}, data}`) with the header " +
	"`Datavenue-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under the subscription's secret>` (the payment " +
	"callback's scheme): verify it, refuse a t more than 5 minutes from your clock, answer 2xx quickly. Delivery is at least once " +
	"(deduplicate on the event id), in order per resource, only of events that concern your organisation; failures are retried after " +
	"10 s, 30 s, 2 min, 10 min, 1 h, 2 h, 4 h, then every 8 h, and given up (dead) after 15 attempts or 72 hours. A delivery " +
	"given up takes the pending later events of its resource with it (they never arrive before it); a replay sends them again, in order."

// webhookRoutes exist only when the venue has the webhooks service (PublishedDocument documents
// them with a stand-in). The create route keeps its answer in the idempotency store with the
// secret blanked (Unkept): a secret is shown once, to the first request, and a replayed answer
// must not hand it to whoever holds the key later, nor keep it at rest in the store.
func (h *handlers) webhookRoutes() []Route {
	if h.d.Webhooks == nil {
		return nil
	}
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/webhooks/subscriptions", Operation{ID: "createWebhookSubscription", Tag: "webhooks", Summary: "Subscribe your organisation's URL to event types",
			Description: "Any role of the organisation but auditor. The answer carries the signing secret, once (give your own in `secret`, or " +
				"the venue makes one). The subscription receives the events committed after it is created. " + webhooksDescription,
			Auth: true, Request: webhooks.SubscriptionInput{}, Response: webhooks.Subscription{}, Status: 201, Errors: []int{403},
			Unkept: []string{"secret"}}, h.createSubscription},
		{"GET", "/v1/webhooks/subscriptions", Operation{ID: "listWebhookSubscriptions", Tag: "webhooks", Summary: "Your organisation's webhook subscriptions (clerks, auditors: any organisation's)",
			Auth: true, Params: []Param{{Name: "org", In: "query", Description: "clerks and auditors: only this organisation's"}, limitParam, cursorParam},
			Response: Page[webhooks.Subscription]{}, Errors: []int{403, 422}}, h.listSubscriptions},
		{"GET", "/v1/webhooks/subscriptions/:id", Operation{ID: "getWebhookSubscription", Tag: "webhooks", Summary: "One webhook subscription (without its secret)",
			Auth: true, Params: id, Response: webhooks.Subscription{}, Errors: []int{404}}, h.getSubscription},
		{"DELETE", "/v1/webhooks/subscriptions/:id", Operation{ID: "deleteWebhookSubscription", Tag: "webhooks", Summary: "Delete a webhook subscription",
			Description: "It receives nothing more; its pending deliveries are given up; its delivery log stays readable. Deleting it again answers it as it is.",
			Auth:        true, Params: id, Response: webhooks.Subscription{}, Errors: []int{403, 404}}, h.deleteSubscription},
		{"POST", "/v1/webhooks/subscriptions/:id/ping", Operation{ID: "pingWebhookSubscription", Tag: "webhooks", Summary: "Send the subscription a test event (webhook.ping)",
			Description: "Whatever event types it names. The answer is the pending delivery; follow it at its Location.",
			Auth:        true, Params: id, Response: webhooks.Delivery{}, Status: 201, Errors: []int{403, 404, 409}}, h.pingSubscription},
		{"GET", "/v1/webhooks/subscriptions/:id/deliveries", Operation{ID: "listWebhookDeliveries", Tag: "webhooks", Summary: "A subscription's delivery log, newest first",
			Auth: true, Params: []Param{{Name: "id", In: "path"}, {Name: "status", In: "query", Description: "pending, delivered or dead",
				Schema: map[string]any{"type": "string", "enum": []string{webhooks.Pending, webhooks.Delivered, webhooks.Dead}}}, limitParam, cursorParam},
			Response: Page[webhooks.Delivery]{}, Errors: []int{404, 422}}, h.listDeliveries},
		{"GET", "/v1/webhooks/deliveries/:id", Operation{ID: "getWebhookDelivery", Tag: "webhooks", Summary: "One webhook delivery: attempts, the receiver's last answer, what happens next",
			Auth: true, Params: id, Response: webhooks.Delivery{}, Errors: []int{404}}, h.getDelivery},
		{"POST", "/v1/webhooks/deliveries/:id/replay", Operation{ID: "replayWebhookDelivery", Tag: "webhooks", Summary: "Send a delivered or dead delivery again",
			Description: "The organisation's own people (not its auditors) and the venue's clerks. It becomes pending, due now, with a fresh " +
				"retry schedule; replaying a dead one also replays the dead deliveries of later events of its resource, so they arrive in order. " +
				"A pending one: 409 delivery_pending.",
			Auth: true, Params: id, Response: webhooks.Delivery{}, Errors: []int{403, 404, 409}}, h.replayDelivery},
	}
}

// createSubscription answers 201 with the signing secret, the only time it is shown: the receiver
// needs it to verify deliveries, and the venue keeps it only to sign them.
func (h *handlers) createSubscription(c *fiber.Ctx) error {
	return create(c, h.d.Webhooks.CreateSubscription, func(s webhooks.Subscription) string { return "/v1/webhooks/subscriptions/" + s.ID })
}

// listSubscriptions: an organisation sees its own subscriptions; the venue's clerks and auditors
// may see any organisation's (org filters them), to help an integrator whose deliveries fail.
func (h *handlers) listSubscriptions(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]webhooks.Subscription, error) {
		return h.d.Webhooks.Subscriptions(c.UserContext(), callerOf(c), datavenue.OrgID(c.Query("org")), after, limit)
	}, func(s webhooks.Subscription) string { return s.ID })
}

// getSubscription never shows the secret again: a receiver that lost it creates a new
// subscription (and deletes the old) rather than reading it back from the venue.
func (h *handlers) getSubscription(c *fiber.Ctx) error {
	s, err := h.d.Webhooks.Subscription(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s)
}

// deleteSubscription answers 200 with the subscription as deleted rather than 204: the answer
// shows when it was deleted, and a repeated DELETE gets the same answer (idempotent by nature).
func (h *handlers) deleteSubscription(c *fiber.Ctx) error {
	s, err := h.d.Webhooks.DeleteSubscription(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s)
}

// pingSubscription queues a test delivery and answers 201 with it while still pending: the
// outcome of a real HTTP call to the receiver is not waited for (the worker sends it), so a slow
// receiver cannot hold the request; the client follows the delivery at its Location.
func (h *handlers) pingSubscription(c *fiber.Ctx) error {
	d, err := h.d.Webhooks.Ping(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return created(c, "/v1/webhooks/deliveries/"+strconv.FormatInt(d.ID, 10), d)
}

// listDeliveries pages the log newest first, like the audit trail: the cursor is the last delivery
// id seen and the next page asks for ids before it.
func (h *handlers) listDeliveries(c *fiber.Ctx) error {
	return paged(c, func(before string, limit int) ([]webhooks.Delivery, error) { // newest first: the cursor is the last id seen
		var beforeID int64
		if before != "" {
			var err error
			if beforeID, err = strconv.ParseInt(before, 10, 64); err != nil {
				return nil, invalidCursor()
			}
		}
		return h.d.Webhooks.Deliveries(c.UserContext(), callerOf(c), c.Params("id"), c.Query("status"), beforeID, limit)
	}, func(d webhooks.Delivery) string { return strconv.FormatInt(d.ID, 10) })
}

// getDelivery shows one delivery with its attempts and the receiver's last answer, so an
// integrator can see why its endpoint refused an event without access to the venue's logs.
func (h *handlers) getDelivery(c *fiber.Ctx) error {
	d, err := h.d.Webhooks.Delivery(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// replayDelivery answers 200 with the delivery, pending again: a replay changes the delivery rather
// than creating one, and the worker is woken to send it at once.
func (h *handlers) replayDelivery(c *fiber.Ctx) error {
	d, err := h.d.Webhooks.Replay(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// webhooksCollector reads the delivery queue at each scrape (from PostgreSQL, so the figures are
// right whichever venue process sends the deliveries).
type webhooksCollector struct {
	webhooks Webhooks
	pending  *prometheus.Desc
	oldest   *prometheus.Desc
	dead     *prometheus.Desc
	up       *prometheus.Desc
}

// newWebhooksCollector describes the queue's metrics: pending and the oldest pending's age show a
// receiver that is down (or a worker that is stuck); dead counts what needs a replay.
func newWebhooksCollector(w Webhooks) *webhooksCollector {
	return &webhooksCollector{webhooks: w,
		pending: prometheus.NewDesc("datavenue_webhook_deliveries_pending", "Webhook deliveries waiting to be sent or retried.", nil, nil),
		oldest: prometheus.NewDesc("datavenue_webhook_oldest_pending_seconds",
			"Age of the oldest pending webhook delivery, from its creation or last replay (0: none waits).", nil, nil),
		dead: prometheus.NewDesc("datavenue_webhook_deliveries_dead", "Webhook deliveries given up and not replayed.", nil, nil),
		up:   prometheus.NewDesc("datavenue_webhook_health_up", "1 when the webhook queue could be read at this scrape.", nil, nil),
	}
}

// Describe lists the descriptors so registration rejects a name clash at start.
func (w *webhooksCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- w.pending
	ch <- w.oldest
	ch <- w.dead
	ch <- w.up
}

// Collect reports up=0 instead of failing the scrape when the queue cannot be read, so the rest
// of the registry is still scraped; the timeout keeps a slow database from stalling the scrape.
func (w *webhooksCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h, err := w.webhooks.Health(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(w.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(w.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(w.pending, prometheus.GaugeValue, float64(h.Pending))
	ch <- prometheus.MustNewConstMetric(w.oldest, prometheus.GaugeValue, h.OldestPendingAge)
	ch <- prometheus.MustNewConstMetric(w.dead, prometheus.GaugeValue, float64(h.Dead))
}
