package matching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
)

// The projection copies every accepted bid, deposit and close from the shards' Redis streams into
// PostgreSQL, the system of record. It reads through a consumer group, applies each entry in one
// PostgreSQL transaction that also records the entry's id (so applying it twice is a no-op), and
// acknowledges the entry only after that commit. Entries a crashed projector had read but not
// acknowledged are reclaimed after ReclaimAfter. The lag between a bid's 201 and its row in
// PostgreSQL is one projection pass (a second by default); what Redis holds but PostgreSQL does not
// yet is exactly the unacknowledged entries, which survive a Redis restart (AOF, fsync always), and
// which stay in the stream until acknowledged (the projector trims only what every group has).

// StreamRedis is the part of go-redis the projection uses.
type StreamRedis interface {
	XGroupCreateMkStream(ctx context.Context, stream, group, start string) *redis.StatusCmd
	XReadGroup(ctx context.Context, a *redis.XReadGroupArgs) *redis.XStreamSliceCmd
	XAutoClaim(ctx context.Context, a *redis.XAutoClaimArgs) *redis.XAutoClaimCmd
	XAck(ctx context.Context, stream, group string, ids ...string) *redis.IntCmd
	XPending(ctx context.Context, stream, group string) *redis.XPendingCmd
	XInfoGroups(ctx context.Context, key string) *redis.XInfoGroupsCmd
	XTrimMinID(ctx context.Context, key string, minID string) *redis.IntCmd
}

// Applier applies one stream entry to PostgreSQL, idempotently on (stream, id), and parks the
// entries that cannot be applied.
type Applier interface {
	ApplyEvent(ctx context.Context, e Event) error
	// ParkEvent stores an entry that failed for good, with its error, once per (stream, id).
	ParkEvent(ctx context.Context, e ParkedEntry) error
}

// ParkedEntry is a stream entry the projection set aside because applying it failed in a way
// that retrying cannot fix (a reference PostgreSQL does not have, a field that does not decode).
// It keeps everything needed to apply it later, once the cause is fixed.
type ParkedEntry struct {
	ID         int64             `json:"id"`
	Stream     string            `json:"stream"`
	EventID    string            `json:"event_id"`
	Shard      int               `json:"shard"`
	Fields     map[string]string `json:"fields"`
	Error      string            `json:"error"`
	ErrorCode  string            `json:"error_code"`
	Attempts   int               `json:"attempts"`
	ParkedAt   time.Time         `json:"parked_at"`
	RetriedAt  *time.Time        `json:"retried_at,omitempty"`
	ResolvedAt *time.Time        `json:"resolved_at,omitempty"`
	// Status is parked (waiting for a retry) or applied (a retry applied it).
	Status string `json:"status" jsonschema:"enum=parked,enum=applied"`
}

// Failure classes. A transient failure (the database down or slow, a serialisation conflict,
// Redis unreachable) is retried with back-off and never parked: the entry will apply once the
// dependency is back. A permanent one (the input itself is wrong) parks the entry at once. An
// unexpected one (a bug, a schema mismatch) is retried a few times first, then parked: the shard
// must move on, and a parked entry can always be retried once the cause is fixed.
const (
	failureTransient  = "transient"
	failurePermanent  = "permanent"
	failureUnexpected = "unexpected"
)

// classify tells the three classes apart from the venue error the store returned.
func classify(err error) string {
	e := datavenue.AsError(err)
	switch e.Kind {
	case datavenue.KindUnavailable, datavenue.KindRateLimited:
		return failureTransient
	case datavenue.KindConflict:
		if e.Code == "concurrent_update" {
			return failureTransient
		}
		return failurePermanent
	case datavenue.KindInternal:
		return failureUnexpected
	}
	return failurePermanent
}

// Projector runs the projection. Several may run (one per venue process) under different
// Consumer names; the group hands each entry to one of them.
type Projector struct {
	Redis        StreamRedis
	Keys         Keys
	Store        Applier
	Group        string // "pg" by default
	Consumer     string
	ReclaimAfter time.Duration
	Logger       *slog.Logger
	// UnexpectedAttempts is how many times an entry failing unexpectedly is tried before it is
	// parked (5 by default).
	UnexpectedAttempts int
	// Failures, when set, counts failures by class (for metrics).
	Failures func(class string)
	// Locks, when set, gives each shard to one projector at a time across processes (see
	// ShardLocker); a venue with several processes sets it.
	Locks ShardLocker

	mu       sync.Mutex
	attempts map[string]int // stream/id -> unexpected failures so far
}

