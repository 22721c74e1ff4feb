package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/internal/wiring"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/ratelimit"
	"github.com/datavenue/datavenue/workdays"
)

const (
	issuer    = "urn:datavenue:test"
	audience  = "datavenue"
	bureauOrg = datavenue.OrgID("org_01JDEM00000000000000000001")
	buyerOrg  = datavenue.OrgID("org_01JDEM00000000000000000006")
	otherOrg  = datavenue.OrgID("org_01JDEM00000000000000000007")
)

// syncBuffer is a log sink that tests can read while the app writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// panickyOrganisations is the real service, except that listing kind "panic" panics: the only way
// to prove from outside that a panic in a handler is answered cleanly.
type panickyOrganisations struct{ parties.Service }

func (p panickyOrganisations) List(ctx context.Context, f parties.ListFilter) ([]parties.Organisation, error) {
	if f.Kind == "panic" {
		panic("secret internal detail")
	}
	return p.Service.List(ctx, f)
}

type venue struct {
	closing chan struct{}
	t       *testing.T
	redis   testenv.Redis
	app     *fiber.App
	db      *postgres.DB
	keys    *auth.Keyring
	minter  auth.Minter
	logs    *syncBuffer
}

type check = api.Check

func newVenue(t *testing.T, ready ...check) *venue {
	t.Helper()
	return newVenueWith(t, nil, ready...)
}

// callbackSecret is the test venues' payment callback secret.
var callbackSecret = []byte("test-callback-secret")

// The venues' response write timeout, live-feed heartbeat and feeds per organisation; a test of
// the feeds shortens them (TestLiveFeedsOutliveTheWriteTimeout).
var (
	writeTimeout         = 30 * time.Second
	feedHeartbeat        = 15 * time.Second
	feedsPerOrganisation = 20
)

// bodyLimit is the venues' body limit; a test of the limit lowers it (see TestBodyOverTheLimitIs413).
var bodyLimit = 64 << 10

func newVenueWith(t *testing.T, limiter api.RateLimiter, ready ...check) *venue {
	t.Helper()
	db, dbURL := testenv.NewDBWithURL(t)
	replica := replicaFor(t, db, dbURL) // none unless a test of the read replica asks (replica_test.go)
	rdb := testenv.NewRedis(t)
	kr, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	// The venue as `datavenue serve` wires it (internal/wiring), over this test's database and Redis
	// prefix, with the test's issuer and limits; roles are read again at every request.
	cfg := config.Config{JWTIssuer: issuer, JWTAudience: audience, ConfirmAfter: 7 * 24 * time.Hour, WebhookAllowHTTP: true,
		ProjectionLagLimit: 30 * time.Second, BodyLimit: bodyLimit,
		// Statement imports take larger files than any other route.
		ImportLimit:           8 << 20,
		PaymentCallbackSecret: string(callbackSecret), MeteringSecret: string(meteringSecret), PublicURL: "https://venue.test", CORSOrigins: []string{"https://console.venue.test"}}
	wired, err := wiring.New(cfg, wiring.Backends{DB: db, Redis: rdb.Client, Keys: matching.Keys{Prefix: rdb.Prefix}, Keyring: kr,
		Issuers: map[string]auth.KeySource{issuer: kr}, Catalogue: replica.catalogue, ReadReplica: replica.status},
		wiring.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Version: "test", RolesTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	closing := make(chan struct{})
	deps := wired.Deps
	deps.Closing = closing
	deps.Organisations = panickyOrganisations{parties.Service{Store: db.Parties()}}
	deps.RateLimiter = limiter
	if ready != nil { // the venue's own checks unless a test fakes a dependency down
		deps.Ready = ready
	}
	deps.WriteTimeout, deps.FeedHeartbeat, deps.FeedsPerOrganisation = writeTimeout, feedHeartbeat, feedsPerOrganisation
	app := api.New(deps)
	v := &venue{t: t, app: app, db: db, keys: kr, logs: logs, redis: rdb, closing: closing,
		minter: auth.Minter{Keys: kr, Issuer: issuer, Audience: audience, Clock: datavenue.SystemClock{}}}
	v.seedParties()
	return v
}

// seededParties is how many organisations seedParties registers.
const seededParties = 10

func (v *venue) token(role datavenue.Role, org datavenue.OrgID) string {
	v.t.Helper()
	tok, err := v.minter.Mint("user-"+string(role), role, org, time.Hour)
	if err != nil {
		v.t.Fatal(err)
	}
	return tok
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	problem api.Problem
}

// do sends a request; body may be a string (sent as is) or a value (sent as JSON).
func (v *venue) do(method, path, token string, body any, headers ...string) response {
	v.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			v.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := v.app.Test(req, -1)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		if err := json.Unmarshal(out.body, &out.problem); err != nil {
			v.t.Fatalf("problem body %q: %v", out.body, err)
		}
	}
	return out
}

