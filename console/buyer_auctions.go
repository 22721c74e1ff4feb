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
	Result         string // won, lost, sold, no_sale, stopped: the close as this caller reads it
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
		// Only "not found" means no deposit: a read that failed (Redis away for a moment) says
		// nothing either way, and the page then does not claim the deposit is missing.
		_, err := c.d.Auctions.Deposit(cx, s.Caller, v.ID, s.Caller.Org)
		switch {
		case err == nil:
			b.DepositHeld, b.DepositChecked = true, true
		case datavenue.KindOf(err) == datavenue.KindNotFound:
			b.DepositChecked = true
		default:
			c.o.Logger.WarnContext(cx, "console: read the buyer's deposit", "auction", v.ID, "error", err.Error())
		}
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
		list, err := c.d.Auctions.History(cx, s.Caller, v.ID)
		if err != nil {
			c.o.Logger.WarnContext(cx, "console: read the auction's bids", "auction", v.ID, "error", err.Error())
		}
		for _, e := range list {
			if e.Buyer == s.Caller.Org {
				b.Bidder = true
				break
			}
		}
	}
	// "won" is the winner's alone; a bidder who did not win lost; anyone else (the operator, a
	// bureau, a buyer who never bid, or a bidder whose bids could not be read) sees it sold.
	switch {
	case o.Result == "won" && o.Winner == s.Caller.Org:
		b.Result = "won"
	case o.Result == "won" && b.Bidder:
		b.Result = "lost"
	case o.Result == "won":
		b.Result = "sold"
	default:
		b.Result = o.Result
	}
	return b
}
