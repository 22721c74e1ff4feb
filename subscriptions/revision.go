package subscriptions

import (
	"context"
	"net/url"
	"regexp"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/civil"
)

// RevisionInput is a new revision of a file product (issue 15, revisions; AWS Data Exchange's
// revisions pushed to subscribers): a version label, the checksum of the content, and where the
// subscribers fetch it (a URL, a description of the channel, or both).
type RevisionInput struct {
	Version     string `json:"version" jsonschema:"minLength=1,maxLength=64,example=2026-11"`
	Checksum    string `json:"checksum" jsonschema:"pattern=^sha256:[0-9a-f]{64}$,description=sha256:<64 hex> of the revision's content,example=sha256:3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d"`
	URL         string `json:"url,omitempty" jsonschema:"description=https URL the subscribers fetch it from,example=https://files.operator.example/revisions/2026-11.csv"`
	Description string `json:"description,omitempty" jsonschema:"maxLength=2000"`
}

var checksumPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Validate checks a revision: a label, a SHA-256 checksum, an https URL or a description.
func (in RevisionInput) Validate() error {
	var fields []datavenue.FieldError
	if in.Version == "" || len(in.Version) > 64 {
		fields = append(fields, datavenue.FieldError{Field: "version", Code: "invalid_length", Message: "a version label of 1 to 64 bytes"})
	}
	if !checksumPattern.MatchString(in.Checksum) {
		fields = append(fields, datavenue.FieldError{Field: "checksum", Code: "invalid_format", Message: "sha256:<64 lower-case hex>"})
	}
	if u, err := url.Parse(in.URL); in.URL != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
		fields = append(fields, datavenue.FieldError{Field: "url", Code: "invalid_format", Message: "an https URL"})
	}
	if in.URL == "" && in.Description == "" {
		fields = append(fields, datavenue.FieldError{Field: "url", Code: "required", Message: "a URL or a description of where to fetch the revision"})
	}
	if len(in.Description) > 2000 {
		fields = append(fields, datavenue.FieldError{Field: "description", Code: "invalid_length", Message: "at most 2000 bytes"})
	}
	if len(fields) > 0 {
		return datavenue.Invalid("validation_failed", "invalid revision", fields...)
	}
	return nil
}

// Revision is a published revision and the number of subscriptions it was delivered to.
type Revision struct {
	ID          string          `json:"id"`
	ProductID   string          `json:"product_id"`
	Version     string          `json:"version"`
	Checksum    string          `json:"checksum"`
	URL         string          `json:"url,omitempty"`
	Description string          `json:"description,omitempty"`
	PublishedBy datavenue.OrgID `json:"published_by"`
	PublishedAt time.Time       `json:"published_at"`
	// Deliveries is how many subscriptions were active when it was published, each given one
	// delivery record and its buyer one revision.published event.
	Deliveries int `json:"deliveries"`
}

// RevisionStore publishes revisions. PublishRevision locks the product (its operator's and
// delivered as a file, else not found / a conflict), stores the revision (a version published
// before is a conflict), locks the product's stored-active subscriptions, keeps those deliver says
// are active, and records one delivery and one event per subscription and the audit record, in
// one transaction.
//
// The reads: RevisionReaders says who the product's operator is and whether an organisation
// holds (or held) a subscription to it; ProductRevisions and RevisionDeliveries are keyset pages
// by revision id (ids are time-ordered, so oldest first).
type RevisionStore interface {
	PublishRevision(ctx context.Context, operator datavenue.OrgID, productID string, in RevisionInput,
		deliver func(Subscription) bool) (Revision, error)
	ProductOperator(ctx context.Context, productID string) (datavenue.OrgID, error)
	RevisionReaders(ctx context.Context, productID string, org datavenue.OrgID) (operator datavenue.OrgID, subscriber bool, err error)
	ProductRevisions(ctx context.Context, productID string, p Page) ([]Revision, error)
	MeteredSubscription(ctx context.Context, id string) (Subscription, error)
	RevisionDeliveries(ctx context.Context, subscriptionID string, p Page) ([]RevisionDelivery, error)
}

// RevisionDelivery is a revision as delivered to one subscription: what the subscriber fetches
// and when it was delivered (the instant the revision was published while the subscription was
// active).
type RevisionDelivery struct {
	RevisionID     string    `json:"revision_id"`
	SubscriptionID string    `json:"subscription_id"`
	ProductID      string    `json:"product_id"`
	Version        string    `json:"version" jsonschema:"example=2026-11"`
	Checksum       string    `json:"checksum" jsonschema:"description=sha256:<64 hex> of the revision's content"`
	URL            string    `json:"url,omitempty"`
	Description    string    `json:"description,omitempty"`
	PublishedAt    time.Time `json:"published_at"`
	DeliveredAt    time.Time `json:"delivered_at"`
}

// MayReadRevisions reports whether a caller reads a product's revisions: its operator's
// organisation, an organisation that holds or held a subscription to it (cancelled or expired
// subscribers keep the history of what they were sent), and the book keepers.
func MayReadRevisions(caller datavenue.Caller, operator datavenue.OrgID, subscriber bool) bool {
	return caller.Is(access.BookKeepers...) || caller.Org == operator || subscriber
}

// List is a page of a product's revisions, oldest first, for those who may read them; anyone else
// is told there is no such product of theirs (the catalogue shows the product, not its deliveries).
func (r Revisions) List(ctx context.Context, caller datavenue.Caller, productID string, p Page) ([]Revision, error) {
	operator, subscriber, err := r.Store.RevisionReaders(ctx, productID, caller.Org)
	if err != nil {
		return nil, err
	}
	if !MayReadRevisions(caller, operator, subscriber) {
		return nil, datavenue.NotFound("product_not_found", "no product of yours, or that you subscribe to, has this id")
	}
	return r.Store.ProductRevisions(ctx, productID, p)
}

// Deliveries is a page of the revisions delivered to a subscription, for whoever reads the
// subscription (MayRead).
func (r Revisions) Deliveries(ctx context.Context, caller datavenue.Caller, subscriptionID string, p Page) ([]RevisionDelivery, error) {
	sub, err := r.Store.MeteredSubscription(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	if !MayRead(caller, sub) {
		return nil, datavenue.NotFound("subscription_not_found", "no such subscription")
	}
	return r.Store.RevisionDeliveries(ctx, subscriptionID, p)
}

// Revisions publishes revisions of file products to their subscribers.
type Revisions struct {
	Store RevisionStore
	Clock datavenue.Clock
}

// Publish publishes a revision for the product's operator. A subscription cancelled, or expired
// at this instant, gets nothing: delivery has stopped.
func (r Revisions) Publish(ctx context.Context, caller datavenue.Caller, productID string, in RevisionInput) (Revision, error) {
	if caller.Role != datavenue.RoleOperator {
		return Revision{}, datavenue.Forbidden("role_not_allowed", "a product's operator publishes its revisions")
	}
	// Who may comes before what is sent: another operator learns nothing of a revision's faults
	// (a valid one goes straight to the store, which checks the operator in its transaction).
	if err := in.Validate(); err != nil {
		if op, oerr := r.Store.ProductOperator(ctx, productID); oerr != nil || op != caller.Org {
			return Revision{}, datavenue.NotFound("product_not_found", "no product of yours has this id")
		}
		return Revision{}, err
	}
	now := r.Clock.Now()
	return r.Store.PublishRevision(ctx, caller.Org, productID, in, func(s Subscription) bool {
		return s.StatusAt(now) == StatusActive && !civil.Of(now).Before(s.StartsOn)
	})
}
