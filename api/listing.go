package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
)

// Listing is what the API needs of the listing service: the product lifecycle (draft, submitted,
// published, suspended, delisted) behind the publishing gate, versioned prices, and the public
// catalogue (Search, Public, Published), which takes no caller because it is anonymous.
type Listing interface {
	Create(ctx context.Context, caller datavenue.Caller, in listing.Input) (listing.Product, error)
	Update(ctx context.Context, caller datavenue.Caller, id string, version int, in listing.Input) (listing.Product, error)
	Submit(ctx context.Context, caller datavenue.Caller, id string) (listing.Product, error)
	Publish(ctx context.Context, caller datavenue.Caller, id string) (listing.Product, error)
	Reinstate(ctx context.Context, caller datavenue.Caller, id string) (listing.Product, error)
	Suspend(ctx context.Context, caller datavenue.Caller, id string, in listing.SuspendInput) (listing.Product, error)
	Delist(ctx context.Context, caller datavenue.Caller, id string, in listing.SuspendInput) (listing.Product, error)
	ChangePrice(ctx context.Context, caller datavenue.Caller, id string, in listing.PriceInput) (listing.Product, error)
	Get(ctx context.Context, caller datavenue.Caller, id string) (listing.Product, error)
	Products(ctx context.Context, caller datavenue.Caller, f listing.ProductFilter) ([]listing.Product, error)
	// Check is the publishing gate's verdict on a product now, without moving it (the console's
	// checklist; the API's submit and publish answer the same conditions when they refuse).
	Check(ctx context.Context, caller datavenue.Caller, id string) (listing.Product, []datavenue.FieldError, error)
	PriceHistory(ctx context.Context, caller datavenue.Caller, id string) ([]listing.PriceVersion, error)
	Search(ctx context.Context, in listing.SearchInput) (listing.SearchResult, error)
	Public(ctx context.Context, id string) (listing.Product, error)
	Published(ctx context.Context, after string, limit int) ([]listing.Product, error)
}

// PriceCaps is what the API needs of the price caps (上限收费标准, N2–N4).
type PriceCaps interface {
	File(ctx context.Context, caller datavenue.Caller, productID string, in listing.CapInput) (listing.Cap, error)
	List(ctx context.Context, caller datavenue.Caller, productID string) ([]listing.Cap, error)
}

// ProductEdit is the body of a draft edit: the version edited and the new content. The version is
// an optimistic lock, as with asset cards: an edit made on a stale copy is a 409, not a silent
// overwrite of the other editor's change.
type ProductEdit struct {
	Version int `json:"version" jsonschema:"minimum=1"`
	listing.Input
}

// catalogueParams document the public search. Prices are decimal strings in yuan (never JSON
// numbers, which would pass through a float); facets=false spares the facet counts over every
// match when a client only pages through results.
var catalogueParams = []Param{
	{Name: "q", In: "query", Description: "words in Chinese or English (CJK text matches by character pairs, English words by prefix)"},
	{Name: "domain", In: "query"}, {Name: "product_type", In: "query"}, {Name: "pricing_method", In: "query"},
	{Name: "holder", In: "query", Description: "organisation id of a source asset's holder"}, {Name: "use_category", In: "query"},
	{Name: "min_price", In: "query", Description: "yuan, decimal string"}, {Name: "max_price", In: "query", Description: "yuan, decimal string"},
	{Name: "status", In: "query", Description: "published (default) or suspended"},
	{Name: "sort", In: "query", Description: "relevance (default with q), newest (default without), price_asc, price_desc"},
	{Name: "facets", In: "query", Description: "false to skip facet counts"},
	{Name: "limit", In: "query", Description: "1 to 100 (default 20)", Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 100}},
	cursorParam,
}

