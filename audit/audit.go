// Package audit is the venue's append-only record of who changed what, when, and in which request.
// Stores write an Event in the same transaction as the change it records, so a change without its
// record (or a record without its change) cannot exist. The table refuses UPDATE, DELETE and
// TRUNCATE (see the migrations).
package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/datavenue/datavenue"
)

// Event is one audit record.
type Event struct {
	ID           int64           `json:"id"`
	At           time.Time       `json:"at"`
	ActorOrg     datavenue.OrgID `json:"actor_org"`
	ActorRole    string          `json:"actor_role"`
	ActorSubject string          `json:"actor_subject"`
	ActorIssuer  string          `json:"actor_issuer"`
	RequestID    string          `json:"request_id"` // the venue's own, unique to one request
	// ClientRequestID is the X-Request-Id the client sent, if any: the client's to trace by, not
	// unique (another client may send the same).
	ClientRequestID string          `json:"client_request_id,omitempty"`
	Action          string          `json:"action"`
	ResourceType    string          `json:"resource_type"`
	ResourceID      string          `json:"resource_id"`
	Detail          json.RawMessage `json:"detail"`
}

// Filter narrows a listing of events. Org limits to events by one organisation's callers; Before is
// the keyset cursor (events with smaller ids than the last seen); events come newest first.
type Filter struct {
	Org          datavenue.OrgID
	ResourceType string
	ResourceID   string
	Before       int64
	Limit        int
}

// Reader lists audit events.
type Reader interface {
	Events(ctx context.Context, f Filter) ([]Event, error)
}

// SystemCaller is the actor recorded for changes made by the venue's own commands (migrate,
// seed), which act for no organisation's user.
var SystemCaller = datavenue.Caller{Subject: "datavenue-cli", Issuer: "local", Role: "system", Org: "org_system"}

// Service applies who may read the trail: auditors read everything; every other role reads what
// its own organisation's callers did.
type Service struct {
	Reader Reader
}

// List returns events visible to caller.
func (s Service) List(ctx context.Context, caller datavenue.Caller, f Filter) ([]Event, error) {
	if !caller.Is(datavenue.RoleAuditor) {
		f.Org = caller.Org
	}
	return s.Reader.Events(ctx, f)
}

// PaymentProviderCaller is the actor recorded for payments the provider reports by its signed
// callback.
var PaymentProviderCaller = datavenue.Caller{Subject: "payment-callback", Issuer: "payment-provider", Role: "system", Org: "org_system"}
