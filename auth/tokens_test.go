package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var now = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

const (
	issuer   = "urn:datavenue:test"
	audience = "datavenue"
	org      = datavenue.OrgID("org_01JTESTORG")
)

func mustKeyring(t *testing.T) *auth.Keyring {
	t.Helper()
	kr, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func verifierFor(kr *auth.Keyring) auth.Verifier {
	return auth.Verifier{Issuers: map[string]auth.KeySource{issuer: kr}, Audience: audience, Clock: fixedClock{now}}
}

func claims(mod func(*auth.Claims)) auth.Claims {
	c := auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Subject: "alice", Audience: jwt.ClaimStrings{audience},
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Role: datavenue.RoleBuyer, Org: org,
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func signEd(t *testing.T, key auth.SigningKey, c auth.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = key.KID
	s, err := tok.SignedString(key.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify accepted the token, want error %s", code)
	}
	if got := datavenue.CodeOf(err); got != code {
		t.Fatalf("error code = %s (%v), want %s", got, err, code)
	}
	if datavenue.KindOf(err) != datavenue.KindUnauthorized {
		t.Fatalf("error kind = %v, want Unauthorized", datavenue.KindOf(err))
	}
}

func TestMintedTokenVerifies(t *testing.T) {
	kr := mustKeyring(t)
	m := auth.Minter{Keys: kr, Issuer: issuer, Audience: audience, Clock: fixedClock{now}}
	tok, err := m.Mint("bob", datavenue.RoleClerk, org, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := verifierFor(kr).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := datavenue.Caller{Subject: "bob", Issuer: issuer, Role: datavenue.RoleClerk, Org: org}
	if got != want {
		t.Fatalf("Verify = %+v, want %+v", got, want)
	}
}

func TestRefusedTokens(t *testing.T) {
	kr := mustKeyring(t)
	key := kr.Active()
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, key.Public())})

	hmacWithPublicKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
		tok.Header["kid"] = key.KID
		s, err := tok.SignedString(pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	algNone := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil))
		tok.Header["kid"] = key.KID
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKey := func() string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		return signEd(t, auth.SigningKey{KID: auth.Thumbprint(priv.Public()), Private: priv}, claims(nil))
	}
	forgedWithKnownKID := func() string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		return signEd(t, auth.SigningKey{KID: key.KID, Private: priv}, claims(nil))
	}
	tamperedPayload := func() string {
		parts := strings.Split(signEd(t, key, claims(nil)), ".")
		body, _ := json.Marshal(claims(func(c *auth.Claims) { c.Role = datavenue.RoleAuditor }))
		parts[1] = strings.TrimRight(jwtB64(body), "=")
		return strings.Join(parts, ".")
	}
	noKID := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(nil))
		s, _ := tok.SignedString(key.Private)
		return s
	}

	tests := []struct {
		name  string
		token string
		code  string
	}{
		{"alg none", algNone(), "token_bad_algorithm"},
		{"HMAC signed with the public key", hmacWithPublicKey(), "token_bad_algorithm"},
		{"unknown kid", otherKey(), "token_unknown_key"},
		{"missing kid", noKID(), "token_unknown_key"},
		{"known kid, other key", forgedWithKnownKID(), "token_bad_signature"},
		{"payload changed after signing", tamperedPayload(), "token_bad_signature"},
		{"expired", signEd(t, key, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) })), "token_expired"},
		{"no exp", signEd(t, key, claims(func(c *auth.Claims) { c.ExpiresAt = nil })), "token_bad_claims"},
		{"not yet valid", signEd(t, key, claims(func(c *auth.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })), "token_not_yet_valid"},
		{"wrong audience", signEd(t, key, claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{"someone-else"} })), "token_bad_audience"},
		{"untrusted issuer", signEd(t, key, claims(func(c *auth.Claims) { c.Issuer = "https://evil.example" })), "token_bad_issuer"},
		{"role that does not exist", signEd(t, key, claims(func(c *auth.Claims) { c.Role = "admin" })), "token_bad_role"},
		{"no organisation", signEd(t, key, claims(func(c *auth.Claims) { c.Org = "" })), "token_bad_claims"},
		{"garbage", "not.a.jwt", "token_malformed"},
		{"empty", "", "token_malformed"},
	}
	v := verifierFor(kr)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.token)
			wantCode(t, err, tt.code)
		})
	}
}

