// Package api is the venue's HTTP API on Fiber v2: routes, bearer-token authentication, RFC 9457
// errors, idempotency keys, request ids, access logs, Prometheus metrics and the OpenAPI document.
// Handlers are thin: they decode, call a domain service through a small interface declared here,
// and encode. The package never imports a database or Redis driver.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/idempotency"
	"github.com/datavenue/datavenue/parties"
)

// Organisations is what the API needs of the parties service. Get and List take no caller: the
// venue's parties are known to every authenticated caller (a buyer must be able to name the
// operator it trades with); only registering is restricted, to the bureaus.
type Organisations interface {
	Register(ctx context.Context, caller datavenue.Caller, reg parties.Registration) (parties.Organisation, error)
	Get(ctx context.Context, id datavenue.OrgID) (parties.Organisation, error)
	List(ctx context.Context, f parties.ListFilter) ([]parties.Organisation, error)
}

// AuditLog is what the API needs of the audit trail.
type AuditLog interface {
	List(ctx context.Context, caller datavenue.Caller, f audit.Filter) ([]audit.Event, error)
}

// Check is a named readiness probe of a dependency the venue cannot serve without (PostgreSQL,
// Redis): a failing one makes /readyz answer 503.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// Advisory is a named check of something that does not stop the venue serving but needs an
// operator's attention (the calendar running out): its warnings make /readyz say degraded.
type Advisory struct {
	Name  string
	Check func(context.Context) ([]string, error)
}

// RateLimiter decides whether a subject (the caller's organisation, or "ip:<address>" without a
// valid token) may make another request; retryAfter is what the 429's Retry-After then says.
type RateLimiter interface {
	Allow(ctx context.Context, key string) (allowed bool, retryAfter time.Duration, err error)
}

// Deps are the services and settings the API is built over; internal/wiring builds the real ones
// (for `datavenue serve` and the API tests alike). Each service is an interface declared in this
// package with only the methods the handlers call, so a test can replace one with a fake and the
// API never depends on a store or driver.
type Deps struct {
	Organisations  Organisations
	Assets         Assets
	Certificates   Certificates
	Grants         Grants
	Listing        Listing
	Caps           PriceCaps
	Auctions       Auctions
	Negotiations   Negotiations
	Guidance       Guidance
	Feed           Feed
	Settlement     Settlement
	AllowedRevenue AllowedRevenue
	// Disclosure publishes the public disclosure (N6); Annual the operators' costs and reports.
	Disclosure     Disclosure
	Annual         Annual
	Vouchers       Vouchers
	Reconciliation Reconciliation
	// Subscriptions reads and cancels subscriptions and ingests metered use (nil: no such routes).
	Subscriptions Subscriptions
	// Revisions publishes revisions of file products to their subscribers (nil: no such route).
	Revisions Revisions
	// UsageReports reports metered use (nil: no such route).
	UsageReports UsageReports
	// MeteringSecret derives each operator's secret for signing usage batches (empty: refused).
	MeteringSecret []byte
	// Projection shows the engine-to-PostgreSQL projection's health and parked entries (nil:
	// no such routes, metrics or readiness detail).
	Projection Projection
	// Webhooks manages organisations' webhook subscriptions and delivery logs (nil: no such
	// routes or metrics).
	Webhooks Webhooks
	// Catalogue answers anonymous catalogue requests, possibly from a hot standby (nil: Listing
	// answers them); ReadReplica reports on that standby for /readyz and the metrics (nil: none).
	Catalogue   CatalogueReader
	ReadReplica ReadReplica
	// Closing is closed when the venue starts shutting down, so that long-lived responses (the
	// live feeds) end and the graceful shutdown does not wait for them.
	Closing     <-chan struct{}
	Audit       AuditLog
	Idempotency idempotency.Store
	// Fingerprints makes the keyed fingerprints the idempotency store compares (its Key comes from
	// the keyring; a zero Key still works, unkeyed in all but name).
	Fingerprints idempotency.Fingerprinter
	Verifier     TokenVerifier
	// Roles binds a token's role to its organisation (nil: any role a valid token names).
	Roles       RoleChecker
	RateLimiter RateLimiter // nil: no limit
	JWKS        func() []byte
	Ready       []Check
	Advisories  []Advisory
	Logger      *slog.Logger
	Registry    *prometheus.Registry // metrics are registered here and served at /metrics
	BodyLimit   int                  // bytes; larger bodies get 413
	// LargeBodyLimit is the body limit of routes marked LargeBody (statement imports).
	LargeBodyLimit int
	// PaymentCallbackSecret authenticates the payment provider's callbacks (empty: refused).
	PaymentCallbackSecret []byte
	Version               string
	// PublicURL is the venue's public base URL (identifiers in DCAT documents).
	PublicURL string
	// MetricsElsewhere: the metrics are served on a listen address of their own, not on the API.
	MetricsElsewhere bool
	// CataloguePublisher names the venue as the publisher of its DCAT catalogue.
	CataloguePublisher string
	// CORSOrigins are the browser origins allowed to call the venue (none: no CORS).
	CORSOrigins []string
	// WriteTimeout bounds writing a response (for a live feed: each write); 30 s by default.
	WriteTimeout time.Duration
	// FeedHeartbeat is how often a live feed sends a keep-alive comment (15 s by default).
	FeedHeartbeat time.Duration
	// FeedsPerOrganisation is how many live feeds an organisation may hold open (20 by default).
	FeedsPerOrganisation int
	// Mount adds routes that are not the API's (the web console, HTML under /console) to the app,
	// after the API's own and before its answer to unknown paths (nil: none). They are not in
	// the OpenAPI document.
	Mount func(app *fiber.App)
}

