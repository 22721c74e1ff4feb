package matching

import (
	"context"
	_ "embed"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

//go:embed scripts/restore.lua
var restoreSrc string

// restoreScript is embedded like the other scripts: the binary carries the Lua it was tested with.
var restoreScript = redis.NewScript(restoreSrc)

// ProjectedBid is a bid as the projection copied it into PostgreSQL.
// Amounts are yuan here and go to the script as fen; times are UTC instants that the script stores
// as Unix milliseconds, the engine's time unit.
type ProjectedBid struct {
	BidID     string
	Buyer     datavenue.OrgID
	Amount    money.Yuan
	Seq       int64
	At        time.Time
	EndsAt    time.Time
	BidsAfter int
}

// RestoreStore is what a rebuild reads from PostgreSQL.
// It embeds Store for the auction records and products, and adds the two projections a rebuild
// needs: the bids in sequence order and the buyers whose deposit was received.
type RestoreStore interface {
	Store
	AuctionBids(ctx context.Context, id string) ([]ProjectedBid, error)
	DepositBuyers(ctx context.Context, id string) ([]datavenue.OrgID, error)
}

// Restore rebuilds the hot state of every open auction whose state Redis no longer has (Redis lost
// its data: a disk loss, or a restore from an old backup), from the record and the projected bids
// and deposits. An auction Redis still has is left alone. What cannot come back is what the
// projection had not copied yet when Redis lost it: the bids and deposits of at most one
// projection pass (a second) before the loss. It returns how many auctions it rebuilt.
func (s Service) Restore(ctx context.Context, store RestoreStore) (int, error) {
	// The open auctions per PostgreSQL are the ones to check: an auction closed in Redis but not yet
	// projected is still open here, and restore.lua leaves it alone because its meta exists.
	// Every open auction, a page at a time (Auctions stops at 200: a venue with more open auctions
	// would have had the rest left unrebuilt, their bidding refused until an operator noticed).
	var open []Record
	for f := (AuctionFilter{Status: AuctionOpen, Limit: 1000}); ; {
		page, err := store.ListAuctions(ctx, f)
		if err != nil {
			return 0, err
		}
		open = append(open, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	restored := 0
	for _, r := range open {
		p, err := store.Product(ctx, r.ProductID)
		if err != nil {
			return restored, err
		}
		bids, err := store.AuctionBids(ctx, r.ID)
		if err != nil {
			return restored, err
		}
		deposits, err := store.DepositBuyers(ctx, r.ID)
		if err != nil {
			return restored, err
		}
		// The auction is rebuilt from the record with the product's current terms and the cap in force
		// now (N4), as Open would build it; a cap lowered while Redis was down thus applies from the
		// rebuild on.
		a := s.engineAuction(r, p)
		if a.Cap, err = s.capFor(ctx, p); err != nil {
			return restored, err
		}
		done, err := s.Engine.restore(ctx, a, bids, deposits)
		if err != nil {
			return restored, err
		}
		if done {
			restored++
		}
	}
	return restored, nil
}

// restore passes the whole state as one JSON argument, so the script rebuilds it in one atomic
// call: a bidder can never see a half-restored auction. The deadline is the latest of the
// scheduled end and every projected bid's extended end (anti-sniping), computed by the script.
func (e Engine) restore(ctx context.Context, a Auction, bids []ProjectedBid, deposits []datavenue.OrgID) (bool, error) {
	bandLow, bandHigh := "0", "0"
	if a.BandLow != nil && a.BandHigh != nil {
		bandLow, bandHigh = fen(*a.BandLow), fen(*a.BandHigh)
	}
	type bid struct {
		Bid    string `json:"bid"`
		Buyer  string `json:"buyer"`
		Amount int64  `json:"amount"`
		Seq    int64  `json:"seq"`
		AtMS   int64  `json:"at_ms"`
		EndMS  int64  `json:"end_ms"`
		Bids   int    `json:"bids"`
	}
	state := struct {
		Meta     map[string]string `json:"meta"`
		Allow    []string          `json:"allow"`
		Deny     []string          `json:"deny"`
		Deposits []string          `json:"deposits"`
		Bids     []bid             `json:"bids"`
	}{
		Meta: map[string]string{"id": a.ID, "product": a.ProductID, "kind": a.Kind, "operator": string(a.Operator),
			"holders": orgList(a.Holders), "start_ms": ms(a.Start), "end_ms": ms(a.End), "reserve": fen(a.Reserve),
			"increment": fen(a.Increment), "snipe_ms": strconv.FormatInt(a.AntiSnipe.Milliseconds(), 10),
			"deposit": flag(a.DepositRequired), "band_low": bandLow, "band_high": bandHigh, "floor": fen(a.Floor),
			"revisable": flag(a.Revisable), "opening": fen(a.opening()), "cap": fen(a.Cap)},
		Allow: strs(a.Allow), Deny: strs(a.Deny), Deposits: strs(deposits), Bids: []bid{},
	}
	for _, b := range bids {
		state.Bids = append(state.Bids, bid{b.BidID, string(b.Buyer), b.Amount.Fen(), b.Seq, b.At.UnixMilli(), b.EndsAt.UnixMilli(), b.BidsAfter})
	}
	raw, err := json.Marshal(state)
	if err != nil {
		return false, err
	}
	// restore.lua takes the first eight of the bid keys (it does not touch the bid event stream): the
	// meta, replies, history, sealed bids, allow and deny lists, deposits and the shard's deadlines.
	keys := e.Keys.bidKeys(a.ID)
	res, err := restoreScript.Run(ctx, e.Redis, []string{keys[0], keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7]},
		a.ID, string(raw)).StringSlice()
	if err != nil {
		return false, redisError(err)
	}
	return res[0] == "restored", nil
}

// strs is the string form of organisation ids for JSON and script arguments.
func strs(orgs []datavenue.OrgID) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = string(o)
	}
	return out
}