// ShardLocker lets one projector at a time, among all the venue's processes, work on a shard. A
// shard's entries must apply in stream order: a close after the bids and deposits before it (the
// close releases the deposits it finds and applies the winner's to the order), and a consumer group
// alone does not keep that order once several consumers read: each read hands the next entries to
// whichever consumer asks, and a dead consumer's entries wait for ReclaimAfter while the others
// go on past them. Under the lock, the holder takes over every entry still pending in the group
// (nobody else can be applying them), so a killed process's entries are applied first, at once.
type ShardLocker interface {
	// TryLockShard takes the shard's lock unless another projector holds it (ok false); unlock
	// releases it. The lock must end with its holder's process.
	TryLockShard(ctx context.Context, shard int) (unlock func(), ok bool, err error)
}

// errShardHeld stops a shard's pass at an entry that failed transiently: the entries after it
// wait, in order, for the next pass.
var errShardHeld = errors.New("projection: shard held by a transient failure")

func (p *Projector) group() string {
	if p.Group == "" {
		return "pg"
	}
	return p.Group
}

// RunOnce applies what is pending in every shard and returns how many entries it applied
// (parked ones included). A shard whose pass fails does not hold back the others: every shard is
// tried, and the errors are joined.
func (p *Projector) RunOnce(ctx context.Context) (int, error) {
	applied := 0
	var errs []error
	for shard := 0; shard < Shards; shard++ {
		n, err := p.runShard(ctx, shard)
		applied += n
		if err != nil {
			errs = append(errs, fmt.Errorf("shard %d: %w", shard, err))
		}
	}
	return applied, errors.Join(errs...)
}

func (p *Projector) runShard(ctx context.Context, shard int) (int, error) {
	stream := p.Keys.Events(shard)
	reclaimAfter := p.ReclaimAfter
	if p.Locks != nil {
		unlock, ok, err := p.Locks.TryLockShard(ctx, shard)
		if err != nil {
			// The lock lives in PostgreSQL: unreachable, the entries cannot be applied either.
			// A transient failure like any other (counted: it is what an outage looks like).
			if p.Failures != nil {
				p.Failures(failureTransient)
			}
			return 0, err
		}
		if !ok {
			return 0, nil // another process projects this shard now
		}
		defer unlock()
		reclaimAfter = 0 // only the lock's holder reads: whatever is pending is left over
		// A holder that hangs (a connection that never answers) must not keep the shard: the
		// pass ends at its deadline, like a transient failure, and the next holder goes on.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, shardPassTimeout)
		defer cancel()
	}
	err := p.Redis.XGroupCreateMkStream(ctx, stream, p.group(), "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return 0, redisError(err)
	}
	// Entries read and never acknowledged come first, in stream order: another projector's that
	// died (claimed, so they become this one's), then this one's own that a transient failure
	// held back on an earlier pass (reading from "0" returns them).
	if err := p.reclaim(ctx, stream, reclaimAfter); err != nil {
		return 0, err
	}
	applied := 0
	for _, from := range []string{"0", ">"} {
		for {
			res, err := p.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: p.group(), Consumer: p.Consumer,
				Streams: []string{stream, from}, Count: 200, Block: -1}).Result()
			if errors.Is(err, redis.Nil) {
				break
			}
			if err != nil {
				return applied, redisError(err)
			}
			if len(res) == 0 || len(res[0].Messages) == 0 {
				break
			}
			n, err := p.apply(ctx, shard, stream, res[0].Messages)
			applied += n
			if err != nil {
				return applied, err
			}
			if applied >= shardPassLimit {
				return applied, p.trim(ctx, stream) // the rest at the next pass: the other shards' turn
			}
		}
	}
	return applied, p.trim(ctx, stream)
}

// shardPassLimit is how many entries a pass applies from one shard before it moves on, so a shard
// that receives entries as fast as they are applied (one busy auction) does not starve the others.
const shardPassLimit = 1000

// shardPassTimeout bounds one locked pass over a shard (at most shardPassLimit entries, a few
// seconds).
const shardPassTimeout = 30 * time.Second

