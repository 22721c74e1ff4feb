package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/subscriptions"
)

// Subscriptions is what the API needs of subscriptions and metered use (issue 15).
type Subscriptions interface {
	Get(ctx context.Context, caller datavenue.Caller, id string) (subscriptions.Subscription, error)
	List(ctx context.Context, caller datavenue.Caller, p subscriptions.Page) ([]subscriptions.Subscription, error)
	Cancel(ctx context.Context, caller datavenue.Caller, id string, in subscriptions.CancelInput) (subscriptions.Subscription, error)
	Ingest(ctx context.Context, caller datavenue.Caller, in subscriptions.BatchInput) (subscriptions.BatchResult, error)
}

// headerUsageSignature carries a usage batch's HMAC (the payment callback's header and scheme).
const headerUsageSignature = "X-Datavenue-Signature"

func (h *handlers) subscriptionRoutes() []Route {
	if h.d.Subscriptions == nil {
		return nil
	}
	id := []Param{{Name: "id", In: "path"}}
	return append(append(h.revisionRoutes(), h.usageReportRoutes()...), []Route{
		{"GET", "/v1/subscriptions", Operation{ID: "listSubscriptions", Tag: "subscriptions",
			Summary: "Subscriptions (a buyer's or an operator's own; clerks, bureaus and auditors all)", Auth: true,
			Params: []Param{limitParam, cursorParam}, Response: Page[subscriptions.Subscription]{}, Errors: []int{422}}, h.listMeteredSubscriptions},
		{"GET", "/v1/subscriptions/:id", Operation{ID: "getSubscription", Tag: "subscriptions", Summary: "A subscription with its term and status",
			Description: "status is active, cancelled or expired (after the last day of a term that does not renew, China Standard Time); ends_on is the current term's last day.",
			Auth:        true, Params: id, Response: subscriptions.Subscription{}, Errors: []int{404}}, h.getMeteredSubscription},
		{"POST", "/v1/subscriptions/:id/cancel", Operation{ID: "cancelSubscription", Tag: "subscriptions", Summary: "Cancel a subscription (its buyer or its operator): delivery stops at once",
			Description: "Use reported for an instant from the cancellation on is refused (subscription_cancelled); use before it still counts. Cancelling a cancelled subscription returns it unchanged; an expired one is 409 subscription_expired.",
			Auth:        true, Params: id, Request: subscriptions.CancelInput{}, Response: subscriptions.Subscription{}, Errors: []int{404, 409}}, h.cancelSubscription},
		{"POST", "/v1/usage-batches", Operation{ID: "reportUsage", Tag: "subscriptions", Summary: "Report metered use (the operator's delivery gateway): a signed, exactly-once batch",
			Description: "Up to 5,000 usage records. Authenticated twice: the operator's bearer token, and `X-Datavenue-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the operator's metering secret " +
				"(derived from DATAVENUE_METERING_SECRET: `datavenue metering-secret <org>`), t within 5 minutes of the venue's clock. " +
				"Exactly once by record_id: a record sent again (a batch retried after a timeout) is answered duplicate and counted once. " +
				"Each record is accepted, duplicate or refused with a reason: subscription_not_found, unit_mismatch, invalid_record, in_future, before_term, subscription_cancelled, subscription_expired, " +
				"product_suspended, authorisation_revoked, product_delisted, period_closed (more than 3 days, China Standard Time, after its period's last day), quota_exceeded (free use), duplicate_in_batch.",
			Auth: true, Request: subscriptions.BatchInput{}, Response: subscriptions.BatchResult{}, Errors: []int{403, 413}, LargeBody: true,
			Params: []Param{{Name: headerUsageSignature, In: "header", Required: true,
				Description: "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under the operator's metering secret>"}}}, h.reportUsage},
	}...)
}

func (h *handlers) listMeteredSubscriptions(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]subscriptions.Subscription, error) {
		return h.d.Subscriptions.List(c.UserContext(), callerOf(c), subscriptions.Page{After: after, Limit: limit})
	}, func(s subscriptions.Subscription) string { return s.ID })
}

func (h *handlers) getMeteredSubscription(c *fiber.Ctx) error {
	s, err := h.d.Subscriptions.Get(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (h *handlers) cancelSubscription(c *fiber.Ctx) error {
	return update(c, h.d.Subscriptions.Cancel)
}

// reportUsage reads a batch only for an operator (the large body is read after the caller is
// known), checks its signature over the exact bytes sent, then ingests it. It is idempotent by its
// records' ids, so the idempotency store is not used (a retried batch is answered duplicates).
func (h *handlers) reportUsage(c *fiber.Ctx) error {
	caller := callerOf(c)
	if caller.Role != datavenue.RoleOperator {
		return datavenue.Forbidden("role_not_allowed", "an operator's delivery gateway reports usage")
	}
	if err := readBodyUpTo(c, h.d.LargeBodyLimit); err != nil {
		return err
	}
	if err := subscriptions.VerifyBatch(h.d.MeteringSecret, caller.Org, c.Body(), c.Get(headerUsageSignature), time.Now()); err != nil {
		return err
	}
	in, err := decodeBatch(c)
	if err != nil {
		return err
	}
	res, err := h.d.Subscriptions.Ingest(c.UserContext(), caller, in)
	if err != nil {
		return err
	}
	return c.JSON(res)
}
