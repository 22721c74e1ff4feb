package matching

import (
	"context"
	"slices"

	"github.com/datavenue/datavenue/certificates"
)

// Stopper is the certificates.Consumer that stops bidding when what an auction's product rests
// on stops holding: after listing's Suspender has suspended the product (it runs first), every
// open auction of a product that is no longer published is stopped, in Redis at once and then in
// the record.
type Stopper struct {
	Service Service
}

// Name keys the consumer's cursor.
func (Stopper) Name() string { return "matching.stopper" }

// stopOn lists the events that can take away what a product rests on: a certificate that stops
// being valid (D5), a grant revoked, narrowed or expired (D9/G5: revocation must stop trading), an
// approval lapsed (D10). OpenAuctionsOnAsset then keeps only auctions whose product the suspender
// actually took off the market, so a narrowing that leaves the product published stops nothing.
var stopOn = []string{certificates.EventCertificateCancelled, certificates.EventCertificateExpired,
	certificates.EventCertificateSuperseded, certificates.EventAuthorisationRevoked, certificates.EventAuthorisationNarrowed,
	certificates.EventAuthorisationExpired, certificates.EventApprovalLapsed}

// Handle stops the affected auctions; it is idempotent.
//
// The Redis stop comes first, because Redis is where bids are accepted: once close.lua has
// stopped it no bid lands. The record follows; if the process dies in between, the outcome is still in the
// engine's event stream and the projection records it. The reason names the event and its subject
// so the auction record says why trading stopped.
func (s Stopper) Handle(ctx context.Context, e certificates.Event) error {
	if !slices.Contains(stopOn, e.Type) {
		return nil
	}
	ids, err := s.Service.Store.OpenAuctionsOnAsset(ctx, e.AssetID)
	if err != nil {
		return err
	}
	reason := e.Type + " " + e.SubjectID
	for _, id := range ids {
		o, err := s.Service.Engine.Stop(ctx, id, reason)
		if err != nil {
			return err
		}
		if err := s.Service.Store.RecordOutcome(ctx, id, o, reason); err != nil {
			return err
		}
	}
	return nil
}

var _ certificates.Consumer = Stopper{}
