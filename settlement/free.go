package settlement

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
)

// Free use (N1, G7): a product whose purpose is public governance or public welfare is obtained
// at 0.00. Its order is made settled: no payment is awaited (paid_via free_use), nothing is split,
// nothing is posted to the ledger and no treasury or filing obligation arises, since no money
// moves. Delivery, confirmation and the voucher are those of every order.

// Trade source and payment route of a free-use order.
const (
	SourceFreeUse  = "free_use"
	PaidViaFreeUse = "free_use"
)

// FreeOrder is a free-use trade and its order, as the service makes them for the store.
type FreeOrder struct {
	TradeID   string
	OrderID   string
	SourceID  string // unique per trade: the same request retried finds its order again
	ProductID string
	Buyer     datavenue.OrgID
}

// FreeUseRefusal is why a buyer cannot obtain a product as free use, or nil: the product must be
// published, its purpose free (public governance or public welfare) and priced free (the
// publishing gate keeps the two together), and the buyer eligible by the product's lists (not its
// operator or a holder, not denied, allowed when an allow list exists), as on every purchase path.
func FreeUseRefusal(p listing.Product, buyer datavenue.OrgID) error {
	// An unpublished product is "not found", as in the catalogue, so a buyer cannot probe for
	// drafts; the other refusals concern a product the buyer can already see.
	switch {
	case p.Status != listing.StatusPublished:
		return datavenue.NotFound("product_not_found", "no published product has this id")
	case !listing.FreeUse(p.UseCategory) || p.Pricing.Method != listing.MethodFree:
		return datavenue.Conflict("not_free_use", "the product's use ("+p.UseCategory+", priced "+p.Pricing.Method+
			") is paid: it is obtained by auction or negotiation, never as free use")
	case buyer == p.OperatorID || containsOrg(p.HolderIDs, buyer):
		return datavenue.Forbidden("not_eligible_party", "the product's operator and holders cannot obtain it")
	case containsOrg(p.DenyList, buyer):
		return datavenue.Forbidden("buyer_denied", "your organisation is on this product's deny list")
	case !p.Eligible(buyer):
		return datavenue.Forbidden("buyer_not_allowed", "this product has an allow list and your organisation is not on it")
	}
	return nil
}

func containsOrg(list []datavenue.OrgID, id datavenue.OrgID) bool {
	for _, o := range list {
		if o == id {
			return true
		}
	}
	return false
}

// FreeSourceID names a free-use trade: derived from the buyer, the product and the request's
// Idempotency-Key when there is one (a retry finds the same trade and order), otherwise new.
func FreeSourceID(buyer datavenue.OrgID, productID, key string) string {
	if key == "" {
		return datavenue.NewID("fre")
	}
	// The buyer and product are in the hash so one key reused on another product makes another
	// order; 13 bytes give 26 characters, the length of the ULID in every other id.
	sum := sha256.Sum256([]byte("free|" + string(buyer) + "|" + productID + "|" + key))
	return "fre_" + strings.ToUpper(hex.EncodeToString(sum[:13]))
}

// FreeUseStore makes free-use orders.
type FreeUseStore interface {
	OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error)
	// CreateFreeOrder makes the trade at 0.00 and its settled order in one transaction, the
	// product read and share-locked in it and passed to check first; an order already made for
	// the same SourceID is returned as it is.
	CreateFreeOrder(ctx context.Context, f FreeOrder, check func(listing.Product) error) (Order, error)
}

// ObtainFree makes a registered buyer's free-use order of a product (see FreeUseRefusal); key is
// the request's Idempotency-Key.
func (s Service) ObtainFree(ctx context.Context, caller datavenue.Caller, productID, key string) (Order, error) {
	if !caller.Is(datavenue.RoleBuyer) {
		return Order{}, datavenue.Forbidden("role_not_allowed", "buyers obtain products")
	}
	if _, err := s.Store.OrganisationKind(ctx, caller.Org); err != nil {
		if datavenue.KindOf(err) == datavenue.KindNotFound {
			return Order{}, datavenue.Forbidden("buyer_not_registered", "your organisation is not a registered party of the venue")
		}
		return Order{}, err
	}
	f := FreeOrder{TradeID: datavenue.NewID("trd"), OrderID: datavenue.NewID("ord"), SourceID: FreeSourceID(caller.Org, productID, key),
		ProductID: productID, Buyer: caller.Org}
	return s.Store.CreateFreeOrder(ctx, f, func(p listing.Product) error { return FreeUseRefusal(p, caller.Org) })
}
