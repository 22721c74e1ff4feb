package matching

import (
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// Auction kinds.
// These are D14's on-venue competitive bidding (进场竞价) in its three usual forms. The kind is fixed
// when the auction opens; bid.lua and close.lua branch on it.
const (
	English      = "english"       // open ascending bids with a minimum increment and anti-sniping
	SealedFirst  = "sealed_first"  // one sealed bid per buyer; the highest pays its bid
	SealedSecond = "sealed_second" // Vickrey: the highest pays the second-highest bid or the reserve
)

// Auction is what the engine needs to run one auction. Amounts are exact yuan; the engine keeps
// them as integer fen.
//
// The price rules an auction carries are copied from the product when it opens (D14: the guided
// band, the appraisal-based floor; N4: the cap), so a product edited while the auction runs does
// not change its rules; only a lower cap reaches a running auction (LowerCap). Start and End are
// instants (UTC); the engine compares them with Redis TIME in milliseconds. AntiSnipe extends End
// when a bid lands within it of the end (English auctions).
type Auction struct {
	ID              string
	ProductID       string
	Kind            string
	Operator        datavenue.OrgID
	Holders         []datavenue.OrgID
	Start, End      time.Time
	Reserve         money.Yuan // the lowest price that sells (保留价)
	Opening         money.Yuan // English: the first bid's minimum (起拍价); zero means the reserve
	Increment       money.Yuan // English only
	AntiSnipe       time.Duration
	DepositRequired bool
	BandLow         *money.Yuan // the guided band, where one applies
	BandHigh        *money.Yuan
	Floor           money.Yuan // the appraisal-based reserve, zero if none
	Revisable       bool       // sealed bids may be revised until close
	Allow, Deny     []datavenue.OrgID
	Cap             money.Yuan // the price cap in force when it opens (N4), zero if none
}

// BidResult is an accepted bid.
// Amount is in yuan (the engine's fen converted back); EndsAt is the deadline after this bid
// (possibly extended); At is the engine's time of acceptance.
type BidResult struct {
	Seq       int64      `json:"seq"`
	Amount    money.Yuan `json:"amount"`
	EndsAt    time.Time  `json:"ends_at"`
	Bids      int        `json:"bids"`
	At        time.Time  `json:"at"`
	Duplicate bool       `json:"-"` // a retry of a bid already accepted
}

// Outcome is how an auction ended.
// Price is what the winner pays: its own bid (English, first-price sealed) or the second-highest
// bid or the reserve (second-price sealed). ClosedAt is the engine's time of the close.
type Outcome struct {
	Result   string          `json:"result"` // won, no_sale, stopped
	Winner   datavenue.OrgID `json:"winner,omitempty"`
	Price    money.Yuan      `json:"price"`
	ClosedAt time.Time       `json:"closed_at"`
	Already  bool            `json:"-"` // this call did not close it; an earlier one did
}

// Refusal codes of a bid, shared by the scripts and the model. Each is the stable problem code the
// API answers with.
// The codes are the scripts' words verbatim: changing one here without the script (or the reverse)
// breaks the contract that the model tests hold the scripts to.
const (
	ErrNotFound     = "auction_not_found"
	ErrClosed       = "auction_closed"
	ErrStopped      = "auction_stopped"
	ErrNotStarted   = "auction_not_started"
	ErrEnded        = "auction_ended"
	ErrParty        = "not_eligible_party"
	ErrDenied       = "buyer_denied"
	ErrNotAllowed   = "buyer_not_allowed"
	ErrDeposit      = "deposit_missing"
	ErrAmount       = "invalid_amount"
	ErrOutsideBand  = "outside_band"
	ErrBelowFloor   = "below_appraisal_reserve"
	ErrTooLow       = "bid_too_low"
	ErrBelowReserve = "below_reserve"
	ErrBidExists    = "bid_exists"
	ErrAboveCap     = "above_cap"
)

// StopCapLowered is the reason an auction is stopped when a lower price cap takes effect while its
// leading bid is above it: it never clears above the cap in force.
const StopCapLowered = "cap_lowered"
