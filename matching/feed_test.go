package matching_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
)

// A subscriber that reads too slowly is told it lagged and its feed ends, after exactly the
// events it had room for; a subscriber reading along gets every bid, in order. Before, the slow
// one's channel silently skipped whatever did not fit and stayed open, so a client could not
// know its view of the auction was wrong.
func TestSlowFeedSubscriberIsToldItLagged(t *testing.T) {
	r := testenv.NewRedis(t)
	keys := matching.Keys{Prefix: r.Prefix}
	feed := &matching.Feed{Redis: r.Client, Keys: keys}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const auction, bids = "auc_feedlag", matching.FeedBuffer + 500
	slow := feed.Subscribe(ctx, auction, matching.English)
	fast := feed.Subscribe(ctx, auction, matching.English)
	fastGot := make(chan []matching.FeedEvent, 1)
	go func() {
		var got []matching.FeedEvent
		for e := range fast {
			if got = append(got, e); len(got) == bids {
				break
			}
		}
		fastGot <- got
	}()

	stream := keys.Events(matching.Shard(auction))
	pipe := r.Client.Pipeline()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= bids; i++ {
		e := matching.Event{Type: matching.EventBid, Auction: auction, BidID: fmt.Sprintf("bid-%d", i), Buyer: datavenue.OrgID("org_buyer"),
			Amount: money.FromFen(int64(100000 + i*100)), At: start, Seq: int64(i), EndsAt: start.Add(time.Hour), Bids: i}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: e.Values()})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	select {
	case got := <-fastGot:
		for i, e := range got {
			if e.Type != "bid" || e.Seq != int64(i+1) {
				t.Fatalf("the reading subscriber's event %d is %+v, want bid %d", i, e, i+1)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reading subscriber did not get every bid within 30 s")
	}
	// The slow subscriber reads only now: the bids that fitted, in order, then the notice, then the end.
	var slowGot []matching.FeedEvent
	deadline := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case e, ok := <-slow:
			if open = ok; ok {
				slowGot = append(slowGot, e)
			}
		case <-deadline:
			t.Fatalf("the slow subscriber's feed did not end: %d events so far", len(slowGot))
		}
	}
	if len(slowGot) != matching.FeedBuffer {
		t.Fatalf("the slow subscriber got %d events, want %d (%d bids and the notice)", len(slowGot), matching.FeedBuffer, matching.FeedBuffer-1)
	}
	for i, e := range slowGot[:len(slowGot)-1] {
		if e.Type != "bid" || e.Seq != int64(i+1) {
			t.Fatalf("the slow subscriber's event %d is %+v, want bid %d", i, e, i+1)
		}
	}
	if last := slowGot[len(slowGot)-1]; last.Type != matching.FeedLagged {
		t.Fatalf("the slow subscriber's last event is %+v, want %q", last, matching.FeedLagged)
	}
}

// A caller that gives no limit (0 or less) gets FeedsPerOrganisation, not a refusal of every feed:
// before, SubscribeAs compared the count with the limit as given, so 0 refused the first feed.
func TestFeedLimitDefaultsWhenUnset(t *testing.T) {
	r := testenv.NewRedis(t)
	feed := &matching.Feed{Redis: r.Client, Keys: matching.Keys{Prefix: r.Prefix}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const org = datavenue.OrgID("org_feedlimit")
	for i := 1; i <= matching.FeedsPerOrganisation; i++ {
		if _, ok := feed.SubscribeAs(ctx, org, 0, "auc_feedlimit", matching.English); !ok {
			t.Fatalf("feed %d of %d was refused with no limit given", i, matching.FeedsPerOrganisation)
		}
	}
	if _, ok := feed.SubscribeAs(ctx, org, -1, "auc_feedlimit", matching.English); ok {
		t.Fatalf("feed %d was let in; the default limit is %d", matching.FeedsPerOrganisation+1, matching.FeedsPerOrganisation)
	}
	// Another organisation's feeds are counted apart.
	if _, ok := feed.SubscribeAs(ctx, "org_other", 0, "auc_feedlimit", matching.English); !ok {
		t.Fatal("another organisation's first feed was refused")
	}
}