// listingRoutes: the product routes need a token (operators write, supervisors read all); the
// catalogue routes are public, rate-limited, and cacheable (see cacheable), since what they show
// is published anyway.
func (h *handlers) listingRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	// step and withReason build the lifecycle transitions: each is a POST action on the product
	// (answering the product as it now is), and the transitions that take a product off the
	// market carry a reason, which the audit trail and the supervisors need.
	step := func(opID, path, summary string, fn func(context.Context, datavenue.Caller, string) (listing.Product, error)) Route {
		return Route{"POST", "/v1/products/:id/" + path, Operation{ID: opID, Tag: "products", Summary: summary, Auth: true, Params: id,
			Response: listing.Product{}, Errors: []int{403, 404, 409, 422}}, func(c *fiber.Ctx) error {
			p, err := fn(c.UserContext(), callerOf(c), c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(p)
		}}
	}
	withReason := func(opID, path, summary string, fn func(context.Context, datavenue.Caller, string, listing.SuspendInput) (listing.Product, error)) Route {
		return Route{"POST", "/v1/products/:id/" + path, Operation{ID: opID, Tag: "products", Summary: summary, Auth: true, Params: id,
			Request: listing.SuspendInput{}, Response: listing.Product{}, Errors: []int{403, 404, 409}}, func(c *fiber.Ctx) error {
			return update(c, fn)
		}}
	}
	return []Route{
		{"POST", "/v1/products", Operation{ID: "createProduct", Tag: "products", Summary: "Create a draft data product (operator)", Auth: true,
			Request: listing.Input{}, Response: listing.Product{}, Status: 201, Errors: []int{403}}, h.createProduct},
		{"GET", "/v1/products", Operation{ID: "listProducts", Tag: "products", Summary: "Your products in every status (supervisors: everyone's)", Auth: true,
			Params: []Param{{Name: "status", In: "query"}, limitParam, cursorParam}, Response: Page[listing.Product]{}}, h.listProducts},
		{"GET", "/v1/products/:id", Operation{ID: "getProduct", Tag: "products", Summary: "One product", Auth: true, Params: id,
			Response: listing.Product{}, Errors: []int{404}}, h.getProduct},
		{"PUT", "/v1/products/:id", Operation{ID: "editProduct", Tag: "products", Summary: "Edit a draft (a submitted product returns to draft)", Auth: true,
			Params: id, Request: ProductEdit{}, Response: listing.Product{}, Errors: []int{403, 404, 409}}, h.editProduct},
		step("submitProduct", "submit", "Submit a draft: the publishing gate is checked and every unmet condition listed", func(ctx context.Context, c datavenue.Caller, id string) (listing.Product, error) {
			return h.d.Listing.Submit(ctx, c, id)
		}),
		step("publishProduct", "publish", "Publish a submitted product (gate checked again)", func(ctx context.Context, c datavenue.Caller, id string) (listing.Product, error) {
			return h.d.Listing.Publish(ctx, c, id)
		}),
		step("reinstateProduct", "reinstate", "Put a suspended product back on the market once the gate holds", func(ctx context.Context, c datavenue.Caller, id string) (listing.Product, error) {
			return h.d.Listing.Reinstate(ctx, c, id)
		}),
		withReason("suspendProduct", "suspend", "Suspend a published product (operator or bureau)", func(ctx context.Context, c datavenue.Caller, id string, in listing.SuspendInput) (listing.Product, error) {
			return h.d.Listing.Suspend(ctx, c, id, in)
		}),
		withReason("delistProduct", "delist", "Delist a product for good (operator or bureau)", func(ctx context.Context, c datavenue.Caller, id string, in listing.SuspendInput) (listing.Product, error) {
			return h.d.Listing.Delist(ctx, c, id, in)
		}),
		{"POST", "/v1/products/:id/price", Operation{ID: "changePrice", Tag: "products", Summary: "Change the price: a new price version, the old ones kept", Auth: true,
			Params: id, Request: listing.PriceInput{}, Response: listing.Product{}, Errors: []int{403, 404, 409}}, h.changePrice},
		{"GET", "/v1/products/:id/prices", Operation{ID: "priceHistory", Tag: "products", Summary: "Every price version of a product", Auth: true,
			Params: id, Response: []listing.PriceVersion{}, Errors: []int{404}}, h.priceHistory},
		{"POST", "/v1/products/:id/caps", Operation{ID: "fileCap", Tag: "products", Summary: "File a price cap (上限收费标准) for a product and charging unit (data bureau)",
			Description: "Append-only: the next version for the product and unit. The cap in force on a day is the newest version whose validity covers it. A cap lower than a running auction's is applied at once: bids above it are refused (above_cap), and an auction whose leading bid is above it is stopped (cap_lowered).",
			Auth:        true, Params: id, Request: listing.CapInput{}, Response: listing.Cap{}, Status: 201, Errors: []int{403, 404, 409}}, h.fileCap},
		{"GET", "/v1/products/:id/caps", Operation{ID: "listCaps", Tag: "products", Summary: "Every price cap version of a product", Auth: true,
			Params: id, Response: []listing.Cap{}, Errors: []int{404}}, h.listCaps},
		{"GET", "/v1/catalogue", Operation{ID: "searchCatalogue", Tag: "catalogue", Summary: "Search the public catalogue",
			Description: "Full-text search in Chinese and English, filters, facet counts over all matches, sorting, keyset pagination (next_cursor).",
			Params:      catalogueParams, Response: listing.SearchResult{}, Errors: []int{422, 429}}, h.searchCatalogue},
		{"GET", "/v1/catalogue/:id", Operation{ID: "catalogueProduct", Tag: "catalogue", Summary: "A published product, as the public sees it",
			Params: id, Response: listing.Product{}, Errors: []int{404, 429}}, h.catalogueProduct},
		{"GET", "/v1/catalogue/:id/dcat", Operation{ID: "catalogueProductDCAT", Tag: "catalogue", Summary: "A published product as DCAT-AP JSON-LD",
			Params: id, ContentType: "application/ld+json", Errors: []int{404}}, h.catalogueProductDCAT},
		{"GET", "/v1/catalogue.jsonld", Operation{ID: "catalogueDCAT", Tag: "catalogue", Summary: "The catalogue as a DCAT-AP JSON-LD dcat:Catalog, 500 products a page",
			Description: "Follow hydra:next for the next page.", Params: []Param{cursorParam}, ContentType: "application/ld+json"}, h.catalogueDCAT},
	}
}

