package matching

import (
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// BuyerDeposit is one deposit a buyer paid for an auction, with its outcome as the venue recorded
// it: held (the auction has not settled it yet), apply (applied to the winning price), release
// (refunded: another buyer won, or the win became a subscription) or forfeit (the winner did not
// pay). The console's deposits page lists them; the engine's own fact (recorded or not) is what
// Deposit answers for one auction.
type BuyerDeposit struct {
	AuctionID  string
	ProductID  string
	Title      string
	Kind       string
	Status     string // the auction's: open, closed or stopped
	Amount     money.Yuan
	Outcome    string
	Ref        string
	RecordedAt time.Time
}

// BuyerNegotiation is one of a buyer's negotiations as the projection last saw it; the live state
// is the engine's (NegotiationView).
type BuyerNegotiation struct {
	ID, ProductID, Title, Status string
	Seller                       datavenue.OrgID
	Price                        money.Yuan
	Round                        int
	UpdatedAt                    time.Time
}