// reclaim makes this projector the owner of the entries other consumers read and left
// unacknowledged for at least idle: all of them, page by page, so none is left behind the ones
// this pass reads next.
func (p *Projector) reclaim(ctx context.Context, stream string, idle time.Duration) error {
	start := "0"
	for {
		_, next, err := p.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: stream, Group: p.group(),
			Consumer: p.Consumer, MinIdle: idle, Start: start, Count: 100}).Result()
		if err != nil {
			return redisError(err)
		}
		if next == "0-0" || next == "" || next == start {
			return nil
		}
		start = next
	}
}

// trim drops the entries every group has acknowledged, and only those: the scripts append without
// a length cap, so an entry leaves the stream only after PostgreSQL has it (a cap would drop
// entries a lagging projector has not copied yet).
func (p *Projector) trim(ctx context.Context, stream string) error {
	groups, err := p.Redis.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return redisError(err)
	}
	minID := ""
	for _, g := range groups {
		keep := g.LastDeliveredID // entries up to it were delivered; pending ones are kept below
		if g.Pending > 0 {
			pending, err := p.Redis.XPending(ctx, stream, g.Name).Result()
			if err != nil {
				return redisError(err)
			}
			keep = pending.Lower
		} else {
			keep = nextID(keep)
		}
		if minID == "" || lessID(keep, minID) {
			minID = keep
		}
	}
	if minID == "" || minID == "0-0" {
		return nil
	}
	return redisError(p.Redis.XTrimMinID(ctx, stream, minID).Err())
}

// nextID is the smallest stream id after id ("ms-seq").
func nextID(id string) string {
	ms, seq, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil {
		return id
	}
	return ms + "-" + strconv.FormatUint(n+1, 10)
}

// lessID compares stream ids numerically.
func lessID(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ai, _ := strconv.ParseUint(am, 10, 64)
	bi, _ := strconv.ParseUint(bm, 10, 64)
	if ai != bi {
		return ai < bi
	}
	an, _ := strconv.ParseUint(as, 10, 64)
	bn, _ := strconv.ParseUint(bs, 10, 64)
	return an < bn
}

// apply applies msgs in order, acknowledging each after its commit. An entry that fails for good
// is parked and acknowledged, and the shard moves on; one that fails transiently stops the shard
// here (it stays pending, and so do the entries after it, to keep their order).
func (p *Projector) apply(ctx context.Context, shard int, stream string, msgs []redis.XMessage) (int, error) {
	for i, m := range msgs {
		if err := p.applyEntry(ctx, stream, m); err != nil {
			if err := p.failed(ctx, shard, stream, m, err); err != nil {
				return i, err
			}
		} else {
			p.forget(stream, m.ID)
		}
		if err := p.Redis.XAck(ctx, stream, p.group(), m.ID).Err(); err != nil {
			return i + 1, redisError(err)
		}
	}
	return len(msgs), nil
}

// applyEntry decodes an entry and applies it; an entry that does not decode fails for good (it is
// parked, see classify).
func (p *Projector) applyEntry(ctx context.Context, stream string, m redis.XMessage) error {
	e, err := DecodeEvent(stream, m.ID, m.Values)
	if err != nil {
		return err
	}
	return p.Store.ApplyEvent(ctx, e)
}

// failed decides what a failed entry becomes: parked (nil: acknowledge it and go on) or held
// (an error: the shard stops here until the next pass).
func (p *Projector) failed(ctx context.Context, shard int, stream string, m redis.XMessage, cause error) error {
	class := classify(cause)
	if ctx.Err() != nil {
		class = failureTransient // shutting down: the entry is simply not done
	}
	if p.Failures != nil {
		p.Failures(class)
	}
	if class == failureUnexpected && p.count(stream, m.ID) < p.unexpectedAttempts() {
		class = failureTransient
	}
	if class == failureTransient {
		if p.Logger != nil {
			p.Logger.Warn("projection: entry not applied; retrying", "stream", stream, "entry", m.ID, "error", cause.Error())
		}
		return fmt.Errorf("%w at %s: %w", errShardHeld, m.ID, cause)
	}
	entry := ParkedEntry{Stream: stream, EventID: m.ID, Shard: shard, Fields: stringFields(m.Values),
		Error: cause.Error(), ErrorCode: datavenue.CodeOf(cause), Attempts: 1}
	if err := p.Store.ParkEvent(ctx, entry); err != nil {
		return fmt.Errorf("parking %s: %w", m.ID, err)
	}
	p.forget(stream, m.ID)
	if p.Logger != nil {
		p.Logger.Error("projection: entry parked; its shard goes on without it", "stream", stream, "entry", m.ID,
			"error", cause.Error(), "see", "datavenue parked list")
	}
	return nil
}

