package matching

import (
	"context"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// CapLookup finds the price cap in force for a product's charging unit on a day (nil: none).
// Declared by its user (matching) and implemented by the listing store, so the engine can hold a
// cap without importing the listing store's type.
type CapLookup interface {
	CapInForce(ctx context.Context, productID, unit string, day civil.Date) (*listing.Cap, error)
}

// capFor is the cap the engine holds for a product today: zero for a free use or when none is in
// force (the publishing gate keeps paid products without one off the market).
func (s Service) capFor(ctx context.Context, p listing.Product) (money.Yuan, error) {
	if s.Caps == nil || listing.FreeUse(p.UseCategory) {
		return money.Zero, nil
	}
	// A product that names no charging unit is priced per one-off sale, the default unit its cap is
	// filed under (N3).
	unit := p.Pricing.ChargingUnit
	if unit == "" {
		unit = listing.UnitOneOff
	}
	c, err := s.Caps.CapInForce(ctx, p.ID, unit, civil.Of(s.Clock.Now()))
	if err != nil || c == nil {
		return money.Zero, err
	}
	return c.Amount, nil
}

// checkCapped refuses to open an auction that could not sell under the law: a free use is never
// auctioned (N1), a paid one needs a cap in force and a reserve at or under it (N4).
func checkCapped(p listing.Product, cap money.Yuan) error {
	pr := p.Pricing
	switch {
	case listing.FreeUse(p.UseCategory):
		return datavenue.Conflict("free_use_not_priced", p.UseCategory+" use is free (N1): it is never auctioned or negotiated")
	case cap.IsZero():
		return datavenue.Conflict(listing.CondCapMissing, "no price cap is in force for this product today (N4)")
	case pr.Reserve != nil && pr.Reserve.Cmp(cap) > 0:
		return datavenue.Conflict(listing.CondAboveCap, "the reserve "+pr.Reserve.String()+" is above the price cap "+cap.String())
	}
	return nil
}

// ApplyCap brings a product's running auctions under the cap in force today, after a cap is
// filed: a lower cap is lowered into the engine at once (bids above it are refused from then on),
// and an auction whose leading bid is already above it is stopped, reason cap_lowered, and
// recorded. It returns the auctions it stopped.
//
// It runs when a cap is filed and, for caps that take effect on a later day, from CapSweep on that
// day (capsweep.go). The lowering happens in cap.lua, atomically against bids: from the call on no
// bid above the cap is accepted, so there is no window in which a bid above a cap in force can
// win. The outcome is recorded in PostgreSQL here, like the closer's OnClose; RecordOutcome is
// once-only, so the projection recording it too is harmless.
func (s Service) ApplyCap(ctx context.Context, productID string) ([]string, error) {
	p, err := s.Store.Product(ctx, productID)
	if err != nil {
		return nil, err
	}
	cap, err := s.capFor(ctx, p)
	if err != nil || cap.IsZero() {
		return nil, err
	}
	open, err := s.Store.Auctions(ctx, productID, AuctionOpen)
	if err != nil {
		return nil, err
	}
	var stopped []string
	for _, r := range open {
		done, err := s.Engine.LowerCap(ctx, r.ID, cap)
		if err != nil {
			return stopped, err
		}
		if !done {
			continue
		}
		// LowerCap reports true only when this call stopped the auction (Stop decided it), so the state
		// read here carries its outcome.
		st, err := s.Engine.State(ctx, r.ID)
		if err != nil {
			return stopped, err
		}
		if err := s.Store.RecordOutcome(ctx, r.ID, *st.Outcome, StopCapLowered); err != nil {
			return stopped, err
		}
		stopped = append(stopped, r.ID)
	}
	return stopped, nil
}
