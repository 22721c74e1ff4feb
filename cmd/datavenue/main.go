// Command datavenue is the venue's one binary: it serves the API, applies migrations, loads demo
// data, mints development tokens and manages signing keys. It opens the stores and hands them to
// internal/wiring, which builds every service (as it does for the API tests), then runs the
// background work of a serving process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/wiring"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/webhooks"
)

// venueKeys are the engine's Redis keys in a venue: every key under "dv:". Nothing else may
// write there (a benchmark uses a prefix of its own).
var venueKeys = matching.Keys{Prefix: "dv:"}

// How often each venue process runs the clock-driven work (every process runs it; each step is
// safe to run at once in several, see the scale-out test). Tests shorten them.
var (
	sweepEvery = time.Minute // unpaid orders cancelled, deliveries auto-confirmed, due dates filled
	// capSweepEvery: how often the cap sweep looks whether the day (China Standard Time) has turned.
	capSweepEvery = time.Minute
	expiryEvery   = 10 * time.Second // expiries recorded, certificate events delivered
	// purgeEvery: how often idempotency keys past DATAVENUE_IDEMPOTENCY_RETENTION are deleted.
	purgeEvery = time.Hour
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usage is the top-level help. Each subcommand's own --help (help.go) prints its flags without
// reading the configuration, so `datavenue X --help` is safe on a production host.
const usage = `datavenue: trading venue for certified public data assets

Usage:
  datavenue serve                    serve the HTTP API until SIGINT/SIGTERM (graceful shutdown)
  datavenue migrate                  apply the embedded database migrations
  datavenue seed                     load the demo organisations (idempotent) and print demo tokens
  datavenue token --role R --org ID [--sub S] [--ttl 1h]
                                     mint a development bearer token signed by the venue's key
  datavenue keys rotate              make a new signing key the active one (old keys keep verifying)
  datavenue keys list                list the signing keys' ids, newest (active) first
  datavenue cert verify FILE [--jwks JWKS.json] [--online BASE_URL]
                                     verify a signed certificate offline: signature, key, validity
                                     dates; with --online also its current status at the venue
  datavenue demo [--url URL]         walk a running venue through the whole trade, over its public API, printing each step
  datavenue load [--url URL] [--duration 1m]  mixed load on a running venue (DATAVENUE_RATE_PER_SECOND=0): searches, bids, negotiations, settlements, imports
  datavenue check [--json]           verify the stored data's invariants (ledger, vouchers, auctions, obligations); exit 1 if broken
  datavenue calendar show YEAR | check [YEAR]
                                     the official calendar deadlines are counted with (built in, and
                                     DATAVENUE_CALENDAR_FILE): a year's holidays and adjusted working days;
                                     check the file and which years it covers
  datavenue org roles ORG_ID [ROLE...]
                                     show an organisation's roles, or set them (audited; the bureau,
                                     clerk and auditor roles are granted only this way)
  datavenue parked list [--all] | show ID | retry ID
                                     engine events the projection parked: list them, show one whole, apply one again
  datavenue sweep                    record expiries, cancel unpaid orders, auto-confirm deliveries, bill subscriptions now
  datavenue voucher verify FILE [--jwks JWKS.json]
                                     verify a delivery voucher offline
  datavenue voucher verify-chain [--jwks JWKS.json]
                                     verify the whole hash-chained voucher log in the database
  datavenue metering-secret ORG_ID   print the operator's secret for signing usage batches (derived
                                     from DATAVENUE_METERING_SECRET; give it to its delivery gateway)
  datavenue openapi [-o FILE] [--server URL]
                                     write the OpenAPI document (what /openapi.json serves) without a running venue
  datavenue version                  print the version

`

// main only turns run's error into exit status 1; run takes its arguments and writers so that the
// command tests drive it in-process and read what it prints.
func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "datavenue:", err)
		os.Exit(1)
	}
}