func (p *Projector) unexpectedAttempts() int {
	if p.UnexpectedAttempts > 0 {
		return p.UnexpectedAttempts
	}
	return 5
}

// count records one more unexpected failure of an entry and returns how many it has had.
func (p *Projector) count(stream, id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.attempts == nil {
		p.attempts = map[string]int{}
	}
	p.attempts[stream+"/"+id]++
	return p.attempts[stream+"/"+id]
}

func (p *Projector) forget(stream, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.attempts, stream+"/"+id)
}

func stringFields(values map[string]any) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Run projects every interval until ctx ends. After a pass that a transient failure held back it
// waits longer, doubling up to maxBackoff, so a database that is down is not hammered; the first
// clean pass goes back to every.
func (p *Projector) Run(ctx context.Context, every time.Duration) {
	const maxBackoff = 30 * time.Second
	wait := every
	for {
		_, err := p.RunOnce(ctx)
		switch {
		case err == nil:
			wait = every
		case ctx.Err() == nil:
			if p.Logger != nil {
				p.Logger.Warn("projection", "error", err.Error(), "next_pass_in", (2 * wait).String())
			}
			wait = min(2*wait, maxBackoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// ShardLag is what one shard's stream holds that PostgreSQL does not yet: entries written but not
// applied (read and unacknowledged, or not read at all) and the age of the oldest of them.
type ShardLag struct {
	Shard   int           `json:"shard"`
	Entries int64         `json:"entries"`
	Oldest  time.Duration `json:"-"`
}

// LagRedis is the part of go-redis Lag reads.
type LagRedis interface {
	XInfoGroups(ctx context.Context, key string) *redis.XInfoGroupsCmd
	XPending(ctx context.Context, stream, group string) *redis.XPendingCmd
	XRangeN(ctx context.Context, stream, start, stop string, count int64) *redis.XMessageSliceCmd
	XLen(ctx context.Context, stream string) *redis.IntCmd
}

// Lag measures every shard's backlog from Redis alone, so it is right even when no projector
// runs (the case it must show). now is the venue's clock; stream ids carry Redis's.
func Lag(ctx context.Context, r LagRedis, keys Keys, group string, now time.Time) ([]ShardLag, error) {
	if group == "" {
		group = "pg"
	}
	out := make([]ShardLag, 0, Shards)
	for shard := 0; shard < Shards; shard++ {
		stream := keys.Events(shard)
		lag := ShardLag{Shard: shard}
		groups, err := r.XInfoGroups(ctx, stream).Result()
		if err != nil && !strings.Contains(err.Error(), "no such key") {
			return nil, redisError(err)
		}
		var oldest string
		for _, g := range groups {
			if g.Name != group {
				continue
			}
			lag.Entries = g.Pending
			if g.Pending > 0 {
				p, err := r.XPending(ctx, stream, group).Result()
				if err != nil {
					return nil, redisError(err)
				}
				oldest = p.Lower
			}
			unread, err := r.XRangeN(ctx, stream, "("+g.LastDeliveredID, "+", 1).Result()
			if err != nil {
				return nil, redisError(err)
			}
			if len(unread) > 0 {
				if oldest == "" {
					oldest = unread[0].ID
				}
				if g.Lag > 0 {
					lag.Entries += g.Lag
				} else {
					lag.Entries++ // Redis could not count them (-1); at least one waits
				}
			}
		}
		if len(groups) == 0 { // no projector ever ran: everything in the stream waits
			first, err := r.XRangeN(ctx, stream, "-", "+", 1).Result()
			if err != nil {
				return nil, redisError(err)
			}
			if len(first) > 0 {
				oldest = first[0].ID
				if lag.Entries, err = r.XLen(ctx, stream).Result(); err != nil {
					return nil, redisError(err)
				}
			}
		}
		if oldest != "" {
			ms, _, _ := strings.Cut(oldest, "-")
			if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
				lag.Oldest = max(now.Sub(time.UnixMilli(n)), 0)
			}
		}
		out = append(out, lag)
	}
	return out, nil
}
