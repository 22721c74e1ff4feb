package matching

import (
	"slices"
	"sort"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// Model is the auction rules in plain Go, with an explicit clock: the reference the Lua scripts
// are tested against (and a readable statement of the rules). It is not used to serve requests.
type Model struct {
	A        Auction
	Now      time.Time
	status   string
	outcome  *Outcome
	seq      int64
	high     int64
	leader   datavenue.OrgID
	bids     int
	replies  map[string]BidResult
	sealed   map[datavenue.OrgID]sealedBid
	deposits map[datavenue.OrgID]bool
}

type sealedBid struct {
	amount int64
	at     time.Time
	seq    int64
}

// NewModel starts a model of an open auction at time now.
func NewModel(a Auction, now time.Time) *Model {
	return &Model{A: a, Now: now, status: "open", replies: map[string]BidResult{},
		sealed: map[datavenue.OrgID]sealedBid{}, deposits: map[datavenue.OrgID]bool{}}
}

// Advance moves the model's clock.
func (m *Model) Advance(d time.Duration) { m.Now = m.Now.Add(d) }

// Deposit records a deposit.
func (m *Model) Deposit(buyer datavenue.OrgID) string {
	if m.status != AuctionOpen {
		return ErrClosed
	}
	m.deposits[buyer] = true
	return ""
}

// Bid applies the bidding rules; it returns the result or the refusal code.
func (m *Model) Bid(bidID string, buyer datavenue.OrgID, amount money.Yuan) (BidResult, string) {
	if r, ok := m.replies[bidID]; ok {
		r.Duplicate = true
		return r, ""
	}
	a, v := m.A, amount.Fen()
	switch {
	case m.status != AuctionOpen:
		return BidResult{}, "auction_" + m.status
	case m.Now.Before(a.Start):
		return BidResult{}, ErrNotStarted
	case !m.Now.Before(a.End):
		return BidResult{}, ErrEnded
	case buyer == a.Operator || slices.Contains(a.Holders, buyer):
		return BidResult{}, ErrParty
	case slices.Contains(a.Deny, buyer):
		return BidResult{}, ErrDenied
	case len(a.Allow) > 0 && !slices.Contains(a.Allow, buyer):
		return BidResult{}, ErrNotAllowed
	case a.DepositRequired && !m.deposits[buyer]:
		return BidResult{}, ErrDeposit
	case v <= 0 || v > money.MaxFen:
		return BidResult{}, ErrAmount
	case a.BandLow != nil && a.BandHigh.Fen() > 0 && (v < a.BandLow.Fen() || v > a.BandHigh.Fen()): // a zero band is no band, as in the script
		return BidResult{}, ErrOutsideBand
	case v < a.Floor.Fen():
		return BidResult{}, ErrBelowFloor
	}
	if a.Kind == English {
		min := a.opening().Fen()
		if m.bids > 0 {
			min = m.high + a.Increment.Fen()
		}
		if v < min {
			return BidResult{}, ErrTooLow
		}
	} else {
		if v < a.Reserve.Fen() {
			return BidResult{}, ErrBelowReserve
		}
		if _, ok := m.sealed[buyer]; ok && !a.Revisable {
			return BidResult{}, ErrBidExists
		}
	}
	m.seq++
	if a.Kind == English {
		m.bids++
		m.high, m.leader = v, buyer
		if a.End.Sub(m.Now) < a.AntiSnipe {
			m.A.End = m.Now.Add(a.AntiSnipe)
		}
	} else {
		m.sealed[buyer] = sealedBid{amount: v, at: m.Now, seq: m.seq}
		m.bids = len(m.sealed)
	}
	r := BidResult{Seq: m.seq, Amount: amount, EndsAt: m.A.End, Bids: m.bids, At: m.Now}
	m.replies[bidID] = r
	return r, ""
}

// Close applies the closing rules; ok is false before the deadline (for a due close).
func (m *Model) Close(stop bool) (Outcome, bool) {
	if m.outcome != nil {
		o := *m.outcome
		o.Already = true
		return o, true
	}
	if !stop && m.Now.Before(m.A.End) {
		return Outcome{}, false
	}
	o := Outcome{Result: OutcomeNoSale, Price: money.Zero, ClosedAt: m.Now}
	switch {
	case stop:
		o.Result = "stopped"
	case m.A.Kind == English:
		if m.bids > 0 && m.high >= m.A.Reserve.Fen() {
			o.Result, o.Winner, o.Price = OutcomeWon, m.leader, money.FromFen(m.high)
		}
	default:
		type ranked struct {
			buyer datavenue.OrgID
			sealedBid
		}
		var all []ranked
		for b, s := range m.sealed {
			all = append(all, ranked{b, s})
		}
		sort.Slice(all, func(i, j int) bool {
			if all[i].amount != all[j].amount {
				return all[i].amount > all[j].amount
			}
			if !all[i].at.Equal(all[j].at) {
				return all[i].at.Before(all[j].at)
			}
			return all[i].seq < all[j].seq
		})
		if len(all) > 0 {
			o.Result, o.Winner, o.Price = OutcomeWon, all[0].buyer, money.FromFen(all[0].amount)
			if m.A.Kind == SealedSecond {
				o.Price = m.A.Reserve
				if len(all) > 1 && all[1].amount > m.A.Reserve.Fen() {
					o.Price = money.FromFen(all[1].amount)
				}
			}
		}
	}
	m.status = "closed"
	if stop {
		m.status = "stopped"
	}
	m.outcome = &o
	return o, true
}
