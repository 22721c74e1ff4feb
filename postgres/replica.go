package postgres

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
)

// ReadRouter is the public catalogue's store (listing.CatalogueStore) over a primary and a hot
// standby: a read goes to the standby while the standby is known to hold everything the primary
// committed up to MaxLag ago, and to the primary otherwise, so a search never fails, nor reads
// older data than that, because the standby lags or is gone.
//
// Staleness is measured against the primary, not taken from the standby's own clock: at each check
// (Run) the router notes the primary's flushed WAL position with the time it read it, then asks the
// standby how far it has replayed. Once the standby has replayed a noted position, it holds every
// transaction committed before that position's time; how long ago that time was is the lag. It is
// an upper bound (by at most a check interval on an idle primary, about two under writes), it
// keeps growing between checks. Unlike now() - pg_last_xact_replay_timestamp() on the standby, it
// does not read an idle primary as lag, nor (with the usual "all received is replayed, so no lag"
// shortcut) a standby that has stopped receiving WAL as fresh, and it needs no agreement of clocks.
//
// Only anonymous catalogue reads come here (the API routes them): they are answered with
// Cache-Control: public and up to a minute's max-age, so they already accept that much staleness.
// Writes, and reads by a caller who may just have written (anything with a token), use the primary.
type ReadRouter struct {
	primary, replica *DB
	maxLag, every    time.Duration
	logger           *slog.Logger

	mu      sync.Mutex  // serialises checks (samples)
	samples []walSample // primary WAL positions the standby has not replayed yet, oldest first
	state   atomic.Pointer[replicaState]
	served  atomic.Bool // whether the last read went to the standby (to log changes once)
	reads   [2]atomic.Uint64
}

// Read targets, indexes of ReadRouter.reads.
const (
	readReplica = iota
	readPrimary
)

// maxSamples bounds the noted WAL positions of a standby that does not replay (one per check in
// which the primary wrote): at one check a second, hours. Past it no position is noted until the
// standby catches up, which can only make the lag read longer, never shorter.
const maxSamples = 10000

type walSample struct {
	at  time.Time
	lsn int64
}

// replicaState is what the last check (or a failed read since) found.
type replicaState struct {
	freshAsOf time.Time // the standby holds every transaction the primary committed before this
	fault     string    // why the standby is not used whatever its lag ("": it answers)
}

// NewReadRouter routes catalogue reads between primary and replica (see ReadRouter). It reads from
// the primary until its first check (Run) has measured the standby.
func NewReadRouter(primary, replica *DB, maxLag time.Duration, logger *slog.Logger) *ReadRouter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A fifth of the bound, so the lag is measured several times before it can reach it.
	every := min(max(maxLag/5, 100*time.Millisecond), time.Second)
	r := &ReadRouter{primary: primary, replica: replica, maxLag: maxLag, every: every, logger: logger}
	r.state.Store(&replicaState{fault: "not checked yet"})
	return r
}

var _ listing.CatalogueStore = (*ReadRouter)(nil)

