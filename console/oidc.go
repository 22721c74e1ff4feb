package console

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
)

// OIDCConfig is the console's registration at an OpenID Connect identity provider (government
// staff sign in through a unified identity service).
type OIDCConfig struct {
	Issuer       string // discovery at Issuer + /.well-known/openid-configuration
	ClientID     string
	ClientSecret string // empty: a public client (PKCE alone)
	RedirectURL  string
	// HTTP reaches the provider (nil: a client with a 10 s timeout).
	HTTP *http.Client
}

// oidcClient runs the authorization code flow with PKCE (RFC 7636, S256) and verifies the ID
// token with the provider's JWKS. The provider's metadata is discovered at the first sign-in, not
// at start-up, so a provider that is down does not stop the venue serving.
type oidcClient struct {
	cfg OIDCConfig

	mu   sync.Mutex
	meta *providerMeta
	keys *auth.RemoteJWKS
}

// providerMeta is what the console reads of the provider's discovery document.
type providerMeta struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

func newOIDCClient(cfg OIDCConfig) *oidcClient {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcClient{cfg: cfg}
}

// discover reads the provider's metadata once; it must name the configured issuer (OpenID
// Connect Discovery 1.0 §4.3), or tokens could be taken from a provider impersonating it.
func (o *oidcClient) discover(ctx context.Context) (*providerMeta, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.meta != nil {
		return o.meta, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.cfg.Issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, err
	}
	resp, err := o.cfg.HTTP.Do(req)
	if err != nil {
		return nil, datavenue.Unavailable("oidc_unavailable", "the identity provider cannot be reached", fmt.Errorf("oidc discovery: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, datavenue.Unavailable("oidc_unavailable", "the identity provider cannot be reached", fmt.Errorf("oidc discovery: status %d", resp.StatusCode))
	}
	var m providerMeta
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return nil, datavenue.Unavailable("oidc_unavailable", "the identity provider cannot be reached", fmt.Errorf("oidc discovery: %w", err))
	}
	if m.Issuer != o.cfg.Issuer || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" {
		return nil, datavenue.Internal(fmt.Errorf("oidc discovery: issuer %q (want %q) or an endpoint missing", m.Issuer, o.cfg.Issuer))
	}
	o.meta = &m
	o.keys = &auth.RemoteJWKS{URL: m.JWKSURI, Client: o.cfg.HTTP, MaxAge: 10 * time.Minute, MinRefresh: 30 * time.Second}
	return o.meta, nil
}

func (o *oidcClient) oauth(m *providerMeta) oauth2.Config {
	return oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint}, Scopes: []string{"openid", "profile"}}
}

// authURL is where the browser is sent to sign in: the state and nonce of p, and the S256
// challenge of its verifier.
func (o *oidcClient) authURL(ctx context.Context, p Pending) (string, error) {
	m, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	conf := o.oauth(m)
	return conf.AuthCodeURL(p.State, oauth2.S256ChallengeOption(p.Verifier), oauth2.SetAuthURLParam("nonce", p.Nonce)), nil
}

// idClaims are the ID token's claims the console reads: the registered ones, the nonce, and the
// venue's role and organisation claims (the same names as a bearer token's).
type idClaims struct {
	jwt.RegisteredClaims
	Nonce string          `json:"nonce"`
	Role  datavenue.Role  `json:"role"`
	Org   datavenue.OrgID `json:"org"`
}

// exchange trades the code for tokens (sending the PKCE verifier), verifies the ID token and
// returns the caller it names. Only the ID token is read; no token is kept or sent to the browser.
func (o *oidcClient) exchange(ctx context.Context, code string, p Pending, now func() time.Time) (datavenue.Caller, error) {
	m, err := o.discover(ctx)
	if err != nil {
		return datavenue.Caller{}, err
	}
	conf := o.oauth(m)
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, o.cfg.HTTP), code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return datavenue.Caller{}, datavenue.Unauthorized("oidc_exchange_failed", "the identity provider refused the sign-in code")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return datavenue.Caller{}, datavenue.Unauthorized("oidc_no_id_token", "the identity provider sent no ID token")
	}
	var claims idClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(m.Issuer), jwt.WithAudience(o.cfg.ClientID), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second), jwt.WithTimeFunc(now))
	if _, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return o.keys.PublicKey(kid)
	}); err != nil {
		return datavenue.Caller{}, datavenue.Unauthorized("oidc_id_token_invalid", "the ID token did not verify: "+err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(p.Nonce)) != 1 {
		return datavenue.Caller{}, datavenue.Unauthorized("oidc_nonce_mismatch", "the ID token was not issued for this sign-in")
	}
	// The same rules as a bearer token's claims (auth.Verifier): a venue role, an organisation
	// and a subject; the role gate then checks the organisation holds the role.
	if !claims.Role.Valid() {
		return datavenue.Caller{}, datavenue.Unauthorized("token_bad_role", "the ID token's role claim is not a venue role")
	}
	if !datavenue.HasPrefix(string(claims.Org), "org") || claims.Subject == "" {
		return datavenue.Caller{}, datavenue.Unauthorized("token_bad_claims", "the ID token must name a subject and the organisation it acts for")
	}
	return datavenue.Caller{Subject: claims.Subject, Issuer: claims.Issuer, Role: claims.Role, Org: claims.Org}, nil
}
