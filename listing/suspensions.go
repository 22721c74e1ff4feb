package listing

import (
	"strings"
	"time"
)

// SuspensionSpan is one past or current suspension of a product: from the instant it was
// suspended until the instant it was lifted (reinstated or delisted; nil while it lasts). The
// product's Suspension says why it is suspended now; the spans keep every suspension, because
// what was allowed at an instant in the past (a late usage record, say) depends on whether the
// product was suspended then, not now.
type SuspensionSpan struct {
	From   time.Time
	Until  *time.Time
	By     string
	Reason string
}

// Covers reports whether the span includes the instant: from its start (inclusive: delivery had
// to stop at that instant) to its lifting (exclusive: from then on delivery is allowed again).
func (s SuspensionSpan) Covers(t time.Time) bool {
	return !t.Before(s.From) && (s.Until == nil || t.Before(*s.Until))
}

// ByRevocation reports whether the suspension followed a revoked, narrowed or lapsed
// authorisation (the suspender's reason names the event type, "authorisation.revoked grt_…"), as
// against one by a certificate, a bureau or the operator.
func (s SuspensionSpan) ByRevocation() bool { return strings.HasPrefix(s.Reason, "authorisation.") }

// SuspendedAt is the span among spans that covers the instant, if any. Spans of one product
// never overlap (the store's constraint), so at most one does.
func SuspendedAt(spans []SuspensionSpan, t time.Time) (SuspensionSpan, bool) {
	for _, s := range spans {
		if s.Covers(t) {
			return s, true
		}
	}
	return SuspensionSpan{}, false
}