// Run checks the standby every fifth of MaxLag (at least every second) until ctx ends.
func (r *ReadRouter) Run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check measures the standby once: whether it answers, is a standby, and how far it has replayed.
func (r *ReadRouter) Check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	at := time.Now()
	var flushed int64
	// The primary not answering leaves no new position noted: the lag grows, and reads stay on
	// (or move to) the primary, which is as unreachable as it would be without a standby.
	if err := r.primary.Pool.QueryRow(ctx, `SELECT (pg_current_wal_flush_lsn() - '0/0')::bigint`).Scan(&flushed); err == nil {
		r.note(at, flushed)
	}
	prev := r.state.Load()
	var inRecovery bool
	var replayed int64
	err := r.replica.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery(), coalesce((pg_last_wal_replay_lsn() - '0/0')::bigint, 0)`).
		Scan(&inRecovery, &replayed)
	next := &replicaState{freshAsOf: prev.freshAsOf}
	switch {
	case err != nil:
		next.fault = "unreachable" // the cause goes to the log: /readyz is public
	case !inRecovery:
		// A promoted standby (or the primary itself) no longer receives the primary's writes.
		next.fault = "not a hot standby (pg_is_in_recovery() is false)"
	default:
		i := 0
		for ; i < len(r.samples) && r.samples[i].lsn <= replayed; i++ {
			next.freshAsOf = r.samples[i].at
		}
		r.samples = r.samples[i:]
	}
	if next.fault != prev.fault {
		attrs := []any{"state", cmp.Or(next.fault, "ok")}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		level := slog.LevelWarn
		if next.fault == "" {
			level = slog.LevelInfo
		}
		r.logger.Log(ctx, level, "read replica checked", attrs...)
	}
	r.state.Store(next)
}

// note keeps the primary's flushed WAL position at a time. Positions only grow; the same position
// seen later moves its time forward (everything committed before the later time is within it).
func (r *ReadRouter) note(at time.Time, lsn int64) {
	if n := len(r.samples); n > 0 && r.samples[n-1].lsn >= lsn {
		r.samples[n-1].at = at
		return
	}
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, walSample{at: at, lsn: lsn})
	}
}

// ReplicaFallback says why catalogue reads go to the primary now; "" when they go to the standby.
func (r *ReadRouter) ReplicaFallback() string {
	s := r.state.Load()
	switch {
	case s.fault != "":
		return "read replica " + s.fault
	case s.freshAsOf.IsZero(): // the primary has not answered a check yet
		return "read replica lag not measured yet"
	}
	if lag := time.Since(s.freshAsOf); lag > r.maxLag {
		return fmt.Sprintf("read replica %s behind the primary (DATAVENUE_READ_MAX_LAG %s)", lag.Round(time.Millisecond), r.maxLag)
	}
	return ""
}

// ReplicaLag is how far behind the primary the standby is (an upper bound, see ReadRouter), or -1
// when that is unknown (it does not answer, or is no standby).
func (r *ReadRouter) ReplicaLag() time.Duration {
	s := r.state.Load()
	if s.fault != "" || s.freshAsOf.IsZero() {
		return -1
	}
	return time.Since(s.freshAsOf)
}

// CatalogueReads counts the catalogue reads the standby and the primary answered.
func (r *ReadRouter) CatalogueReads() (replica, primary uint64) {
	return r.reads[readReplica].Load(), r.reads[readPrimary].Load()
}

// routed runs one read on the standby when it is fresh enough, otherwise, or when the standby
// fails it, on the primary. A miss on the standby is asked of the primary too: the product may be
// newer than the standby.
func routed[T any](ctx context.Context, r *ReadRouter, read func(*DB) (T, error)) (T, error) {
	why := r.ReplicaFallback()
	if why == "" {
		v, err := read(r.replica)
		switch {
		case err == nil:
			r.reads[readReplica].Add(1)
			r.logChange(true, "")
			return v, nil
		case ctx.Err() != nil:
			return v, err
		case datavenue.KindOf(err) == datavenue.KindNotFound:
			v, err = read(r.primary)
			r.reads[readPrimary].Add(1)
			return v, err
		default:
			why = "read replica failed a read"
			r.logger.Warn("a catalogue read failed on the read replica; retried on the primary", "error", err.Error())
			// Whatever failed (the connection, a query cancelled by a recovery conflict), the next
			// reads go to the primary until the next check finds the standby sound.
			r.state.Store(&replicaState{freshAsOf: r.state.Load().freshAsOf, fault: "failed a read"})
		}
	}
	v, err := read(r.primary)
	r.reads[readPrimary].Add(1)
	r.logChange(false, why)
	return v, err
}

// logChange logs when catalogue reads move between the standby and the primary.
func (r *ReadRouter) logChange(replica bool, why string) {
	if r.served.Swap(replica) == replica {
		return
	}
	if replica {
		r.logger.Info("catalogue reads go to the read replica")
	} else {
		r.logger.Warn("catalogue reads go to the primary", "reason", why)
	}
}

// Search runs a catalogue search (DB.Search) on the standby or the primary.
func (r *ReadRouter) Search(ctx context.Context, q listing.SearchQuery) (listing.SearchResult, error) {
	return routed(ctx, r, func(db *DB) (listing.SearchResult, error) { return db.Listing().Search(ctx, q) })
}

// Product reads one product (DB.Product) on the standby or the primary.
func (r *ReadRouter) Product(ctx context.Context, id string) (listing.Product, error) {
	return routed(ctx, r, func(db *DB) (listing.Product, error) { return db.Listing().Product(ctx, id) })
}

// Products lists products (DB.Products) on the standby or the primary.
func (r *ReadRouter) Products(ctx context.Context, f listing.ProductFilter) ([]listing.Product, error) {
	return routed(ctx, r, func(db *DB) ([]listing.Product, error) { return db.Listing().Products(ctx, f) })
}