// run dispatches a subcommand. Help and openapi are answered before the configuration is read, so
// they work (and exit 0) with a broken or absent environment; everything else needs a valid
// Config first, so a bad variable stops every command with the variable's name. The context ends
// on SIGINT or SIGTERM: serve shuts down gracefully, and load stops early with its report.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage+config.Help())
		return nil
	}
	if helpAsked(args[1:]) { // before the configuration is read: --help touches nothing (help.go)
		return commandHelp(args, stdout)
	}
	if args[0] == "openapi" { // needs no configuration: it describes the API, not this venue
		return openapiCommand(args[1:], stdout)
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return err
	}
	// Logs are JSON lines on stderr, stdout is the command's own output, so scripts can parse either.
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, logger, stdout)
	case "migrate":
		return migrate(ctx, cfg, stdout)
	case "seed":
		return seed(ctx, cfg, stdout)
	case "token":
		return token(cfg, args[1:], stdout)
	case "keys":
		return keys(cfg, args[1:], stdout)
	case "cert":
		return certCommand(ctx, cfg, args[1:], stdout)
	case "sweep":
		return sweep(ctx, cfg, stdout)
	case "parked":
		return parkedCommand(ctx, cfg, args[1:], stdout)
	case "org":
		return orgCommand(ctx, cfg, args[1:], stdout)
	case "calendar":
		return calendarCommand(cfg, args[1:], stdout)
	case "check":
		return check(ctx, cfg, args[1:], stdout)
	case "demo":
		return demo(ctx, cfg, args[1:], stdout)
	case "load":
		return loadCommand(ctx, cfg, args[1:], stdout)
	case "voucher":
		return voucherCommand(ctx, cfg, args[1:], stdout)
	case "metering-secret":
		return meteringSecret(cfg, args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, version)
		return nil
	}
	return fmt.Errorf("unknown command %q (see datavenue --help)", args[0])
}

// migrate applies the embedded migrations (postgres/migrations) not yet applied, in order. It is
// safe to run from several hosts at once: postgres.Migrate holds a PostgreSQL session lock
// (goose's locker) while it applies, and an up-to-date database is left untouched.
func migrate(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrations: up to date")
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "migrations: applied", name)
	}
	return nil
}

// minter is the development issuer for the CLI (token, seed, demo); it creates a key on first use,
// as `make run` expects, which is why it passes create=true unlike a production serve.
func minter(cfg config.Config) (auth.Minter, error) {
	kr, err := auth.LoadKeyring(cfg.KeyDir, true)
	if err != nil {
		return auth.Minter{}, err
	}
	return auth.Minter{Keys: kr, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, Clock: datavenue.SystemClock{}}, nil
}

