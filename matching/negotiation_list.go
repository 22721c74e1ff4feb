package matching

import (
	"context"
	"slices"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// NegotiationStates are a negotiation's states: offered (the seller's move) and countered (the
// buyer's) are open; the rest are final.
var NegotiationStates = []string{"offered", "countered", NegotiationAccepted, "rejected", "withdrawn", "expired"}

// NegotiationRecord is a negotiation as PostgreSQL keeps it: the latest state the projection has
// applied (the engine's moves reach it within the projection's lag), for lists. One negotiation's
// live state and moves are the engine's (Service.Negotiation).
type NegotiationRecord struct {
	ID        string          `json:"id"`
	ProductID string          `json:"product_id"`
	Buyer     datavenue.OrgID `json:"buyer"`
	Seller    datavenue.OrgID `json:"seller"`
	Status    string          `json:"status" jsonschema:"enum=offered,enum=countered,enum=accepted,enum=rejected,enum=withdrawn,enum=expired"`
	Price     money.Yuan      `json:"price" jsonschema:"description=the price on the table (the last offer or counter; the agreed price once accepted)"`
	Round     int             `json:"round"`
	UpdatedAt time.Time       `json:"updated_at"`
	CreatedAt time.Time       `json:"created_at"`
}

// NegotiationFilter selects negotiations to list; empty fields select all. Buyer and Seller are
// set by the service from the caller, never by the request.
type NegotiationFilter struct {
	Status, ProductID string
	Buyer, Seller     datavenue.OrgID
	After             string
	Limit             int
}

// Negotiations lists the caller's negotiations: a buyer those it opened, an operator those on its
// products, an auditor everyone's. Anyone else is refused: who negotiates what is the parties'.
func (s Service) Negotiations(ctx context.Context, caller datavenue.Caller, f NegotiationFilter) ([]NegotiationRecord, error) {
	f.Buyer, f.Seller = "", ""
	switch {
	case caller.Is(datavenue.RoleBuyer):
		f.Buyer = caller.Org
	case caller.Is(datavenue.RoleOperator):
		f.Seller = caller.Org
	case caller.Is(datavenue.RoleAuditor):
	default:
		return nil, datavenue.Forbidden("role_not_allowed", "negotiations are read by their parties and auditors")
	}
	if f.Status != "" && !slices.Contains(NegotiationStates, f.Status) {
		return nil, datavenue.Invalid("validation_failed", "invalid query parameter",
			datavenue.FieldError{Field: "status", Code: "invalid_value", Message: "status is offered, countered, accepted, rejected, withdrawn or expired"})
	}
	return s.Store.ListNegotiations(ctx, f)
}
