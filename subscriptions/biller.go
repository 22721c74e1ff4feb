package subscriptions

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// Billable is a paid subscription with the index of its last billed period (-1: none yet).
type Billable struct {
	Sub        Subscription
	LastBilled int
}

// Due is one period of one subscription to bill.
type Due struct {
	SubID  string
	Period Period
}

// BillStore keeps bills. BillPeriods bills a group of due periods in one transaction: it locks
// their subscriptions, skips the periods billed already, sums each period's units (with the
// records' count and digest) and reads the products' caps, lets decide make each bill, and stores
// them, each (above 0.00) with its trade of source subscription, dated at, and its order on the
// ordinary terms from that instant, income kind instalment, and the audit records. It reports how
// many bills it made.
type BillStore interface {
	Billables(ctx context.Context, after string, limit int) ([]Billable, error)
	BillPeriods(ctx context.Context, at time.Time, due []Due,
		decide func(s Subscription, p Period, units decimal.Decimal, caps []listing.Cap) Bill) (made int, err error)
}

// DuePeriods are the periods of a subscription to bill on a day: each whose grace window has
// passed (its records are final), from the one after the last billed, up to the one in which the
// subscription stopped (cancelled, or the last of a term that does not renew). A cancelled
// subscription's last period is billed in full: its fixed fee is the period's, and its use until
// the cancellation is metered. Free use owes nothing and has no bills.
func DuePeriods(s Subscription, lastBilled int, today civil.Date) []Period {
	if s.Free {
		return nil
	}
	var stop civil.Date
	switch {
	case s.CancelledAt != nil:
		stop = civil.Of(*s.CancelledAt)
	case !s.Renewal:
		stop = s.TermEnd(s.StartsOn)
	}
	var due []Period
	for i := lastBilled + 1; ; i++ {
		p := s.period(i)
		if !p.End.AddDays(GraceDays).Before(today) || (!stop.IsZero() && p.Start.After(stop)) {
			return due
		}
		due = append(due, p)
	}
}

// Biller bills every closed period of every paid subscription (the sweep runs it; it is
// idempotent, one bill per subscription and period).
type Biller struct {
	Store BillStore
	Clock datavenue.Clock
	// Group is how many subscriptions are billed per transaction (0: 500). The benchmark sets 1
	// for its baseline: a transaction per subscription, as the biller first did.
	Group int
}

// Run bills what is due today and reports how many bills it made.
//
// One instant, the biller's clock, decides both what is due (the periods whose grace has passed
// by its day) and when the bills' trades are made (their payment due dates and the quarter of
// their instalment income run from it): a bill is never dated before the day that made it due,
// whatever another clock (the database's) says.
func (b Biller) Run(ctx context.Context) (int, error) {
	now := b.Clock.Now()
	today := civil.Of(now)
	made, after := 0, ""
	for {
		page, err := b.Store.Billables(ctx, after, cmp.Or(b.Group, 500))
		if err != nil || len(page) == 0 {
			return made, err
		}
		// A page's due periods are billed in one transaction: a bill per round trip would
		// make 100,000 subscriptions' bills take minutes (README, "Billing speed").
		var due []Due
		for _, bl := range page {
			for _, p := range DuePeriods(bl.Sub, bl.LastBilled, today) {
				due = append(due, Due{SubID: bl.Sub.ID, Period: p})
			}
			after = bl.Sub.ID
		}
		if len(due) == 0 {
			continue
		}
		n, err := b.Store.BillPeriods(ctx, now, due, func(s Subscription, p Period, units decimal.Decimal, caps []listing.Cap) Bill {
			return BillFor(s, p, units, capAmount(caps, s.ChargingUnit, p.End), capAmount(caps, "per_time_unit", p.End))
		})
		if made += n; err != nil {
			return made, err
		}
	}
}

// capAmount is the amount of the cap in force for a unit on a day, or nil.
func capAmount(caps []listing.Cap, unit string, day civil.Date) *money.Yuan {
	if c := listing.CapInForce(caps, unit, day); c != nil {
		return &c.Amount
	}
	return nil
}

// Loop runs the biller at once and then every interval until ctx ends. Every venue process may
// run one: a period is billed under its subscription's lock and once (its key), so two billers
// never bill it twice. A failed run is logged and tried again at the next tick.
func (b Biller) Loop(ctx context.Context, every time.Duration, logger *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if n, err := b.Run(ctx); err != nil {
			logger.WarnContext(ctx, "billing subscriptions", "error", err.Error(), "bills", n)
		} else if n > 0 {
			logger.InfoContext(ctx, "billed subscriptions", "bills", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
