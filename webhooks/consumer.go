package webhooks

import (
	"context"

	"github.com/datavenue/datavenue/certificates"
)

// CertificateAnnouncer writes a certificates outbox event to the webhooks outbox, with the
// parties it concerns, once per event (its id is the dedupe key).
type CertificateAnnouncer interface {
	AnnounceCertificateEvent(ctx context.Context, e certificates.Event) error
}

// CertificateEvents is the certificates.Consumer that turns a certificate cancelled, superseded
// or expired, an authorisation revoked, narrowed or expired and an approval lapsed into webhook
// events. It runs after listing.Suspender, so the products it suspended are announced first.
type CertificateEvents struct {
	Store CertificateAnnouncer
}

// Name keys the consumer's cursor.
func (CertificateEvents) Name() string { return "webhooks" }

// Handle announces one event; announcing it again writes nothing.
func (c CertificateEvents) Handle(ctx context.Context, e certificates.Event) error {
	if !Known(e.Type) {
		return nil
	}
	return c.Store.AnnounceCertificateEvent(ctx, e)
}

var _ certificates.Consumer = CertificateEvents{}