// wantProblem checks an error response: status, problem+json media type, stable code, and that the
// problem names the request it answers.
func wantProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d (%s), want %d", r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	if r.problem.Code != code || r.problem.Status != status || r.problem.Type == "" || r.problem.Title == "" {
		t.Fatalf("problem = %+v, want code %s and status %d", r.problem, code, status)
	}
	if r.problem.RequestID == "" || r.problem.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("problem request_id %q, X-Request-Id %q: want both set and equal", r.problem.RequestID, r.header.Get("X-Request-Id"))
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func validRegistration(name string) map[string]any {
	return map[string]any{"uscc": "91350100M000100Y43", "name": name, "kind": "operator"}
}

func TestRegisterAndReadOrganisation(t *testing.T) {
	v := newVenue(t)
	r := v.do("POST", "/v1/organisations", v.token(datavenue.RoleDataBureau, bureauOrg), validRegistration("数据运营有限公司"))
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	org := decode[parties.Organisation](t, r)
	if !datavenue.HasPrefix(string(org.ID), "org") || org.USCC != "91350100M000100Y43" || org.Kind != parties.KindOperator {
		t.Fatalf("registered %+v", org)
	}
	if loc := r.header.Get("Location"); loc != "/v1/organisations/"+string(org.ID) {
		t.Fatalf("Location = %q", loc)
	}
	got := decode[parties.Organisation](t, v.do("GET", "/v1/organisations/"+string(org.ID), v.token(datavenue.RoleBuyer, buyerOrg), nil))
	if got.ID != org.ID || got.Name != "数据运营有限公司" {
		t.Fatalf("GET = %+v, want %+v", got, org)
	}
}

