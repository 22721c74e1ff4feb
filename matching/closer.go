package matching

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Closer closes auctions whose deadline passed, and expires negotiations whose last offer went
// unanswered. Any number of closers may run (one per venue
// process): each polls every shard's deadline set and calls close.lua, which closes an auction
// exactly once whoever calls first; OnClose runs for the call that closed it.
//
// OnClose records the outcome in PostgreSQL at once (the service's Closed, RecordOutcome), ahead
// of the projection; both writes are once-only, so whichever lands second changes nothing.
type Closer struct {
	Engine  Engine
	OnClose func(ctx context.Context, auctionID string, o Outcome)
	Logger  *slog.Logger
}

// RunOnce closes every auction that is due and returns how many this closer closed.
//
// It works through each shard's due auctions and negotiations, 100 at a time per shard per pass;
// a backlog larger than that is left for the next pass rather than delaying every other shard.
// Only auctions this call closed are counted and reported to OnClose (o.Already marks one closed by
// another closer), so the count across every venue process adds up to the auctions closed.
func (c Closer) RunOnce(ctx context.Context) (int, error) {
	closed := 0
	for shard := 0; shard < Shards; shard++ {
		ids, err := c.Engine.Due(ctx, shard, 100)
		if err != nil {
			return closed, err
		}
		for _, id := range ids {
			o, err := c.Engine.Close(ctx, id)
			if errors.Is(err, ErrNotDue) { // extended by a late bid since we listed it
				continue
			}
			if err != nil {
				return closed, err
			}
			if !o.Already {
				closed++
				if c.OnClose != nil {
					c.OnClose(ctx, id, o)
				}
			}
		}
		negs, err := c.Engine.DueNegotiations(ctx, shard, 100)
		if err != nil {
			return closed, err
		}
		for _, id := range negs {
			// Expiring is once-only in expire.lua; the result (this call expired it or not) is not needed
			// here, and the projection records the expiry from the event stream.
			if _, err := c.Engine.ExpireNegotiation(ctx, id); err != nil {
				return closed, err
			}
		}
	}
	return closed, nil
}

// Run closes due auctions every interval until ctx ends.
// Errors are logged and the next tick retries: a Redis outage delays closing, it never loses an
// auction, because the deadline sets live in Redis with the state. The deadline itself is decided
// on Redis TIME inside close.lua, so a late tick never closes an auction early or lets a bid in
// after its end.
func (c Closer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := c.RunOnce(ctx); err != nil && ctx.Err() == nil && c.Logger != nil {
			c.Logger.Warn("auction closer", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
