package certificates

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Event types published when something a listing or an auction depends on stops holding. They are
// written to an outbox in the transaction of the change itself, so a cancellation cannot commit
// without its event, and delivered to each consumer at least once, in order.
const (
	EventCertificateCancelled  = "certificate.cancelled"
	EventCertificateExpired    = "certificate.expired"
	EventCertificateSuperseded = "certificate.superseded"
	EventAuthorisationRevoked  = "authorisation.revoked"
	EventAuthorisationNarrowed = "authorisation.narrowed"
	EventAuthorisationExpired  = "authorisation.expired"
	EventApprovalLapsed        = "approval.lapsed"
)

// Event is one published event. SubjectID is the certificate, authorisation or approval id;
// AssetID the asset it concerns, so a consumer can find every listing built on it.
type Event struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	SubjectID string          `json:"subject_id"`
	AssetID   string          `json:"asset_id"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

// Consumer reacts to events, for instance by suspending listings (listing issue) or stopping
// bidding (matching issue). Delivery is at least once: Handle must be idempotent. An error stops
// delivery to this consumer at that event; it is retried on the next run.
type Consumer interface {
	Name() string // stable: it keys the consumer's cursor
	Handle(ctx context.Context, e Event) error
}

// EventLog delivers events past a consumer's cursor and advances the cursor after each one handled.
type EventLog interface {
	Deliver(ctx context.Context, consumer string, limit int, handle func(Event) error) (delivered int, err error)
}

// Dispatcher delivers the outbox to its consumers.
type Dispatcher struct {
	Log       EventLog
	Consumers []Consumer
	Logger    *slog.Logger
}

// RunOnce delivers every pending event to every consumer and reports how many it delivered.
func (d Dispatcher) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for _, c := range d.Consumers {
		for {
			n, err := d.Log.Deliver(ctx, c.Name(), 100, func(e Event) error { return c.Handle(ctx, e) })
			total += n
			if err != nil {
				return total, err
			}
			if n < 100 {
				break
			}
		}
	}
	return total, nil
}

// Expirer records validity periods that have ended: certificates and authorisations become
// expired and approvals lapse, each with its event.
type Expirer interface {
	ExpireDue(ctx context.Context, now time.Time) (int, error)
}

// Waker lets a change that published an event (a cancellation, a revocation) have it delivered
// at once rather than at the next tick: bidding must stop "at once" (D9).
type Waker chan struct{}

// NewWaker makes a waker.
func NewWaker() Waker { return make(Waker, 1) }

// Wake asks for a delivery run; it never blocks, and wakes pending at once merge into one.
func (w Waker) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Run sweeps expiries and delivers events every interval, and whenever woken, until ctx ends.
// Failures are logged and retried on the next run: a database blip must not stop the loop.
func Run(ctx context.Context, every time.Duration, sweep Expirer, d Dispatcher, wake Waker) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := sweep.ExpireDue(ctx, time.Now()); err != nil && ctx.Err() == nil {
			d.Logger.Warn("expiry sweep failed", "error", err.Error())
		}
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Warn("event delivery failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}
