package certificates

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// The consumers are listing's Suspender (re-check the products built on the asset against the
// publication gate, suspending those that fail) and matching's Stopper (stop the auctions of
// products no longer published): D9 requires that revoking a grant stops trading under it.
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
// ID is the outbox's sequence number, which orders delivery; Payload carries the type's own
// details (e.g. the reason) as JSON so new event types need no schema change.
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
// Implemented in postgres/: a consumer's cursor row is locked while a batch is handled and is
// advanced in the same transaction, so two venue processes never hand one consumer the same
// events at once, and a crash before the commit re-delivers them (hence idempotent handlers)
// rather than skipping them.
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
	// Consumers are served one after another, each to the end of the outbox in batches of 100; a
	// failing consumer stops the run (and is retried next run) so events are never handled out of
	// order for it. A batch shorter than 100 means the consumer has caught up.
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
// Implemented in postgres/, in one transaction that writes each expiry with its event; running it
// again records nothing twice, so every venue process may run it.
type Expirer interface {
	ExpireDue(ctx context.Context, now time.Time) (int, error)
}

// Waker lets a change that published an event (a cancellation, a revocation) have it delivered
// at once rather than at the next tick: bidding must stop "at once" (D9).
// A buffered channel of one: any number of wakes while a run is in progress collapse into one
// further run, which sees every event published meanwhile.
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
	// The sweep runs first so that the events it writes are delivered in the same pass. It uses the
	// wall clock: this is the production loop, and tests call ExpireDue with a time of their own.
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
