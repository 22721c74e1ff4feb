package api_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datavenue/datavenue/subscriptions"
)

// soakHeapBound is how much the live heap may grow over a soak, as the least-squares line
// through its samples (after the warm-up) rises from the first sample to the last. Ingestion
// holds one batch per sender in flight, so a flat heap rises by a fraction of a batch's few MiB;
// a leak of even a few bytes per record (millions of them) rises by far more.
const soakHeapBound = 8 << 20

// TestMeteringSoak ingests usage through the HTTP API of a served venue for a duration, as an
// operator's gateway does: senders post fresh signed batches of 5,000 back to back (each body made
// just before it is sent, so nothing accumulates on the sending side), and every few seconds the
// live Go heap is measured after a full garbage collection. It reports the samples, the fitted
// slope (MiB per minute) and the growth over the run, and fails if the growth exceeds
// soakHeapBound. The table is truncated whenever it holds a million records (between batches: the
// TRUNCATE waits for the batches in flight), so a long soak does not fill a shared disk.
//
// `make soak-metering DURATION=5m` sets DATAVENUE_SOAK_METERING to the duration; in `make test` it
// runs for two seconds with small batches and asserts exactly-once counts only (a heap slope over
// two seconds says nothing).
func TestMeteringSoak(t *testing.T) {
	duration, every, size, senders := 2*time.Second, 250*time.Millisecond, 200, 2
	full := os.Getenv("DATAVENUE_SOAK_METERING") != ""
	if full {
		d, err := time.ParseDuration(os.Getenv("DATAVENUE_SOAK_METERING"))
		if err != nil || d < time.Minute {
			t.Fatalf("DATAVENUE_SOAK_METERING=%q: a duration of at least 1m", os.Getenv("DATAVENUE_SOAK_METERING"))
		}
		duration, every, size = d, 5*time.Second, subscriptions.MaxBatch
	}
	m := newMarket(t, nil)
	ctx := context.Background()
	sub := m.negotiatedSubscription()
	url := m.serve() + "/v1/usage-batches"
	token := m.as("operator", operatorOrg)
	secret := subscriptions.OperatorSecret(meteringSecret, operatorOrg)

	var accepted, sinceTruncate atomic.Int64
	var truncating sync.RWMutex // senders hold it shared per batch; the truncation exclusively
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				body := soakBatch(fmt.Sprintf("s%d-%d", s, n), sub.ID, size, time.Now())
				truncating.RLock()
				res, err := postBatch(url, token, secret, body)
				truncating.RUnlock()
				if err == nil && (res.Accepted != size || res.Duplicate+res.Refused != 0) {
					err = fmt.Errorf("batch %d of sender %d: %d accepted, %d duplicate, %d refused", n, s, res.Accepted, res.Duplicate, res.Refused)
				}
				if err != nil {
					errs <- err
					return
				}
				accepted.Add(int64(size))
				if sinceTruncate.Add(int64(size)) >= 1_000_000 {
					truncating.Lock()
					if sinceTruncate.Load() >= 1_000_000 {
						if _, err := m.db.Pool.Exec(ctx, `TRUNCATE usage_records`); err != nil {
							errs <- err
						}
						sinceTruncate.Store(0)
					}
					truncating.Unlock()
				}
			}
		}()
	}
	samples := sampleHeapUntil(deadline, every, &accepted)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	var stored int64
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_records`).Scan(&stored)
	if stored != sinceTruncate.Load() {
		t.Fatalf("%d records stored since the last truncation, %d accepted", stored, sinceTruncate.Load())
	}
	total := accepted.Load()
	t.Logf("%d records in %s through the API (%d senders, batches of %d): %.0f records/s", total, duration, senders, size, float64(total)/duration.Seconds())
	if !full {
		return
	}
	// The first samples are the warm-up (connections opened, caches and pools filled): the
	// slope is fitted from 30 s on.
	var kept []heapSample
	for _, s := range samples {
		t.Logf("t=%6.1fs live heap %6.2f MiB, %9d records", s.at.Seconds(), float64(s.live)/(1<<20), s.records)
		if s.at >= 30*time.Second {
			kept = append(kept, s)
		}
	}
	slope := heapSlope(kept) // bytes per second
	span := kept[len(kept)-1].at - kept[0].at
	growth := slope * span.Seconds()
	t.Logf("live heap slope %.3f MiB/min, growth over %s fitted %.2f MiB (bound %.0f MiB); %d samples",
		slope*60/(1<<20), span.Round(time.Second), growth/(1<<20), float64(soakHeapBound)/(1<<20), len(kept))
	if growth > soakHeapBound {
		t.Errorf("the live heap grew by %.2f MiB over %s of ingestion, bound %.0f MiB", growth/(1<<20), span, float64(soakHeapBound)/(1<<20))
	}
}

// soakBatch is a batch's JSON body, written directly (the shape a gateway sends).
func soakBatch(prefix, sub string, size int, at time.Time) []byte {
	used := at.UTC().Format(time.RFC3339Nano)
	b := make([]byte, 0, size*140)
	b = append(b, `{"records":[`...)
	for i := range size {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"record_id":"`...)
		b = append(b, prefix...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","subscription_id":"`...)
		b = append(b, sub...)
		b = append(b, `","unit":"per_call","quantity":"1.5","used_at":"`...)
		b = append(b, used...)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

// heapSample is the live heap after a full collection at an instant of the soak.
type heapSample struct {
	at      time.Duration
	live    uint64
	records int64
}

// sampleHeapUntil collects the live heap after a forced collection every interval until the
// deadline (a measure, not a synchronisation: the senders run on their own).
func sampleHeapUntil(deadline time.Time, every time.Duration, records *atomic.Int64) []heapSample {
	start := time.Now()
	read := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var out []heapSample
	tick := time.NewTicker(every)
	defer tick.Stop()
	for now := start; now.Before(deadline); now = <-tick.C {
		runtime.GC()
		metrics.Read(read)
		out = append(out, heapSample{at: time.Since(start), live: read[0].Value.Uint64(), records: records.Load()})
	}
	return out
}

// heapSlope is the least-squares slope of the live heap over time, in bytes per second.
func heapSlope(s []heapSample) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, p := range s {
		x, y := p.at.Seconds(), float64(p.live)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if d := n*sxx - sx*sx; n >= 2 && d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}