func jwtB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustPKIX(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	dir := t.TempDir()
	kr, err := auth.LoadKeyring(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	m := auth.Minter{Keys: kr, Issuer: issuer, Audience: audience, Clock: fixedClock{now}}
	before, _ := m.Mint("a", datavenue.RoleBuyer, org, time.Hour)
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	reloaded, err := auth.LoadKeyring(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(reloaded.JWKS().Keys) != 2 {
		t.Fatalf("reloaded keyring has %d keys, want 2", len(reloaded.JWKS().Keys))
	}
	if reloaded.Active().KID != kr.Active().KID {
		t.Fatalf("active key after reload = %s, want the rotated %s", reloaded.Active().KID, kr.Active().KID)
	}
	if _, err := verifierFor(reloaded).Verify(before); err != nil {
		t.Fatalf("token signed before rotation: %v", err)
	}
}

func TestExternalIssuerRS256FromFile(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "idp.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &priv.PublicKey)})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	issuers, err := auth.ParseTrustedIssuers("https://idp.example=file:" + path + "#idp-1")
	if err != nil {
		t.Fatal(err)
	}
	v := auth.Verifier{Issuers: issuers, Audience: audience, Clock: fixedClock{now}}
	c := claims(func(c *auth.Claims) { c.Issuer = "https://idp.example" })
	sign := func(kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, err := v.Verify(sign("idp-1")); err != nil || got.Issuer != "https://idp.example" {
		t.Fatalf("Verify = %+v, %v; want the IdP's caller", got, err)
	}
	_, err = v.Verify(sign("idp-2"))
	wantCode(t, err, "token_unknown_key")
}

func TestExternalIssuerJWKSURL(t *testing.T) {
	idpKeys := mustKeyring(t)
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(auth.MarshalJWKS(idpKeys.JWKS()))
	}))
	defer srv.Close()
	issuers, err := auth.ParseTrustedIssuers("https://idp.example=jwks:" + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := auth.Verifier{Issuers: issuers, Audience: audience, Clock: fixedClock{now}}
	c := claims(func(c *auth.Claims) { c.Issuer = "https://idp.example" })
	if _, err := v.Verify(signEd(t, idpKeys.Active(), c)); err != nil {
		t.Fatalf("token from JWKS issuer: %v", err)
	}
	if _, err := v.Verify(signEd(t, idpKeys.Active(), c)); err != nil {
		t.Fatalf("second token from JWKS issuer: %v", err)
	}
	if fetches != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (cached)", fetches)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, err = v.Verify(signEd(t, auth.SigningKey{KID: "made-up", Private: priv}, c))
	wantCode(t, err, "token_unknown_key")
}

// While the provider fails, tokens with unknown kids do not make the venue fetch again before
// MinRefresh: each check would otherwise wait behind a fetch.
func TestRemoteJWKSThrottlesFailedFetches(t *testing.T) {
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	src := &auth.RemoteJWKS{URL: srv.URL, MaxAge: time.Hour, MinRefresh: time.Hour}
	for i := 0; i < 5; i++ {
		if _, err := src.PublicKey(fmt.Sprintf("made-up-%d", i)); err == nil {
			t.Fatalf("kid %d: a key from a provider that is down", i)
		}
	}
	if fetches != 1 {
		t.Fatalf("JWKS fetched %d times while the provider failed, want 1 within MinRefresh", fetches)
	}
}

func TestParseTrustedIssuersRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"no-equals", "iss=ftp://x", "iss=file:/does/not/exist.pem"} {
		if _, err := auth.ParseTrustedIssuers(spec); err == nil {
			t.Errorf("ParseTrustedIssuers(%q) accepted it", spec)
		}
	}
}

func TestCachingVerifier(t *testing.T) {
	kr := mustKeyring(t)
	clock := &movingClock{now}
	cv := &auth.CachingVerifier{Verifier: auth.Verifier{Issuers: map[string]auth.KeySource{issuer: kr}, Audience: audience, Clock: clock}}
	m := auth.Minter{Keys: kr, Issuer: issuer, Audience: audience, Clock: fixedClock{now}}
	tok, _ := m.Mint("a", datavenue.RoleBuyer, org, time.Minute)
	for i := 0; i < 2; i++ { // verified, then from the cache
		if c, err := cv.Verify(tok); err != nil || c.Role != datavenue.RoleBuyer {
			t.Fatalf("call %d: %+v %v", i, c, err)
		}
	}
	// A cached token still expires.
	clock.t = now.Add(2 * time.Minute)
	if _, err := cv.Verify(tok); datavenue.CodeOf(err) != "token_expired" {
		t.Fatalf("after expiry: %v", err)
	}
	// A changed byte is a different token: verified (and refused), never taken from the cache.
	clock.t = now
	dot := strings.IndexByte(tok, '.') + 5 // inside the payload
	flipped := byte('A')
	if tok[dot] == 'A' {
		flipped = 'B'
	}
	if _, err := cv.Verify(tok[:dot] + string(flipped) + tok[dot+1:]); err == nil {
		t.Fatal("a tampered token passed")
	}
}

