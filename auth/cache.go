package auth

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/datavenue/datavenue"
)

// The cache is no weaker than verifying: a cached answer needs the identical token, still inside
// its exp (compared without the verifier's leeway, so it ends a little earlier, never later).
// The issuers and keys are fixed for the process's life, so nothing that made the token valid
// can change while it is cached. A whole-map reset when full, rather than LRU, keeps it simple
// and bounded: the worst case is re-verifying the tokens in use.
// CachingVerifier remembers tokens it verified, by the SHA-256 of their exact bytes, until they
// expire: a client sends the same token with every request, and an Ed25519 verification costs more
// than the rest of a bid's HTTP path. A token is only ever accepted from the cache if the very same
// bytes verified before and its exp has not passed; refusals are never cached.
type CachingVerifier struct {
	Verifier Verifier
	Max      int // entries kept; the cache is emptied when full (default 10,000)

	mu      sync.Mutex
	entries map[[32]byte]cached
}

// cached is a verified token's caller and the moment its exp passes.
type cached struct {
	caller  datavenue.Caller
	expires time.Time
}

// Verify checks a token, from the cache when it verified before.
// The lock is not held while verifying, so requests with different tokens never queue behind an
// Ed25519 check; two concurrent first requests with the same token both verify, harmlessly.
func (c *CachingVerifier) Verify(token string) (datavenue.Caller, error) {
	key := sha256.Sum256([]byte(token))
	now := c.Verifier.Clock.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.caller, nil
	}
	caller, exp, err := c.Verifier.verify(token)
	if err != nil {
		return caller, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	max := c.Max
	if max <= 0 {
		max = 10000
	}
	if c.entries == nil || len(c.entries) >= max {
		c.entries = make(map[[32]byte]cached, max)
	}
	c.entries[key] = cached{caller: caller, expires: exp}
	return caller, nil
}
