package matching

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
)

// FeedEvent is one event of an auction's live feed. For sealed auctions a bid carries only the
// number of bids: no amount and no bidder until the close.
// Amounts are yuan decimal strings, never JSON numbers (the API's money convention). The feed is a
// convenience for watchers, not a record: the projection (PostgreSQL) is the record. A subscriber
// that falls a buffer behind is told so (FeedLagged) and its feed ends, rather than silently
// missing bids (see dispatch).
type FeedEvent struct {
	Type    string     `json:"type"` // bid, close, or lagged (FeedLagged)
	Seq     int64      `json:"seq,omitempty"`
	Amount  string     `json:"amount,omitempty"`
	Buyer   string     `json:"buyer,omitempty"`
	Bids    int        `json:"bids,omitempty"`
	EndsAt  *time.Time `json:"ends_at,omitempty"`
	Outcome string     `json:"outcome,omitempty"`
	Winner  string     `json:"winner,omitempty"`
	Price   string     `json:"price,omitempty"`
}

// FeedLagged is the last event of a subscription that fell behind: the subscriber read too slowly
// to keep a buffer's worth of events (FeedBuffer), so it would have missed some. The feed ends
// after it; the client re-reads the auction and subscribes again.
const FeedLagged = "lagged"

// FeedBuffer is how many events a subscriber may have waiting. It absorbs a burst of bids
// (anti-sniping extensions bring many near the end) while the client's writer catches up (it
// writes what is waiting in one flush); 64 was too few on a loaded machine, where a writer is not
// scheduled for a moment while a busy auction takes hundreds of bids a second.
const FeedBuffer = 1024

// FeedsPerOrganisation is how many feeds SubscribeAs lets an organisation hold open when its
// caller gives no limit of its own (a limit of 0 or less).
const FeedsPerOrganisation = 20

// StreamReader is the part of go-redis the feed uses.
// Declaring only these two calls lets tests give the feed a stub or a cluster client alike.
type StreamReader interface {
	XRead(ctx context.Context, a *redis.XReadArgs) *redis.XStreamSliceCmd
	XRevRangeN(ctx context.Context, stream, start, stop string, count int64) *redis.XMessageSliceCmd
}

// Feed fans the shards' event streams out to live subscribers: one reader per shard with
// subscribers (a blocking XREAD), however many clients watch, so watchers do not each hold a
// Redis connection.
//
// subs and active are guarded by mu; active[shard] is true while a read goroutine follows that
// shard's stream.
type Feed struct {
	Redis StreamReader
	Keys  Keys

	mu     sync.Mutex
	subs   map[string]map[chan FeedEvent]string // auction -> subscriber -> kind
	active map[int]bool
	open   map[datavenue.OrgID]int // feeds each organisation holds open (SubscribeAs)
}

// SubscribeAs is Subscribe on an organisation's account: it may hold at most limit feeds open at
// once in this process, the API's and the console's together, so that one organisation cannot
// hold every connection and buffer the process can serve. A limit of 0 or less means
// FeedsPerOrganisation. ok is false, and nothing is subscribed, when it holds them all; a feed's
// place is given back when ctx ends.
func (f *Feed) SubscribeAs(ctx context.Context, org datavenue.OrgID, limit int, auctionID, kind string) (events <-chan FeedEvent, ok bool) {
	if limit <= 0 {
		limit = FeedsPerOrganisation
	}
	f.mu.Lock()
	if f.open == nil {
		f.open = map[datavenue.OrgID]int{}
	}
	if f.open[org] >= limit {
		f.mu.Unlock()
		return nil, false
	}
	f.open[org]++
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		// The map holds only organisations with a feed open, not every one that ever opened one.
		if f.open[org]--; f.open[org] <= 0 {
			delete(f.open, org)
		}
		f.mu.Unlock()
	}()
	return f.Subscribe(ctx, auctionID, kind), true
}