type movingClock struct{ t time.Time }

func (c *movingClock) Now() time.Time { return c.t }

// The JWS details an outside tester found accepted (issue 11, finding 7).
func TestStrictJWS(t *testing.T) {
	kr := mustKeyring(t)
	v := verifierFor(kr)
	key := kr.Active()
	signWith := func(header map[string]any, c auth.Claims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = key.KID
		for k, val := range header {
			tok.Header[k] = val
		}
		s, err := tok.SignedString(key.Private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// signRaw signs a payload given as JSON text, as a careless identity provider might write it.
	signRaw := func(payload string) string {
		head := jwtB64([]byte(`{"alg":"EdDSA","kid":"` + key.KID + `"}`))
		body := jwtB64([]byte(payload))
		sig := ed25519.Sign(key.Private, []byte(head+"."+body))
		return head + "." + body + "." + jwtB64(sig)
	}
	good := signWith(nil, claims(nil))
	if _, err := v.Verify(good); err != nil {
		t.Fatalf("a plain token: %v", err)
	}
	for _, typ := range []string{"JWT", "at+jwt"} {
		if _, err := v.Verify(signWith(map[string]any{"typ": typ}, claims(nil))); err != nil {
			t.Errorf("typ %s refused: %v", typ, err)
		}
	}
	wantCode(t, verifyErr(v, signWith(map[string]any{"crit": []string{"exp"}}, claims(nil))), "token_crit_unsupported")
	wantCode(t, verifyErr(v, signWith(map[string]any{"typ": "datavenue-certificate+jwt"}, claims(nil))), "token_bad_type")
	wantCode(t, verifyErr(v, signWith(map[string]any{"typ": "datavenue-voucher+jwt"}, claims(nil))), "token_bad_type")

	// The same signature bytes with other (non-zero) padding bits in the last base64 character.
	parts := strings.Split(good, ".")
	sig := parts[2]
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
	alt := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1]
	if byte(alt) == sig[len(sig)-1] {
		alt = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last&^1]
	}
	wantCode(t, verifyErr(v, parts[0]+"."+parts[1]+"."+sig[:len(sig)-1]+string(alt)), "token_malformed")

	exp, nbf := now.Add(time.Hour).Unix(), now.Add(-time.Minute).Unix()
	base := `"iss":"` + issuer + `","sub":"alice","aud":"` + audience + `","role":"buyer","org":"` + string(org) + `"`
	if _, err := v.Verify(signRaw(`{` + base + `,"exp":` + itoa(exp) + `,"nbf":` + itoa(nbf) + `}`)); err != nil {
		t.Fatalf("a hand-written token: %v", err)
	}
	wantCode(t, verifyErr(v, signRaw(`{`+base+`,"exp":"`+itoa(exp)+`"}`)), "token_bad_claims")
	wantCode(t, verifyErr(v, signRaw(`{`+base+`,"exp":`+itoa(exp)+`,"iat":"`+itoa(nbf)+`"}`)), "token_bad_claims")
	wantCode(t, verifyErr(v, signWith(nil, claims(func(c *auth.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(10 * time.Minute)) }))), "token_issued_in_future")
	wantCode(t, verifyErr(v, signWith(nil, claims(func(c *auth.Claims) {
		c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(47*time.Hour))
	}))), "token_lifetime_too_long")
	wantCode(t, verifyErr(v, signWith(nil, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(25 * time.Hour)) }))), "token_lifetime_too_long")
	v.MaxLifetime = 72 * time.Hour
	if _, err := v.Verify(signWith(nil, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(48 * time.Hour)) }))); err != nil {
		t.Fatalf("a 48 h token under a 72 h maximum: %v", err)
	}
}

func verifyErr(v auth.Verifier, token string) error {
	_, err := v.Verify(token)
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
