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
type Closer struct {
	Engine  Engine
	OnClose func(ctx context.Context, auctionID string, o Outcome)
	Logger  *slog.Logger
}

// RunOnce closes every auction that is due and returns how many this closer closed.
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
			if _, err := c.Engine.ExpireNegotiation(ctx, id); err != nil {
				return closed, err
			}
		}
	}
	return closed, nil
}

// Run closes due auctions every interval until ctx ends.
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
