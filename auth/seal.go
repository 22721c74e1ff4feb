package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Secrets the venue must keep readable to itself but never store readable (a webhook
// subscription's signing secret, which the venue needs in clear to sign each delivery) are sealed
// with AES-256-GCM (the standard library's) under a key derived from the keyring's active signing
// key by HKDF-SHA256 with a label of its own, so the sealing key is never the signing key, and the
// keyring folder, which production already guards as the venue's secret material, is the only key
// to manage. A dump or a backup of the database alone then reveals no secret.
//
// Secrets are sealed under the keyring's oldest key, not its active one: a rotation adds a key to
// the folder and a serving venue sees it only when it restarts, so during a rolling restart the
// processes hold different newest keys but the same oldest one (keys are never removed: their
// public halves stay in the JWKS). A sealed value names its key ("<kid>.<base64url
// nonce|ciphertext>"), so one sealed under any key of the folder opens. The context (the id of
// the row the secret belongs to) is authenticated with it, so a sealed value copied to another
// row does not open there.

// sealLabel separates the sealing keys from any other key derived from the signing keys.
const sealLabel = "datavenue sealed secrets v1"

var errSealed = errors.New("auth: a sealed secret does not open (another venue's keys, a key removed from the keyring, or altered)")

// Seal encrypts plaintext for the row named by context under the oldest key.
func (kr *Keyring) Seal(plaintext, context string) (string, error) {
	oldest := kr.keys[0]
	aead, err := sealer(oldest)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return oldest.KID + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value Seal made for the same context, with the key it names.
func (kr *Keyring) Open(sealed, context string) (string, error) {
	kid, body, ok := strings.Cut(sealed, ".")
	if !ok {
		return "", errSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", errSealed
	}
	k, ok := kr.Key(kid)
	if !ok {
		return "", errSealed
	}
	aead, err := sealer(k)
	if err != nil {
		return "", err
	}
	if len(raw) < aead.NonceSize() {
		return "", errSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}

// sealer is the AEAD of a signing key's sealing key.
func sealer(k SigningKey) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, k.Private.Seed(), nil, sealLabel, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// fingerprintLabel separates the idempotency fingerprints' key from the sealing keys.
const fingerprintLabel = "datavenue idempotency fingerprints v1"

// FingerprintKey is the key of the idempotency store's request fingerprints (HMAC-SHA256, see
// idempotency.Fingerprint), derived like the sealing keys from the oldest signing key, so every
// process of a venue, before and after a rotation, fingerprints a retry the same way.
func (kr *Keyring) FingerprintKey() []byte {
	key, err := hkdf.Key(sha256.New, kr.keys[0].Private.Seed(), nil, fingerprintLabel, 32)
	if err != nil {
		// hkdf.Key fails only for a length over 255 hash blocks; 32 bytes never is.
		panic(err)
	}
	return key
}
