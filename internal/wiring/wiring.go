// Package wiring builds the venue: every service over its PostgreSQL store and Redis, the metrics
// they report, and the api.Deps the HTTP API is made of. `datavenue serve` and the API tests both
// build their venue here, so the tests run the venue as production wires it; when each wrote its
// own copy the two drifted apart (a verifier without its cache, services without their wake-ups,
// no calendar advisory).
//
// What differs between them is explicit: the backends (a test's own database and Redis key
// prefix), the configuration (a test's issuer and limits), and the few Options only tests set.
// A test replaces a dependency with a fake by setting the field of Venue.Deps before api.New.
package wiring

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/console"
	"github.com/datavenue/datavenue/console/redisstore"
	"github.com/datavenue/datavenue/idempotency"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/ratelimit"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/webhooks"
	"github.com/datavenue/datavenue/workdays"
)

// Backends are what the venue is built over; the caller opens them and closes them.
type Backends struct {
	DB *postgres.DB
	// Redis is a single Redis or a Redis Cluster: every key the venue writes carries a hash tag.
	Redis redis.UniversalClient
	// Keys are the engine's keys in Redis ("dv:" in a venue, a prefix of its own in a test); the
	// rate limiter's live under the same prefix.
	Keys matching.Keys
	// Keyring signs certificates and vouchers (and verifies the development issuer's tokens).
	Keyring *auth.Keyring
	// Issuers are the token issuers the venue trusts, by "iss".
	Issuers map[string]auth.KeySource
	// Catalogue and ReadReplica are the catalogue's hot standby and its status (nil: anonymous
	// catalogue reads go to the primary).
	Catalogue   api.CatalogueReader
	ReadReplica api.ReadReplica
}

// Options are the settings that do not come from the configuration.
type Options struct {
	Logger  *slog.Logger // nil: logs are discarded
	Version string
	// Clock is every service's clock (nil: the system clock).
	Clock datavenue.Clock
	// RolesTTL is how long the role gate keeps an organisation's roles (0: its default, 10 s);
	// tests make it tiny so that a role granted is seen by the next request.
	RolesTTL time.Duration
	// DevIdentities are the demo users the console's development sign-in lists; it lists them
	// only while the development issuer is on (DATAVENUE_DEV_ISSUER).
	DevIdentities []console.Identity
	// OIDCClient reaches the console's identity provider (nil: a default client).
	OIDCClient *http.Client
}

// Venue is a wired venue: the API's dependencies, and the services and workers the background
// loops of a serving process run (`datavenue serve` starts them; the API tests drive them).
type Venue struct {
	// Deps are ready for api.New.
	Deps     api.Deps
	Auctions matching.Service
	Orders   settlement.Service
	Vouchers settlement.Vouchers
	// Revenue measures operators' revenue against their maximum allowed revenue (N4/N5).
	Revenue       settlement.AllowedRevenues
	Calendar      *workdays.Calendar
	Wake          certificates.Waker // wakes the certificate event dispatcher
	WebhookWorker *webhooks.Worker
	// ProjectionFailures counts engine events the projection failed to apply, by class.
	ProjectionFailures *prometheus.CounterVec
	// Console is the web console over Deps, mounted at /console by Deps.Mount.
	Console *console.Console
}