// token mints a development bearer token. It refuses an unknown role or a non-organisation id
// before touching the key folder. A token only works where the venue trusts its own issuer
// (DATAVENUE_DEV_ISSUER) and the organisation holds the role (parties.RoleGate).
func token(cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "", "role: "+rolesList())
	org := fs.String("org", "", "organisation id the caller acts for (org_…)")
	sub := fs.String("sub", "", "subject (user id); defaults to dev-<role>")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !datavenue.Role(*role).Valid() {
		return fmt.Errorf("--role must be one of %s", rolesList())
	}
	if !datavenue.HasPrefix(*org, "org") {
		return errors.New("--org must be an organisation id (org_…)")
	}
	// The default subject names the role, so audit records of development tokens read as such.
	if *sub == "" {
		*sub = "dev-" + *role
	}
	m, err := minter(cfg)
	if err != nil {
		return err
	}
	tok, err := m.Mint(*sub, datavenue.Role(*role), datavenue.OrgID(*org), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// rolesList names every role, for flag help and errors.
func rolesList() string {
	names := make([]string, len(datavenue.Roles))
	for i, r := range datavenue.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// keys lists the signing keys, newest (active) first, after an optional rotation. Serving
// processes load the folder at start-up, so they sign with a rotated key after a restart; old keys
// stay in the folder and in the JWKS, so nothing already signed stops verifying.
func keys(cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "rotate" && args[0] != "list") {
		return errors.New("usage: datavenue keys rotate|list")
	}
	kr, err := auth.LoadKeyring(cfg.KeyDir, true)
	if err != nil {
		return err
	}
	if args[0] == "rotate" {
		if _, err := kr.Rotate(); err != nil {
			return err
		}
	}
	for i, k := range kr.JWKS().Keys {
		state := ""
		if i == 0 {
			state = " (active)"
		}
		fmt.Fprintf(stdout, "%s%s\n", k.KID, state)
	}
	return nil
}

// server is the wired venue: the HTTP app and the background loops that go with it.
// newServer builds it without starting anything, so tests can wire a venue and start only the
// loops they need; close releases the pools in the reverse order of opening.
// registry is what the metrics endpoint serves: /metrics on the API, or the separate listener
// of DATAVENUE_METRICS_LISTEN.
type server struct {
	app        *fiber.App
	registry   *prometheus.Registry
	closing    chan struct{}
	background func(ctx context.Context)
	close      func()
}

// newServer wires every service over PostgreSQL and Redis.
// The start-up checks happen here, before the listener opens: the URLs parse, the keys load, at
// least one token issuer is trusted (a venue nobody can log into is a configuration error, not a
// running service), and wiring checks the calendar file. Each failure closes what was already
// opened.
func newServer(ctx context.Context, cfg config.Config, logger *slog.Logger) (*server, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	rdb, err := openRedis(cfg) // a single Redis or a Redis Cluster
	if err != nil {
		db.Close()
		return nil, err
	}
	closeAll := func() { rdb.Close(); db.Close() }
	kr, err := auth.LoadKeyring(cfg.KeyDir, cfg.DevIssuer)
	if err != nil {
		closeAll()
		return nil, err
	}
	issuers, err := auth.ParseTrustedIssuers(cfg.TrustedIssuers)
	if err != nil {
		closeAll()
		return nil, err
	}
	if cfg.DevIssuer {
		// The venue trusts its own keys only with DATAVENUE_DEV_ISSUER; production trusts an external
		// identity provider and keeps the keyring for signing certificates and vouchers.
		issuers[cfg.JWTIssuer] = kr
	}
	if len(issuers) == 0 {
		closeAll()
		return nil, errors.New("no token issuer is trusted: set DATAVENUE_TRUSTED_ISSUERS or DATAVENUE_DEV_ISSUER=true")
	}
	// Anonymous catalogue reads may go to a hot standby (replica.go).
	// A standby that is configured but down does not stop the start: its pool is made without
	// connecting, and the router keeps the reads on the primary until it answers.
	reads, err := openReadReplica(ctx, cfg, db, logger)
	if err != nil {
		closeAll()
		return nil, err
	}
	closePrimary := closeAll
	closeAll = func() { reads.close(); closePrimary() }
	// Every service and the API's dependencies, as the API tests build them too (internal/wiring);
	// the calendar file is read and checked there, before anything serves.
	venue, err := wiring.New(cfg, wiring.Backends{DB: db, Redis: rdb, Keys: venueKeys, Keyring: kr, Issuers: issuers,
		Catalogue: reads.catalogue(), ReadReplica: reads.status()}, wiring.Options{Logger: logger, Version: version, DevIdentities: demoIdentities()})
	if err != nil {
		closeAll()
		return nil, err
	}
	// Closing lets long-lived responses (the live feeds) end at shutdown instead of holding the
	// graceful shutdown open for its whole timeout.
	closing := make(chan struct{})
	venue.Deps.Closing = closing
	app := api.New(venue.Deps)
	reg := venue.Deps.Registry
	auctions, orders, vouchers, wake := venue.Auctions, venue.Orders, venue.Vouchers, venue.Wake
	webhookWorker, projectionFailures := venue.WebhookWorker, venue.ProjectionFailures
	// background starts the loops every serving process runs. Each is safe to run in several
	// processes at once (row locks, SKIP LOCKED claims, per-shard locks), so scaling out needs no
	// leader election; each logs its failures and retries on its next tick rather than exiting.
	background := func(ctx context.Context) {
		// Open auctions whose hot state Redis lost are rebuilt from PostgreSQL before bidding resumes.
		if n, err := auctions.Restore(ctx, db.Matching()); err != nil {
			logger.Warn("rebuilding open auctions from PostgreSQL", "error", err.Error())
		} else if n > 0 {
			logger.Warn("rebuilt open auctions that Redis had lost", "auctions", n)
		}
		// Expiries are recorded and events delivered: listing suspends products whose
		// certificates, authorisations or approvals stop holding, then matching stops their
		// auctions (the order matters: the stopper reads the product's status).
		consumers := []certificates.Consumer{listing.Suspender{Store: db.Listing(), Clock: datavenue.SystemClock{}}, matching.Stopper{Service: auctions},
			webhooks.CertificateEvents{Store: db.Webhooks()}}
		go certificates.Run(ctx, expiryEvery, db.Certificates(), certificates.Dispatcher{Log: db.Certificates(), Consumers: consumers, Logger: logger}, wake)
		// Every process runs a closer: close.lua closes an auction exactly once whoever calls first, and
		// OnClose runs only in the process whose call closed it, so an outcome is recorded once. The
		// deadlines are Redis's (TIME), so the processes' clocks need not agree to the second.
		closer := matching.Closer{Engine: auctions.Engine, Logger: logger, OnClose: func(ctx context.Context, id string, o matching.Outcome) {
			if err := auctions.Closed(ctx, id, o); err != nil {
				logger.Warn("recording an auction outcome", "auction", id, "error", err.Error())
			}
		}}
		go closer.Run(ctx, time.Second)
		// Caps filed for a later day are applied to open auctions on the day they take effect.
		capSweep := &matching.CapSweep{Service: auctions, Schedule: db.Matching(), Logger: logger}
		go capSweep.Run(ctx, capSweepEvery)
		// The settlement sweep cancels orders unpaid after their last day to pay (forfeiting the winner's
		// deposit), auto-confirms deliveries and fills pending due dates; each change locks and re-checks
		// its order, so the sweeps of several processes change each order once. It acts as the system
		// caller so its audit records say the venue did it.
		sweeper := settlement.Sweeper{Orders: orders, Vouchers: vouchers, Logger: logger}
		go sweeper.Run(datavenue.WithCaller(ctx, audit.SystemCaller), sweepEvery)
		// Subscriptions: each period is billed once its grace window has passed (issue 15).
		go subscriptions.Biller{Store: db.Subscriptions(), Clock: datavenue.SystemClock{}}.Loop(datavenue.WithCaller(ctx, audit.SystemCaller), sweepEvery, logger)
		// The projector's consumer name must be unique per process within the Redis consumer group:
		// host and pid make it so, and a dead process's pending entries are reclaimed by the others after
		// ReclaimAfter. Locks give each stream shard to one projector at a time, keeping events of one
		// shard in order.
		host, _ := os.Hostname()
		projector := &matching.Projector{Redis: rdb, Keys: auctions.Engine.Keys, Store: db.Matching(), Consumer: fmt.Sprintf("%s-%d", host, os.Getpid()),
			ReclaimAfter: 30 * time.Second, Locks: db.Matching().ProjectionLocks(), Logger: logger, Failures: func(class string) { projectionFailures.WithLabelValues(class).Inc() }}
		go projector.Run(ctx, time.Second)
		// Idempotency keys past their retention are deleted (in batches, each audited); several
		// processes purging at once skip each other's rows.
		go purgeIdempotencyKeys(datavenue.WithCaller(ctx, audit.SystemCaller), db.Idempotency(), cfg.IdempotencyRetention, purgeEvery, logger)
		// The standby's lag is measured only when one is configured (replica.go).
		reads.run(ctx)
		// Webhook deliveries: every second and when a ping or replay wakes it; obligations due or
		// overdue are announced every minute. Each venue process runs one (claims skip locked rows).
		go webhookWorker.Run(datavenue.WithCaller(ctx, audit.SystemCaller), time.Second, time.Minute)
	}
	return &server{app: app, registry: reg, closing: closing, background: background, close: closeAll}, nil
}

// purgeIdempotencyKeys purges the keys past retention now and then every period until ctx ends;
// a failure is logged and the next tick tries again.
func purgeIdempotencyKeys(ctx context.Context, store postgres.IdempotencyStore, retention, every time.Duration, logger *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if n, err := store.Purge(ctx, retention); err != nil && ctx.Err() == nil {
			logger.Warn("purging idempotency keys", "error", err.Error())
		} else if n > 0 {
			logger.Info("purged idempotency keys past their retention", "keys", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// serve runs the venue until a signal or a listener fails. On a signal: the feeds are told to end
// (closing), then Fiber stops accepting and waits up to 15 s for requests in flight; the
// background loops end with ctx, and the deferred close releases the pools last.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	srv, err := newServer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer srv.close()
	srv.background(ctx)
	// Buffered for both listeners, so the one that fails second never blocks on a send nobody reads.
	listenErr := make(chan error, 2)
	go func() { listenErr <- srv.app.Listen(cfg.Listen) }()
	// The metrics listener is plain HTTP with a header timeout (against slow-header clients); it
	// serves only the registry, so exposing it exposes counters and nothing else.
	if cfg.MetricsListen != "" {
		// Metrics on an address of their own (an internal network, a sidecar): no token there, and
		// no /metrics on the API.
		metrics := &http.Server{Addr: cfg.MetricsListen, Handler: promhttp.HandlerFor(srv.registry, promhttp.HandlerOpts{}),
			ReadHeaderTimeout: 5 * time.Second}
		go func() { listenErr <- metrics.ListenAndServe() }()
		defer metrics.Close()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", cfg.MetricsListen)
	}
	fmt.Fprintf(stdout, "datavenue %s serving http://%s (docs: http://%s/docs); Ctrl-C stops it\n", version, cfg.Listen, cfg.Listen)
	select {
	case err := <-listenErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	close(srv.closing)
	if err := srv.app.ShutdownWithTimeout(15 * time.Second); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "datavenue stopped")
	return nil
}
