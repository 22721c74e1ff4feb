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

var stopOn = []string{certificates.EventCertificateCancelled, certificates.EventCertificateExpired,
	certificates.EventCertificateSuperseded, certificates.EventAuthorisationRevoked, certificates.EventAuthorisationNarrowed,
	certificates.EventAuthorisationExpired, certificates.EventApprovalLapsed}

// Handle stops the affected auctions; it is idempotent.
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
