package webhooks

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
)

// Attempt is a claimed delivery: where to send what. Lease identifies the claim: the result is
// recorded only under it, so a worker that outlived its lease cannot overwrite a newer attempt.
type Attempt struct {
	DeliveryID     int64
	SubscriptionID string
	Lease          string
	URL            string
	Secret         string // readable: a subscription made before secrets were sealed, not sealed yet
	SealedSecret   string // sealed (SecretBox): every other
	Envelope       Envelope
	Attempts       int       // attempts made before this one, in the current cycle
	CycleStarted   time.Time // created or last replayed
}

// Result is what came of an attempt, as the worker records it.
type Result struct {
	DeliveryID int64
	Lease      string
	At         time.Time
	Delivered  bool
	Status     int    // the receiver's HTTP status (0: no answer)
	Error      string // why it failed
	Dead       bool   // given up: the deliveries of later events of the same resource to the subscription die with it
	NextAt     time.Time
}

// Queue is what the worker needs of the store.
type Queue interface {
	// ClaimDeliveries leases up to limit pending deliveries due at now, none of which has an
	// earlier pending delivery of the same resource to the same subscription, skipping those
	// another worker holds (FOR UPDATE SKIP LOCKED), so several venue processes share the work.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Attempt, error)
	RecordAttempt(ctx context.Context, r Result) error
	// SealSecrets replaces every subscription's readable secret by seal's, audited, and says how
	// many it sealed.
	SealSecrets(ctx context.Context, seal func(secret, subscriptionID string) (string, error)) (int, error)
	// AnnounceObligations writes obligation.due for open obligations due by dueBy and
	// obligation.overdue for those due before overdueBefore, once each.
	AnnounceObligations(ctx context.Context, dueBy, overdueBefore civil.Date) (int, error)
}

// ReminderDays is how many days before its due date an open obligation is announced due.
const ReminderDays = 3

// ObligationThresholds are the dates the scan announces obligations by, on day today (China
// Standard Time): due when the due date is at most ReminderDays away, overdue when it has passed.
func ObligationThresholds(today civil.Date) (dueBy, overdueBefore civil.Date) {
	return today.AddDays(ReminderDays), today
}

// Worker sends the deliveries. Each attempt is a POST of the envelope with the signature
// header, under a timeout; a 2xx answer delivers it, anything else schedules the next attempt by
// NextAttempt. Redirects are never followed (a 3xx is a failure). The time comes from Clock and
// all work from RunOnce, so tests drive it without sleeping.
type Worker struct {
	Queue  Queue
	Client *http.Client // nil: NewClient(10 s, false)
	Clock  datavenue.Clock
	Logger *slog.Logger
	// Outcome is told of each attempt: delivered, retrying or dead (the metrics).
	Outcome     func(outcome string)
	Batch       int           // deliveries claimed at once (32)
	Concurrency int           // attempts in flight at once (8)
	Lease       time.Duration // how long a claim holds (2 min): a worker that dies mid-attempt loses its claim after it
	Wake        chan struct{} // a send runs the worker now (a ping, a replay)
	// Secrets opens the subscriptions' sealed secrets to sign with, and seals the readable ones
	// left from before secrets were sealed (SealSecrets, when Run starts).
	Secrets SecretBox
}

// NewClient is the HTTP client of deliveries: a timeout per attempt, no redirects, no proxy
// from the environment, and, unless allowPrivate, no connection to a loopback, private,
// link-local or unspecified address (a subscriber cannot point the venue at its own network or
// a cloud metadata service; DNS is checked where it is dialled, so a rebinding name cannot
// either).
func NewClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return errNotPublic
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !PublicAddress(ip) {
				return errNotPublic // the address itself is not said: the log is the subscriber's to read
			}
			return nil
		}
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: timeout, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var errNotPublic = errors.New("webhooks: the receiver's address is not a public one")

// nonPublic are the special-purpose ranges of the IANA registries (RFC 6890 and its updates) that
// are not the public Internet: a subscriber must not make the venue post into its own network, a
// carrier-grade NAT (100.64/10, where cloud metadata services such as 100.100.100.200 live), a
// benchmark or reserved range.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
		"192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// PublicAddress says whether the venue may post to ip: not in a special-purpose range, and, for an
// IPv6 address that carries an IPv4 one (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16), neither is
// the IPv4 address it carries.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return PublicAddress(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
			return PublicAddress(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case netip.MustParsePrefix("64:ff9b:1::/48").Contains(ip):
			return false // local-use NAT64
		case netip.MustParsePrefix("2002::/16").Contains(ip):
			return PublicAddress(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return ip.IsValid()
}

// RunStats counts what one RunOnce did.
type RunStats struct{ Delivered, Retrying, Dead int }

// RunOnce sends every delivery due now, batch after batch, until none is left (a delivery held
// back by an earlier one of its resource goes in a later batch, once that one is delivered).
func (w *Worker) RunOnce(ctx context.Context) (RunStats, error) {
	var stats RunStats
	if w.Client == nil {
		w.Client = NewClient(10*time.Second, false)
	}
	for range 1000 { // bounded: a run never spins for ever
		batch, err := w.Queue.ClaimDeliveries(ctx, w.Clock.Now(), cmpDuration(w.Lease, 2*time.Minute), cmpInt(w.Batch, 32))
		if err != nil || len(batch) == 0 {
			return stats, err
		}
		results := make([]Result, len(batch))
		sem := make(chan struct{}, cmpInt(w.Concurrency, 8))
		var wg sync.WaitGroup
		for i, a := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = w.attempt(ctx, a)
			}()
		}
		wg.Wait()
		// Each result is recorded on its own: one that fails to record (its delivery is sent again
		// once its lease ends) does not lose the others'.
		var recordErr error
		for _, r := range results {
			if err := w.Queue.RecordAttempt(ctx, r); err != nil {
				recordErr = cmp.Or(recordErr, err)
				continue
			}
			outcome := "retrying"
			switch {
			case r.Delivered:
				stats.Delivered++
				outcome = "delivered"
			case r.Dead:
				stats.Dead++
				outcome = "dead"
			default:
				stats.Retrying++
			}
			if w.Outcome != nil {
				w.Outcome(outcome)
			}
		}
		if recordErr != nil {
			return stats, recordErr
		}
	}
	return stats, nil
}

