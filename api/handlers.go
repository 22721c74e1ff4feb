package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/parties"
)

// handlers holds what every handler needs: the services (d), the Prometheus handler behind
// /metrics and the OpenAPI document and docs page,
// built once on first request (the reflection over every route's types is costly, and the route
// table does not change while the process runs).
type handlers struct {
	d              Deps
	metricsHandler fiber.Handler
	docsOnce       sync.Once
	docJSON        []byte
	docHTML        []byte
}

// limitParam and cursorParam are the paging parameters every list shares (see paged), declared
// once so the document describes them the same way on every list.
var (
	limitParam  = Param{Name: "limit", In: "query", Description: "page size, 1 to 500 (default 50)", Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 500}}
	cursorParam = Param{Name: "cursor", In: "query", Description: "next_cursor from the previous page"}
)

// routes is the venue's route table: every endpoint with its OpenAPI description. The same table
// is mounted by New, checked against the access policy there, rendered into /openapi.json and
// /docs, and read by the contract and authorisation-matrix tests, so a route cannot exist without
// its documentation and its rule.
func (h *handlers) routes() []Route {
	routes := h.baseRoutes()
	routes = append(routes, h.assetRoutes()...)
	routes = append(routes, h.certificateRoutes()...)
	routes = append(routes, h.grantRoutes()...)
	routes = append(routes, h.listingRoutes()...)
	routes = append(routes, h.auctionRoutes()...)
	routes = append(routes, h.negotiationRoutes()...)
	routes = append(routes, h.guidanceRoutes()...)
	routes = append(routes, h.feedRoutes()...)
	routes = append(routes, h.settlementRoutes()...)
	routes = append(routes, h.revenueRoutes()...)
	routes = append(routes, h.disclosureRoutes()...)
	routes = append(routes, h.voucherRoutes()...)
	routes = append(routes, h.subscriptionRoutes()...)
	routes = append(routes, h.reconciliationRoutes()...)
	routes = append(routes, h.projectionRoutes()...)
	routes = append(routes, h.webhookRoutes()...)
	return routes
}

// baseRoutes are the operational endpoints (health, readiness, keys, documents, metrics) and the
// organisations and audit trail, which belong to no single domain.
func (h *handlers) baseRoutes() []Route {
	routes := []Route{
		{"GET", "/healthz", Operation{ID: "health", Tag: "operations", Summary: "Liveness: the process is up", Response: Status{}, Unmetered: true}, h.health},
		{"GET", "/readyz", Operation{ID: "ready", Tag: "operations", Summary: "Readiness: PostgreSQL and Redis answer",
			Description: "503 not_ready when PostgreSQL or Redis does not answer. 200 degraded when the venue serves but its projection " +
				"of engine events into PostgreSQL does not keep up (an event parked, or one waiting longer than DATAVENUE_PROJECTION_LAG_LIMIT): " +
				"trading goes on, but trades behind it do not become orders until it is handled; `degraded` says where. " +
				"Also degraded when the catalogue's read replica (DATAVENUE_DATABASE_READ_URL) is unreachable or further behind than " +
				"DATAVENUE_READ_MAX_LAG: catalogue reads then go to the primary.",
			Response: Readiness{}, Errors: []int{503}}, h.ready},
		{"GET", "/.well-known/jwks.json", Operation{ID: "jwks", Tag: "operations", Summary: "The venue's public signing keys (JWKS)",
			Description: "Verifies the venue's tokens and, offline, its signed documents. Keys stay published after rotation.", ContentType: "application/jwk-set+json"}, h.jwks},
		{"GET", "/openapi.json", Operation{ID: "openapi", Tag: "operations", Summary: "This OpenAPI 3.1 document"}, h.openapi},
		{"GET", "/docs", Operation{ID: "docs", Tag: "operations", Summary: "Human-readable API documentation", ContentType: "text/html"}, h.docs},
		{"GET", "/v1/me", Operation{ID: "me", Tag: "identity", Summary: "Who the bearer token says the caller is", Auth: true, Response: Me{}}, h.me},
		{"POST", "/v1/organisations", Operation{ID: "registerOrganisation", Tag: "organisations", Summary: "Register an organisation",
			Description: "Data or finance bureau only. The unified social credit code is checked (GB 32100-2015, check character included).",
			Auth:        true, Request: parties.Registration{}, Response: parties.Organisation{}, Status: 201, Errors: []int{403, 409}}, h.registerOrganisation},
		{"GET", "/v1/organisations", Operation{ID: "listOrganisations", Tag: "organisations", Summary: "List organisations", Auth: true,
			Params:   []Param{{Name: "kind", In: "query", Description: "only this kind"}, limitParam, cursorParam},
			Response: Page[parties.Organisation]{}, Errors: []int{422}}, h.listOrganisations},
		{"GET", "/v1/organisations/:id", Operation{ID: "getOrganisation", Tag: "organisations", Summary: "One organisation", Auth: true,
			Params: []Param{{Name: "id", In: "path"}}, Response: parties.Organisation{}, Errors: []int{404}}, h.getOrganisation},
		{"GET", "/v1/audit-events", Operation{ID: "listAuditEvents", Tag: "audit", Summary: "The audit trail, newest first",
			Description: "Auditors see every event; other roles see what their own organisation's callers did.", Auth: true,
			Params:   []Param{{Name: "resource_type", In: "query"}, {Name: "resource_id", In: "query"}, limitParam, cursorParam},
			Response: Page[audit.Event]{}, Errors: []int{422}}, h.listAudit},
	}
	if !h.d.MetricsElsewhere {
		routes = append(routes, Route{"GET", "/metrics", Operation{ID: "metrics", Tag: "operations", Summary: "Prometheus metrics (clerks, auditors)",
			Description: "Needs a clerk's or an auditor's token (a scraper sends one as its bearer token), unless the venue serves metrics " +
				"on a listen address of their own (DATAVENUE_METRICS_LISTEN), where they need none and this route does not exist.",
			Auth: true, ContentType: "text/plain", Errors: []int{403}}, h.metrics})
	}
	return routes
}

