// Package idempotency defines how a state-changing request is made safe to retry: the client sends
// an Idempotency-Key; the first request with a key claims it, runs, and stores its response; a
// retry with the same key and the same request gets that stored response back; the same key with a
// different request is refused. The store is PostgreSQL (see postgres.IdempotencyStore), so the
// guarantee holds across restarts and across venue processes.
package idempotency

import (
	"context"
	"crypto/sha256"
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
	// Claim claims key for a request whose fingerprint is hash. A claim left by a process that died
	// expires after lease and can then be claimed again.
	Claim(ctx context.Context, scope, key string, hash []byte, lease time.Duration) (Claim, error)
	// Complete stores the response of a claimed key.
	Complete(ctx context.Context, scope, key string, resp Response) error
	// Release gives a claimed key up when the request failed without changing anything, so the
	// client can retry with the same key.
	Release(ctx context.Context, scope, key string) error
}

// Fingerprint identifies a request by method, path and body: the same key with a different
// fingerprint is a client bug, never a retry.
func Fingerprint(method, path string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
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
