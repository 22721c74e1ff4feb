package auth

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue"
)

// Claims are the claims of a venue token: the registered ones plus the role the caller acts in and
// the organisation it acts for.
// The role and organisation are the venue's authorisation inputs: a role claim alone does not
// grant anything until the organisation is known to hold that role (parties.RoleGate checks it
// against the register), so a token from a trusted issuer cannot make a buyer an operator.
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
// nbf equals iat: a minted token is usable at once. The jti makes every token distinct, even
// two minted in the same second for the same caller. The kid header names the signing key, so
// verification still finds it after a rotation.
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
// Implementations: the Keyring (the venue's own tokens), StaticKey and RemoteJWKS (external
// issuers), KeySet (a saved JWKS). Each answers ErrUnknownKey for a kid it lacks, which the
// verifier reports as token_unknown_key rather than as a bad signature.
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
//
// It is strict about the JWS itself (RFC 7515, RFC 8725): a "crit" header is refused (the venue
// understands no extension), so is a "typ" other than a token's (the venue's certificates and
// vouchers are JWSs signed by the same keys, told apart by typ), a signature or segment in
// non-canonical base64url, a time claim that is not a JSON number, an "iat" in the future beyond
// the leeway, and a lifetime (exp after iat, or after now without iat) over MaxLifetime.
type Verifier struct {
	Issuers  map[string]KeySource // by "iss"
	Audience string
	Clock    datavenue.Clock
	Leeway   time.Duration
	// MaxLifetime is the longest lifetime a token may have (24 h when zero).
	MaxLifetime time.Duration
}

// tokenTypes are the "typ" values of an access token (RFC 7519 and RFC 9068), compared without
// case; no typ at all is accepted too.
var tokenTypes = []string{"jwt", "at+jwt", "application/at+jwt"}

// validMethods are the only algorithms accepted: asymmetric ones, so a public key can never be
// used as an HMAC secret.
var validMethods = []string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodRS256.Alg()}

// Verify checks a token and returns the caller it names.
// Errors are datavenue.Unauthorized with a stable code (token_expired, token_bad_issuer, …),
// which the API turns into 401 problem+json; the token itself is never echoed.
func (v Verifier) Verify(token string) (datavenue.Caller, error) {
	caller, _, err := v.verify(token)
	return caller, err
}

// verify checks a token and also returns when it expires.
func (v Verifier) verify(token string) (datavenue.Caller, time.Time, error) {
	// The options: only EdDSA and RS256; the audience must be this venue (a token for another
	// service is refused even when its issuer is trusted); exp is required, so no token lives forever;
	// iat in the future beyond the leeway is refused; WithStrictDecoding refuses non-canonical
	// base64url, so one token has exactly one encoding; the clock is the venue's, so tests can
	// control expiry.
	var claims Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods(validMethods),
		jwt.WithAudience(v.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(v.Clock.Now),
	)
	// Checked before parsing, since golang-jwt would accept a string time and the parsed claims no
	// longer tell the two apart.
	if err := numericTimes(token); err != nil {
		return datavenue.Caller{}, time.Time{}, err
	}
	_, err := parser.ParseWithClaims(token, &claims, v.keyFor)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenSignatureInvalid) && !acceptedAlg(token) {
			err = fmt.Errorf("%w: %w", jwt.ErrTokenUnverifiable, err)
		}
		return datavenue.Caller{}, time.Time{}, tokenError(err)
	}
	// The claims that make a caller: a role the venue knows, an organisation id of the venue's
	// form, and a subject (who, for the audit record). The issuer is not enough without them.
	if !claims.Role.Valid() {
		return datavenue.Caller{}, time.Time{}, datavenue.Unauthorized("token_bad_role", "the token's role claim is not a venue role")
	}
	if !datavenue.HasPrefix(string(claims.Org), "org") || claims.Subject == "" {
		return datavenue.Caller{}, time.Time{}, datavenue.Unauthorized("token_bad_claims", "the token must name a subject and the organisation it acts for")
	}
	// The lifetime bound limits what a stolen token is worth: a token minted for a year would be a
	// long-lived credential no operator can revoke. Without iat the lifetime is counted from now.
	maxLife := v.MaxLifetime
	if maxLife <= 0 {
		maxLife = 24 * time.Hour
	}
	from := v.Clock.Now()
	if claims.IssuedAt != nil {
		from = claims.IssuedAt.Time
	}
	if claims.ExpiresAt.Time.Sub(from) > maxLife+v.Leeway {
		return datavenue.Caller{}, time.Time{}, datavenue.Unauthorized("token_lifetime_too_long",
			fmt.Sprintf("the bearer token lives longer than the venue accepts (%s)", maxLife))
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

// errCrit and errType do the same for the header checks below.
// errIssuer and errKID carry keyFunc's reasons out through jwt's error wrapping.
var (
	errIssuer = errors.New("untrusted issuer")
	errKID    = errors.New("missing or unknown kid")
	errCrit   = errors.New("crit header")
	errType   = errors.New("typ of no token")
)

// numericTimes refuses a token whose exp, nbf or iat is not a JSON number: golang-jwt reads
// "exp":"1767225600" (a string) as a time too, and what a token says must mean one thing.
func numericTimes(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil // malformed: the parser says so
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return nil
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		raw, ok := claims[name]
		if !ok {
			continue
		}
		// A JSON number begins with a digit or a minus sign; anything else (a string, an object, null)
		// is refused. The value itself is left to the parser.
		if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return datavenue.Unauthorized("token_bad_claims", "the bearer token's "+name+" is not a number of seconds")
		}
	}
	return nil
}

// keyFor is the parser's key function: it runs after the header and claims are decoded and
// before the signature is checked, so every refusal here happens without a signature
// verification. The issuer picks the key source first: a kid is only looked up among that
// issuer's keys, so one issuer can never sign for another.
func (v Verifier) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errCrit
	}
	if typ, ok := t.Header["typ"]; ok {
		s, _ := typ.(string)
		if !slices.Contains(tokenTypes, strings.ToLower(s)) {
			return nil, errType
		}
	}
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
// The order of the cases matters where golang-jwt wraps several errors: an expired token with a
// bad audience reports the first case that matches. The cause is kept for the log only.
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
	case errors.Is(err, errCrit):
		code, msg = "token_crit_unsupported", "the bearer token names critical header extensions the venue does not understand"
	case errors.Is(err, errType):
		code, msg = "token_bad_type", "the bearer token's typ is not that of an access token"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		code, msg = "token_issued_in_future", "the bearer token says it was issued in the future"
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