// New builds the Fiber app with every route of the venue.
//
// It panics, rather than returning an error, when a route has no rule in the access policy or
// disagrees with it: that is a programming error, found by the first test that builds the app,
// and a venue that started with an unguarded route would be worse than one that does not start.
func New(d Deps) *fiber.App {
	// Defaults for what the configuration may leave unset. The large (import) limit is never
	// below the ordinary one, so a misconfigured import limit cannot make imports stricter than
	// any other route.
	if d.BodyLimit <= 0 {
		d.BodyLimit = 1 << 20
	}
	d.LargeBodyLimit = max(d.LargeBodyLimit, d.BodyLimit)
	if d.WriteTimeout <= 0 {
		d.WriteTimeout = 30 * time.Second
	}
	if d.FeedHeartbeat <= 0 {
		d.FeedHeartbeat = 15 * time.Second
	}
	d.FeedsPerOrganisation = d.FeedLimit()
	if d.CataloguePublisher == "" {
		d.CataloguePublisher = "datavenue 公共数据资产交易平台"
	}
	if d.PublicURL == "" {
		d.PublicURL = "http://localhost"
	}
	onError := errorHandler(d.Logger)
	app := fiber.New(fiber.Config{
		AppName:               "datavenue",
		ErrorHandler:          onError,
		BodyLimit:             d.LargeBodyLimit, // each route checks its own limit (body.go)
		StreamRequestBody:     true,             // nothing is read before a route asks for it
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          d.WriteTimeout,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		StrictRouting:         false,
		// Fiber returns strings that alias its reused request buffers unless told otherwise; the
		// metrics keep label values (and handlers hand values to goroutines), so every value is
		// copied. Found as duplicate metric labels under load.
		Immutable:     true,
		CaseSensitive: true,
	})
	m := newMetrics(d.Registry)
	if d.Projection != nil {
		d.Registry.MustRegister(newProjectionCollector(d.Projection))
	}
	if d.Webhooks != nil {
		d.Registry.MustRegister(newWebhooksCollector(d.Webhooks))
	}
	if d.ReadReplica != nil {
		d.Registry.MustRegister(newReplicaCollector(d.ReadReplica))
	}
	// The order matters. The request id comes first, so every later log line, problem and audit
	// record carries it; observe wraps everything after it, so the access log and metrics see the
	// final status, including a panic that recoverPanics (inside observe) turned into a 500;
	// securityHeaders and closeUnreadBodies act on the answer after every handler has run. CORS
	// comes before compression and the routes so that a preflight is answered without a token.
	app.Use(withRequestID, observe(d.Logger, m, onError), recoverPanics(d.Logger), securityHeaders, closeUnreadBodies)
	if len(d.CORSOrigins) > 0 {
		app.Use(corsFor(d.CORSOrigins))
	}
	app.Use(compressed())
	methods := methodTable{}

	// One authenticate and one idempotency handler are shared by the routes. The idempotency lease
	// (30 s) is how long a key is held for a request in flight: a retry within it gets 409, and a
	// process that died mid-request frees its keys when the lease ends.
	auth := authenticate(d.Verifier, d.Roles)
	idem := idempotent(d.Idempotency, d.Fingerprints, 30*time.Second, d.Logger)
	h := &handlers{d: d, metricsHandler: adaptor.HTTPHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))}
	for _, r := range h.routes() {
		// Every route has its rule in the access policy, and agrees with it on whether it takes a
		// token: a route added without one does not start. Who may act is then the services' to
		// check (with the policy's role groups), each with the reason that fits the resource (not
		// its holder, not its operator…); the authorisation matrix test holds them to the policy.
		rule, ok := access.Of(r.Op.ID)
		if !ok {
			panic("api: operation " + r.Op.ID + " has no rule in access.Policy")
		}
		if rule.Token() != r.Op.Auth {
			panic("api: operation " + r.Op.ID + " and its rule in access.Policy disagree on whether it takes a token")
		}
		// Bodies: refused by their declared size first; an ordinary route's (small) body is read
		// before anything else, so that an oversized chunked body is refused whoever sends it; a
		// statement's is read by its handler, once the caller is known to be a clerk.
		bodyLimit := d.BodyLimit
		if r.Op.LargeBody {
			bodyLimit = d.LargeBodyLimit
		}
		chain := []fiber.Handler{guardBodySize(bodyLimit)}
		if !r.Op.LargeBody {
			chain = append(chain, readBody(bodyLimit))
		}
		// Rate limits: a public route spends the caller's organisation's budget or its address's;
		// an authenticated one spends the address's for a refused token (limitRefused, which looks
		// at authenticate's outcome) and the organisation's once the token is accepted, so the
		// budget is spent after authentication, by the caller it belongs to.
		if !r.Op.Auth && !r.Op.Unmetered && d.RateLimiter != nil {
			chain = append(chain, limitPublic(d.RateLimiter, d.Verifier, d.Logger))
		}
		if r.Op.Auth {
			if d.RateLimiter != nil {
				chain = append(chain, limitRefused(d.RateLimiter, d.Logger))
			}
			chain = append(chain, auth)
			if d.RateLimiter != nil {
				chain = append(chain, limit(d.RateLimiter, d.Logger))
			}
			// The idempotency store fingerprints the body, which would read a statement whole
			// before its handler has checked the caller may send one: statements are not kept
			// there (importing one again posts nothing twice: its slips come back duplicates).
			if !r.Op.SelfIdempotent && !r.Op.LargeBody {
				if len(r.Op.Unkept) > 0 {
					chain = append(chain, idempotent(d.Idempotency, d.Fingerprints, 30*time.Second, d.Logger, r.Op.Unkept...))
				} else {
					chain = append(chain, idem)
				}
			}
		}
		// Validators (ETag, Cache-Control) wrap only the handler, after authentication and limits:
		// a 304 is still an answered, counted request.
		if cc, ok := cacheable[r.Op.ID]; ok {
			chain = append(chain, validated(cc)...)
		}
		chain = append(chain, r.Handler)
		app.Add(r.Method, r.Path, chain...)
		if r.Method == fiber.MethodGet { // app.Add, unlike app.Get, does not answer HEAD by itself
			app.Add(fiber.MethodHead, r.Path, chain...)
		}
		methods.add(r.Method, r.Path)
	}
	if d.Mount != nil {
		d.Mount(app)
	}
	// The catch-all runs only when no route matched. A path that exists with other methods is a
	// 405 with Allow (RFC 9110), anything else a 404; both are problems with a code, and the
	// metrics label them "unmatched" rather than by the path the client made up.
	app.Use(func(c *fiber.Ctx) error {
		c.Locals(localRoute, "unmatched")
		if allow := methods.allowed(c.Path()); allow != "" {
			c.Set(fiber.HeaderAllow, allow)
			return fiber.NewError(fiber.StatusMethodNotAllowed, c.Method()+" is not a method of "+c.Path()+"; it answers "+allow)
		}
		return fiber.NewError(fiber.StatusNotFound, "no route matches "+c.Method()+" "+c.Path())
	})
	return app
}

// Route is one endpoint: its handler and what the OpenAPI document says about it. The route table
// is a list of these, written next to the handlers of each domain (assets.go, listing.go, …).
type Route struct {
	Method  string
	Path    string // Fiber syntax, ":id" for parameters
	Op      Operation
	Handler fiber.Handler
}
