// Package idempotency defines how a state-changing request is made safe to retry: the client sends
// an Idempotency-Key; the first request with a key claims it, runs, and stores its response; a
// retry with the same key and the same request gets that stored response back; the same key with a
// different request is refused. The store is PostgreSQL (see postgres.IdempotencyStore), so the
// guarantee holds across restarts and across venue processes.
package idempotency

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"time"
)

// State is what a claim on a key found.
type State int

// The outcomes of Claim.
const (
	Claimed    State = iota // the key is new (or its earlier holder died): run the request
	Replay                  // the same request already completed: send Response again
	InProgress              // the same request is running right now: ask the client to retry later
	Mismatch                // the key was used for a different request: refuse
)

// Response is what is stored for replay.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	Location    string // the Location header of a 201, replayed with it
}

// Claim is the result of claiming a key.
type Claim struct {
	State    State
	Response Response // set when State is Replay
}

// Store keeps idempotency keys. Scope separates the key spaces of different callers (the venue
// uses the caller's issuer, organisation and subject), so one client can never replay another's
// response.
type Store interface {
	// Claim claims key for a request with fingerprint fp. A claim left by a process that died
	// expires after lease and can then be claimed again.
	Claim(ctx context.Context, scope, key string, fp Fingerprint, lease time.Duration) (Claim, error)
	// Complete stores the response of a claimed key.
	Complete(ctx context.Context, scope, key string, resp Response) error
	// Release gives a claimed key up when the request failed without changing anything, so the
	// client can retry with the same key.
	Release(ctx context.Context, scope, key string) error
}

// Fingerprint identifies a request: the same key with a different fingerprint is a client bug,
// never a retry.
//
// It is keyed (HMAC-SHA256 under a key of the venue's) because a request's body can hold a secret
// of the client's choosing, such as a webhook subscription's signing secret: a plain hash kept in
// the database would let anyone holding a dump test guesses at a weak one offline.
type Fingerprint struct {
	// Keyed is the HMAC-SHA256 of the request: what a new claim stores and compares.
	Keyed []byte
	// Unkeyed is the plain SHA-256 of the same bytes, which claims stored before migration 00026;
	// it is compared only with such a claim, so a retry that spans the upgrade is still a retry.
	// Claims are purged after the retention (DATAVENUE_IDEMPOTENCY_RETENTION), so Unkeyed can go
	// one retention after the last venue upgraded.
	Unkeyed []byte
}

// Fingerprinter makes fingerprints under Key (the venue derives it from its keyring: see
// auth.Keyring.FingerprintKey; every process of a venue derives the same one).
type Fingerprinter struct {
	Key []byte
}

// Request fingerprints an API request by method, URL (path and query) and body.
func (f Fingerprinter) Request(method, url string, body []byte) Fingerprint {
	return f.sum(func(w io.Writer) {
		w.Write([]byte(method))
		w.Write([]byte{0})
		w.Write([]byte(url))
		w.Write([]byte{0})
		w.Write(body)
	})
}

// Form fingerprints a console form by method, path and its fields in the order sent; fields
// calls its argument once per field.
func (f Fingerprinter) Form(method, path string, fields func(field func(name, value []byte))) Fingerprint {
	return f.sum(func(w io.Writer) {
		w.Write([]byte(method + " " + path))
		fields(func(name, value []byte) {
			w.Write(name)
			w.Write([]byte{0})
			w.Write(value)
			w.Write([]byte{0})
		})
	})
}

// sum writes the request once to both hashes.
func (f Fingerprinter) sum(write func(io.Writer)) Fingerprint {
	keyed, unkeyed := hmac.New(sha256.New, f.Key), sha256.New()
	write(io.MultiWriter(keyed, unkeyed))
	return Fingerprint{Keyed: keyed.Sum(nil), Unkeyed: unkeyed.Sum(nil)}
}

// ValidKey reports whether a client's key is acceptable: 1 to 255 printable ASCII characters.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}