// attempt POSTs one delivery and says what came of it.
func (w *Worker) attempt(ctx context.Context, a Attempt) Result {
	r := Result{DeliveryID: a.DeliveryID, Lease: a.Lease}
	var retryAfter time.Duration
	body, err := json.Marshal(a.Envelope)
	if err == nil && a.SealedSecret != "" {
		// A secret that does not open (the keyring the venue runs with is not the one that sealed it)
		// fails the attempt like an unreachable receiver: retried, then given up, and the log says why.
		if w.Secrets == nil {
			err = errNoSecretBox
		} else if a.Secret, err = w.Secrets.Open(a.SealedSecret, a.SubscriptionID); err != nil {
			err = fmt.Errorf("the subscription's signing secret: %w", err)
		}
	}
	if err != nil {
		r.Error = clipError(err.Error())
	} else {
		r.Status, r.Error, retryAfter = w.post(ctx, a, body)
	}
	r.At = w.Clock.Now()
	if r.Error == "" && r.Status/100 == 2 {
		r.Delivered = true
		return r
	}
	r.NextAt, r.Dead = NextAttempt(a.Attempts+1, a.CycleStarted, r.At, retryAfter)
	if r.Dead && w.Logger != nil {
		w.Logger.Warn("webhook delivery given up", "delivery", a.DeliveryID, "subscription", a.SubscriptionID,
			"attempts", a.Attempts+1, "status", r.Status, "error", r.Error)
	}
	return r
}

// post sends one attempt: the receiver's status, why it failed ("" for a 2xx) and the
// Retry-After it asked for, in seconds (0: none).
func (w *Worker) post(ctx context.Context, a Attempt, body []byte) (int, string, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return 0, clipError(err.Error()), 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "datavenue-webhooks/1")
	req.Header.Set("Datavenue-Event-Id", a.Envelope.ID)
	req.Header.Set("Datavenue-Event-Type", a.Envelope.Type)
	req.Header.Set("Datavenue-Delivery-Id", strconv.FormatInt(a.DeliveryID, 10))
	req.Header.Set(SignatureHeader, Sign([]byte(a.Secret), body, w.Clock.Now()))
	resp, err := w.Client.Do(req)
	if err != nil {
		var urlErr interface{ Unwrap() error }
		if errors.As(err, &urlErr) && urlErr.Unwrap() != nil {
			err = urlErr.Unwrap()
		}
		return 0, clipError(err.Error()), 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, "", 0
	}
	var retryAfter time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		retryAfter = time.Duration(secs) * time.Second
	}
	return resp.StatusCode, "the receiver answered " + strconv.Itoa(resp.StatusCode), retryAfter
}

// clipError keeps an error's first 500 bytes, cut between characters (PostgreSQL refuses text that
// is not UTF-8).
func clipError(s string) string {
	if len(s) <= 500 {
		return s
	}
	s = s[:500]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func cmpInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func cmpDuration(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// ScanOnce announces the obligations that have become due or overdue today.
func (w *Worker) ScanOnce(ctx context.Context) (int, error) {
	dueBy, overdueBefore := ObligationThresholds(civil.Of(w.Clock.Now()))
	return w.Queue.AnnounceObligations(ctx, dueBy, overdueBefore)
}

// SealSecrets seals the secrets of subscriptions made before secrets were sealed (migration
// 00025): every venue process's worker runs it when it starts; each secret is sealed once.
func (w *Worker) SealSecrets(ctx context.Context) (int, error) {
	if w.Secrets == nil {
		return 0, errNoSecretBox
	}
	return w.Queue.SealSecrets(ctx, w.Secrets.Seal)
}

// Run sends deliveries every interval and whenever woken, and scans obligations every
// scanEvery, until ctx ends. Failures are logged and retried at the next tick.
func (w *Worker) Run(ctx context.Context, every, scanEvery time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var lastScan time.Time
	sealed := false
	for {
		// The readable secrets are sealed once, at start, and again at each tick until that works
		// (a database unreachable at start must not leave them readable until the next restart).
		if !sealed {
			n, err := w.SealSecrets(ctx)
			if sealed = err == nil; err != nil && ctx.Err() == nil {
				w.Logger.Warn("webhooks: sealing the readable signing secrets", "error", err.Error())
			} else if n > 0 {
				w.Logger.Info("webhooks: sealed the readable signing secrets", "subscriptions", n)
			}
		}
		if time.Since(lastScan) >= scanEvery {
			if _, err := w.ScanOnce(ctx); err != nil && ctx.Err() == nil {
				w.Logger.Warn("webhooks: obligation scan", "error", err.Error())
			}
			lastScan = time.Now()
		}
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Warn("webhooks: delivery run", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.Wake:
		}
	}
}
