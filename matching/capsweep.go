package matching

import (
	"context"
	"log/slog"
	"time"

	"github.com/datavenue/datavenue/civil"
)

// A cap filed with a future valid_from comes into force on that day, and one whose valid_until
// passes stops being in force the day after. The publishing gate and negotiation moves look the
// cap in force up at each request, so they follow by themselves; an open auction holds the cap it
// was opened with in Redis (open.lua, bid.lua, close.lua), and only ApplyCap changes it. Filing
// runs ApplyCap at once, but on the filing day a future cap is not yet in force: CapSweep applies
// caps on the day they take effect.

// CapSchedule finds the products whose cap in force may have changed.
type CapSchedule interface {
	// CapsChanged lists the products with an open auction and a cap that took effect (valid_from)
	// or lapsed (the day after valid_until) on a day in (after, upTo]; after zero: every product
	// with an open auction.
	CapsChanged(ctx context.Context, after, upTo civil.Date) ([]string, error)
}

// CapSweep applies, once a day has turned (China Standard Time), the caps that took effect or
// lapsed since the last day it swept, to the open auctions of their products (ApplyCap). Its
// first run, after a (re)start, applies the cap in force to every open auction, so a day missed
// while the venue was down is caught up. Applying is idempotent: cap.lua only ever lowers an
// auction's cap, so running again, or in several processes, changes nothing more.
//
// A cap that lapses is never raised under a running auction (the auction keeps the lowest cap it
// held, which is at or under every cap it ran under); when an older version with a lower amount is
// back in force, it is lowered to it. With no cap in force at all, new auctions, negotiation moves
// and publishing are refused price_cap_missing while an open auction runs out under its last cap.
type CapSweep struct {
	Service  Service
	Schedule CapSchedule
	Logger   *slog.Logger
	last     civil.Date // the last day swept; zero before the first run
}

// Once sweeps if the day has turned since the last run; it returns the products it applied caps
// to and the auctions it stopped (their leading bid above a cap now in force: cap_lowered).
func (w *CapSweep) Once(ctx context.Context) (products, stopped []string, err error) {
	today := civil.Of(w.Service.Clock.Now())
	if !w.last.IsZero() && !today.After(w.last) {
		return nil, nil, nil
	}
	products, err = w.Schedule.CapsChanged(ctx, w.last, today)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range products {
		s, err := w.Service.ApplyCap(ctx, p)
		stopped = append(stopped, s...)
		if err != nil {
			return products, stopped, err // the day is swept again on the next run
		}
	}
	w.last = today
	return products, stopped, nil
}

// Run sweeps every interval until ctx ends.
func (w *CapSweep) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, stopped, err := w.Once(ctx); err != nil && ctx.Err() == nil && w.Logger != nil {
			w.Logger.Warn("applying caps that took effect", "error", err.Error())
		} else if len(stopped) > 0 && w.Logger != nil {
			w.Logger.Info("auctions stopped under a cap that took effect", "auctions", stopped)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
