package datavenue

import (
	"context"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Role is what a caller may do at the venue; it comes from the token's "role" claim.
type Role string

// The venue's roles (../shared/DOMAIN.md, "Who uses it").
const (
	RoleOperator      Role = "operator"       // lists products, runs auctions and negotiations
	RoleBuyer         Role = "buyer"          // reads the catalogue, bids, negotiates
	RoleDataBureau    Role = "data_bureau"    // reviews registrations, grants authorisations
	RoleFinanceBureau Role = "finance_bureau" // issues asset certificates, approves paid use
	RoleClerk         Role = "clerk"          // records payments, reconciles remittances
	RoleAuditor       Role = "auditor"        // reads everything, changes nothing
	// RoleAppraiser is not in DOMAIN.md's table: an appraiser organisation records appraisal reports
	// (D7, D14) and needs a role of its own to do it without the rights of an operator.
	RoleAppraiser Role = "appraiser"
)

// Roles lists every role, in a fixed order for help texts and tests.
var Roles = []Role{RoleOperator, RoleBuyer, RoleDataBureau, RoleFinanceBureau, RoleClerk, RoleAuditor, RoleAppraiser}

// Valid reports whether r is one of the venue's roles.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// OrgID identifies an organisation (a party at the venue): "org_" and a ULID.
type OrgID string

// NewID returns a new opaque, time-sortable identifier with the given type prefix, e.g. "org_01J…".
func NewID(prefix string) string {
	return prefix + "_" + ulid.Make().String()
}

// HasPrefix reports whether id carries the type prefix (e.g. "org").
func HasPrefix(id, prefix string) bool {
	return strings.HasPrefix(id, prefix+"_") && len(id) > len(prefix)+1
}

// Caller is who asks for a change: the authenticated subject, the role it acts in and the
// organisation it acts for. Every state change is checked against it and audited with it.
type Caller struct {
	Subject string
	Issuer  string
	Role    Role
	Org     OrgID
}

// Is reports whether the caller acts in one of the roles.
func (c Caller) Is(roles ...Role) bool {
	for _, r := range roles {
		if c.Role == r {
			return true
		}
	}
	return false
}

type ctxKey int

const (
	callerKey ctxKey = iota
	requestIDKey
	clientRequestIDKey
)

// WithCaller returns a context that carries the caller; the HTTP layer sets it after auth.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// CallerFrom returns the caller carried by ctx, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey).(Caller)
	return c, ok
}

// WithRequestID returns a context that carries the request id, so audit records and logs of
// work done for one request can be joined.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// WithClientRequestID returns a context that carries the id the client gave its request (its
// X-Request-Id), kept beside the venue's own in audit records.
func WithClientRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientRequestIDKey, id)
}

// ClientRequestIDFrom returns the client's request id carried by ctx, or "".
func ClientRequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(clientRequestIDKey).(string)
	return id
}

// RequestIDFrom returns the request id carried by ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Clock gives the time; tests pass a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