// New wires every service of the venue over b by cfg. It connects to nothing itself; it fails
// only when the calendar file (DATAVENUE_CALENDAR_FILE) cannot be read or is wrong, which would
// move deadlines, so nothing may serve with it.
func New(cfg config.Config, b Backends, opts Options) (*Venue, error) {
	clock, logger := opts.Clock, opts.Logger
	if clock == nil {
		clock = datavenue.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	// The calendar is loaded first: G6 deadlines count official working days (adjusted working
	// days included), and a venue that guessed them would file reports late.
	calendar, err := workdays.Load(cfg.CalendarFile)
	if err != nil {
		return nil, err
	}
	v := &Venue{Calendar: calendar, Wake: certificates.NewWaker(),
		Auctions: matching.Service{Store: b.DB.Matching(), Engine: matching.Engine{Redis: b.Redis, Keys: b.Keys}, Clock: clock, Registered: &sync.Map{}, Caps: b.DB.Listing()},
		Orders:   settlement.Service{Store: b.DB.Settlement(), Calendar: calendar, Clock: clock},
		Revenue:  settlement.AllowedRevenues{Store: b.DB.Settlement(), Clock: clock},
		Vouchers: settlement.Vouchers{Store: b.DB.Settlement(), Keys: b.Keyring, Issuer: cfg.JWTIssuer, Clock: clock, ConfirmAfter: cfg.ConfirmAfter},
	}
	v.Orders.Paid = func(ctx context.Context, o settlement.Order) {
		// A warning missed here is not lost: the standing is recomputed on every read and in
		// the metrics; the audit event waits for the operator's next payment.
		if err := v.Revenue.Watch(ctx, o); err != nil {
			logger.ErrorContext(ctx, "allowed revenue: the warning could not be recorded", "order", o.ID, "error", err)
		}
	}
	// One registry for the venue; the API adds its request metrics to it, so /metrics (or the
	// separate metrics listener) serves everything from one place.
	reg := v.metrics(b.DB)
	reg.MustRegister(revenueCollector{revenue: v.Revenue})
	v.WebhookWorker = &webhooks.Worker{Queue: b.DB.Webhooks(), Client: webhooks.NewClient(10*time.Second, cfg.WebhookAllowPrivate), Clock: clock,
		Logger: logger, Secrets: b.Keyring, Outcome: webhookOutcomes(reg), Wake: make(chan struct{}, 1)}
	v.Deps = api.Deps{
		Organisations: parties.Service{Store: b.DB.Parties()},
		Assets:        assets.Service{Store: b.DB.Assets()},
		Certificates:  certificates.Service{Store: b.DB.Certificates(), Signer: certificates.Signer{Keys: b.Keyring, Issuer: cfg.JWTIssuer}, Clock: clock, Published: v.Wake.Wake},
		Grants:        certificates.GrantService{Store: b.DB.Certificates(), Clock: clock, Published: v.Wake.Wake},
		Listing:       listing.Service{Store: b.DB.Listing(), Clock: clock},
		// Filing a cap (N4) must reach auctions already running, or a bid above the new cap
		// could still win; the engine lowers their caps (and stops those it cannot).
		Caps: listing.Caps{Store: b.DB.Listing(), Products: b.DB.Listing(), Clock: clock, Filed: func(ctx context.Context, productID string) error {
			_, err := v.Auctions.ApplyCap(ctx, productID)
			return err
		}},
		Catalogue:    b.Catalogue,
		ReadReplica:  b.ReadReplica,
		Auctions:     v.Auctions,
		Negotiations: v.Auctions,
		Guidance: func(ctx context.Context, id string) (matching.Guidance, error) {
			return matching.Guide(ctx, b.DB.Matching(), clock, id)
		},
		Feed:           &matching.Feed{Redis: b.Redis, Keys: b.Keys},
		Settlement:     v.Orders,
		AllowedRevenue: v.Revenue,
		Disclosure:     listing.Disclosure{Store: b.DB.Listing(), Clock: clock},
		Annual:         settlement.Annual{Store: b.DB.Settlement(), Revenue: v.Revenue, Clock: clock, Usage: b.DB.Subscriptions()},
		Vouchers:       v.Vouchers,
		Reconciliation: settlement.Reconciliation{Store: b.DB.Settlement(), Reports: b.DB.Settlement(), Clock: clock},
		Subscriptions:  subscriptions.Service{Store: b.DB.Subscriptions(), Clock: clock},
		Revisions:      subscriptions.Revisions{Store: b.DB.Subscriptions(), Clock: clock},
		UsageReports:   subscriptions.Reports{Store: b.DB.Subscriptions(), Clock: clock},
		MeteringSecret: []byte(cfg.MeteringSecret),
		Projection:     matching.ProjectionControl{Store: b.DB.Matching(), Redis: b.Redis, Keys: b.Keys, Clock: clock, LagLimit: cfg.ProjectionLagLimit},
		Webhooks:       webhooks.Service{Store: b.DB.Webhooks(), Clock: clock, AllowHTTP: cfg.WebhookAllowHTTP, Wake: v.wakeWebhooks, Secrets: b.Keyring},
		Audit:          audit.Service{Reader: b.DB.Audit()},
		Idempotency:    b.DB.Idempotency(),
		Fingerprints:   idempotency.Fingerprinter{Key: b.Keyring.FingerprintKey()},
		RateLimiter:    rateLimiter(cfg, b),
		Roles:          &parties.RoleGate{Store: b.DB.Parties(), Clock: clock, TTL: opts.RolesTTL},
		Verifier: &auth.CachingVerifier{Verifier: auth.Verifier{Issuers: b.Issuers, Audience: cfg.JWTAudience, Clock: clock,
			Leeway: 30 * time.Second, MaxLifetime: cfg.TokenMaxLifetime}},
		JWKS:       func() []byte { return auth.MarshalJWKS(b.Keyring.JWKS()) },
		Advisories: []api.Advisory{v.calendarAdvisory(b.DB, clock)},
		Ready: []api.Check{
			{Name: "postgres", Ping: b.DB.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return b.Redis.Ping(ctx).Err() }},
		},
		Logger:                logger,
		Registry:              reg,
		BodyLimit:             cfg.BodyLimit,
		LargeBodyLimit:        cfg.ImportLimit,
		PaymentCallbackSecret: []byte(cfg.PaymentCallbackSecret),
		Version:               opts.Version,
		PublicURL:             cfg.PublicURL,
		MetricsElsewhere:      cfg.MetricsListen != "",
		CORSOrigins:           cfg.CORSOrigins,
		CataloguePublisher:    cfg.CataloguePublisher,
	}
	v.Console = newConsole(cfg, b, opts, v.Deps, clock, logger)
	v.Deps.Mount = v.Console.Mount
	return v, nil
}