func (h *handlers) createProduct(c *fiber.Ctx) error {
	return create(c, h.d.Listing.Create, func(p listing.Product) string { return "/v1/products/" + p.ID })
}

// listProducts is the operator's own list in every status (the supervisors': everyone's); the
// public list of published products is the catalogue search.
func (h *handlers) listProducts(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]listing.Product, error) {
		return h.d.Listing.Products(c.UserContext(), callerOf(c), listing.ProductFilter{Status: c.Query("status"), After: after, Limit: limit})
	}, func(p listing.Product) string { return p.ID })
}

// getProduct is the authenticated view of a product in any status: its operator and the
// supervisors see drafts; anyone else gets 404 for a product not visible to them, as for one that
// does not exist. The public view of a published product is catalogueProduct.
func (h *handlers) getProduct(c *fiber.Ctx) error {
	p, err := h.d.Listing.Get(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// editProduct is written out rather than with update because the version travels in the body next
// to the content, and the service takes it apart from the input.
func (h *handlers) editProduct(c *fiber.Ctx) error {
	var body ProductEdit
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	p, err := h.d.Listing.Update(c.UserContext(), callerOf(c), c.Params("id"), body.Version, body.Input)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// fileCap answers 201 with the product's cap list as the Location: a cap version has no URL of its
// own, and the list shows it beside the versions it supersedes.
func (h *handlers) fileCap(c *fiber.Ctx) error {
	return create(c, onID(c, h.d.Caps.File), func(cp listing.Cap) string { return "/v1/products/" + cp.ProductID + "/caps" })
}

// listCaps returns every cap version of the product (N4: caps are reported and disclosed, N6), not
// paged: versions are filed by a bureau, one at a time, and the list stays short.
func (h *handlers) listCaps(c *fiber.Ctx) error {
	list, err := h.d.Caps.List(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(list)
}

// changePrice answers 200 with the product: the new price version replaces the current price,
// while the old versions stay in the price history (GET .../prices), never overwritten.
func (h *handlers) changePrice(c *fiber.Ctx) error {
	return update(c, h.d.Listing.ChangePrice)
}

// priceHistory lists every price version, oldest kept: a price is never edited in place, so what a
// trade was priced on can always be shown to a supervisor.
func (h *handlers) priceHistory(c *fiber.Ctx) error {
	versions, err := h.d.Listing.PriceHistory(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(versions)
}

// searchCatalogue reads the anonymous catalogue, possibly from the standby (see catalogue). Only
// the parsing of limit is done here; every range and value check is the service's, so the rules
// live in one place (a limit below 1 is passed on as out of range for the service to refuse).
func (h *handlers) searchCatalogue(c *fiber.Ctx) error {
	in := listing.SearchInput{Q: c.Query("q"), Domain: c.Query("domain"), ProductType: c.Query("product_type"),
		PricingMethod: c.Query("pricing_method"), Holder: c.Query("holder"), UseCategory: c.Query("use_category"),
		MinPrice: c.Query("min_price"), MaxPrice: c.Query("max_price"), Status: c.Query("status"), Sort: c.Query("sort"),
		Cursor: c.Query("cursor"), NoFacets: c.Query("facets") == "false"}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return datavenue.Invalid("validation_failed", "invalid query parameter",
				datavenue.FieldError{Field: "limit", Code: "out_of_range", Message: "limit is an integer from 1 to 100"})
		}
		in.Limit = n
		if n < 1 {
			in.Limit = 1000 // refused by the service's range check
		}
	}
	res, err := h.catalogue(c).Search(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// catalogueProduct is the public view: only a published (or suspended) product, without its allow
// and deny lists (they name other organisations), read from the standby for anonymous callers; a
// draft is 404.
func (h *handlers) catalogueProduct(c *fiber.Ctx) error {
	p, err := h.catalogue(c).Public(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// baseURL is the venue's public base URL from its configuration: never the request's Host or
// X-Forwarded-* headers, which anyone can set (a catalogue harvested through "Host: evil.example"
// would carry that host in every identifier).
func (h *handlers) baseURL() string { return h.d.PublicURL }

// operatorName is the publisher name a DCAT document shows; a lookup that fails falls back to the
// id, since a catalogue entry without its operator's name is still better than no entry.
func (h *handlers) operatorName(ctx context.Context, id datavenue.OrgID) string {
	if org, err := h.d.Organisations.Get(ctx, id); err == nil {
		return org.Name
	}
	return string(id)
}

// catalogueProductDCAT is the same product as a DCAT-AP dataset (JSON-LD) for harvesters of open
// data portals; the media type is application/ld+json so that they recognise it.
func (h *handlers) catalogueProductDCAT(c *fiber.Ctx) error {
	p, err := h.catalogue(c).Public(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/ld+json")
	return c.JSON(listing.DCATDocument(p, h.baseURL(), h.operatorName(c.UserContext(), p.OperatorID)), "application/ld+json")
}

// catalogueDCAT is the harvestable catalogue (DCAT-AP, the one JSON-LD answer of the API): a fixed
// page of 500 products, since harvesters follow hydra:next rather than choosing a page size. The
// next link is absolute and built from the configured public URL, as JSON-LD identifiers must be.
// Each operator's name is looked up once per page, however many of its products the page holds.
func (h *handlers) catalogueDCAT(c *fiber.Ctx) error {
	_, after, err := pageParams(c)
	if err != nil {
		return err
	}
	const pageSize = 500
	products, err := h.catalogue(c).Published(c.UserContext(), after, pageSize+1)
	if err != nil {
		return err
	}
	next := ""
	if len(products) > pageSize {
		products, next = products[:pageSize], encodeCursor(products[pageSize-1].ID)
	}
	names := map[string]string{}
	for _, p := range products {
		if _, ok := names[string(p.OperatorID)]; !ok {
			names[string(p.OperatorID)] = h.operatorName(c.UserContext(), p.OperatorID)
		}
	}
	doc := listing.DCATCatalog(products, names, h.baseURL(), h.d.CataloguePublisher)
	if next != "" {
		doc["hydra:next"] = map[string]string{"@id": h.baseURL() + "/v1/catalogue.jsonld?cursor=" + next}
		doc["@context"].(map[string]any)["hydra"] = "http://www.w3.org/ns/hydra/core#"
	}
	return c.Status(http.StatusOK).JSON(doc, "application/ld+json")
}
