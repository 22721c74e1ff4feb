// Package console is the venue's web console for its people (clerks, operators, bureau staff,
// buyers and auditors), served by the same binary at /console. Pages are rendered on the server
// with html/template over the very services the API uses (api.Deps), so no rule exists twice; what
// a role may open is read from the same access policy (access.Policy) the API enforces. Assets are
// embedded (venues run air-gapped: no CDN), scripts only enhance pages that work without them.
// Sign-in is OpenID Connect (authorization code with PKCE) or, while the development issuer is on,
// a list of demo identities; sessions live on the server, the browser holds only their id.
package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/api"
)

// Prefix is where the console is mounted. The API's route checks leave it out of the OpenAPI
// document: it answers HTML to browsers, not JSON to programs.
const Prefix = "/console"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Identity is a demo user the development sign-in offers: a role acting for an organisation.
type Identity struct {
	Subject string
	Role    datavenue.Role
	Org     datavenue.OrgID
	OrgName string
}

// Options are the console's own settings; its services are the API's (api.Deps).
type Options struct {
	Sessions Sessions
	// Dev are the identities of the development sign-in; it exists only when DevIssuer is set
	// (the venue trusts its own development issuer) and the list is not empty.
	Dev       []Identity
	DevIssuer string
	// OIDC is the identity provider the console signs people in with (nil: none).
	OIDC *OIDCConfig
	// Integrity checks the stored invariants and the voucher chain for the integrity page (nil:
	// the page says the check is not available).
	Integrity IntegrityCheck
	// Buyer reads the buyer's lists the API has no list for (deposits, negotiations, an order's
	// voucher; nil: those pages say the list is not available).
	Buyer BuyerReads
	// Audit records sign-ins, refused sign-ins and sign-outs in the venue's audit trail.
	Audit AuditLog
	// Secure marks the session cookie Secure: the venue is reached over TLS.
	Secure bool
	Clock  datavenue.Clock
	Logger *slog.Logger
}

// Console is the web console over the API's services.
type Console struct {
	d     api.Deps
	o     Options
	pages map[string]*template.Template
	oidc  *oidcClient
}

