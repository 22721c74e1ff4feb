package matching_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/matching"
)

// The stream fields are a contract between the Lua scripts and Go: every event the scripts write
// decodes, and encodes back (Values) to exactly the fields the script wrote, so that what the
// projection and the feed read is what the engine meant.
func TestEngineEventsDecode(t *testing.T) {
	r := testenv.NewRedis(t)
	e := matching.Engine{Redis: r.Client, Keys: matching.Keys{Prefix: r.Prefix}}
	ctx := context.Background()
	open(t, e, matching.Auction{ID: "auc_ev1", Kind: matching.English, Operator: operator, Holders: []datavenue.OrgID{holder},
		Reserve: yuan("1000.00"), Increment: yuan("50.00"), AntiSnipe: 5 * time.Minute})
	if err := e.RecordDeposit(ctx, "auc_ev1", buyers[0], "dep-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Bid(ctx, "auc_ev1", "bid-1", buyers[0], yuan("1234.56")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AdvanceClock(ctx, "auc_ev1", 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Close(ctx, "auc_ev1"); err != nil {
		t.Fatal(err)
	}
	terms := &matching.NegotiationTerms{ProductID: "prd_ev1", Operator: operator, Holders: []datavenue.OrgID{holder}, Floor: yuan("100.00"),
		OfferTTL: time.Hour}
	if _, err := e.Negotiate(ctx, "neg_ev1", "open", buyers[1], matching.MoveOffer, yuan("900.10"), terms); err != nil {
		t.Fatal(err)
	}

	seen := map[matching.EventType]matching.Event{}
	for shard := range matching.Shards {
		stream := e.Keys.Events(shard)
		entries, err := r.Client.XRange(ctx, stream, "-", "+").Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		for _, m := range entries {
			ev, err := matching.DecodeEvent(stream, m.ID, m.Values)
			if err != nil {
				t.Fatalf("%s %s: %v (%v)", stream, m.ID, err, m.Values)
			}
			if got := ev.Values(); !maps.Equal(got, m.Values) {
				t.Errorf("%s: encodes back to %v, the script wrote %v", ev.Type, got, m.Values)
			}
			seen[ev.Type] = ev
		}
	}
	for _, want := range []matching.EventType{matching.EventOpen, matching.EventDeposit, matching.EventBid, matching.EventClose, matching.EventNegotiation} {
		if _, ok := seen[want]; !ok {
			t.Errorf("no %s event was written", want)
		}
	}
	bid, closed, neg := seen[matching.EventBid], seen[matching.EventClose], seen[matching.EventNegotiation]
	if bid.Amount.String() != "1234.56" || bid.Buyer != buyers[0] || bid.Seq != 1 || bid.Auction != "auc_ev1" || bid.At.IsZero() {
		t.Errorf("bid = %+v", bid)
	}
	if closed.Outcome != "won" || closed.Winner != buyers[0] || closed.Price.String() != "1234.56" {
		t.Errorf("close = %+v", closed)
	}
	if neg.Price.String() != "900.10" || neg.Buyer != buyers[1] || neg.Seller != operator || neg.Product != "prd_ev1" || neg.Round != 1 {
		t.Errorf("negotiation = %+v", neg)
	}
	if seen[matching.EventDeposit].Ref != "dep-1" {
		t.Errorf("deposit = %+v", seen[matching.EventDeposit])
	}

	// A field that does not decode is refused with the code the projection parks on.
	if _, err := matching.DecodeEvent("s", "1-0", map[string]any{"type": "bid", "amount": "12.5", "at_ms": "1", "end_ms": "1", "seq": "1", "bids": "1"}); datavenue.CodeOf(err) != "event_undecodable" {
		t.Errorf("an amount that is not fen: %v", err)
	}
	if ev, err := matching.DecodeEvent("s", "1-0", map[string]any{"type": "future"}); err != nil || ev.Type != "future" {
		t.Errorf("an unknown type decodes to its type alone: %+v %v", ev, err)
	}
}