// Subscribe delivers the auction's events from now on until ctx ends. kind decides redaction.
func (f *Feed) Subscribe(ctx context.Context, auctionID, kind string) <-chan FeedEvent {
	ch := make(chan FeedEvent, FeedBuffer)
	f.mu.Lock()
	if f.subs == nil {
		f.subs, f.active = map[string]map[chan FeedEvent]string{}, map[int]bool{}
	}
	if f.subs[auctionID] == nil {
		f.subs[auctionID] = map[chan FeedEvent]string{}
	}
	f.subs[auctionID][ch] = kind
	shard := Shard(auctionID)
	if !f.active[shard] {
		f.active[shard] = true
		// Start from the stream's present end, read now: every event after Subscribe returns is
		// delivered (a "$" read by the goroutine could start after one).
		// "0" only for a stream that is empty; if the end cannot be read (Redis busy or failing
		// over), "$" (whatever arrives from the goroutine's first read on) rather than "0", which
		// would replay the shard's whole history to the watchers as if it were live.
		last := "0"
		if msgs, err := f.Redis.XRevRangeN(ctx, f.Keys.Events(shard), "+", "-", 1).Result(); err != nil {
			last = "$"
		} else if len(msgs) == 1 {
			last = msgs[0].ID
		}
		go f.read(shard, last)
	}
	f.mu.Unlock()
	// Unsubscribing happens when the subscriber's context ends (the client went away): the channel is
	// removed under mu before it is closed, so dispatch, which sends under mu, never sends on a closed
	// channel. A subscriber dispatch has already dropped (lagged) is closed already.
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		_, subscribed := f.subs[auctionID][ch]
		if subscribed {
			f.unsubscribe(auctionID, ch)
		}
		f.mu.Unlock()
		if subscribed {
			close(ch)
		}
	}()
	return ch
}

// unsubscribe forgets a subscriber, and the auction once nobody watches it; mu is held.
func (f *Feed) unsubscribe(auctionID string, ch chan FeedEvent) {
	delete(f.subs[auctionID], ch)
	if len(f.subs[auctionID]) == 0 {
		delete(f.subs, auctionID)
	}
}

// watching reports whether anyone still watches an auction of the shard and, when nobody does,
// marks the shard inactive under the same lock, so a Subscribe that comes next starts a new reader
// rather than relying on one that is about to stop.
func (f *Feed) watching(shard int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.subs {
		if Shard(id) == shard {
			return true
		}
	}
	f.active[shard] = false
	return false
}

// read follows one shard's stream while anyone watches an auction of it.
func (f *Feed) read(shard int, last string) {
	ctx := context.Background()
	for f.watching(shard) {
		// The 2-second block bounds how long a reader outlives its last subscriber. Redis Nil means the
		// block timed out with nothing new.
		res, err := f.Redis.XRead(ctx, &redis.XReadArgs{Streams: []string{f.Keys.Events(shard), last}, Count: 100, Block: 2 * time.Second}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			time.Sleep(time.Second) // Redis unreachable: the subscribers keep waiting, the loop retries
			continue
		}
		for _, m := range res[0].Messages {
			last = m.ID
			f.dispatch(m.Values)
		}
	}
}

// dispatch decodes an entry once with the one decoder the projection also uses (DecodeEvent), then
// gives each subscriber the view its auction kind allows.
func (f *Feed) dispatch(v map[string]any) {
	e, err := DecodeEvent("", "", v)
	if err != nil {
		return // an entry that does not decode is the projection's to park; the feed shows nothing of it
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, kind := range f.subs[e.Auction] {
		for _, fe := range feedEvents(kind, e) {
			// Only dispatch sends, under mu, so the free room seen here cannot shrink before the send.
			// A subscriber that does not keep up must not stall the feed for everyone else, nor lose
			// events without knowing: the last free slot takes FeedLagged, and its feed ends there.
			if len(ch) >= cap(ch)-1 {
				ch <- FeedEvent{Type: FeedLagged}
				f.unsubscribe(e.Auction, ch)
				close(ch)
				break
			}
			ch <- fe
		}
	}
}

// feedEvents redacts by kind: only an English (open ascending) auction shows amounts and bidders
// while it runs; a sealed auction shows only the number of bids, so no bidder learns another's bid
// before the close. Deposits and negotiation events are not part of an auction's feed.
func feedEvents(kind string, e Event) []FeedEvent {
	switch e.Type {
	case EventBid:
		if kind != English {
			return []FeedEvent{{Type: "bid", Bids: e.Bids}}
		}
		t := e.EndsAt
		return []FeedEvent{{Type: "bid", Seq: e.Seq, Amount: e.Amount.String(), Buyer: string(e.Buyer), EndsAt: &t}}
	case EventClose:
		return []FeedEvent{{Type: "close", Outcome: e.Outcome, Winner: string(e.Winner), Price: e.Price.String()}}
	}
	return nil
}
