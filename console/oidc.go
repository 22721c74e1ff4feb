package console

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	// PostLogoutURL is where the provider sends the browser back after an RP-initiated logout
	// ("": the redirect URL's sign-in page).
	PostLogoutURL string
	// Claims says which ID token claims carry the role and the organisation, and how the
	// provider's values become the venue's (the zero value: "role" and "org", as they are).
	Claims ClaimMapping
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
	// EndSessionEndpoint is the provider's RP-initiated logout (OpenID Connect RP-Initiated
	// Logout 1.0); empty: signing out ends the venue's session only.
	EndSessionEndpoint string `json:"end_session_endpoint"`
}

func newOIDCClient(cfg OIDCConfig) *oidcClient {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.PostLogoutURL == "" {
		cfg.PostLogoutURL = strings.TrimSuffix(cfg.RedirectURL, "/callback")
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

// oidcIdentity is who a verified ID token names: its subject and issuer, the organisation, and
// the venue roles its role claim maps to, in the claim's order (a provider may list several; the
// role gate picks the first the organisation holds). IDToken is the raw token, kept in the
// server-side session only, as the id_token_hint of a logout at the provider.
type oidcIdentity struct {
	Subject, Issuer string
	Org             datavenue.OrgID
	Roles           []datavenue.Role
	IDToken         string
}

// exchange trades the code for tokens (sending the PKCE verifier), verifies the ID token and
// returns the identity it names. Only the ID token is read; no token is sent to the browser.
func (o *oidcClient) exchange(ctx context.Context, code string, p Pending, now func() time.Time) (oidcIdentity, error) {
	m, err := o.discover(ctx)
	if err != nil {
		return oidcIdentity{}, err
	}
	conf := o.oauth(m)
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, o.cfg.HTTP), code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return oidcIdentity{}, datavenue.Unauthorized("oidc_exchange_failed", "the identity provider refused the sign-in code")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return oidcIdentity{}, datavenue.Unauthorized("oidc_no_id_token", "the identity provider sent no ID token")
	}
	// A map, not a struct: which claims carry the role and the organisation is configuration.
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(m.Issuer), jwt.WithAudience(o.cfg.ClientID), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second), jwt.WithTimeFunc(now))
	if _, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return o.keys.PublicKey(kid)
	}); err != nil {
		return oidcIdentity{}, datavenue.Unauthorized("oidc_id_token_invalid", "the ID token did not verify: "+err.Error())
	}
	nonce, _ := claims["nonce"].(string)
	if subtle.ConstantTimeCompare([]byte(nonce), []byte(p.Nonce)) != 1 {
		return oidcIdentity{}, datavenue.Unauthorized("oidc_nonce_mismatch", "the ID token was not issued for this sign-in")
	}
	subject, _ := claims.GetSubject()
	id, err := o.cfg.Claims.identity(claims, subject)
	id.Issuer, id.IDToken = m.Issuer, raw
	return id, err
}

// logoutURL is the provider's end-session endpoint with the ID token as the hint and the venue's
// sign-in page to come back to; "" when the provider has no such endpoint (or was never reached).
func (o *oidcClient) logoutURL(ctx context.Context, idToken string) string {
	m, err := o.discover(ctx)
	if err != nil || m.EndSessionEndpoint == "" || idToken == "" {
		return ""
	}
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("post_logout_redirect_uri", o.cfg.PostLogoutURL)
	q.Set("client_id", o.cfg.ClientID)
	u.RawQuery = q.Encode()
	return u.String()
}

// logoutOrigins are the origins the sign-out form's answer may redirect to, for the pages'
// Content-Security-Policy: the issuer's (where end-session endpoints live, known before discovery,
// so a page rendered after a restart still allows it) and, once discovered, the end-session
// endpoint's when it lies elsewhere.
func (o *oidcClient) logoutOrigins() string {
	origins := origin(o.cfg.Issuer)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.meta != nil && o.meta.EndSessionEndpoint != "" {
		if e := origin(o.meta.EndSessionEndpoint); e != "" && e != origins {
			origins += " " + e
		}
	}
	return origins
}

// origin is a URL's scheme://host[:port] ("" for one without a host).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// contentSecurity is the pages' policy; with a provider, its origin joins form-action, since the
// sign-out form's answer redirects to its end-session endpoint (browsers apply form-action to a
// form's redirects too).
func (c *Console) contentSecurity() string {
	if c.oidc != nil {
		if o := c.oidc.logoutOrigins(); o != "" {
			return strings.Replace(contentSecurity, "form-action 'self'", "form-action 'self' "+o, 1)
		}
	}
	return contentSecurity
}
