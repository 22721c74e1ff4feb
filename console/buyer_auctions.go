package console

import (
	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
)

// What a buyer sees of an auction beyond its public terms: whether its deposit is recorded (the
// engine refuses a bid without it, deposit_missing), whether the auction is sealed (its page then
// never shows an amount, the buyer's own included, only that a bid was placed), and, once the
// auction has closed, whether it won and at what price.
type auctionBuyer struct {
	Sealed         bool
	DepositNeeded  bool
	DepositHeld    bool
	DepositChecked bool // the deposit was read (the caller is a buyer)
	Closed         bool
	Result         string // won, lost, no_sale, stopped: the close as this buyer reads it
	Price          string // the price the winner pays (public once closed)
	Bidder         bool   // the buyer bid in it
	StopReason     string // a stopped auction's reason
}

// auctionFor reads the buyer's part of an auction. The outcome is the engine's (the close wrote
// it atomically with the trade), read before the projection has copied it to PostgreSQL; the
// stored record stands in when the engine no longer has it.
func (c *Console) auctionFor(ctx *fiber.Ctx, v matching.View) auctionBuyer {
	s := sessionOf(ctx)
	cx := ctx.UserContext()
	b := auctionBuyer{Sealed: v.Kind != matching.English, DepositNeeded: !v.Deposit.IsZero(), Closed: v.Live.Status != matching.AuctionOpen}
	if s.Caller.Is(datavenue.RoleBuyer) && b.DepositNeeded {
		// The engine's own set (deposit.lua writes it, bid.lua checks it): the same fact the bid
		// is refused on, read through the API's getDeposit.
		_, err := c.d.Auctions.Deposit(cx, s.Caller, v.ID, s.Caller.Org)
		b.DepositHeld, b.DepositChecked = err == nil, true
	}
	if !b.Closed {
		return b
	}
	o := v.Live.Outcome
	if o == nil {
		o = v.Outcome
	}
	b.StopReason = v.StopReason
	if o == nil {
		b.Result = v.Live.Status
		return b
	}
	b.Price = o.Price.String()
	// The bid history is open to the auction's bidders after the close (sealed ones too); a buyer
	// found in it took part.
	if s.Caller.Is(datavenue.RoleBuyer) {
		if list, err := c.d.Auctions.History(cx, s.Caller, v.ID); err == nil {
			for _, e := range list {
				if e.Buyer == s.Caller.Org {
					b.Bidder = true
					break
				}
			}
		}
	}
	switch {
	case o.Result == "won" && o.Winner == s.Caller.Org:
		b.Result = "won"
	case o.Result == "won" && b.Bidder:
		b.Result = "lost"
	default:
		b.Result = o.Result
	}
	return b
}
