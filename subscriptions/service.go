package subscriptions

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/settlement"
)

// Page is a keyset page of subscriptions.
type Page struct {
	After string
	Limit int
}

// Store keeps subscriptions and usage. CancelMeteredSubscription locks the subscription, lets decide say what
// changes, and stores it with its audit record in one transaction. Ingest stores a judged batch in
// one transaction: it locks the batch's subscriptions (so a cancellation, a quota and the records
// are seen in one order), reads the standings and the ids stored before, calls judge, and inserts
// the accepted records, reporting as duplicates those a concurrent batch stored first.
type Store interface {
	MeteredSubscription(ctx context.Context, id string) (Subscription, error)
	MeteredSubscriptions(ctx context.Context, org datavenue.OrgID, all bool, p Page) ([]Subscription, error)
	CancelMeteredSubscription(ctx context.Context, id string, decide func(Subscription) (Subscription, bool, error)) (Subscription, error)
	IngestUsage(ctx context.Context, operator datavenue.OrgID, records []RecordInput,
		judge func(standings map[string]*Standing, seen map[string]bool) Judgement) (BatchResult, error)
}

// Service reads, cancels and meters subscriptions.
type Service struct {
	Store Store
	Clock datavenue.Clock
}

// Get is one subscription, for its buyer, its operator and the book keepers (another party's is
// not found).
func (s Service) Get(ctx context.Context, caller datavenue.Caller, id string) (Subscription, error) {
	sub, err := s.Store.MeteredSubscription(ctx, id)
	if err != nil {
		return sub, err
	}
	if !MayRead(caller, sub) {
		return Subscription{}, datavenue.NotFound("subscription_not_found", "no such subscription")
	}
	return sub.AsOf(s.Clock.Now()), nil
}

// MayRead reports whether a caller reads a subscription and what hangs on it (its revision
// deliveries): its buyer's and its operator's organisations, and the book keepers.
func MayRead(caller datavenue.Caller, sub Subscription) bool {
	return caller.Is(access.BookKeepers...) || caller.Org == sub.BuyerID || caller.Org == sub.SellerID
}

// List is a page of subscriptions: a party's own (as buyer or operator), every one for the book
// keepers.
func (s Service) List(ctx context.Context, caller datavenue.Caller, p Page) ([]Subscription, error) {
	subs, err := s.Store.MeteredSubscriptions(ctx, caller.Org, caller.Is(access.BookKeepers...), p)
	now := s.Clock.Now()
	for i := range subs {
		subs[i] = subs[i].AsOf(now)
	}
	return subs, err
}

// Cancel stops a subscription at once (its buyer or its operator): delivery must stop, and use
// reported from this instant on is refused. Cancelling again returns it unchanged.
func (s Service) Cancel(ctx context.Context, caller datavenue.Caller, id string, in CancelInput) (Subscription, error) {
	// PostgreSQL keeps microseconds: the first answer states the instant as it is stored.
	now := s.Clock.Now().UTC().Truncate(time.Microsecond)
	sub, err := s.Store.CancelMeteredSubscription(ctx, id, func(sub Subscription) (Subscription, bool, error) {
		return Cancel(sub, caller, in.Reason, now)
	})
	if err != nil {
		return sub, err
	}
	return sub.AsOf(now), nil
}

// Ingest judges and stores an operator's batch of usage records at the service's clock.
func (s Service) Ingest(ctx context.Context, caller datavenue.Caller, in BatchInput) (BatchResult, error) {
	if caller.Role != datavenue.RoleOperator {
		return BatchResult{}, datavenue.Forbidden("role_not_allowed", "an operator's delivery gateway reports usage")
	}
	if err := in.Validate(); err != nil {
		return BatchResult{}, err
	}
	now := s.Clock.Now()
	return s.Store.IngestUsage(ctx, caller.Org, in.Records, func(standings map[string]*Standing, seen map[string]bool) Judgement {
		return Judge(caller.Org, in.Records, standings, seen, now)
	})
}

// OperatorSecret is an operator's metering secret: HMAC-SHA256 of its organisation id under the
// venue's metering secret, in hex. The venue stores no per-operator secret: it derives each on
// demand, and one operator's leaked secret signs nothing for another.
func OperatorSecret(venueSecret []byte, operator datavenue.OrgID) []byte {
	mac := hmac.New(sha256.New, venueSecret)
	mac.Write([]byte("metering:" + string(operator)))
	return []byte(hex.EncodeToString(mac.Sum(nil)))
}

// VerifyBatch checks a batch's signature header (the payment callback's scheme:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">) under the operator's metering secret.
func VerifyBatch(venueSecret []byte, operator datavenue.OrgID, body []byte, header string, now time.Time) error {
	if len(venueSecret) == 0 {
		return datavenue.Unauthorized("metering_disabled", "usage reporting is not configured on this venue (DATAVENUE_METERING_SECRET)")
	}
	if err := settlement.VerifyCallback(OperatorSecret(venueSecret, operator), body, header, now); err != nil {
		e := datavenue.AsError(err)
		return datavenue.Unauthorized(e.Code, "the usage batch's X-Datavenue-Signature: "+e.Message)
	}
	return nil
}