func TestEveryAuthFailureIs401(t *testing.T) {
	v := newVenue(t)
	good := v.token(datavenue.RoleBuyer, buyerOrg)
	other, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	strangerMinter := auth.Minter{Keys: other, Issuer: issuer, Audience: audience, Clock: datavenue.SystemClock{}}
	unknownKID, _ := strangerMinter.Mint("x", datavenue.RoleBuyer, buyerOrg, time.Hour)
	expiredMinter := v.minter
	expiredMinter.Clock = fixedClock{time.Now().Add(-2 * time.Hour)}
	expired, _ := expiredMinter.Mint("x", datavenue.RoleBuyer, buyerOrg, time.Hour)
	wrongAud := v.minter
	wrongAud.Audience = "another-venue"
	wrongAudTok, _ := wrongAud.Mint("x", datavenue.RoleBuyer, buyerOrg, time.Hour)
	wrongIss := v.minter
	wrongIss.Issuer = "https://idp.elsewhere"
	wrongIssTok, _ := wrongIss.Mint("x", datavenue.RoleBuyer, buyerOrg, time.Hour)
	header, payload, _ := strings.Cut(good, ".")
	_ = header
	payload, _, _ = strings.Cut(payload, ".")
	algNone := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."
	// The classic confusion attack: HS256 "signed" with the venue's public key as the HMAC secret,
	// both as raw bytes and as the JWKS "x" text a client could fetch.
	active := v.keys.Active()
	claims := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: "x", Audience: jwt.ClaimStrings{audience},
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Role: datavenue.RoleClerk, Org: buyerOrg}
	hmacWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tok.Header["kid"] = active.KID
		signed, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	hmacRaw := hmacWith(active.Public())
	hmacJWK := hmacWith([]byte(v.keys.JWKS().Keys[0].X))
	// A properly signed token whose role is not a venue role.
	badRole := claims
	badRole.Role = "superuser"
	badRoleTok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, badRole)
	badRoleTok.Header["kid"] = active.KID
	badRoleSigned, err := badRoleTok.SignedString(active.Private)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, authz, code string
	}{
		{"no header", "", "token_missing"},
		{"basic scheme", "Basic dXNlcjpwYXNz", "token_malformed"},
		{"bearer without token", "Bearer ", "token_malformed"},
		{"garbage", "Bearer abc", "token_malformed"},
		{"alg none", "Bearer " + algNone, "token_bad_algorithm"},
		{"unknown kid", "Bearer " + unknownKID, "token_unknown_key"},
		{"expired", "Bearer " + expired, "token_expired"},
		{"wrong audience", "Bearer " + wrongAudTok, "token_bad_audience"},
		{"untrusted issuer", "Bearer " + wrongIssTok, "token_bad_issuer"},
		{"signature altered", "Bearer " + good[:len(good)-4] + flip(good[len(good)-4:]), "token_bad_signature"},
		{"HS256 with the public key", "Bearer " + hmacRaw, "token_bad_algorithm"},
		{"HS256 with the JWK text", "Bearer " + hmacJWK, "token_bad_algorithm"},
		{"role that does not exist", "Bearer " + badRoleSigned, "token_bad_role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.authz == "" {
				r = v.do("GET", "/v1/me", "", nil)
			} else {
				r = v.do("GET", "/v1/me", "", nil, "Authorization", tt.authz)
			}
			wantProblem(t, r, http.StatusUnauthorized, tt.code)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	me := decode[api.Me](t, v.do("GET", "/v1/me", good, nil))
	if me.Role != datavenue.RoleBuyer || me.Org != buyerOrg || me.Issuer != issuer {
		t.Fatalf("/v1/me with a good token = %+v", me)
	}
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestBadInputGetsItsDocumentedStatus(t *testing.T) {
	v := newVenue(t)
	bureau := v.token(datavenue.RoleDataBureau, bureauOrg)
	if r := v.do("POST", "/v1/organisations", bureau, validRegistration("已有机构")); r.status != 201 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	post := func(body any, headers ...string) response {
		return v.do("POST", "/v1/organisations", bureau, body, headers...)
	}
	tests := []struct {
		name   string
		r      func() response
		status int
		code   string
		field  string
	}{
		{"malformed JSON", func() response { return post(`{"uscc":`) }, 400, "malformed_json", ""},
		{"not an object", func() response { return post(`[1,2]`) }, 400, "malformed_json", ""},
		{"two JSON values", func() response { return post(`{"name":"a"} {"name":"b"}`) }, 400, "malformed_json", ""},
		{"empty body", func() response { return post(`  `) }, 400, "empty_body", ""},
		{"wrong media type", func() response { return post(`{}`, "Content-Type", "text/plain") }, 415, "unsupported_media_type", ""},
		{"unknown field", func() response { return post(`{"uscc":"x","admin":true}`) }, 422, "validation_failed", "admin"},
		{"wrong type", func() response { return post(`{"name":42}`) }, 422, "validation_failed", "name"},
		{"bad check character", func() response {
			return post(map[string]any{"uscc": "91350100M000100Y44", "name": "x", "kind": "buyer"})
		}, 422, "validation_failed", "uscc"},
		{"NUL in a name", func() response {
			return post(map[string]any{"uscc": "91350100M000100Y43", "name": "a\u0000b", "kind": "buyer"})
		}, 422, "validation_failed", "name"},
		{"SQL metacharacters are just text", func() response {
			return post(map[string]any{"uscc": "91350100M000100Y43", "name": "x'); DROP TABLE organisations;--", "kind": "nope"})
		}, 422, "validation_failed", "kind"},
		{"duplicate", func() response { return post(validRegistration("另一个")) }, 409, "organisation_uscc_taken", ""},
		{"wrong role", func() response {
			return v.do("POST", "/v1/organisations", v.token(datavenue.RoleBuyer, buyerOrg), validRegistration("x"))
		}, 403, "role_not_allowed", ""},
		{"unknown organisation", func() response {
			return v.do("GET", "/v1/organisations/org_01JDEM00000000000000000099", bureau, nil)
		}, 404, "organisation_not_found", ""},
		{"id of another kind", func() response { return v.do("GET", "/v1/organisations/'%20OR%201=1--", bureau, nil) }, 404, "organisation_not_found", ""},
		{"unknown route", func() response { return v.do("GET", "/v1/nothing-here", bureau, nil) }, 404, "route_not_found", ""},
		{"limit out of range", func() response { return v.do("GET", "/v1/organisations?limit=100000", bureau, nil) }, 422, "validation_failed", "limit"},
		{"limit not a number", func() response { return v.do("GET", "/v1/organisations?limit=ten", bureau, nil) }, 422, "validation_failed", "limit"},
		{"cursor not ours", func() response { return v.do("GET", "/v1/organisations?cursor=%%%", bureau, nil) }, 422, "validation_failed", "cursor"},
		{"unknown kind filter", func() response { return v.do("GET", "/v1/organisations?kind=pirate", bureau, nil) }, 422, "validation_failed", "kind"},
		{"audit cursor not ours", func() response { return v.do("GET", "/v1/audit-events?cursor=YWJj", bureau, nil) }, 422, "validation_failed", "cursor"},
		{"idempotency key too long", func() response {
			return post(validRegistration("x"), "Idempotency-Key", strings.Repeat("k", 256))
		}, 400, "idempotency_key_invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			wantProblem(t, r, tt.status, tt.code)
			if tt.field != "" {
				found := false
				for _, f := range r.problem.Errors {
					found = found || f.Field == tt.field
				}
				if !found {
					t.Fatalf("errors = %+v, want one for field %q", r.problem.Errors, tt.field)
				}
			}
		})
	}
	var count int
	if err := v.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM organisations`).Scan(&count); err != nil || count != seededParties+1 {
		t.Fatalf("organisations after bad input = %d (%v), want %d", count, err, seededParties+1)
	}
}

func newVenueLimit(t *testing.T, limit int) *venue {
	t.Helper()
	saved := bodyLimit
	bodyLimit = limit
	defer func() { bodyLimit = saved }()
	return newVenue(t)
}

// serve runs the app on a loopback port, for what app.Test cannot show (it refuses large bodies
// itself, before the app's limit is reached).
func (v *venue) serve() string {
	v.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		v.t.Fatal(err)
	}
	go func() { _ = v.app.Listener(ln) }()
	v.t.Cleanup(func() {
		close(v.closing) // end the live feeds first, as the venue does
		_ = v.app.Shutdown()
	})
	return "http://" + ln.Addr().String()
}

// postServed sends a raw body over a real connection to a served venue (for what app.Test cannot
// show), the headers given as name, value pairs.
func postServed(t *testing.T, url string, body []byte, headers ...string) response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, header: resp.Header}
	r.body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(r.body, &r.problem)
	return r
}

func TestBodyOverTheLimitIs413(t *testing.T) {
	// A small limit and a body just over it: the client writes the whole request at once, so the
	// server's early 413 cannot race the client's write (which would end in a broken pipe).
	v := newVenueLimit(t, 1024)
	base := v.serve()
	big := `{"uscc":"91350100M000100Y43","name":"` + strings.Repeat("x", 1500) + `","kind":"operator"}`
	r := postServed(t, base+"/v1/organisations", []byte(big), "Content-Type", "application/json",
		"Authorization", "Bearer "+v.token(datavenue.RoleDataBureau, bureauOrg))
	if r.status != http.StatusRequestEntityTooLarge || r.problem.Code != "body_too_large" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("oversized body: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	// A statement import may be larger: the same body reaches the importer (and is refused as a
	// statement, not for its size).
	if r := postServed(t, base+"/v1/reconciliation/imports?period_end=2026-11-30", []byte(big),
		"Authorization", "Bearer "+v.token(datavenue.RoleClerk, venueOrg)); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("large statement: %d, want 422 (read, not refused for size)", r.status)
	}
}

func TestPanicIsAnswered500WithoutInternals(t *testing.T) {
	v := newVenue(t)
	r := v.do("GET", "/v1/organisations?kind=panic", v.token(datavenue.RoleAuditor, auditorOrg), nil)
	wantProblem(t, r, http.StatusInternalServerError, "internal")
	if bytes.Contains(r.body, []byte("secret")) {
		t.Fatalf("500 body leaks the panic: %s", r.body)
	}
	logs := v.logs.String()
	if !strings.Contains(logs, `"msg":"panic"`) || !strings.Contains(logs, r.problem.RequestID) || !strings.Contains(logs, "secret internal detail") {
		t.Fatalf("log lacks the panic with request id %s:\n%s", r.problem.RequestID, logs)
	}
	if r := v.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("after a panic /healthz = %d", r.status)
	}
}

func TestIdempotencyKey(t *testing.T) {
	v := newVenue(t)
	bureau := v.token(datavenue.RoleDataBureau, bureauOrg)
	body := validRegistration("幂等测试公司")
	first := v.do("POST", "/v1/organisations", bureau, body, "Idempotency-Key", "reg-1")
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	retry := v.do("POST", "/v1/organisations", bureau, body, "Idempotency-Key", "reg-1")
	if retry.status != 201 || !bytes.Equal(retry.body, first.body) || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s (replayed %q), want the original 201 %s", retry.status, retry.body, retry.header.Get("Idempotent-Replayed"), first.body)
	}
	if loc := first.header.Get("Location"); loc == "" || retry.header.Get("Location") != loc {
		t.Fatalf("the replay's Location %q, the first's %q (issue 12)", retry.header.Get("Location"), loc)
	}
	other := v.do("POST", "/v1/organisations", bureau, validRegistration("别的公司"), "Idempotency-Key", "reg-1")
	wantProblem(t, other, http.StatusUnprocessableEntity, "idempotency_key_reused")

	// Another caller's key space is its own: the same key is a new request there.
	otherBureau := v.token(datavenue.RoleFinanceBureau, datavenue.OrgID("org_01JDEM00000000000000000002"))
	r := v.do("POST", "/v1/organisations", otherBureau, body, "Idempotency-Key", "reg-1")
	wantProblem(t, r, http.StatusConflict, "organisation_uscc_taken")

	// A refused request does not burn its key: corrected, it goes through with the same key.
	bad := map[string]any{"uscc": "91350100M000100Y44", "name": "改正后", "kind": "buyer"}
	wantProblem(t, v.do("POST", "/v1/organisations", bureau, bad, "Idempotency-Key", "reg-2"), 422, "validation_failed")
	bad["uscc"] = "91110108MA01ABCDE" + string(mustCheck(t, "91110108MA01ABCDE"))
	if r := v.do("POST", "/v1/organisations", bureau, bad, "Idempotency-Key", "reg-2"); r.status != 201 {
		t.Fatalf("corrected retry: %d %s", r.status, r.body)
	}

	events, err := v.db.Audit().Events(context.Background(), audit.Filter{})
	registered := 0
	for _, e := range events {
		if e.ActorRole != "system" { // the seeded parties are the system's
			registered++
		}
	}
	if err != nil || registered != 2 {
		t.Fatalf("audit events = %d (%v), want 2: one per organisation actually registered", registered, err)
	}
}

func mustCheck(t *testing.T, body string) byte {
	c, err := parties.USCCCheckChar(body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConcurrentRetriesCreateOnce(t *testing.T) {
	v := newVenue(t)
	bureau := v.token(datavenue.RoleDataBureau, bureauOrg)
	body := validRegistration("并发公司")
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- v.do("POST", "/v1/organisations", bureau, body, "Idempotency-Key", "same").status
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 201 && s != 409 {
			t.Errorf("status %d, want 201 (first or replay) or 409 (in progress)", s)
		}
	}
	var count int
	if err := v.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM organisations`).Scan(&count); err != nil || count != seededParties+1 {
		t.Fatalf("organisations = %d (%v), want exactly %d", count, err, seededParties+1)
	}
}

