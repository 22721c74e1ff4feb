package auth

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// StaticKey is a trusted issuer's single public key read from a file. A token must name it by its
// RFC 7638 thumbprint, or by the kid given in the configuration.
// A fixed key fits an issuer that rotates rarely and announces it: a rotation is a configuration
// change and a restart, where a JWKS URL follows rotations by itself.
type StaticKey struct {
	KID string
	Key crypto.PublicKey
}

// PublicKey returns the key when kid matches.
func (s StaticKey) PublicKey(kid string) (crypto.PublicKey, error) {
	if kid != s.KID {
		return nil, ErrUnknownKey
	}
	return s.Key, nil
}

// RemoteJWKS fetches an identity provider's JWKS over HTTP and caches it. An unknown kid triggers
// a refetch (the provider may have rotated), at most once per MinRefresh so a flood of tokens with
// made-up kids cannot make the venue hammer the provider.
// MaxAge bounds how long a key the provider has withdrawn keeps verifying; MinRefresh bounds the
// fetch rate. The mutex is held across the fetch, so concurrent requests with the same new kid
// cause one fetch, not one each. A failed fetch is not tried again before MinRefresh either:
// while the provider is down, a stream of tokens with made-up kids would otherwise make every
// check of that issuer wait in line behind a fetch of up to 5 s.
type RemoteJWKS struct {
	URL        string
	Client     *http.Client
	MaxAge     time.Duration // refetch after this even without an unknown kid
	MinRefresh time.Duration

	mu        sync.Mutex
	keys      KeySet
	fetched   time.Time // the last successful fetch
	attempted time.Time // the last fetch, successful or not
}

// PublicKey returns the provider's key with this id.
func (r *RemoteJWKS) PublicKey(kid string) (crypto.PublicKey, error) {
	// The order: a known kid in a fresh set answers at once; otherwise refetch when there is no set
	// yet, the set is stale, or the last fetch is older than MinRefresh (an unknown kid); then look
	// the kid up again. A provider outage does not log everyone out: a known key keeps verifying,
	// stale or not, until the provider answers again.
	r.mu.Lock()
	defer r.mu.Unlock()
	key, ok := r.keys[kid]
	stale := time.Since(r.fetched) > r.MaxAge
	if ok && !stale {
		return key, nil
	}
	due := r.keys == nil || stale || time.Since(r.fetched) > r.MinRefresh
	if due && !r.attempted.IsZero() && time.Since(r.attempted) <= r.MinRefresh && r.attempted.After(r.fetched) {
		// The last attempt failed a moment ago: keep what is cached rather than try again now.
		due = false
	}
	if due {
		r.attempted = time.Now()
		if err := r.fetch(); err != nil {
			if ok {
				return key, nil // keep serving the cached key while the provider is unreachable
			}
			return nil, err
		}
	}
	if key, ok := r.keys[kid]; ok {
		return key, nil
	}
	return nil, ErrUnknownKey
}

func (r *RemoteJWKS) fetch() error {
	// fetch replaces the whole set on success only: a failed or empty answer leaves the previous
	// keys in place. The body is capped at 1 MiB, as a JWKS is a few kilobytes and the URL is
	// outside the venue's control.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return err
	}
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch JWKS %s: status %d", r.URL, resp.StatusCode)
	}
	var set JWKSet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode JWKS %s: %w", r.URL, err)
	}
	keys, err := StaticSet(set)
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", r.URL, err)
	}
	r.keys, r.fetched = keys, time.Now()
	return nil
}

// ParseTrustedIssuers reads the DATAVENUE_TRUSTED_ISSUERS format: entries separated by ";", each
// "ISSUER=jwks:URL" or "ISSUER=file:PATH[#KID]".
// The defaults: a key the provider withdraws stops verifying within 10 minutes, and tokens
// naming unknown kids cost at most one successful fetch per 30 s.
func ParseTrustedIssuers(spec string) (map[string]KeySource, error) {
	out := map[string]KeySource{}
	for _, entry := range strings.Split(spec, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		iss, src, ok := strings.Cut(entry, "=")
		if !ok || iss == "" {
			return nil, fmt.Errorf("trusted issuer %q: want ISSUER=jwks:URL or ISSUER=file:PATH", entry)
		}
		switch {
		case strings.HasPrefix(src, "jwks:"):
			out[iss] = &RemoteJWKS{URL: strings.TrimPrefix(src, "jwks:"), MaxAge: 10 * time.Minute, MinRefresh: 30 * time.Second}
		case strings.HasPrefix(src, "file:"):
			path, kid, _ := strings.Cut(strings.TrimPrefix(src, "file:"), "#")
			raw, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("trusted issuer %q: %w", iss, err)
			}
			key, err := ParsePublicKeyPEM(raw)
			if err != nil {
				return nil, fmt.Errorf("trusted issuer %q: %s: %w", iss, path, err)
			}
			if kid == "" {
				// Without a kid in the configuration, the key's RFC 7638 thumbprint is its id, as for the venue's
				// own keys.
				kid = Thumbprint(key)
			}
			out[iss] = StaticKey{KID: kid, Key: key}
		default:
			return nil, fmt.Errorf("trusted issuer %q: source must start with jwks: or file:", iss)
		}
	}
	return out, nil
}

// KeySet is a fixed set of public keys by key id, e.g. read from a saved JWKS file.
type KeySet map[string]crypto.PublicKey

// PublicKey returns the key with this id.
func (s KeySet) PublicKey(kid string) (crypto.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// StaticSet builds a KeySet from a JWKS; keys of unsupported types are skipped.
// A key of a type the venue cannot use (EC, symmetric) or without a kid is skipped rather than
// failing the whole set, since providers often publish keys for other purposes alongside; a set
// with none usable is an error, as no token from it could ever verify.
func StaticSet(set JWKSet) (KeySet, error) {
	out := KeySet{}
	for _, j := range set.Keys {
		if k, err := j.Key(); err == nil && j.KID != "" {
			out[j.KID] = k
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the JWKS holds no usable keys")
	}
	return out, nil
}
