package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// TestMeteringThroughput ingests usage records through the HTTP API of a served venue (the wired
// app on a loopback listener, signed batches of 5,000 from concurrent senders, the bodies made
// before the clock starts) and, in the same run, COPYs the very same rows into usage_records in
// one committed transaction: what PostgreSQL must do to keep the rows at all (their key, checks,
// reference and index), with no HTTP, JSON, signature or judging. It reports records/s of both,
// their ratio (target: the API at ≥ 0.5× of raw), and the live Go heap's peak growth at two
// volumes (flat: it must not grow with the number of batches). Every record is then sent again
// and must all come back duplicates: exactly once, whatever the volume.
//
// In `make test` it runs short (4 batches of 500) and asserts exactly-once only; `make
// bench-metering` sets DATAVENUE_BENCH_METERING=1 for the full run (two rounds: 20 and 60 batches
// of 5,000) and asserts the ratio as well.
func TestMeteringThroughput(t *testing.T) {
	full := os.Getenv("DATAVENUE_BENCH_METERING") != ""
	rounds, size, senders := []int{4}, 500, 2
	if full {
		rounds, size = []int{20, 60}, subscriptions.MaxBatch
	}
	m := newMarket(t, nil)
	ctx := context.Background()
	subs := []subscriptions.Subscription{m.negotiatedSubscription()}
	url := m.serve() + "/v1/usage-batches"
	token := m.as("operator", operatorOrg)
	secret := subscriptions.OperatorSecret(meteringSecret, operatorOrg)
	now := time.Now()
	period := subs[0].PeriodAt(civil.Of(now)).Start.Time()
	for round, batches := range rounds {
		bodies, rows := meteringBatches(t, fmt.Sprintf("r%d", round), subs[0].ID, batches, size, now, period)
		rawTime := rawCopy(t, m, rows)
		var peak uint64
		stop := sampleLiveHeap(&peak)
		start := time.Now()
		results := sendBatches(t, url, token, secret, bodies, senders)
		apiTime := time.Since(start)
		stop()
		records := batches * size
		if results.Accepted != records || results.Duplicate != 0 || results.Refused != 0 {
			t.Fatalf("round %d: %+v, want %d accepted", round, results, records)
		}
		// Every batch again, as after a lost answer: nothing is counted twice.
		if again := sendBatches(t, url, token, secret, bodies, senders); again.Duplicate != records || again.Accepted != 0 {
			t.Fatalf("round %d retried: %+v, want %d duplicates", round, again, records)
		}
		ratio := rawTime.Seconds() / apiTime.Seconds()
		t.Logf("%d batches × %d records over HTTP (%d senders): %s, %.0f records/s; raw COPY of the same rows: %s, %.0f records/s; API/raw %.2f; peak live heap growth %.1f MiB",
			batches, size, senders, apiTime.Round(time.Millisecond), float64(records)/apiTime.Seconds(), rawTime.Round(time.Millisecond),
			float64(records)/rawTime.Seconds(), ratio, float64(peak)/(1<<20))
		if full && ratio < 0.5 {
			t.Errorf("the API ingests at %.2f× of raw COPY, want ≥ 0.5×", ratio)
		}
	}
	var stored int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_records`).Scan(&stored)
	want := 0
	for _, b := range rounds {
		want += b * size
	}
	if stored != want {
		t.Fatalf("%d records stored, want %d", stored, want)
	}
}

// meteringBatches makes the batches' JSON bodies and the same records as rows for COPY.
func meteringBatches(t *testing.T, prefix, sub string, batches, size int, at, period time.Time) ([][]byte, [][]any) {
	bodies := make([][]byte, batches)
	rows := make([][]any, 0, batches*size)
	used := at.Format(time.RFC3339Nano)
	for b := range batches {
		recs := make([]subscriptions.RecordInput, size)
		for i := range recs {
			id := prefix + "-" + strconv.Itoa(b) + "-" + strconv.Itoa(i)
			recs[i] = subscriptions.RecordInput{RecordID: id, SubscriptionID: sub, Unit: "per_call", Quantity: "1.5", UsedAt: used}
			rows = append(rows, []any{"raw-operator", id, sub, "per_call", "1.5", at, period})
		}
		body, err := json.Marshal(subscriptions.BatchInput{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		bodies[b] = body
	}
	return bodies, rows
}

// rawCopy COPYs rows into usage_records and commits, timed (what PostgreSQL must do to keep the
// rows, commit included, as the API must), then deletes them again, untimed.
func rawCopy(t *testing.T, m *market, rows [][]any) time.Duration {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	err := pgx.BeginFunc(ctx, m.db.Pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"usage_records"},
			[]string{"operator_id", "record_id", "subscription_id", "unit", "quantity", "used_at", "period_start"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if _, err := m.db.Pool.Exec(ctx, `DELETE FROM usage_records WHERE operator_id = 'raw-operator'`); err != nil {
		t.Fatal(err)
	}
	return elapsed
}

// sendBatches posts the bodies, signed, from senders concurrent clients, and adds up the answers.
func sendBatches(t *testing.T, url, token string, secret []byte, bodies [][]byte, senders int) subscriptions.BatchResult {
	t.Helper()
	var mu sync.Mutex
	var total subscriptions.BatchResult
	var wg sync.WaitGroup
	next := make(chan []byte)
	errs := make(chan error, senders)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				res, err := postBatch(url, token, secret, body)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				total.Accepted, total.Duplicate, total.Refused = total.Accepted+res.Accepted, total.Duplicate+res.Duplicate, total.Refused+res.Refused
				mu.Unlock()
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return total
}

func postBatch(url, token string, secret, body []byte) (subscriptions.BatchResult, error) {
	var res subscriptions.BatchResult
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Datavenue-Signature", settlement.CallbackSignature(secret, body, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return res, fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	return res, json.Unmarshal(raw, &res)
}

// sampleLiveHeap records, until stopped, the largest growth of the live Go heap (as each garbage
// collection measures it) over its size at the start. A benchmark's measure, not a
// synchronisation.
func sampleLiveHeap(peak *uint64) (stop func()) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > base && v-base > *peak {
				*peak = v - base
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
