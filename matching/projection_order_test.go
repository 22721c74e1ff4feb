package matching_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/matching"
)

// recorder is an Applier that notes the order entries are applied in.
type recorder struct {
	mu      sync.Mutex
	applied []string
}

func (r *recorder) ApplyEvent(_ context.Context, e matching.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, e.Ref) // each entry is a deposit named by its ref
	return nil
}

func (r *recorder) ParkEvent(context.Context, matching.ParkedEntry) error { return nil }

// memLocks is a ShardLocker within one test process.
type memLocks struct {
	mu   sync.Mutex
	held map[int]bool
}

func (l *memLocks) TryLockShard(_ context.Context, shard int) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[int]bool{}
	}
	if l.held[shard] {
		return nil, false, nil
	}
	l.held[shard] = true
	return func() { l.mu.Lock(); delete(l.held, shard); l.mu.Unlock() }, true, nil
}

// A venue process dies holding a shard's first entries (read, never acknowledged): a deposit and
// a bid, before a bid and the auction's close. Without a shard lock, a surviving projector applies
// the close first and the dead one's entries 30 s later (a deposit recorded after the close that
// should have released it stays held for good); under the lock it takes them over at once and
// applies all four in stream order. A shard another projector holds is left alone.
func TestProjectorsKeepEachShardsOrderAcrossProcesses(t *testing.T) {
	for _, locked := range []bool{false, true} {
		t.Run(fmt.Sprintf("locked=%v", locked), func(t *testing.T) {
			c := testenv.NewRedisCluster(t)
			ctx := context.Background()
			keys := matching.Keys{Prefix: c.Prefix}
			stream := keys.Events(0)
			for _, name := range []string{"deposit", "bid1", "bid2", "close"} {
				if err := c.Client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []string{"type", "deposit", "auction", "auc_order", "buyer", "org_order", "ref", name}}).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Client.XGroupCreateMkStream(ctx, stream, "pg", "0").Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.Client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "pg", Consumer: "dead", Streams: []string{stream, ">"},
				Count: 2, Block: -1}).Err(); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			p := &matching.Projector{Redis: c.Client, Keys: keys, Store: rec, Consumer: "alive", ReclaimAfter: 30 * time.Second}
			want := []string{"bid2", "close"} // the close overtakes the dead process's deposit
			if locked {
				locks := &memLocks{}
				p.Locks, want = locks, []string{"deposit", "bid1", "bid2", "close"}
				unlock, _, _ := locks.TryLockShard(ctx, 0) // another projector holds the shard
				if n, err := p.RunOnce(ctx); err != nil || n != 0 {
					t.Fatalf("shard held elsewhere: applied %d, %v", n, err)
				}
				unlock()
			}
			if _, err := p.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.applied, want) {
				t.Fatalf("applied %v, want %v", rec.applied, want)
			}
		})
	}
}
