package webhooks

import "time"

// The retry schedule. A delivery that fails (no answer within the timeout, a refused
// connection, any status but 2xx, a redirect: redirects are never followed) is tried again after
// Backoff[n-1] for its n-th failure, the last step repeating: 10 s, 30 s, 2 min, 10 min, 1 h,
// 2 h, 4 h, then every 8 h. A receiver's Retry-After (429, 503) is honoured when it asks for
// longer, up to MaxDelay. After MaxAttempts failures, or once the next try would fall more than
// GiveUpAfter after the delivery was created (or last replayed), the delivery is dead: it is
// kept in the log and a subscriber may replay it.
var Backoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour,
	2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

const (
	// MaxAttempts is how many attempts a delivery gets before it is dead (about 71 hours).
	MaxAttempts = 15
	// GiveUpAfter bounds how long a delivery is retried, from its creation or last replay.
	GiveUpAfter = 72 * time.Hour
	// MaxDelay caps a receiver's Retry-After.
	MaxDelay = 8 * time.Hour
)

// NextAttempt says when a delivery that has now failed failed times (1 or more) in its current
// cycle, which started at started, is tried again, or that it is dead. retryAfter is what the
// receiver asked for (0: nothing).
func NextAttempt(failed int, started, now time.Time, retryAfter time.Duration) (next time.Time, dead bool) {
	if failed >= MaxAttempts {
		return time.Time{}, true
	}
	delay := Backoff[min(max(failed, 1), len(Backoff))-1]
	if retryAfter > delay {
		delay = min(retryAfter, MaxDelay)
	}
	next = now.Add(delay)
	if next.Sub(started) > GiveUpAfter {
		return time.Time{}, true
	}
	return next, false
}
