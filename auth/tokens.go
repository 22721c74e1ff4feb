package auth

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue"
)

// Claims are the claims of a venue token: the registered ones plus the role the caller acts in and
// the organisation it acts for.
type Claims struct {
	jwt.RegisteredClaims
	Role datavenue.Role  `json:"role"`
	Org  datavenue.OrgID `json:"org"`
}

// Minter issues tokens signed by the venue's active key. It is the development issuer; in
// production an external identity provider issues tokens and the venue only verifies them.
type Minter struct {
	Keys     *Keyring
	Issuer   string
	Audience string
	Clock    datavenue.Clock
}

// Mint signs a token for subject acting as role for org, valid for ttl.
func (m Minter) Mint(subject string, role datavenue.Role, org datavenue.OrgID, ttl time.Duration) (string, error) {
	if !role.Valid() {
		return "", fmt.Errorf("unknown role %q", role)
	}
	if org == "" || subject == "" || ttl <= 0 {
		return "", errors.New("a token needs a subject, an organisation and a positive lifetime")
	}
	now := m.Clock.Now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{m.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        datavenue.NewID("tok"),
		},
		Role: role,
		Org:  org,
	}
	key := m.Keys.Active()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = key.KID
	return tok.SignedString(key.Private)
}

// KeySource finds the public key an issuer signed with, by key id.
type KeySource interface {
	PublicKey(kid string) (crypto.PublicKey, error)
}

// ErrUnknownKey is returned by a KeySource that has no key with the asked id.
var ErrUnknownKey = errors.New("unknown key id")

// PublicKey makes the venue's own keyring a key source.
func (kr *Keyring) PublicKey(kid string) (crypto.PublicKey, error) {
	if k, ok := kr.Key(kid); ok {
		return k.Public(), nil
	}
	return nil, ErrUnknownKey
}

// Verifier checks bearer tokens: signature by a trusted issuer's key named by kid (EdDSA or RS256
// only, so "none" and HMAC tokens are refused whatever key they claim), issuer, audience, exp and
// nbf (exp is required), and the venue's own claims.
type Verifier struct {
	Issuers  map[string]KeySource // by "iss"
	Audience string
	Clock    datavenue.Clock
	Leeway   time.Duration
}

// validMethods are the only algorithms accepted: asymmetric ones, so a public key can never be
// used as an HMAC secret.
var validMethods = []string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodRS256.Alg()}

// Verify checks a token and returns the caller it names.
func (v Verifier) Verify(token string) (datavenue.Caller, error) {
	caller, _, err := v.verify(token)
	return caller, err
}

// verify checks a token and also returns when it expires.
func (v Verifier) verify(token string) (datavenue.Caller, time.Time, error) {
	var claims Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods(validMethods),
		jwt.WithAudience(v.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(v.Clock.Now),
	)
	_, err := parser.ParseWithClaims(token, &claims, v.keyFor)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenSignatureInvalid) && !acceptedAlg(token) {
			err = fmt.Errorf("%w: %w", jwt.ErrTokenUnverifiable, err)
		}
		return datavenue.Caller{}, time.Time{}, tokenError(err)
	}
	if !claims.Role.Valid() {
		return datavenue.Caller{}, time.Time{}, datavenue.Unauthorized("token_bad_role", "the token's role claim is not a venue role")
	}
	if !datavenue.HasPrefix(string(claims.Org), "org") || claims.Subject == "" {
		return datavenue.Caller{}, time.Time{}, datavenue.Unauthorized("token_bad_claims", "the token must name a subject and the organisation it acts for")
	}
	return datavenue.Caller{Subject: claims.Subject, Issuer: claims.Issuer, Role: claims.Role, Org: claims.Org}, claims.ExpiresAt.Time, nil
}

// acceptedAlg reports whether the token's header names an accepted algorithm. golang-jwt reports a
// refused algorithm as a bad signature; the client learns more from being told which it was.
func acceptedAlg(token string) bool {
	t, _, err := jwt.NewParser().ParseUnverified(token, &Claims{})
	if err != nil {
		return false
	}
	for _, m := range validMethods {
		if t.Method.Alg() == m {
			return true
		}
	}
	return false
}

// errIssuer and errKID carry keyFunc's reasons out through jwt's error wrapping.
var (
	errIssuer = errors.New("untrusted issuer")
	errKID    = errors.New("missing or unknown kid")
)

func (v Verifier) keyFor(t *jwt.Token) (any, error) {
	iss, _ := t.Claims.GetIssuer()
	src, ok := v.Issuers[iss]
	if !ok {
		return nil, errIssuer
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errKID
	}
	key, err := src.PublicKey(kid)
	if errors.Is(err, ErrUnknownKey) {
		return nil, errKID
	}
	return key, err
}

// tokenError maps golang-jwt's errors to stable codes; the message never echoes the token.
func tokenError(err error) error {
	code, msg := "token_invalid", "the bearer token is not valid"
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		code, msg = "token_malformed", "the bearer token is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenExpired):
		code, msg = "token_expired", "the bearer token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		code, msg = "token_not_yet_valid", "the bearer token is not valid yet"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		code, msg = "token_bad_claims", "the bearer token lacks a required claim"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		code, msg = "token_bad_audience", "the bearer token is not meant for this venue"
	case errors.Is(err, errIssuer):
		code, msg = "token_bad_issuer", "the bearer token's issuer is not trusted"
	case errors.Is(err, errKID):
		code, msg = "token_unknown_key", "the bearer token's kid names no trusted key"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		code, msg = "token_bad_algorithm", "the bearer token is signed with an algorithm the venue does not accept"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		code, msg = "token_bad_signature", "the bearer token's signature does not verify"
	}
	e := datavenue.Unauthorized(code, msg)
	e.Cause = err
	return e
}
