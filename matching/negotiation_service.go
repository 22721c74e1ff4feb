package matching

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// NegotiationInput opens a negotiation with the buyer's first offer.
type NegotiationInput struct {
	ProductID string `json:"product_id"`
	Amount    string `json:"amount" jsonschema:"description=yuan as a decimal string,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
}

// MoveInput is a move in a negotiation.
type MoveInput struct {
	Action string `json:"action" jsonschema:"enum=counter,enum=accept,enum=reject,enum=withdraw"`
	Amount string `json:"amount,omitempty" jsonschema:"description=counter: the new price in yuan,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
}

// OfferTTL is how long a party has to answer an offer before the negotiation expires.
// Measured on the engine's clock (Redis TIME); each offer or counter restarts it.
const OfferTTL = 72 * time.Hour

// StartNegotiation opens a negotiation on a published product priced by negotiation (or a guided
// price, which may be negotiated inside its band).
//
// The checks run before anything is written: the role, the amount's syntax, the buyer's
// registration, then the product (published, not free use, priced by negotiation or a guided
// band). Free use is N1/G7's conditional free use: it has no price to negotiate. The price rules
// themselves (band, cap) are checked atomically by negotiate.lua, because a cap can be lowered
// between this check and the move.
func (s Service) StartNegotiation(ctx context.Context, caller datavenue.Caller, key string, in NegotiationInput) (NegotiationView, error) {
	if !caller.Is(datavenue.RoleBuyer) {
		return NegotiationView{}, datavenue.Forbidden("role_not_allowed", "buyers open negotiations")
	}
	amount, err := parseAmount(in.Amount)
	if err != nil {
		return NegotiationView{}, err
	}
	if err := s.qualified(ctx, caller); err != nil {
		return NegotiationView{}, err
	}
	p, err := s.Store.Product(ctx, in.ProductID)
	// Any failure to read the product (unknown, not visible) is reported as the request's invalid
	// product_id, like an unpublished one, so the catalogue's unpublished drafts do not leak.
	if err != nil || (p.Status != listing.StatusPublished) {
		return NegotiationView{}, datavenue.Invalid("product_not_found", "no published product has this id",
			datavenue.FieldError{Field: "product_id", Code: "not_found", Message: "no published product has this id"})
	}
	if listing.FreeUse(p.UseCategory) {
		return NegotiationView{}, datavenue.Conflict("free_use_not_priced", p.UseCategory+" use is free (N1): it is never negotiated")
	}
	if p.Pricing.Method != listing.MethodNegotiation && p.Pricing.Method != listing.MethodGuided {
		return NegotiationView{}, datavenue.Conflict("not_negotiable", "this product's pricing method is "+p.Pricing.Method+", not negotiation")
	}
	terms := NegotiationTerms{ProductID: p.ID, Operator: p.OperatorID, Holders: p.HolderIDs, BandLow: p.Pricing.BandLow,
		BandHigh: p.Pricing.BandHigh, Floor: money.Zero, Allow: p.AllowList, Deny: p.DenyList, OfferTTL: OfferTTL}
	id := datavenue.NewID("neg")
	// With an Idempotency-Key the negotiation id is derived from the caller's scope and the key
	// (sha256, 13 bytes = 26 hex characters, the length of a ULID), so a retry reaches the same
	// negotiation and the script's "open" move id replays the first reply.
	if key != "" { // a retried request opens the same negotiation; the script refuses another request
		sum := sha256.Sum256(append([]byte("neg|"), keyScope(caller, key)...))
		id = "neg_" + strings.ToUpper(hex.EncodeToString(sum[:13]))
	}
	cap, err := s.capFor(ctx, p)
	if err != nil {
		return NegotiationView{}, err
	}
	if _, err := s.Engine.NegotiateCapped(ctx, id, "open", caller.Org, MoveOffer, amount, cap, &terms); err != nil {
		return NegotiationView{}, err
	}
	return s.Engine.NegotiationView(ctx, id)
}

// parseAmount reads a yuan amount from a request as a validation error on the amount field.
func parseAmount(s string) (money.Yuan, error) {
	y, err := money.Parse(s)
	if err != nil {
		return y, datavenue.Invalid("validation_failed", "invalid amount",
			datavenue.FieldError{Field: "amount", Code: "invalid_amount", Message: err.Error()})
	}
	return y, nil
}

// Move makes a party's move in a negotiation.
//
// The caller must be one of the two parties, in the role of its side: the buyer's organisation as
// buyer, the product operator's as operator. Whose turn it is and which moves the state allows
// are the script's rules (negotiate.lua), checked atomically with the move.
func (s Service) Move(ctx context.Context, caller datavenue.Caller, id, key string, in MoveInput) (NegotiationView, error) {
	if !caller.Is(datavenue.RoleBuyer, datavenue.RoleOperator) {
		return NegotiationView{}, datavenue.Forbidden("role_not_allowed", "the buyer and the operator negotiate")
	}
	// A party moves in its own role: the buyer's organisation as buyer, the seller's as operator.
	v, err := s.Engine.NegotiationView(ctx, id)
	if err != nil {
		return NegotiationView{}, err
	}
	switch caller.Org {
	case v.Buyer:
		if !caller.Is(datavenue.RoleBuyer) {
			return NegotiationView{}, datavenue.Forbidden("role_not_allowed", "the buyer's side moves with the buyer role")
		}
	case v.Seller:
		if !caller.Is(datavenue.RoleOperator) {
			return NegotiationView{}, datavenue.Forbidden("role_not_allowed", "the seller's side moves with the operator role")
		}
	default:
		return NegotiationView{}, datavenue.NotFound("negotiation_not_found", "no negotiation of yours has this id")
	}
	amount := money.Zero
	if in.Action == MoveCounter {
		var err error
		if amount, err = parseAmount(in.Amount); err != nil {
			return NegotiationView{}, err
		}
	}
	// The move id derived from the key makes a retried move a replay (negotiate.lua stores replies by
	// move id); without a key every request is a new move.
	moveID := datavenue.NewID("mv")
	if key != "" {
		sum := sha256.Sum256(keyScope(caller, key))
		moveID = "mv_" + hex.EncodeToString(sum[:13])
	}
	// The cap in force now goes with the move: the script holds the lowest one it has seen.
	cap := money.Zero
	// A product that has since disappeared from view has no cap to apply; the negotiation keeps the
	// lowest cap it has seen.
	if p, err := s.Store.Product(ctx, v.ProductID); err == nil {
		if cap, err = s.capFor(ctx, p); err != nil {
			return NegotiationView{}, err
		}
	} else if datavenue.KindOf(err) != datavenue.KindNotFound {
		return NegotiationView{}, err
	}
	if _, err := s.Engine.NegotiateCapped(ctx, id, moveID, caller.Org, in.Action, amount, cap, nil); err != nil {
		return NegotiationView{}, err
	}
	return s.Engine.NegotiationView(ctx, id)
}

// Negotiation returns a negotiation to its parties and auditors.
func (s Service) Negotiation(ctx context.Context, caller datavenue.Caller, id string) (NegotiationView, error) {
	//
	// Anyone else, including another buyer or operator, gets not found rather than forbidden.
	v, err := s.Engine.NegotiationView(ctx, id)
	if err != nil {
		return v, err
	}
	if caller.Org != v.Buyer && caller.Org != v.Seller && !caller.Is(datavenue.RoleAuditor) {
		return NegotiationView{}, datavenue.NotFound("negotiation_not_found", "no negotiation has this id")
	}
	return v, nil
}
