package certificates

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue/auth"
)

// DocumentType is the JWS "typ" of a signed certificate, so a certificate can never be mistaken for
// an access token (or the other way round) even though the same keys sign both.
const DocumentType = "datavenue-certificate+jwt"

// Document is the signed content of a certificate: everything a relying party needs, offline. It is
// a JWT (JWS compact serialisation, EdDSA) whose nbf and exp are the validity period's first
// instant and the instant after its last day, in China Standard Time.
// The claims duplicate the certificate's fields rather than pointing at the venue: a relying party
// (a bank, an auditor) checks a downloaded certificate with the venue's public keys alone, even if
// the venue is unreachable, and learns the holder, asset, scope and dates from it. Revocation is
// not in the document: cancellation and supersession are answered by the public status endpoint.
type Document struct {
	jwt.RegisteredClaims
	Number        string    `json:"number"`
	Version       int       `json:"version"`
	Kind          Kind      `json:"kind"`
	Amendment     Amendment `json:"amendment"`
	AssetID       string    `json:"asset_id"`
	AssetVersion  int       `json:"asset_version"`
	AssetName     string    `json:"asset_name"`
	HolderID      string    `json:"holder_id"`
	HolderName    string    `json:"holder_name"`
	Scope         Scope     `json:"scope"`
	IssuerOrg     string    `json:"issuer_org"`
	IssuerName    string    `json:"issuer_name"`
	ConcurringOrg string    `json:"concurring_org,omitempty"`
	ValidFrom     string    `json:"valid_from"`
	ValidUntil    string    `json:"valid_until"`
}

// Signer signs certificate documents with the venue's active key.
type Signer struct {
	Keys   *auth.Keyring
	Issuer string // the venue's name as "iss"
}

// Sign returns the key id and the signed document of c.
func (s Signer) Sign(c Certificate) (kid, document string, err error) {
	// sub is the certificate number and jti the version's id; nbf and exp come from the CST civil
	// dates (Start is midnight in Asia/Shanghai), so an offline verifier in any time zone agrees with
	// the venue on the first and last valid instants.
	doc := Document{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.Issuer,
			Subject:   c.Number,
			ID:        c.ID,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			NotBefore: jwt.NewNumericDate(c.ValidFrom.Start()),
			ExpiresAt: jwt.NewNumericDate(c.ValidUntil.AddDays(1).Start()),
		},
		Number: c.Number, Version: c.Version, Kind: c.Kind, Amendment: c.Amendment,
		AssetID: string(c.AssetID), AssetVersion: c.AssetVersion, AssetName: c.AssetName,
		HolderID: string(c.HolderID), HolderName: c.HolderName, Scope: c.Scope,
		IssuerOrg: string(c.IssuerOrg), IssuerName: c.IssuerName, ConcurringOrg: string(c.ConcurringOrg),
		ValidFrom: c.ValidFrom.String(), ValidUntil: c.ValidUntil.String(),
	}
	key := s.Keys.Active()
	// The typ header is what tells a certificate from an access token signed by the same keys
	// (auth.Verifier refuses this typ, Verify below requires it).
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, doc)
	tok.Header["kid"] = key.KID
	tok.Header["typ"] = DocumentType
	signed, err := tok.SignedString(key.Private)
	return key.KID, signed, err
}

// Verification failures, each with a message a person can act on.
// The messages are written for a person holding a file (the `datavenue cert verify` command),
// and say what to do next where there is something to do.
var (
	ErrMalformed    = errors.New("not a datavenue certificate: the file is not a well-formed signed document")
	ErrUnknownKey   = errors.New("signed by a key this verifier does not trust (unknown kid): fetch the venue's current /.well-known/jwks.json")
	ErrBadSignature = errors.New("the signature does not match: the certificate was altered after signing, or not signed by this venue")
	ErrExpired      = errors.New("the certificate has expired")
	ErrNotYetValid  = errors.New("the certificate is not valid yet")
	ErrWrongType    = errors.New("this signed document is not a certificate")
)

// Verify checks a signed certificate offline against trusted public keys: signature (EdDSA only,
// strict base64), key id, document type and validity dates on the day of now.
func Verify(document string, keys auth.KeySource, now time.Time) (Document, error) {
	// Only EdDSA: the venue signs certificates itself and never with RSA, so accepting anything else
	// could only let a forgery through. exp is required (every certificate has an end date); nbf is
	// checked when present. A document signed by the venue but of another typ (an access token, a
	// voucher) is refused as ErrWrongType, after the signature check.
	var doc Document
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var kid string
	tok, err := parser.ParseWithClaims(document, &doc, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		key, err := keys.PublicKey(kid)
		if err != nil {
			return nil, ErrUnknownKey
		}
		return key, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownKey):
		return doc, fmt.Errorf("%w (kid %q)", ErrUnknownKey, kid)
	case errors.Is(err, jwt.ErrTokenExpired):
		return doc, fmt.Errorf("%w: its last valid day was %s", ErrExpired, doc.ValidUntil)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return doc, fmt.Errorf("%w: it is valid from %s", ErrNotYetValid, doc.ValidFrom)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return doc, ErrBadSignature
	default:
		return doc, ErrMalformed
	}
	if typ, _ := tok.Header["typ"].(string); typ != DocumentType || doc.Number == "" {
		return doc, ErrWrongType
	}
	return doc, nil
}
