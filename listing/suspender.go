package listing

import (
	"context"
	"errors"
	"slices"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
)

// Suspender is the certificates.Consumer that keeps the market honest: when a certificate is
// cancelled, superseded or expires, an authorisation is narrowed, revoked or expires, or an
// approval lapses, every published product built on that asset is checked against the gate again
// and suspended if it no longer passes, with the unmet conditions recorded. Re-checking (rather
// than suspending on any event) means a superseding certificate that still covers the product, or
// a narrowing that keeps its product type, suspends nothing.
type Suspender struct {
	Store Store
	Clock datavenue.Clock
}

// Name keys the consumer's cursor; it never changes.
func (Suspender) Name() string { return "listing.suspender" }

// relevant are the events that can make a published product fail the gate: something it rests on
// ended or shrank. An issue or a grant can only make more products pass, so it is not handled.
var relevant = []string{
	certificates.EventCertificateCancelled, certificates.EventCertificateExpired, certificates.EventCertificateSuperseded,
	certificates.EventAuthorisationRevoked, certificates.EventAuthorisationNarrowed, certificates.EventAuthorisationExpired,
	certificates.EventApprovalLapsed,
}

// Handle re-checks the published products on the event's asset. It is idempotent: a product
// already suspended is left alone.
func (s Suspender) Handle(ctx context.Context, e certificates.Event) error {
	if !slices.Contains(relevant, e.Type) {
		return nil
	}
	// The suspension is audited as the venue's own act, not a person's.
	if _, ok := datavenue.CallerFrom(ctx); !ok {
		ctx = datavenue.WithCaller(ctx, audit.SystemCaller)
	}
	ids, err := s.Store.ProductsOnAsset(ctx, e.AssetID, StatusPublished)
	if err != nil {
		return err
	}
	// One transaction per product: a failure stops here and the event is delivered again on the
	// next run, when the products already suspended are skipped (they are no longer published).
	for _, id := range ids {
		_, err := s.Store.Transition(ctx, id, "product.suspended", "", func(p *Product, facts Facts) error {
			if p.Status != StatusPublished {
				return ErrUnchanged
			}
			// The whole gate, not just the event's condition: the product is suspended with every
			// reason it now fails, so the operator sees all it must fix before reinstating.
			unmet := Evaluate(*p, facts, s.Clock.Now())
			if len(unmet) == 0 {
				return ErrUnchanged
			}
			p.Status = StatusSuspended
			p.Suspension = &Suspension{By: "automatic", Reason: e.Type + " " + e.SubjectID, Unmet: unmet, At: s.Clock.Now(), EventID: e.ID}
			return nil
		})
		if err != nil && !errors.Is(err, ErrUnchanged) {
			return err
		}
	}
	return nil
}

var _ certificates.Consumer = Suspender{}