// New builds the console; it parses its templates once (a broken template panics at start-up).
func New(d api.Deps, o Options) *Console {
	if o.Clock == nil {
		o.Clock = datavenue.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{d: d, o: o, pages: parsePages()}
	if o.OIDC != nil {
		c.oidc = newOIDCClient(*o.OIDC)
	}
	return c
}

func (c *Console) now() time.Time { return c.o.Clock.Now() }

// pages are the console's signed-in pages: the policy operations each one calls, which the
// caller's role must reach (as own or as other), so that a page shows only what its role may read.
var pageOps = map[string][]string{
	"catalogue": {"searchCatalogue"},
	"product":   {"catalogueProduct", "pricingGuidance", "listCertificates", "listAuctions"},
	"auction":   {"getAuction", "auctionFeed"},
	"bid":       {"placeBid"},
	// The clerk's pages (bureaus and auditors read the books too; only a clerk imports and
	// resolves).
	"obligations": {"listObligations"},
	"payments":    {"listOrders", "recordPayment"},
	"import":      {"importStatement"},
	"imports":     {"getImport"},
	"exceptions":  {"listExceptions"},
	"resolve":     {"resolveException"},
	"ledger":      {"trialBalance", "settlementReport"},
	// The operator's: its products, each with the gate's checklist, prices, caps and bands.
	"products": {"listProducts"},
	"gate":     {"getProduct", "listCaps", "priceHistory"},
	"publish":  {"submitProduct", "publishProduct"},
	// The bureaus': the registration applications they review.
	"reviews":     {"listApplications"},
	"application": {"getApplication", "getAsset"},
	"decide":      {"reviewApplication"},
	// The bureaus' other queues (bureau_*.go): the data bureau's concurrences, the finance
	// bureau's approvals, the authorisations in force and the price caps, each with the
	// operations its decisions call.
	"concurrences":   {"listApplications", "getApplication", "getAsset", "listCertificates"},
	"concur":         {"concur"},
	"approvals":      {"listApprovals", "getApproval", "getAsset", "listCertificates"},
	"decideApproval": {"decideApproval"},
	"grants":         {"listAuthorisations", "getAuthorisation", "getAsset", "listCertificates"},
	"assess":         {"assessAuthorisation"},
	"revoke":         {"revokeAuthorisation"},
	"narrow":         {"narrowAuthorisation"},
	"grant":          {"grantAuthorisation", "listOrganisations", "getAsset", "listCertificates"},
	"caps":           {"listProducts", "getProduct", "listCaps"},
	"fileCap":        {"fileCap"},
	// The auditor's: the audit trail, and the integrity of the books. The invariant check has no
	// API operation (it is the command `datavenue check`); the page is for those who read the
	// venue's own operations (metrics, parked engine events): its staff, clerks and auditors.
	"audit":     {"listAuditEvents"},
	"integrity": {"metrics", "listParkedEntries"},
	// The buyer's: its orders, confirming a delivery, the voucher (download and verify), its
	// deposits and its negotiations.
	"myorders":       {"listOrders", "getOrder"},
	"confirm":        {"confirmDelivery"},
	"voucher":        {"getVoucher", "voucherDocument"},
	"deposits":       {"listAuctions", "getDeposit"},
	"mynegotiations": {"listNegotiations", "getNegotiation"},
	"negotiate":      {"startNegotiation"},
	"move":           {"moveNegotiation"},
}

// allowed reports whether role reaches every operation of the page.
func allowed(page string, role datavenue.Role) bool {
	for _, op := range pageOps[page] {
		rule, _ := access.Of(op)
		if !rule.Public && !slices.Contains(rule.Own, role) && !slices.Contains(rule.Other, role) {
			return false
		}
	}
	return true
}

// Mount adds the console's routes to the venue's app (api.Deps.Mount calls it before the API's
// catch-all answer). Every page operation must be in the access policy, as every API route must.
func (c *Console) Mount(app *fiber.App) {
	for page, ops := range pageOps {
		for _, op := range ops {
			if _, ok := access.Of(op); !ok {
				panic("console: page " + page + " uses operation " + op + ", which has no rule in access.Policy")
			}
		}
	}
	g := app.Group(Prefix, c.guard)
	static, _ := fs.Sub(staticFS, "static")
	g.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
	g.Get("/signin", c.session(false), c.signinPage)
	g.Post("/signin/dev", c.session(false), c.csrf, c.devSignIn)
	g.Get("/signin/oidc", c.session(false), c.oidcStart)
	g.Get("/signin/callback", c.session(false), c.oidcCallback)
	g.Post("/signout", c.session(true), c.csrf, c.signOut)
	g.Get("/", c.session(true), func(ctx *fiber.Ctx) error {
		return ctx.Redirect(home(sessionOf(ctx).Caller.Role), fiber.StatusSeeOther)
	})
	g.Get("/catalogue", c.session(true), c.page("catalogue"), c.catalogue)
	g.Get("/products/:id", c.session(true), c.page("product"), c.product)
	g.Get("/auctions/:id", c.session(true), c.page("auction"), c.auction)
	g.Get("/auctions/:id/feed", c.session(true), c.page("auction"), c.feed)
	g.Post("/auctions/:id/bids", c.session(true), c.csrf, c.page("bid"), c.bid)
	g.Get("/obligations", c.session(true), c.page("obligations"), c.obligations)
	g.Get("/payments", c.session(true), c.page("payments"), c.payments)
	g.Post("/payments/:id", c.session(true), c.csrf, c.page("payments"), c.recordPayment)
	g.Get("/imports/new", c.session(true), c.page("import"), c.importForm)
	// The upload checks its CSRF token itself: the form is multipart and larger than a form.
	g.Post("/imports", c.session(true), c.page("import"), c.importStatement)
	g.Get("/imports/:id", c.session(true), c.page("imports"), c.importOutcomes)
	g.Get("/exceptions", c.session(true), c.page("exceptions"), c.exceptions)
	g.Post("/exceptions/:id/resolve", c.session(true), c.csrf, c.page("resolve"), c.resolve)
	g.Get("/ledger", c.session(true), c.page("ledger"), c.ledger)
	g.Get("/reports/settlement", c.session(true), c.page("ledger"), c.report)
	g.Get("/manage/products", c.session(true), c.page("products"), c.myProducts)
	// The new product's form before /manage/products/:id, which would take "new" for an id.
	g.Get("/manage/products/new", c.session(true), c.page("productnew"), c.newProductForm)
	g.Post("/manage/products/new", c.session(true), c.csrf, c.page("productnew"), c.createProduct)
	g.Get("/manage/products/:id/edit", c.session(true), c.page("productedit"), c.editProductForm)
	g.Post("/manage/products/:id/edit", c.session(true), c.csrf, c.page("productedit"), c.updateProduct)
	g.Get("/manage/products/:id", c.session(true), c.page("gate"), c.manageProduct)
	g.Post("/manage/products/:id/:step", c.session(true), c.csrf, c.page("publish"), c.step)
	g.Get("/reviews", c.session(true), c.page("reviews"), c.reviews)
	g.Get("/reviews/:id", c.session(true), c.page("application"), c.review)
	g.Post("/reviews/:id", c.session(true), c.csrf, c.page("decide"), c.decide)
	g.Get("/concurrences", c.session(true), c.page("concurrences"), c.concurrences)
	g.Get("/concurrences/:id", c.session(true), c.page("concurrences"), c.concurrence)
	g.Post("/concurrences/:id", c.session(true), c.csrf, c.page("concur"), c.concur)
	g.Get("/approvals", c.session(true), c.page("approvals"), c.approvals)
	g.Get("/approvals/:id", c.session(true), c.page("approvals"), c.approval)
	g.Post("/approvals/:id", c.session(true), c.csrf, c.page("decideApproval"), c.decideApproval)
	g.Get("/grants", c.session(true), c.page("grants"), c.grants)
	g.Get("/grants/new", c.session(true), c.page("grant"), c.grantNew)
	g.Post("/grants/new", c.session(true), c.csrf, c.page("grant"), c.grantAuthorisation)
	g.Get("/grants/:id", c.session(true), c.page("grants"), c.grant)
	g.Post("/grants/:id/:action", c.session(true), c.csrf, c.page("grants"), c.grantAction)
	g.Get("/caps", c.session(true), c.page("caps"), c.caps)
	g.Get("/caps/:id", c.session(true), c.page("caps"), c.capPage)
	g.Post("/caps/:id", c.session(true), c.csrf, c.page("fileCap"), c.fileCap)
	g.Get("/audit", c.session(true), c.page("audit"), c.auditTrail)
	g.Get("/integrity", c.session(true), c.page("integrity"), c.integrity)
	c.mountOperator(g)
	g.Get("/orders", c.session(true), c.page("myorders"), c.myOrders)
	g.Get("/orders/:id", c.session(true), c.page("myorders"), c.order)
	g.Post("/orders/:id/confirm", c.session(true), c.csrf, c.page("confirm"), c.confirm)
	g.Get("/vouchers/:id", c.session(true), c.page("voucher"), c.voucher)
	g.Get("/vouchers/:id/verify", c.session(true), c.page("voucher"), c.verifyVoucher)
	g.Get("/vouchers/:id/document", c.session(true), c.page("voucher"), c.voucherDocument)
	g.Get("/deposits", c.session(true), c.page("deposits"), c.deposits)
	g.Get("/negotiations", c.session(true), c.page("mynegotiations"), c.negotiations)
	g.Get("/negotiations/new", c.session(true), c.page("negotiate"), c.negotiationForm)
	g.Post("/negotiations", c.session(true), c.csrf, c.page("negotiate"), c.startNegotiation)
	g.Get("/negotiations/:id", c.session(true), c.page("mynegotiations"), c.negotiation)
	g.Post("/negotiations/:id/moves", c.session(true), c.csrf, c.page("move"), c.move)
	c.mountBuyerSubscriptions(g)
	c.mountBureauCertificates(g)
}

// page refuses a role that does not reach the page's operations.
func (c *Console) page(name string) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		if !allowed(name, sessionOf(ctx).Caller.Role) {
			return datavenue.Forbidden("role_not_allowed", "the role may not open this page")
		}
		return ctx.Next()
	}
}

