// Package auth issues and verifies the venue's bearer tokens (JWTs, golang-jwt v5) and keeps the
// venue's Ed25519 signing keys. It knows nothing of HTTP: the API layer hands it the token string
// and gets back a datavenue.Caller or an Unauthorized error with a stable code.
package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Keyring is the venue's own set of Ed25519 signing keys, one PEM file (PKCS#8) per key in a
// folder. The newest file (file names start with a UTC timestamp) signs; all of them stay
// published in the JWKS, so tokens and certificates signed before a rotation still verify.
// A Keyring is loaded at start-up and not safe for Rotate while others read it; rotation is an
// offline command (`datavenue keys rotate`), and a serving venue sees the new key on restart.
type Keyring struct {
	dir  string
	keys []SigningKey // oldest first; the last one is active
}

// A key id derived from the key itself needs no registry: two venue processes reading the same
// folder agree on every kid, and a verifier can check that a JWK's kid matches its key.
// SigningKey is one Ed25519 key with its key id, the RFC 7638 thumbprint of its public part.
type SigningKey struct {
	KID     string
	Private ed25519.PrivateKey
}

// Public returns the public half of the key.
func (k SigningKey) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// LoadKeyring reads every *.pem key in dir. With create set, a missing folder or an empty one gets
// a fresh key (what a development venue wants); without it, an empty keyring is an error.
// Production passes create=false: a venue that silently made itself a key would sign certificates
// nobody else trusts, where an error at start-up points at the missing key folder.
func LoadKeyring(dir string, create bool) (*Keyring, error) {
	kr := &Keyring{dir: dir}
	if err := kr.load(); err != nil {
		return nil, err
	}
	if len(kr.keys) == 0 {
		if !create {
			return nil, fmt.Errorf("no signing keys in %s (run `datavenue keys rotate` to make one)", dir)
		}
		if _, err := kr.Rotate(); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// load reads the folder in file-name order, which is creation order because names begin with a
// UTC timestamp; the last key is therefore the newest and the active one. A file that is not an
// Ed25519 PKCS#8 key stops the load: a key folder with stray files is a mistake to surface.
func (kr *Keyring) load() error {
	paths, err := filepath.Glob(filepath.Join(kr.dir, "*.pem"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	kr.keys = kr.keys[:0]
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		priv, err := parseEd25519Private(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		kr.keys = append(kr.keys, SigningKey{KID: Thumbprint(priv.Public()), Private: priv})
	}
	return nil
}

// parseEd25519Private accepts only PKCS#8 "PRIVATE KEY" blocks holding an Ed25519 key; an RSA or
// EC key (a likely mix-up with a TLS key) is refused by name.
func parseEd25519Private(raw []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("not a PEM file")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 private key")
	}
	return priv, nil
}

// Rotate makes a new key, writes it (mode 0600) and makes it the active one.
func (kr *Keyring) Rotate() (SigningKey, error) {
	// The file is written before the key is added in memory, so a failed write leaves the keyring as
	// it was. The name sorts by time (nanoseconds, UTC) and carries the kid's start for a reader of
	// the folder; the folder is 0700 and the file 0600 since they hold private keys.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, err
	}
	if err := os.MkdirAll(kr.dir, 0o700); err != nil {
		return SigningKey{}, err
	}
	key := SigningKey{KID: Thumbprint(priv.Public()), Private: priv}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + key.KID[:8] + ".pem"
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(kr.dir, name), data, 0o600); err != nil {
		return SigningKey{}, err
	}
	kr.keys = append(kr.keys, key)
	return key, nil
}

// Active returns the key that signs now.
func (kr *Keyring) Active() SigningKey { return kr.keys[len(kr.keys)-1] }

// Key returns the key with the given id.
func (kr *Keyring) Key(kid string) (SigningKey, bool) {
	for _, k := range kr.keys {
		if k.KID == kid {
			return k, true
		}
	}
	return SigningKey{}, false
}

// JWKS returns the public keys as a JSON Web Key Set (RFC 7517), newest first.
// Newest first so that a client that tries keys in order finds the active one first; every older
// key stays listed, since certificates and vouchers signed with it must still verify for as long
// as they are kept.
func (kr *Keyring) JWKS() JWKSet {
	var set JWKSet
	for i := len(kr.keys) - 1; i >= 0; i-- {
		set.Keys = append(set.Keys, PublicJWK(kr.keys[i].KID, kr.keys[i].Public()))
	}
	return set
}

// JWK is one JSON Web Key: Ed25519 (kty OKP) or RSA public keys are all the venue reads or writes.
// RSA is read only, for external identity providers that sign with RS256; the venue itself signs
// with Ed25519.
type JWK struct {
	KTY string `json:"kty"`
	CRV string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	KID string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// JWKSet is a JSON Web Key Set.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// b64 is base64url without padding, the encoding every JOSE structure uses (RFC 7515 §2).
var b64 = base64.RawURLEncoding

// PublicJWK describes an Ed25519 public key as a JWK.
func PublicJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{KTY: "OKP", CRV: "Ed25519", X: b64.EncodeToString(pub), KID: kid, Use: "sig", Alg: "EdDSA"}
}

// Key returns the Go public key the JWK describes.
func (j JWK) Key() (crypto.PublicKey, error) {
	switch {
	case j.KTY == "OKP" && j.CRV == "Ed25519":
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 JWK")
		}
		return ed25519.PublicKey(x), nil
	case j.KTY == "RSA":
		// A public exponent is at most 4 bytes here (65537 is 3): a longer one is not a real key and
		// would overflow the int that rsa.PublicKey holds it in.
		n, err1 := b64.DecodeString(j.N)
		e, err2 := b64.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA JWK")
		}
		exp := new(big.Int).SetBytes(e)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	}
	return nil, fmt.Errorf("unsupported JWK type %q", j.KTY)
}

// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: a key id that
// anyone can recompute from the key itself.
func Thumbprint(pub crypto.PublicKey) string {
	// The canonical form is the RFC 7638 one: only the required members, in lexicographic order,
	// with no whitespace, so any implementation computes the same thumbprint for the same key.
	var canonical string
	switch k := pub.(type) {
	case ed25519.PublicKey:
		canonical = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`, b64.EncodeToString(k))
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		canonical = fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, b64.EncodeToString(e), b64.EncodeToString(k.N.Bytes()))
	default:
		return ""
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:])
}

// ParsePublicKeyPEM reads an Ed25519 or RSA public key (PKIX "PUBLIC KEY" PEM).
func ParsePublicKeyPEM(raw []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("not a PEM file")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	switch key.(type) {
	case ed25519.PublicKey, *rsa.PublicKey:
		return key, nil
	}
	return nil, errors.New("only Ed25519 and RSA public keys are supported")
}

// MarshalJWKS encodes a key set.
// Encoding a JWKSet cannot fail (strings only), hence the ignored error.
func MarshalJWKS(set JWKSet) []byte {
	out, _ := json.Marshal(set)
	return out
}