// metrics serves the registry to venue staff only: the counters name routes, organisations' revenue
// against their maximum and the queue lengths, which are not public.
func (h *handlers) metrics(c *fiber.Ctx) error {
	if !callerOf(c).Is(access.VenueStaff...) {
		return datavenue.Forbidden("role_not_allowed", "clerks and auditors read the venue's metrics")
	}
	return h.metricsHandler(c)
}

// Status is a plain status answer.
type Status struct {
	Status string `json:"status"`
}

// health is liveness only: it touches no dependency, so an orchestrator does not restart a healthy
// process because PostgreSQL or Redis is down (that is what /readyz reports).
func (h *handlers) health(c *fiber.Ctx) error { return c.JSON(Status{Status: "ok"}) }

// Readiness lists each dependency's state: "ok", "unreachable" (not_ready), "degraded" or
// "unknown" (its health could not be read, which counts as degraded, not as down).
type Readiness struct {
	Status string            `json:"status" jsonschema:"enum=ready,enum=degraded,enum=not_ready"`
	Checks map[string]string `json:"checks"`
	// Degraded says what does not keep up, when Status is degraded.
	Degraded []string `json:"degraded,omitempty"`
}

// ready answers 503 only when a dependency the venue cannot serve without is down (a load balancer
// then takes the instance out); everything that lets it serve but needs an operator (the
// projection lagging, the calendar running out, the replica behind) is 200 "degraded", so a
// warning never takes the whole venue out of rotation. The projection and the advisories are not
// consulted once a dependency is down.
func (h *handlers) ready(c *fiber.Ctx) error {
	// The whole probe shares one short deadline: a load balancer's probe must not hang on a
	// dependency that does not answer.
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	res := Readiness{Status: "ready", Checks: map[string]string{}}
	for _, chk := range h.d.Ready {
		if err := chk.Ping(ctx); err != nil {
			res.Status, res.Checks[chk.Name] = "not_ready", "unreachable"
			continue
		}
		res.Checks[chk.Name] = "ok"
	}
	if h.d.Projection != nil && res.Status == "ready" {
		health, err := h.d.Projection.Health(ctx)
		switch {
		case err != nil:
			res.Status, res.Checks["projection"], res.Degraded = "degraded", "unknown", []string{"projection health unreadable"}
		case len(health.Degraded) > 0:
			res.Status, res.Checks["projection"], res.Degraded = "degraded", "degraded", health.Degraded
		default:
			res.Checks["projection"] = "ok"
		}
	}
	for _, a := range h.d.Advisories {
		if res.Status == "not_ready" {
			break
		}
		warnings, err := a.Check(ctx)
		switch {
		case err != nil:
			res.Status, res.Checks[a.Name] = "degraded", "unknown"
			res.Degraded = append(res.Degraded, a.Name+" unreadable")
		case len(warnings) > 0:
			res.Status, res.Checks[a.Name] = "degraded", "degraded"
			res.Degraded = append(res.Degraded, warnings...)
		default:
			res.Checks[a.Name] = "ok"
		}
	}
	h.replicaReadiness(&res)
	if res.Status == "not_ready" {
		// Retry-After tells a client (and a well-behaved balancer) when probing again makes sense.
		c.Set(fiber.HeaderRetryAfter, "5")
		return c.Status(http.StatusServiceUnavailable).JSON(res)
	}
	return c.JSON(res)
}

// jwks publishes the venue's public keys (retired ones included, so old certificates and vouchers
// still verify offline). Five minutes of caching bounds how long a verifier can miss a new key.
func (h *handlers) jwks(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	return c.Send(h.d.JWKS())
}