func TestAuditTrailRecordsWhoAndRequest(t *testing.T) {
	v := newVenue(t)
	r := v.do("POST", "/v1/organisations", v.token(datavenue.RoleDataBureau, bureauOrg), validRegistration("审计测试"),
		"X-Request-Id", "client-trace-42")
	venueID := r.header.Get("X-Request-Id")
	if r.status != 201 || !strings.HasPrefix(venueID, "req_") || r.header.Get("X-Client-Request-Id") != "client-trace-42" {
		t.Fatalf("register: %d, X-Request-Id %q, X-Client-Request-Id %q", r.status, venueID, r.header.Get("X-Client-Request-Id"))
	}
	created := decode[parties.Organisation](t, r)
	page := decode[api.Page[audit.Event]](t, v.do("GET", "/v1/audit-events?resource_id="+string(created.ID), v.token(datavenue.RoleAuditor, auditorOrg), nil))
	if len(page.Data) != 1 {
		t.Fatalf("auditor sees %d events, want 1", len(page.Data))
	}
	e := page.Data[0]
	if e.Action != "organisation.registered" || e.ActorOrg != bureauOrg || e.ActorRole != "data_bureau" ||
		e.ActorSubject != "user-data_bureau" || e.RequestID != venueID || e.ClientRequestID != "client-trace-42" || e.At.IsZero() {
		t.Fatalf("event = %+v", e)
	}
	// A buyer of another organisation sees only its own organisation's events: none.
	page = decode[api.Page[audit.Event]](t, v.do("GET", "/v1/audit-events", v.token(datavenue.RoleBuyer, buyerOrg), nil))
	if len(page.Data) != 0 {
		t.Fatalf("buyer sees %d events of another organisation", len(page.Data))
	}
}

