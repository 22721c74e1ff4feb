package webhooks

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
)

// Subscription is an organisation's endpoint and the event types it receives there. The secret
// signs every delivery; it is shown once, in the answer that creates the subscription.
type Subscription struct {
	ID          string          `json:"id"`
	Org         datavenue.OrgID `json:"org"`
	URL         string          `json:"url" jsonschema:"format=uri"`
	Events      []string        `json:"events"`
	Description string          `json:"description,omitempty"`
	Status      string          `json:"status" jsonschema:"enum=active,enum=deleted"`
	// Secret is set only in the answer that creates the subscription.
	Secret    string     `json:"secret,omitempty" jsonschema:"description=the signing secret; only in the answer that creates the subscription"`
	CreatedAt time.Time  `json:"created_at"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	// SealedSecret is the secret as the store keeps it (SecretBox.Seal); never answered.
	SealedSecret string `json:"-"`
}

// Statuses of a subscription: deleted ones receive nothing more and their log stays readable.
const (
	StatusActive  = "active"
	StatusDeleted = "deleted"
)

// SubscriptionInput creates a subscription for the caller's organisation.
type SubscriptionInput struct {
	URL    string   `json:"url" jsonschema:"format=uri,maxLength=2000,description=where events are POSTed: https (http only where the venue allows it)"`
	Events []string `json:"events" jsonschema:"minItems=1,maxItems=50,description=event types: auction.closed order.created payment.recorded voucher.issued obligation.due obligation.overdue obligation.remitted product.suspended certificate.cancelled certificate.superseded certificate.expired authorisation.revoked authorisation.narrowed authorisation.expired approval.lapsed"`
	// Secret, when given, signs the deliveries; otherwise the venue makes one.
	Secret      string `json:"secret,omitempty" jsonschema:"minLength=24,maxLength=200,description=the signing secret (24 to 200 printable ASCII characters); omitted: the venue makes one and answers it once"`
	Description string `json:"description,omitempty" jsonschema:"maxLength=500"`
}

// Validate checks a subscription's input. allowHTTP lets plain http URLs through (a test venue,
// a closed network: DATAVENUE_WEBHOOK_ALLOW_HTTP); otherwise deliveries carry trade data and go
// over https only. URLs with credentials or a fragment are refused (credentials would show in
// the subscription and the logs).
func (in SubscriptionInput) Validate(allowHTTP bool) error {
	var f datavenue.Fields
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "" || err != nil || u.Host == "" || u.Hostname() == "" || len(in.URL) > 2000:
		f.Add("url", "invalid_url", "url must be an absolute URL such as https://example.cn/hooks/datavenue")
	case u.Scheme != "https" && u.Scheme != "http":
		f.Add("url", "scheme_not_allowed", "url must be https (or http where the venue allows it)")
	case u.Scheme == "http" && !allowHTTP:
		f.Add("url", "https_required", "url must be https: deliveries carry trade data")
	case u.User != nil || u.Fragment != "":
		f.Add("url", "invalid_url", "url must not carry credentials or a fragment")
	}
	if len(in.Events) == 0 || len(in.Events) > 50 {
		f.Add("events", "required", "events lists 1 to 50 event types")
	}
	for _, e := range in.Events {
		if !Known(e) {
			f.Add("events", "unknown_event", "unknown event type "+e)
		}
	}
	if in.Secret != "" && (len(in.Secret) < 24 || len(in.Secret) > 200 || !printable(in.Secret)) {
		f.Add("secret", "invalid_secret", "secret must be 24 to 200 printable ASCII characters")
	}
	if len([]rune(in.Description)) > 500 {
		f.Add("description", "too_long", "description is at most 500 characters")
	}
	return f.Err()
}

func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e })
}

// NewSubscription makes the subscription in for org, with a fresh id and, unless the caller
// gave one, a fresh secret ("whsec_" and 32 random bytes in hex).
func NewSubscription(org datavenue.OrgID, in SubscriptionInput, now time.Time) Subscription {
	events := slices.Clone(in.Events)
	slices.Sort(events)
	s := Subscription{ID: datavenue.NewID("whs"), Org: org, URL: in.URL, Events: slices.Compact(events),
		Description: in.Description, Status: StatusActive, Secret: in.Secret, CreatedAt: now}
	if s.Secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		s.Secret = "whsec_" + hex.EncodeToString(b)
	}
	return s
}

// Who may do what with an organisation's webhooks. The organisation's own people manage them,
// in any role but auditor (auditors change nothing); the venue's clerks (who run its
// operations, as with parked engine events) and auditors read every organisation's
// subscriptions and delivery logs, and clerks may replay a delivery (it goes to the
// organisation's own URL, nowhere else). Nobody else learns a subscription exists: 404.

// MayRead reports whether caller may see org's subscriptions and deliveries.
func MayRead(c datavenue.Caller, org datavenue.OrgID) bool {
	return c.Org == org || c.Is(datavenue.RoleClerk, datavenue.RoleAuditor)
}

// MayManage reports whether caller may create, delete and ping org's subscriptions.
func MayManage(c datavenue.Caller, org datavenue.OrgID) bool {
	return c.Org == org && !c.Is(datavenue.RoleAuditor)
}

// MayReplay reports whether caller may replay a delivery to org.
func MayReplay(c datavenue.Caller, org datavenue.OrgID) bool {
	return MayManage(c, org) || c.Is(datavenue.RoleClerk)
}
