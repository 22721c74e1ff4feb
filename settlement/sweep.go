package settlement

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Sweeper does what the clock sets off in settlement: it cancels orders left unpaid after their
// last day to pay (the winner's deposit is forfeited), confirms deliveries their buyers let the
// confirmation period pass on, and fills in due dates that were pending for want of a year's
// official holiday schedule. Both are idempotent: running it twice, or on two instances at
// once, changes each order once (each change locks and re-checks its order).
type Sweeper struct {
	Orders   Service
	Vouchers Vouchers
	Logger   *slog.Logger
}

// SweepResult counts what one sweep changed.
type SweepResult struct {
	Cancelled       int
	AutoConfirmed   int
	DueDatesFilled  int
	DueDatesPending int
}

// Once sweeps now. Every step runs whatever the others did: a step that fails (an order its
// store cannot change, the database refusing one statement) must not keep deliveries from being
// confirmed or due dates from being filled, tick after tick. The errors are joined; the counts
// are what was done.
func (s Sweeper) Once(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	cancelled, cancelErr := s.Orders.CancelUnpaid(ctx)
	res.Cancelled = len(cancelled)
	confirmed, confirmErr := s.Vouchers.AutoConfirm(ctx)
	res.AutoConfirmed = len(confirmed)
	var fillErr error
	res.DueDatesFilled, res.DueDatesPending, fillErr = s.Orders.FillDueDates(ctx)
	return res, errors.Join(cancelErr, confirmErr, fillErr)
}

// Run sweeps every interval until ctx ends; failures are logged and retried at the next tick.
func (s Sweeper) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		res, err := s.Once(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Warn("settlement sweep", "error", err.Error())
		}
		if res.Cancelled+res.AutoConfirmed+res.DueDatesFilled > 0 {
			s.Logger.Info("settlement sweep", "cancelled_unpaid", res.Cancelled, "auto_confirmed", res.AutoConfirmed,
				"due_dates_filled", res.DueDatesFilled)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
