package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/listing"
)

// soakDuration is how long TestReadRouterUnderLoad runs: a few seconds in make test, longer with
// DATAVENUE_REPLICA_DURATION (make test-replica REPLICA=10m).
func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("DATAVENUE_REPLICA_DURATION")
	if v == "" {
		return 4 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("DATAVENUE_REPLICA_DURATION=%q: want a duration such as 2m", v)
	}
	return d
}

// committed is the log of products the writer has published: their commit times, in order.
type committed struct {
	mu    sync.Mutex
	times []time.Time // times[i]: product i's transaction had committed by then
}

func (c *committed) add(at time.Time) {
	c.mu.Lock()
	c.times = append(c.times, at)
	c.mu.Unlock()
}

// newestBefore is the newest product committed before t (-1: none), and how many there are.
func (c *committed) newestBefore(t time.Time) (i, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i = len(c.times) - 1
	for i >= 0 && !c.times[i].Before(t) {
		i--
	}
	return i, len(c.times)
}

// TestReadRouterUnderLoad reads the catalogue through the router while products are published on
// the primary without pause and the standby's replay is paused past the bound and resumed, cycle
// after cycle. What must hold all along:
//   - no read fails, and a product the primary has committed is always found (a standby that has
//     not replayed it yet passes the read to the primary);
//   - the router's promise: while it reads from the standby, the standby holds every product
//     committed more than the bound ago (checked on the standby directly, not through the router,
//     so a fallback cannot hide a stale answer);
//   - both sides answer reads over the run: the standby when caught up, the primary when behind.
func TestReadRouterUnderLoad(t *testing.T) {
	duration := soakDuration(t)
	var rep testenv.Replica
	const bound = 500 * time.Millisecond
	db, replica, router := replicaFixture(t, func(url string) string { rep = testenv.NewReplica(t, url, true); return rep.URL }, bound)
	caughtUp(t, router)

	ctx, cancel := context.WithTimeout(callerCtx(), duration)
	defer cancel()
	var wg sync.WaitGroup
	var log committed
	problems := make(chan string, 100)
	report := func(format string, args ...any) {
		select {
		case problems <- fmt.Sprintf(format, args...):
		default: // enough to fail the test with
		}
	}

	wg.Add(2)
	go func() { defer wg.Done(); router.Run(ctx) }()
	go func() { // the writer
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			if err := catalogueseed.Load(callerCtx(), db.Pool, replicaOperator, i, i+1); err != nil {
				report("publish %d: %v", i, err)
				return
			}
			log.add(time.Now())
		}
	}()

	// The reader: one goroutine, so each answer can be set against what the router said before it.
	wg.Add(1)
	freshChecks := 0
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			start := time.Now()
			fresh := router.ReplicaFallback() == ""
			newest, _ := log.newestBefore(start)
			if newest < 0 {
				continue
			}
			id := fmt.Sprintf("prd_%026d", newest)
			if p, err := (listing.Catalogue{Store: router}).Public(callerCtx(), id); err != nil || p.ID != id {
				report("Public(%s) through the router = %q, %v; want the committed product", id, p.ID, err)
			}
			if _, err := (listing.Catalogue{Store: router}).Search(callerCtx(), listing.SearchInput{Limit: 20}); err != nil {
				report("search through the router: %v", err)
			}
			old, _ := log.newestBefore(start.Add(-bound))
			if fresh && old >= 0 {
				freshChecks++
				oldID := fmt.Sprintf("prd_%026d", old)
				if _, err := replica.Listing().Product(callerCtx(), oldID); err != nil {
					report("the router read from the standby, but the standby lacks %s, committed more than %s before: %v", oldID, bound, err)
				}
			}
		}
	}()

	// The standby falls behind and catches up, for as long as the run lasts.
	cycles := 0
	for ctx.Err() == nil {
		rep.PauseReplay(t)
		if !waitFor(ctx, func() bool { return router.ReplicaFallback() != "" }) {
			break
		}
		rep.ResumeReplay(t)
		if !waitFor(ctx, func() bool { return router.ReplicaFallback() == "" }) {
			break
		}
		cycles++
	}
	rep.ResumeReplay(t)
	wg.Wait()
	close(problems)
	for p := range problems {
		t.Error(p)
	}

	onReplica, onPrimary := router.CatalogueReads()
	_, published := log.newestBefore(time.Now())
	t.Logf("%s: %d products published, %d lag cycles, reads: %d standby, %d primary, %d freshness checks",
		duration, published, cycles, onReplica, onPrimary, freshChecks)
	if cycles == 0 || onReplica == 0 || onPrimary == 0 || freshChecks == 0 {
		t.Errorf("the run did not exercise both sides: %d lag cycles, %d standby reads, %d primary reads, %d freshness checks",
			cycles, onReplica, onPrimary, freshChecks)
	}
}

// waitFor polls cond until it holds (true) or ctx ends (false).
func waitFor(ctx context.Context, cond func() bool) bool {
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}