func TestKeysetPagination(t *testing.T) {
	v := newVenue(t)
	bureau := v.token(datavenue.RoleDataBureau, bureauOrg)
	want := map[datavenue.OrgID]bool{}
	for i := 0; i < 5; i++ {
		body := "9135010000000000" + string(rune('A'+i))
		reg := map[string]any{"uscc": body + string(mustCheck(t, body)), "name": "买方" + string(rune('A'+i)), "kind": "buyer"}
		r := v.do("POST", "/v1/organisations", bureau, reg)
		if r.status != 201 {
			t.Fatalf("register %d: %d %s", i, r.status, r.body)
		}
		want[decode[parties.Organisation](t, r).ID] = true
	}
	seen := map[datavenue.OrgID]bool{}
	cursor, pages := "", 0
	for {
		page := decode[api.Page[parties.Organisation]](t, v.do("GET", "/v1/organisations?kind=buyer&limit=2&cursor="+cursor, bureau, nil))
		pages++
		for _, o := range page.Data {
			if seen[o.ID] {
				t.Fatalf("organisation %s on two pages", o.ID)
			}
			seen[o.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	for id := range want {
		if !seen[id] {
			t.Fatalf("registered buyer %s on no page", id)
		}
	}
	if len(seen) != len(want)+2 || pages != 4 { // and the two seeded buyers
		t.Fatalf("saw %d buyers on %d pages, want 7 on 4", len(seen), pages)
	}
}

func TestReadiness(t *testing.T) {
	v := newVenue(t)
	r := v.do("GET", "/readyz", "", nil)
	if ready := decode[api.Readiness](t, r); r.status != 200 || ready.Checks["postgres"] != "ok" || ready.Checks["redis"] != "ok" {
		t.Fatalf("/readyz = %d %s", r.status, r.body)
	}
	down := newVenue(t, check{Name: "postgres", Ping: v.db.Ping},
		check{Name: "redis", Ping: func(context.Context) error { return errors.New("connection refused") }})
	r = down.do("GET", "/readyz", "", nil)
	if ready := decode[api.Readiness](t, r); r.status != 503 || ready.Checks["redis"] != "unreachable" || ready.Checks["postgres"] != "ok" {
		t.Fatalf("/readyz with Redis down = %d %s", r.status, r.body)
	}
}

func TestMetricsByRouteTemplate(t *testing.T) {
	v := newVenue(t)
	tok := v.token(datavenue.RoleBuyer, buyerOrg)
	v.do("GET", "/v1/organisations/org_01JDEM00000000000000000042", tok, nil)
	v.do("GET", "/no/such/path/123", "", nil)
	body := string(v.do("GET", "/metrics", v.token(datavenue.RoleAuditor, auditorOrg), nil).body)
	for _, want := range []string{
		`datavenue_http_requests_total{method="GET",route="/v1/organisations/:id",status="404"} 1`,
		`datavenue_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`datavenue_http_request_duration_seconds_bucket{method="GET",route="/v1/organisations/:id"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "org_01JDEM00000000000000000042") || strings.Contains(body, "/no/such/path") {
		t.Error("/metrics labels carry raw paths")
	}
}

func TestJWKSPublishesTheSigningKeys(t *testing.T) {
	v := newVenue(t)
	if _, err := v.keys.Rotate(); err != nil {
		t.Fatal(err)
	}
	r := v.do("GET", "/.well-known/jwks.json", "", nil)
	set := decode[auth.JWKSet](t, r)
	if r.status != 200 || len(set.Keys) != 2 || set.Keys[0].KID != v.keys.Active().KID || set.Keys[0].KTY != "OKP" {
		t.Fatalf("JWKS = %d %s", r.status, r.body)
	}
	for _, k := range set.Keys {
		pub, err := k.Key()
		if err != nil || auth.Thumbprint(pub) != k.KID {
			t.Fatalf("JWK %s: key %v, err %v; want kid = thumbprint", k.KID, pub, err)
		}
	}
}

func TestEveryRouteIsInOpenAPI(t *testing.T) {
	v := newVenue(t)
	r := v.do("GET", "/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %v, version %q", err, doc.OpenAPI)
	}
	routes := 0
	for _, rt := range v.app.GetRoutes(true) {
		// The web console (HTML for people, under /console) is not part of the API's document.
		if rt.Method == "HEAD" || rt.Method == "USE" || strings.HasPrefix(rt.Path, "/console") {
			continue
		}
		routes++
		path := rt.Path
		for _, p := range rt.Params {
			path = strings.Replace(path, ":"+p, "{"+p+"}", 1)
		}
		op, ok := doc.Paths[path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s %s is not in /openapi.json", rt.Method, rt.Path)
			continue
		}
		if op["operationId"] == "" || op["summary"] == "" || op["responses"] == nil {
			t.Errorf("route %s %s: operation lacks id, summary or responses", rt.Method, rt.Path)
		}
	}
	if routes < 10 {
		t.Fatalf("found only %d routes; the route walk is broken", routes)
	}
	html := v.do("GET", "/docs", "", nil)
	if html.status != 200 || !strings.Contains(string(html.body), "/v1/organisations/{id}") {
		t.Fatalf("/docs = %d, lacks the organisation route", html.status)
	}
}

func TestRateLimitPerOrganisation(t *testing.T) {
	r := testenv.NewRedis(t)
	limiter := ratelimit.Limiter{Client: r.Client, Prefix: r.Prefix, Rate: 1, Period: time.Hour, Burst: 2}
	v := newVenueWith(t, limiter)
	buyer := v.token(datavenue.RoleBuyer, buyerOrg)
	for i := 0; i < 2; i++ {
		if r := v.do("GET", "/v1/me", buyer, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	refused := v.do("GET", "/v1/me", buyer, nil)
	wantProblem(t, refused, http.StatusTooManyRequests, "rate_limited")
	if retry, err := strconv.Atoi(refused.header.Get("Retry-After")); err != nil || retry < 3500 || retry > 3600 {
		t.Fatalf("Retry-After = %q, want about 3600 seconds", refused.header.Get("Retry-After"))
	}
	// Another organisation has its own budget; unauthenticated operational routes have none.
	if r := v.do("GET", "/v1/me", v.token(datavenue.RoleBuyer, otherOrg), nil); r.status != 200 {
		t.Fatalf("other organisation: %d", r.status)
	}
	if r := v.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("/healthz: %d", r.status)
	}
	// Bidding spends the organisation's budget like any authenticated route.
	wantProblem(t, v.do("POST", "/v1/auctions/auc_x/bids", buyer, map[string]any{"amount": "1.00"}), http.StatusTooManyRequests, "rate_limited")
	// The public catalogue: anonymous searches spend their address's budget; a search with a token
	// spends the organisation's (this buyer's is spent already).
	for i := 0; i < 2; i++ {
		if r := v.do("GET", "/v1/catalogue?q=公交", "", nil); r.status != 200 {
			t.Fatalf("anonymous search %d: %d %s", i+1, r.status, r.body)
		}
	}
	anon := v.do("GET", "/v1/catalogue?q=公交", "", nil)
	wantProblem(t, anon, http.StatusTooManyRequests, "rate_limited")
	if anon.header.Get("Retry-After") == "" {
		t.Fatal("a limited search without Retry-After")
	}
	wantProblem(t, v.do("GET", "/v1/catalogue?q=公交", buyer, nil), http.StatusTooManyRequests, "rate_limited")
	if r := v.do("GET", "/v1/catalogue?q=公交", v.token(datavenue.RoleBuyer, auditorOrg), nil); r.status != 200 {
		t.Fatalf("search by an organisation with budget left: %d", r.status)
	}
}

func mustCalendar(t *testing.T) *workdays.Calendar {
	c, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A gzip- or deflate-encoded body is decoded within the route's limit: a small compressed body
// that unfolds past it is refused (413), never decoded whole; other encodings are refused (415).
func TestEncodedBodiesAreDecodedWithinTheLimit(t *testing.T) {
	v := newVenueLimit(t, 4096)
	base := v.serve()
	gz := func(payload []byte) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(payload)
		w.Close()
		return b.Bytes()
	}
	post := func(body []byte, encoding string) response {
		return postServed(t, base+"/v1/organisations", body, "Content-Type", "application/json", "Content-Encoding", encoding,
			"Authorization", "Bearer "+v.token(datavenue.RoleDataBureau, bureauOrg))
	}
	small := gz(bytes.Repeat([]byte(" "), 10000)) // 10,000 bytes decoded, a few dozen sent
	if r := post(small, "gzip"); r.status != http.StatusRequestEntityTooLarge || r.problem.Code != "body_too_large" {
		t.Fatalf("a small gzip body over the limit once decoded: %d %s", r.status, r.body)
	}
	valid := gz([]byte(`{"uscc":"` + uscc(t, 7077) + `","name":"压缩请求单位","kind":"buyer"}`))
	if r := post(valid, "gzip"); r.status != http.StatusCreated {
		t.Fatalf("a gzip-encoded registration: %d %s", r.status, r.body)
	}
	if r := post([]byte(`{}`), "br"); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("a brotli body: %d %s", r.status, r.body)
	}
}

// A key twice in one object, or a key in another case than the field's, is refused: encoding/json
// would take the last one, or match it anyway (issue 11, finding 6).
func TestDuplicateAndMiscasedKeysAreRefused(t *testing.T) {
	v := newVenue(t)
	bureau := v.token(datavenue.RoleDataBureau, bureauOrg)
	for body, field := range map[string]string{
		`{"uscc":"` + uscc(t, 301) + `","name":"甲","name":"乙","kind":"buyer"}`:                          "name",
		`{"uscc":"` + uscc(t, 302) + `","NAME":"甲","kind":"buyer"}`:                                     "NAME",
		`{"uscc":"` + uscc(t, 303) + `","Name":"甲","kind":"buyer"}`:                                     "Name",
		`{"uscc":"` + uscc(t, 304) + `","name":"甲","kind":"buyer","roles":["buyer"],"kind":"operator"}`: "kind",
	} {
		r := v.do("POST", "/v1/organisations", bureau, body)
		if r.status != 422 || len(r.problem.Errors) != 1 || r.problem.Errors[0].Field != field {
			t.Errorf("%s: %d %s, want 422 naming %s", body, r.status, r.body, field)
		}
	}
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	if r := v.do("POST", "/v1/organisations", bureau, `{"uscc":`+deep+`}`); r.status != 400 {
		t.Errorf("a body nested 40 deep: %d %s", r.status, r.body)
	}
	var n int
	v.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM organisations`).Scan(&n)
	if n != seededParties {
		t.Errorf("%d organisations after refused bodies, want %d", n, seededParties)
	}
}

// Every anonymous route but the liveness probe, and every request whose token is refused, spends
// its address's budget (issue 11, finding 4).
func TestAnonymousRoutesAndRefusedTokensSpendTheAddressBudget(t *testing.T) {
	for _, path := range []string{"/openapi.json", "/docs", "/v1/catalogue.jsonld", "/v1/public/certificates/DR-2026-000001/status", "/readyz"} {
		r := testenv.NewRedis(t)
		v := newVenueWith(t, ratelimit.Limiter{Client: r.Client, Prefix: r.Prefix, Rate: 1, Period: time.Hour, Burst: 2})
		for i := 0; i < 2; i++ {
			if r := v.do("GET", path, "", nil); r.status == http.StatusTooManyRequests {
				t.Fatalf("%s request %d refused", path, i+1)
			}
		}
		wantProblem(t, v.do("GET", path, "", nil), http.StatusTooManyRequests, "rate_limited")
		if r := v.do("GET", "/healthz", "", nil); r.status != 200 {
			t.Fatalf("/healthz after the budget is spent: %d", r.status)
		}
	}
	r := testenv.NewRedis(t)
	v := newVenueWith(t, ratelimit.Limiter{Client: r.Client, Prefix: r.Prefix, Rate: 1, Period: time.Hour, Burst: 2})
	for _, tok := range []string{"not-a-token", v.token(datavenue.RoleClerk, buyerOrg)} {
		if r := v.do("GET", "/v1/me", tok, nil); r.status != 401 && r.status != 403 {
			t.Fatalf("a refused token: %d %s", r.status, r.body)
		}
	}
	wantProblem(t, v.do("GET", "/v1/me", "still-not-a-token", nil), http.StatusTooManyRequests, "rate_limited")
	// A valid token spends its organisation's budget, not the address's.
	mustStatus(t, v.do("GET", "/v1/me", v.token(datavenue.RoleBuyer, buyerOrg), nil), 200)
}

// Every answer says nosniff; an answer to a request with a token is never cached; the HTML page
// carries a CSP that forbids scripts, outside loads and framing; /metrics needs a clerk's or an
// auditor's token (issue 11, finding 9).
func TestSecurityHeaders(t *testing.T) {
	v := newVenue(t)
	for _, r := range []response{v.do("GET", "/healthz", "", nil), v.do("GET", "/v1/me", v.token(datavenue.RoleBuyer, buyerOrg), nil),
		v.do("GET", "/v1/no-such", "", nil), v.do("GET", "/docs", "", nil)} {
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%d %s: no nosniff", r.status, r.header.Get("Content-Type"))
		}
	}
	for _, r := range []response{v.do("GET", "/v1/me", v.token(datavenue.RoleBuyer, buyerOrg), nil), v.do("GET", "/v1/me", "bad", nil),
		v.do("GET", "/v1/organisations", v.token(datavenue.RoleBuyer, buyerOrg), nil)} {
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("an authenticated answer (%d) has Cache-Control %q", r.status, r.header.Get("Cache-Control"))
		}
	}
	docs := v.do("GET", "/docs", "", nil)
	if csp := docs.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") ||
		docs.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("/docs: CSP %q, X-Frame-Options %q", csp, docs.header.Get("X-Frame-Options"))
	}
	wantProblem(t, v.do("GET", "/metrics", "", nil), 401, "token_missing")
	wantProblem(t, v.do("GET", "/metrics", v.token(datavenue.RoleBuyer, buyerOrg), nil), 403, "role_not_allowed")
	mustStatus(t, v.do("GET", "/metrics", v.token(datavenue.RoleClerk, venueOrg), nil), 200)
}

// The conventions clients' tools expect (issue 12): 405 with Allow for a known path and another
// method; CORS for the configured origins only; compressed answers; an ETag and Cache-Control on
// the public documents, If-None-Match answered 304.
func TestHTTPConventions(t *testing.T) {
	v := newVenue(t)
	r := v.do("DELETE", "/v1/catalogue", "", nil)
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" || r.problem.Code != "method_not_allowed" {
		t.Fatalf("DELETE /v1/catalogue: %d Allow %q %s", r.status, r.header.Get("Allow"), r.body)
	}
	if r := v.do("PUT", "/v1/orders/ord_x/payment", "", nil); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Fatalf("PUT on a POST route with a parameter: %d Allow %q", r.status, r.header.Get("Allow"))
	}
	if r := v.do("HEAD", "/healthz", "", nil); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("HEAD /healthz: %d %q", r.status, r.body)
	}
	if r := v.do("GET", "/v1/no/such/thing", "", nil); r.status != 404 || r.header.Get("Allow") != "" {
		t.Fatalf("an unknown path: %d Allow %q", r.status, r.header.Get("Allow"))
	}

	pre := v.do("OPTIONS", "/v1/me", "", nil, "Origin", "https://console.venue.test", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://console.venue.test" ||
		!strings.Contains(strings.ToLower(pre.header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight from an allowed origin: %d %v", pre.status, pre.header)
	}
	if other := v.do("GET", "/healthz", "", nil, "Origin", "https://evil.example"); other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("an origin not allowed got %q", other.header.Get("Access-Control-Allow-Origin"))
	}

	doc := v.do("GET", "/openapi.json", "", nil, "Accept-Encoding", "gzip")
	if doc.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/openapi.json asked gzip: Content-Encoding %q", doc.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(doc.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) {
		t.Fatalf("the gzip answer does not decode to JSON: %v", err)
	}

	first := v.do("GET", "/v1/catalogue?q=x", "", nil)
	tag := first.header.Get("ETag")
	if first.status != 200 || tag == "" || first.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("the public catalogue: %d ETag %q Cache-Control %q", first.status, tag, first.header.Get("Cache-Control"))
	}
	if again := v.do("GET", "/v1/catalogue?q=x", "", nil, "If-None-Match", tag); again.status != http.StatusNotModified || len(again.body) != 0 {
		t.Fatalf("If-None-Match: %d %s", again.status, again.body)
	}
	if withToken := v.do("GET", "/v1/catalogue?q=x", v.token(datavenue.RoleBuyer, buyerOrg), nil); withToken.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the catalogue asked with a token: Cache-Control %q", withToken.header.Get("Cache-Control"))
	}
}
