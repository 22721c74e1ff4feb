package console_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/console"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/internal/wiring"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/postgres"
)

const (
	issuer   = "urn:datavenue:test"
	audience = "datavenue"
)

// venue is a venue wired as `datavenue serve` wires it (internal/wiring), served on a loopback
// port, with the demo parties registered, the development sign-in on, and the test identity
// provider configured for OIDC.
type venue struct {
	URL    string
	db     *postgres.DB
	idp    *testIdP
	client *venueclient.Client
	// projector applies the engine's events (trades, closes) to PostgreSQL when a test asks: the
	// test venue runs no background workers, so a test steps the projection itself.
	projector *matching.Projector
	// auctions is the venue's matching service: a test runs the auction closer over its engine,
	// as the serving binary does.
	auctions matching.Service
}

// rolesTTL is how long the venue's role gate keeps an organisation's roles: a test sees a change at
// once; the benchmark keeps the venue's default (0: 10 s), as a serving venue does.
var rolesTTL = time.Nanosecond

// meteringSecret derives each operator's secret for signing usage batches (the operator's usage
// page reads what a test reports with it).
const meteringSecret = "console-test-metering-secret"

// devIssuer is whether the test venue trusts its development issuer (DATAVENUE_DEV_ISSUER).
var devIssuer = true

// oidcClaims is how the test venue reads its provider's claims (DATAVENUE_OIDC_ROLE_CLAIM and
// the others): the zero value reads role and org as they are.
var oidcClaims config.OIDC

// demoIdentities are the development sign-in's identities: the demo users, as `datavenue serve`
// lists them.
func demoIdentities() []console.Identity {
	var out []console.Identity
	for _, d := range venueclient.DemoOrgs() {
		if d.Role != "" {
			out = append(out, console.Identity{Subject: "demo-" + string(d.Role), Role: d.Role, Org: d.Reg.ID, OrgName: d.Reg.Name})
		}
	}
	return out
}

func newVenue(t testing.TB, users ...idpUser) *venue {
	t.Helper()
	return newVenueAt(t, nil, users...)
}

// behind is a clock some time behind the real one: the venue's services read it, while the
// matching engine reads Redis's TIME. An auction whose start the services see ahead (so the
// publishing gate lets it through) has then already started for the engine, and a test need not
// wait for it.
type behind time.Duration

func (b behind) Now() time.Time { return time.Now().UTC().Add(-time.Duration(b)) }

// newVenueAt is newVenue with the services' clock (nil: the system clock).
func newVenueAt(t testing.TB, clock datavenue.Clock, users ...idpUser) *venue {
	t.Helper()
	return newVenueWith(t, clock, nil, users...)
}

// newVenueWith is newVenueAt with the venue's configuration changed by configure first.
func newVenueWith(t testing.TB, clock datavenue.Clock, configure func(*config.Config), users ...idpUser) *venue {
	t.Helper()
	db := testenv.NewDB(t)
	rdb := testenv.NewRedis(t)
	kr, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var idp *testIdP
	cfg := config.Config{JWTIssuer: issuer, JWTAudience: audience, DevIssuer: devIssuer, ConfirmAfter: 7 * 24 * time.Hour,
		ProjectionLagLimit: 30 * time.Second, BodyLimit: 1 << 20, ImportLimit: 8 << 20, PublicURL: base, MeteringSecret: meteringSecret}
	if tt, ok := t.(*testing.T); ok {
		idp = newTestIdP(tt, users...)
		cfg.OIDC = config.OIDC{Issuer: idp.URL, ClientID: idp.clientID, ClientSecret: idp.clientSecret, RedirectURL: base + "/console/signin/callback",
			PostLogoutURL: base + "/console/signin", RoleClaim: oidcClaims.RoleClaim, OrgClaim: oidcClaims.OrgClaim,
			RoleMap: oidcClaims.RoleMap, OrgMap: oidcClaims.OrgMap}
		idp.postLogout = cfg.OIDC.PostLogoutURL
	}
	if configure != nil {
		configure(&cfg)
	}
	wired, err := wiring.New(cfg, wiring.Backends{DB: db, Redis: rdb.Client, Keys: matching.Keys{Prefix: rdb.Prefix}, Keyring: kr,
		Issuers: map[string]auth.KeySource{issuer: kr}}, wiring.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version: "test", RolesTTL: rolesTTL, DevIdentities: demoIdentities(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	closing := make(chan struct{})
	deps := wired.Deps
	deps.Closing = closing
	app := api.New(deps)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() {
		close(closing)
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	for _, d := range venueclient.DemoOrgs() {
		if _, err := db.Parties().CreateOrganisation(ctx, d.Reg); err != nil {
			t.Fatalf("seed %s: %v", d.Reg.Name, err)
		}
	}
	if clock == nil {
		clock = datavenue.SystemClock{}
	}
	if idp != nil {
		idp.now = clock.Now
	}
	m := auth.Minter{Keys: kr, Issuer: issuer, Audience: audience, Clock: clock}
	projector := &matching.Projector{Redis: rdb.Client, Keys: matching.Keys{Prefix: rdb.Prefix}, Store: db.Matching(), Consumer: "console-test",
		ReclaimAfter: time.Minute, Logger: slog.New(slog.DiscardHandler)}
	return &venue{URL: base, db: db, idp: idp, projector: projector, auctions: wired.Auctions, client: &venueclient.Client{Base: base, HTTP: &http.Client{Timeout: 30 * time.Second}, Minter: m, Out: io.Discard}}
}

// publishTransport takes an asset through registration, authorisation, approval and appraisal,
// and publishes a product of it with a price cap, through the API as the demo does; n synthetic
// products join it in the catalogue, for the facets to count.
func (v *venue) publishTransport(t testing.TB, n int) client.Product {
	t.Helper()
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	p, err := v.client.Publish(cert.Asset, cert.Scenario, "公交客流小时数据（协议定价）", client.PricingInput{Method: client.PricingInputMethodNegotiation,
		ListPrice: venueclient.Ptr("12000.00"), MinPrice: venueclient.Ptr("9000.00"), MaxPrice: venueclient.Ptr("15000.00")})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if n > 0 {
		if err := catalogueseed.Load(context.Background(), v.db.Pool, venueclient.Operator.Org, 0, n); err != nil {
			t.Fatalf("catalogue seed: %v", err)
		}
	}
	return p
}