// contentSecurity lets pages load only the console's own scripts, styles and images, submit
// forms only to the venue (the OIDC start is a link; the sign-out form's redirect to the
// provider's end-session endpoint adds the provider's origin: Console.contentSecurity), and
// connect only back to the venue (the live feeds).
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// guard sets the console's headers and turns every error of a console route into an HTML page
// (the API's error handler would answer problem+json, which a person cannot read).
func (c *Console) guard(ctx *fiber.Ctx) error {
	ctx.Set(fiber.HeaderContentSecurityPolicy, c.contentSecurity())
	ctx.Set(fiber.HeaderCacheControl, "no-store")
	ctx.Set(fiber.HeaderXFrameOptions, "DENY")
	ctx.Set(fiber.HeaderReferrerPolicy, "same-origin")
	err := ctx.Next()
	if err == nil {
		return nil
	}
	status, msg := http.StatusInternalServerError, "error.internal"
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		status, msg = fe.Code, "error.title"
		if fe.Code == http.StatusNotFound {
			msg = "error.notfound"
		}
	case errors.Is(err, errCSRF):
		status, msg = http.StatusForbidden, "error.csrf"
	default:
		switch datavenue.KindOf(err) {
		case datavenue.KindConflict:
			status, msg = http.StatusConflict, "error.title"
		case datavenue.KindRateLimited:
			status, msg = http.StatusTooManyRequests, "error.title"
		case datavenue.KindNotFound:
			status, msg = http.StatusNotFound, "error.notfound"
		case datavenue.KindForbidden, datavenue.KindUnauthorized:
			status, msg = http.StatusForbidden, "error.forbidden"
		case datavenue.KindInvalid, datavenue.KindMalformed:
			status, msg = http.StatusUnprocessableEntity, "error.title"
		case datavenue.KindUnavailable:
			status = http.StatusServiceUnavailable
		}
	}
	if status >= 500 {
		c.o.Logger.ErrorContext(ctx.UserContext(), "console", "path", ctx.Path(), "error", err.Error())
	}
	detail := ""
	var de *datavenue.Error
	if errors.As(err, &de) && status < 500 {
		detail = de.Message
	}
	ctx.Status(status)
	return c.render(ctx, "error", lang(ctx).T("error.title"), map[string]string{"Message": lang(ctx).T(msg), "Detail": detail})
}

// asError is errors.As for the venue's error type.
func asError(err error, target **datavenue.Error) bool { return errors.As(err, target) }
