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
	}
}

// publishRevision answers 200 with the revision and its delivery count: a revision is not (yet)
// a resource read on its own, so there is no Location to give.
func (h *handlers) publishRevision(c *fiber.Ctx) error {
	return update(c, h.d.Revisions.Publish)
}
