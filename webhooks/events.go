// Package webhooks tells integrators what happened to their trades, without polling: an
// organisation subscribes a URL to event types, and the venue POSTs each event that concerns the
// organisation to it, signed, at least once, in order per resource, and never an event that
// concerns another organisation only. The rules live here as pure functions (who is a party to
// an event, the retry schedule, the signature, who may manage a subscription); PostgreSQL keeps
// the outbox and the delivery log (postgres/webhooks.go) and the worker here sends them.
package webhooks

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
)

// Event types a subscription may name. Each is written to the outbox in the transaction of the
// change it announces (obligation.due and obligation.overdue by a periodic scan, once each).
const (
	AuctionClosed      = "auction.closed"      // an auction ended: won, no sale, or stopped
	OrderCreated       = "order.created"       // a trade became a settlement order
	PaymentRecorded    = "payment.recorded"    // an order was paid (clerk or provider callback)
	VoucherIssued      = "voucher.issued"      // a delivery was confirmed and its voucher signed
	ObligationDue      = "obligation.due"      // an open obligation's due date is ReminderDays away or less
	ObligationOverdue  = "obligation.overdue"  // an obligation is still open after its due date
	ObligationRemitted = "obligation.remitted" // an obligation was remitted in full (statement import)
	ProductSuspended   = "product.suspended"   // a product was taken off the market (bureau, operator or automatically)
	// SubscriptionCancelled: a subscription was cancelled by its buyer or its operator; the
	// operator's delivery gateway stops delivering on it (and usage after it is refused).
	SubscriptionCancelled = "subscription.cancelled"
	// RevisionPublished: a file product sold as a service published a new revision; each active
	// subscriber's buyer is told once (its delivery record is made in the same transaction).
	RevisionPublished = "revision.published"
	Ping              = "webhook.ping" // a test event the subscriber asked for; sent whatever its events
)

// Types are the event types a subscription may name: the venue's own and the certificates
// outbox's (a certificate cancelled, superseded or expired; an authorisation revoked, narrowed
// or expired; an approval lapsed), which webhooks receives as one more certificates.Consumer.
var Types = []string{AuctionClosed, OrderCreated, PaymentRecorded, VoucherIssued, ObligationDue, ObligationOverdue,
	ObligationRemitted, ProductSuspended, SubscriptionCancelled, RevisionPublished,
	certificates.EventCertificateCancelled, certificates.EventCertificateSuperseded, certificates.EventCertificateExpired,
	certificates.EventAuthorisationRevoked, certificates.EventAuthorisationNarrowed, certificates.EventAuthorisationExpired,
	certificates.EventApprovalLapsed}

// Parties are the facts about who takes part in what an event announces; Recipients decides
// from them which organisations the event concerns. The store fills in what it knows.
type Parties struct {
	Buyer, Seller datavenue.OrgID   // an order's
	Operator      datavenue.OrgID   // a product's, an auction's or an authorisation's operator
	Holders       []datavenue.OrgID // holders of the assets a product, certificate or approval is on
	Winner        datavenue.OrgID   // an auction's
	Bidders       []datavenue.OrgID // buyers who bid in an auction or paid its deposit
	Obligated     datavenue.OrgID   // the unit or enterprise that must remit or file
	Operators     []datavenue.OrgID // operators with products or authorisations on an asset
	Subscriber    datavenue.OrgID   // a ping's subscription's organisation
}

// Recipients are the organisations an event concerns, and so the only ones whose subscriptions
// may receive it. Per type:
//
//   - auction.closed: the operator, the holders of the product's assets, the winner and every
//     buyer who bid or paid a deposit (after the close an auction's bids are public anyway);
//   - order.created, payment.recorded, voucher.issued: the order's buyer and seller (the
//     holders' shares reach them as obligations, not as the order); subscription.cancelled: the
//     subscription's buyer and seller (the operator, whose gateway stops delivering);
//   - obligation.due, .overdue, .remitted: the party obliged (the government unit that remits to
//     its treasury, the state enterprise that files with its supervisor), not the buyer;
//   - revision.published: the subscription's buyer;
//   - product.suspended: the product's operator and holders (buyers are not told a product they
//     do not hold was withdrawn: the catalogue says so);
//   - certificate.*: the certificate's holder and the operators of products and authorisations
//     on its asset; authorisation.*: the operator authorised and the asset's holder;
//     approval.lapsed: the holder;
//   - webhook.ping: the subscription's own organisation.
//
// Anything else concerns nobody.
func Recipients(eventType string, p Parties) []datavenue.OrgID {
	var orgs []datavenue.OrgID
	switch eventType {
	case AuctionClosed:
		orgs = append(append(append(orgs, p.Operator, p.Winner), p.Holders...), p.Bidders...)
	case OrderCreated, PaymentRecorded, VoucherIssued, SubscriptionCancelled:
		orgs = append(orgs, p.Buyer, p.Seller)
	case ObligationDue, ObligationOverdue, ObligationRemitted:
		orgs = append(orgs, p.Obligated)
	case RevisionPublished: // the subscriber fetches the revision; the operator published it
		orgs = append(orgs, p.Buyer)
	case ProductSuspended:
		orgs = append(append(orgs, p.Operator), p.Holders...)
	case certificates.EventCertificateCancelled, certificates.EventCertificateSuperseded, certificates.EventCertificateExpired:
		orgs = append(append(orgs, p.Holders...), p.Operators...)
	case certificates.EventAuthorisationRevoked, certificates.EventAuthorisationNarrowed, certificates.EventAuthorisationExpired:
		orgs = append(append(orgs, p.Operator), p.Holders...)
	case certificates.EventApprovalLapsed:
		orgs = append(orgs, p.Holders...)
	case Ping:
		orgs = append(orgs, p.Subscriber)
	}
	orgs = slices.DeleteFunc(orgs, func(o datavenue.OrgID) bool { return o == "" })
	slices.Sort(orgs)
	return slices.Compact(orgs)
}

// Known reports whether t is an event type a subscription may name.
func Known(t string) bool { return slices.Contains(Types, t) }

// Event is one event for the outbox: what happened to which resource, the organisations it
// concerns, and its data. DedupeKey names the fact it announces: announcing it again (a
// redelivered engine event, a second scan) writes nothing.
type Event struct {
	ID           string
	Type         string
	ResourceType string
	ResourceID   string
	Orgs         []datavenue.OrgID
	Data         any
	DedupeKey    string
}

// NewEvent is an event of typ about a resource, for the parties Recipients finds in p. The
// resource is what deliveries are ordered within: an order's events (created, paid, voucher
// issued) are all about the order, so a subscriber never sees the voucher before the payment.
func NewEvent(typ, resourceType, resourceID string, p Parties, data any, dedupeKey string) Event {
	return Event{ID: datavenue.NewID("evt"), Type: typ, ResourceType: resourceType, ResourceID: resourceID,
		Orgs: Recipients(typ, p), Data: data, DedupeKey: dedupeKey}
}

// Resource names what an event is about.
type Resource struct {
	Type string `json:"type" jsonschema:"description=order, auction, obligation, product, certificate, authorisation, approval or subscription"`
	ID   string `json:"id"`
}

// Envelope is the body POSTed to a subscriber: the event with its id (the same in every attempt
// and replay: deduplicate on it), its sequence (increasing; within a resource, the order of the
// changes) and its data, whose fields depend on the type.
type Envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Sequence  int64           `json:"sequence"`
	CreatedAt time.Time       `json:"created_at"`
	Resource  Resource        `json:"resource"`
	Data      json.RawMessage `json:"data"`
}
