package matching_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue/matching"
)

// Two closers race over 50 due auctions: each auction is closed exactly once, and its stream
// carries exactly one close event.
func TestTwoClosersCloseEachAuctionOnce(t *testing.T) {
	backends(t, testTwoClosersCloseEachAuctionOnce)
}

func testTwoClosersCloseEachAuctionOnce(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	now, _ := e.Redis.Time(ctx).Result()
	const n = 50
	for i := 0; i < n; i++ {
		a := matching.Auction{ID: fmt.Sprintf("auc_due%02d", i), Kind: matching.English, Operator: operator,
			Reserve: yuan("1.00"), Increment: yuan("1.00"), Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}
		if err := e.Open(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var closedBy [2]atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			closer := matching.Closer{Engine: e, OnClose: func(context.Context, string, matching.Outcome) { closedBy[c].Add(1) }}
			if _, err := closer.RunOnce(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if total := closedBy[0].Load() + closedBy[1].Load(); total != n {
		t.Fatalf("closers closed %d + %d = %d auctions, want %d", closedBy[0].Load(), closedBy[1].Load(), total, n)
	}
	closes := map[string]int{}
	client := e.Redis.(interface {
		XRange(ctx context.Context, stream, start, stop string) *redis.XMessageSliceCmd
	})
	for shard := 0; shard < matching.Shards; shard++ {
		msgs, err := client.XRange(ctx, e.Keys.Events(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Values["type"] == "close" {
				closes[m.Values["auction"].(string)]++
			}
		}
	}
	if len(closes) != n {
		t.Fatalf("close events for %d auctions, want %d", len(closes), n)
	}
	for id, k := range closes {
		if k != 1 {
			t.Fatalf("%s has %d close events", id, k)
		}
	}
}
