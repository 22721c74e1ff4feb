package matching

import (
	"context"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
)

// AcceptedBid is one accepted bid of an auction by its number (BidResult.Seq): what a bid's Location
// names. Its bidder sees it at any time, sealed or not; anyone else only as the auction's history
// shows it to them (History: English bids are public, sealed ones after the close to those with a
// part in the auction).
func (s Service) AcceptedBid(ctx context.Context, caller datavenue.Caller, auctionID string, seq int64) (HistoryEntry, error) {
	// An unknown auction is not found before anything else, so the bid number of a missing auction is
	// not probed.
	if _, err := s.Engine.State(ctx, auctionID); err != nil {
		return HistoryEntry{}, err
	}
	list, err := s.Engine.History(ctx, auctionID)
	if err != nil {
		return HistoryEntry{}, err
	}
	for _, e := range list {
		if e.Seq != seq {
			continue
		}
		if caller.Is(datavenue.RoleBuyer) && e.Buyer == caller.Org {
			return e, nil
		}
		// For everyone else the bid is visible exactly when the auction's history is: History applies the
		// sealed-bid rule and returns its error (forbidden before the close) otherwise.
		if _, err := s.History(ctx, caller, auctionID); err != nil {
			return HistoryEntry{}, err
		}
		return e, nil
	}
	return HistoryEntry{}, datavenue.NotFound("bid_not_found", "this auction has no accepted bid with this number")
}

// Deposit is a buyer's deposit for an auction, as the clerk recorded it.
type Deposit struct {
	AuctionID string          `json:"auction_id"`
	Buyer     datavenue.OrgID `json:"buyer"`
	Status    string          `json:"status" jsonschema:"enum=recorded"`
}

// Deposit says whether buyer's deposit for the auction was recorded as received: what a
// deposit's Location names. The clerks, bureaus and auditors see every deposit; a buyer its own.
func (s Service) Deposit(ctx context.Context, caller datavenue.Caller, auctionID string, buyer datavenue.OrgID) (Deposit, error) {
	// access.BookKeepers is the named role group from the access policy (clerks, bureaus, auditors);
	// checking it here keeps one definition of who may see money records.
	if !caller.Is(access.BookKeepers...) && !(caller.Is(datavenue.RoleBuyer) && caller.Org == buyer) {
		return Deposit{}, datavenue.Forbidden("deposit_not_yours", "a deposit is seen by its buyer, the clerks, the bureaus and the auditors")
	}
	if _, err := s.Engine.State(ctx, auctionID); err != nil {
		return Deposit{}, err
	}
	ok, err := s.Engine.HasDeposit(ctx, auctionID, buyer)
	switch {
	case err != nil:
		return Deposit{}, err
	case !ok:
		return Deposit{}, datavenue.NotFound("deposit_not_found", "no deposit of this buyer is recorded for this auction")
	}
	return Deposit{AuctionID: auctionID, Buyer: buyer, Status: "recorded"}, nil
}

// HasDeposit says whether buyer's deposit for the auction was recorded (deposit.lua's set).
func (e Engine) HasDeposit(ctx context.Context, auctionID string, buyer datavenue.OrgID) (bool, error) {
	// The deposits set is written by deposit.lua when a clerk records the deposit, and checked by
	// bid.lua when the auction requires one; reading it here is the same fact the engine acts on.
	ok, err := e.Redis.SIsMember(ctx, e.Keys.auction(auctionID, "deposits"), string(buyer)).Result()
	return ok, redisError(err)
}