// buildDocs builds the document and the page once, on the first request for either, not at start:
// most apps built (in the tests above all) never serve them. The error is ignored because the
// document is made of maps, strings, numbers and plain structs, which always marshal.
func (h *handlers) buildDocs() {
	h.docsOnce.Do(func() {
		doc := Document(h.routes(), h.d.Version, h.d.PublicURL)
		h.docJSON, _ = jsonMarshal(doc)
		h.docHTML = renderDocs(h.routes(), h.d.Version)
	})
}

func (h *handlers) openapi(c *fiber.Ctx) error {
	h.buildDocs()
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(h.docJSON)
}

func (h *handlers) docs(c *fiber.Ctx) error {
	h.buildDocs()
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(h.docHTML)
}

// Me is the caller as the venue sees it.
type Me struct {
	Subject string          `json:"subject"`
	Issuer  string          `json:"issuer"`
	Role    datavenue.Role  `json:"role"`
	Org     datavenue.OrgID `json:"org"`
}

// me echoes what the token says after authentication (and the role gate) accepted it: a client's
// way to check its token and organisation without trying a real operation.
func (h *handlers) me(c *fiber.Ctx) error {
	caller := callerOf(c)
	return c.JSON(Me{Subject: caller.Subject, Issuer: caller.Issuer, Role: caller.Role, Org: caller.Org})
}

// registerOrganisation, listOrganisations and getOrganisation are thin: the bureau-only rule, the
// credit-code check and the refusal of privileged roles at registration are the parties service's.
func (h *handlers) registerOrganisation(c *fiber.Ctx) error {
	return create(c, h.d.Organisations.Register, func(o parties.Organisation) string { return "/v1/organisations/" + string(o.ID) })
}

func (h *handlers) listOrganisations(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]parties.Organisation, error) {
		return h.d.Organisations.List(c.UserContext(), parties.ListFilter{Kind: parties.Kind(c.Query("kind")), After: datavenue.OrgID(after), Limit: limit})
	}, func(o parties.Organisation) string { return string(o.ID) })
}

func (h *handlers) getOrganisation(c *fiber.Ctx) error {
	org, err := h.d.Organisations.Get(c.UserContext(), datavenue.OrgID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(org)
}

// listAudit pages the audit trail newest first, so its cursor is the last event id seen and the
// next page asks for ids before it (audit ids are sequential integers, unlike the other lists'
// ULID-ordered ids). Who sees what (auditors everything, others their organisation) is the service's.
func (h *handlers) listAudit(c *fiber.Ctx) error {
	return paged(c, func(before string, limit int) ([]audit.Event, error) { // newest first: the cursor is the last id seen
		var beforeID int64
		if before != "" {
			var err error
			if beforeID, err = strconv.ParseInt(before, 10, 64); err != nil {
				return nil, invalidCursor()
			}
		}
		return h.d.Audit.List(c.UserContext(), callerOf(c), audit.Filter{
			ResourceType: c.Query("resource_type"), ResourceID: c.Query("resource_id"), Before: beforeID, Limit: limit})
	}, func(e audit.Event) string { return strconv.FormatInt(e.ID, 10) })
}

// Page is one page of a list: its items and, while more follow, the cursor of the next page.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// paged reads one page with fetch (asked for one item more than the page holds, to know whether
// more follow) and answers it; key is the cursor of an item.
func paged[T any](c *fiber.Ctx, fetch func(after string, limit int) ([]T, error), key func(T) string) error {
	limit, after, err := pageParams(c)
	if err != nil {
		return err
	}
	items, err := fetch(after, limit+1)
	if err != nil {
		return err
	}
	// A fresh slice, so an empty page encodes as [] rather than null: clients iterate data
	// without a nil check.
	page := Page[T]{Data: append([]T{}, items...)}
	if len(items) > limit {
		page.Data, page.NextCursor = page.Data[:limit], encodeCursor(key(items[limit-1]))
	}
	return c.JSON(page)
}

// pageParams reads limit (default 50, 1..500) and the decoded cursor.
func pageParams(c *fiber.Ctx) (int, string, error) {
	limit := 50
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 500 {
			return 0, "", datavenue.Invalid("validation_failed", "invalid query parameter",
				datavenue.FieldError{Field: "limit", Code: "out_of_range", Message: "limit must be an integer from 1 to 500"})
		}
		limit = n
	}
	// A cursor that does not decode is the client's error (422 invalid_cursor), not an empty page:
	// silently restarting from the beginning would make a client loop over the same items.
	var cursor string
	if raw := c.Query("cursor"); raw != "" {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil || len(b) == 0 {
			return 0, "", invalidCursor()
		}
		cursor = string(b)
	}
	return limit, cursor, nil
}

func invalidCursor() error {
	return datavenue.Invalid("validation_failed", "invalid query parameter",
		datavenue.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "cursor must be a next_cursor value from a previous page"})
}

// Cursors are opaque to clients: base64url of the last key seen. Opaque so the key behind a list
// can change (an id, a line number, a timestamp and id) without breaking a client that stores it.
func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