// newConsole builds the web console over the API's services: sessions in Redis, the development
// sign-in only while the development issuer is trusted, OIDC when an identity provider is set,
// Secure cookies when the venue's public URL is https.
func newConsole(cfg config.Config, b Backends, opts Options, deps api.Deps, clock datavenue.Clock, logger *slog.Logger) *console.Console {
	o := console.Options{Sessions: redisstore.Sessions{Redis: b.Redis, Prefix: b.Keys.Prefix},
		Secure: strings.HasPrefix(cfg.PublicURL, "https://"), Clock: clock, Logger: logger, Buyer: b.DB.BuyerReads(), Audit: b.DB.Audit(),
		Integrity: func(ctx context.Context) ([]console.Invariant, error) {
			list, err := b.DB.CheckAll(ctx, b.Keyring)
			out := make([]console.Invariant, len(list))
			for i, inv := range list {
				out[i] = console.Invariant{Name: inv.Name, Rule: inv.Rule, Checked: inv.Checked, Violating: inv.Violating}
			}
			return out, err
		}}
	if cfg.DevIssuer {
		o.Dev, o.DevIssuer = opts.DevIdentities, cfg.JWTIssuer
	}
	if cfg.OIDC.Issuer != "" {
		o.OIDC = &console.OIDCConfig{Issuer: cfg.OIDC.Issuer, ClientID: cfg.OIDC.ClientID, ClientSecret: cfg.OIDC.ClientSecret,
			RedirectURL: cfg.OIDC.RedirectURL, PostLogoutURL: cfg.OIDC.PostLogoutURL, HTTP: opts.OIDCClient,
			Claims: console.ClaimMapping{RoleClaim: cfg.OIDC.RoleClaim, OrgClaim: cfg.OIDC.OrgClaim}}
		for from, to := range cfg.OIDC.RoleMap {
			o.OIDC.Claims.RoleMap = mapSet(o.OIDC.Claims.RoleMap, from, datavenue.Role(to))
		}
		for from, to := range cfg.OIDC.OrgMap {
			o.OIDC.Claims.OrgMap = mapSet(o.OIDC.Claims.OrgMap, from, datavenue.OrgID(to))
		}
	}
	return console.New(deps, o)
}

// mapSet sets m[k] = v, making m first when it is nil (a nil claim map means "no mapping").
func mapSet[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	if m == nil {
		m = map[K]V{}
	}
	m[k] = v
	return m
}

// rateLimiter is the per-organisation request budget in Redis (nil: DATAVENUE_RATE_PER_SECOND=0,
// no limit).
func rateLimiter(cfg config.Config, b Backends) api.RateLimiter {
	if cfg.RatePerSecond <= 0 {
		return nil
	}
	return ratelimit.Limiter{Client: b.Redis, Prefix: b.Keys.Prefix + "rl:", Rate: cfg.RatePerSecond, Period: time.Second, Burst: cfg.RateBurst}
}

// wakeWebhooks asks the delivery worker for a run now (a ping or a replay); it never blocks.
func (v *Venue) wakeWebhooks() {
	select {
	case v.WebhookWorker.Wake <- struct{}{}:
	default:
	}
}

// calendarAdvisory makes /readyz say degraded while the calendar runs out or due dates wait for it.
func (v *Venue) calendarAdvisory(db *postgres.DB, clock datavenue.Clock) api.Advisory {
	monitor := settlement.CalendarMonitor{Calendar: v.Calendar, Store: db.Settlement(), Clock: clock}
	return api.Advisory{Name: "calendar", Check: func(ctx context.Context) ([]string, error) {
		h, err := monitor.Health(ctx)
		return h.Warnings, err
	}}
}

// metrics makes the venue's registry: the Go runtime and process, the calendar, and the
// projection's failures (the API registers its own request metrics there).
func (v *Venue) metrics(db *postgres.DB) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "datavenue_calendar_last_covered_year",
		Help: "The last year whose official holiday schedule the calendar knows (deadlines beyond it wait)."},
		func() float64 { return float64(v.Calendar.LastCovered(time.Now().Year())) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "datavenue_obligations_due_date_pending",
		Help: "Obligations whose due date waits for a year's official holiday schedule."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := db.Settlement().CountPendingDueDates(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	v.ProjectionFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "datavenue_projection_failures_total",
		Help: "Engine events the projection failed to apply, by class: transient (retried), permanent (parked), unexpected (retried, then parked)."},
		[]string{"class"})
	reg.MustRegister(v.ProjectionFailures)
	return reg
}

// webhookOutcomes counts webhook delivery attempts by outcome, for the delivery worker.
func webhookOutcomes(reg *prometheus.Registry) func(outcome string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "datavenue_webhook_attempts_total",
		Help: "Webhook delivery attempts by outcome: delivered, retrying (failed, tried again later), dead (given up)."}, []string{"outcome"})
	reg.MustRegister(c)
	return func(o string) { c.WithLabelValues(o).Inc() }
}
