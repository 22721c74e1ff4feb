package matching

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
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

// Applier applies one stream entry to PostgreSQL, idempotently on (stream, id).
type Applier interface {
	ApplyEvent(ctx context.Context, stream, id string, fields map[string]any) error
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
}

func (p Projector) group() string {
	if p.Group == "" {
		return "pg"
	}
	return p.Group
}

// RunOnce applies what is pending in every shard and returns how many entries it applied.
func (p Projector) RunOnce(ctx context.Context) (int, error) {
	applied := 0
	for shard := 0; shard < Shards; shard++ {
		stream := p.Keys.Events(shard)
		err := p.Redis.XGroupCreateMkStream(ctx, stream, p.group(), "0").Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return applied, redisError(err)
		}
		// Entries another projector read and never acknowledged (it died) come first.
		claimed, _, err := p.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: stream, Group: p.group(),
			Consumer: p.Consumer, MinIdle: p.ReclaimAfter, Start: "0", Count: 100}).Result()
		if err != nil {
			return applied, redisError(err)
		}
		n, err := p.apply(ctx, stream, claimed)
		applied += n
		if err != nil {
			return applied, err
		}
		for {
			res, err := p.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: p.group(), Consumer: p.Consumer,
				Streams: []string{stream, ">"}, Count: 200, Block: -1}).Result()
			if errors.Is(err, redis.Nil) {
				break
			}
			if err != nil {
				return applied, redisError(err)
			}
			if len(res) == 0 || len(res[0].Messages) == 0 {
				break
			}
			n, err := p.apply(ctx, stream, res[0].Messages)
			applied += n
			if err != nil {
				return applied, err
			}
		}
		if err := p.trim(ctx, stream); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// trim drops the entries every group has acknowledged, and only those: the scripts append without
// a length cap, so an entry leaves the stream only after PostgreSQL has it (a cap would drop
// entries a lagging projector has not copied yet).
func (p Projector) trim(ctx context.Context, stream string) error {
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

func (p Projector) apply(ctx context.Context, stream string, msgs []redis.XMessage) (int, error) {
	for i, m := range msgs {
		if err := p.Store.ApplyEvent(ctx, stream, m.ID, m.Values); err != nil {
			return i, err
		}
		if err := p.Redis.XAck(ctx, stream, p.group(), m.ID).Err(); err != nil {
			return i + 1, redisError(err)
		}
	}
	return len(msgs), nil
}

// Run projects every interval until ctx ends.
func (p Projector) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := p.RunOnce(ctx); err != nil && ctx.Err() == nil && p.Logger != nil {
			p.Logger.Warn("projection", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
