package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/subscriptions"
)

// Revisions is what the API needs to publish revisions of file products (issue 15).
type Revisions interface {
	Publish(ctx context.Context, caller datavenue.Caller, productID string, in subscriptions.RevisionInput) (subscriptions.Revision, error)
	List(ctx context.Context, caller datavenue.Caller, productID string, p subscriptions.Page) ([]subscriptions.Revision, error)
	Deliveries(ctx context.Context, caller datavenue.Caller, subscriptionID string, p subscriptions.Page) ([]subscriptions.RevisionDelivery, error)
}

func (h *handlers) revisionRoutes() []Route {
	if h.d.Revisions == nil {
		return nil
	}
	return []Route{
		{"POST", "/v1/products/:id/revisions", Operation{ID: "publishRevision", Tag: "subscriptions",
			Summary: "Publish a new revision of a file product (its operator): each active subscriber gets a delivery and a webhook",
			Description: "A version label (once per product: 409 revision_exists), the content's sha256 checksum, and an https URL or a description of where to fetch it. " +
				"Every subscription active at this instant gets one delivery record and its buyer one revision.published event; a cancelled or expired subscription gets none. " +
				"409 not_a_file_product for a product delivered otherwise, product_not_published for one off the market.",
			Auth: true, Params: []Param{{Name: "id", In: "path"}}, Request: subscriptions.RevisionInput{}, Response: subscriptions.Revision{},
			Errors: []int{404, 409}}, h.publishRevision},
		{"GET", "/v1/products/:id/revisions", Operation{ID: "listProductRevisions", Tag: "subscriptions",
			Summary: "A file product's revisions, oldest first (its operator, its subscribers, the book keepers)",
			Description: "Paged by limit and cursor (next_cursor). deliveries is how many subscriptions each revision was delivered to. " +
				"An organisation that holds or held a subscription to the product reads them too; anyone else but the book keepers is answered 404 product_not_found.",
			Auth: true, Params: []Param{{Name: "id", In: "path"}, limitParam, cursorParam}, Response: Page[subscriptions.Revision]{},
			Errors: []int{404, 422}}, h.listProductRevisions},
		{"GET", "/v1/subscriptions/:id/deliveries", Operation{ID: "listRevisionDeliveries", Tag: "subscriptions",
			Summary: "The revisions delivered to a subscription, oldest first (its buyer, its operator, the book keepers)",
			Description: "One per revision published while the subscription was active, with where to fetch it and its checksum. Paged by limit and cursor (next_cursor). " +
				"Anyone but the subscription's parties and the book keepers is answered 404 subscription_not_found.",
			Auth: true, Params: []Param{{Name: "id", In: "path"}, limitParam, cursorParam}, Response: Page[subscriptions.RevisionDelivery]{},
			Errors: []int{404, 422}}, h.listRevisionDeliveries},
	}
}

func (h *handlers) listProductRevisions(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]subscriptions.Revision, error) {
		return h.d.Revisions.List(c.UserContext(), callerOf(c), c.Params("id"), subscriptions.Page{After: after, Limit: limit})
	}, func(r subscriptions.Revision) string { return r.ID })
}

func (h *handlers) listRevisionDeliveries(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]subscriptions.RevisionDelivery, error) {
		return h.d.Revisions.Deliveries(c.UserContext(), callerOf(c), c.Params("id"), subscriptions.Page{After: after, Limit: limit})
	}, func(d subscriptions.RevisionDelivery) string { return d.RevisionID })
}

// publishRevision answers 200 with the revision and its delivery count: a revision is not (yet)
// a resource read on its own, so there is no Location to give.
func (h *handlers) publishRevision(c *fiber.Ctx) error {
	return update(c, h.d.Revisions.Publish)
}
