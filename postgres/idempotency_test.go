package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/idempotency"
	"github.com/datavenue/datavenue/internal/testenv"
)

// plainHash is the fingerprint the venue stored before migration 00026, written out here rather
// than taken from the idempotency package, so the test holds the stored bytes to what an attacker
// with a dump would compute.
func plainHash(method, url string, body []byte) []byte {
	h := sha256.Sum256(append(append([]byte(method+"\x00"), url+"\x00"...), body...))
	return h[:]
}

// A claim stores a keyed fingerprint: the plain SHA-256 of the request, which anyone with a dump
// could test guesses at a body's secret against, is not what is stored, and another key gives
// another fingerprint. Before, request_hash was exactly plainHash.
func TestIdempotencyStoresNoPlainHashOfTheBody(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	body := []byte(`{"url":"https://hooks.example.cn/dv","secret":"password1","events":["order.created"]}`)
	fp := idempotency.Fingerprinter{Key: []byte("venue key one")}.Request("POST", "/v1/webhooks/subscriptions", body)
	if _, err := db.Idempotency().Claim(ctx, "s", "k", fp, time.Minute); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	var keyed bool
	if err := db.Pool.QueryRow(ctx, `SELECT request_hash, request_hash_keyed FROM idempotency_keys WHERE scope = 's' AND key = 'k'`).Scan(&stored, &keyed); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored, plainHash("POST", "/v1/webhooks/subscriptions", body)) || !keyed {
		t.Fatalf("the stored fingerprint is the request's plain SHA-256 (keyed %v)", keyed)
	}
	other := idempotency.Fingerprinter{Key: []byte("venue key two")}.Request("POST", "/v1/webhooks/subscriptions", body)
	if bytes.Equal(stored, other.Keyed) || !bytes.Equal(stored, fp.Keyed) {
		t.Fatal("the stored fingerprint does not depend on the key")
	}
}

// A key claimed before fingerprints were keyed (a plain hash, request_hash_keyed false) still
// replays its answer to a retry of the same request after the upgrade, and still refuses another
// request under the same key.
func TestClaimsFromBeforeKeyingStillReplay(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	body := []byte(`{"reference":"pay-1"}`)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, state, status, content_type, body, completed_at)
		VALUES ('s', 'old', $1, 'completed', 201, 'application/json', '{"id":"x"}', now())`, plainHash("POST", "/v1/orders/o/payments", body)); err != nil {
		t.Fatal(err)
	}
	fp := idempotency.Fingerprinter{Key: []byte("venue key")}
	claim, err := db.Idempotency().Claim(ctx, "s", "old", fp.Request("POST", "/v1/orders/o/payments", body), time.Minute)
	if err != nil || claim.State != idempotency.Replay || string(claim.Response.Body) != `{"id":"x"}` {
		t.Fatalf("retry of a request claimed before the upgrade = %+v, %v; want the stored 201 replayed", claim, err)
	}
	claim, err = db.Idempotency().Claim(ctx, "s", "old", fp.Request("POST", "/v1/orders/o/payments", []byte(`{"reference":"pay-2"}`)), time.Minute)
	if err != nil || claim.State != idempotency.Mismatch {
		t.Fatalf("another request under a key claimed before the upgrade = %+v, %v; want Mismatch", claim, err)
	}
}

// Purge removes the keys older than the retention, in batches, each batch audited with its count;
// it keeps younger keys and an old key whose request is still running, and a purged key can be
// claimed again. Before, keys were kept for ever (with every stored answer).
func TestPurgeRemovesKeysPastTheRetention(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	fp := idempotency.Fingerprinter{Key: []byte("k")}.Request("POST", "/v1/x", nil)
	for _, key := range []string{"old-done", "old-crashed", "old-running", "young"} {
		lease := time.Minute
		if key == "old-crashed" {
			lease = -time.Second
		}
		if _, err := db.Idempotency().Claim(ctx, "s", key, fp, lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Idempotency().Complete(ctx, "s", "old-done", idempotency.Response{Status: 201}); err != nil {
		t.Fatal(err)
	}
	// 5,001 more old completed keys: more than one batch.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, request_hash_keyed, state, status, completed_at, created_at)
		SELECT 'bulk', 'k' || i, $1, true, 'completed', 200, now(), now() - interval '20 days' FROM generate_series(1, 5001) i`, fp.Keyed); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '15 days' WHERE key LIKE 'old-%'`); err != nil {
		t.Fatal(err)
	}
	// Any other audit row stays out of the count below.
	before, err := db.Audit().Events(ctx, audit.Filter{ResourceType: "idempotency_keys"})
	if err != nil || len(before) != 0 {
		t.Fatalf("audit rows before the purge: %d, %v", len(before), err)
	}

	n, err := db.Idempotency().Purge(ctx, 14*24*time.Hour)
	if err != nil || n != 5003 {
		t.Fatalf("purged %d, %v; want 5,003 (5,001 bulk, old-done, old-crashed)", n, err)
	}
	var left []string
	rows, _ := db.Pool.Query(ctx, `SELECT key FROM idempotency_keys ORDER BY key`)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	if len(left) != 2 || left[0] != "old-running" || left[1] != "young" {
		t.Fatalf("keys left after the purge: %v, want old-running and young", left)
	}
	events, err := db.Audit().Events(ctx, audit.Filter{ResourceType: "idempotency_keys"})
	if err != nil || len(events) != 2 {
		t.Fatalf("audit rows of the purge: %d, %v; want one per batch (2)", len(events), err)
	}
	var total int64
	for _, e := range events {
		var d struct{ Deleted int64 }
		if e.Action != "idempotency.keys_purged" || json.Unmarshal(e.Detail, &d) != nil {
			t.Fatalf("audit row %+v", e)
		}
		total += d.Deleted
	}
	if total != 5003 {
		t.Fatalf("the audit rows count %d keys purged, want 5,003", total)
	}
	if n, err := db.Idempotency().Purge(ctx, 14*24*time.Hour); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v; want nothing", n, err)
	}
	if events, _ := db.Audit().Events(ctx, audit.Filter{ResourceType: "idempotency_keys"}); len(events) != 2 {
		t.Fatalf("a purge that removed nothing wrote an audit row (%d rows)", len(events))
	}
	if claim, err := db.Idempotency().Claim(ctx, "s", "old-done", fp, time.Minute); err != nil || claim.State != idempotency.Claimed {
		t.Fatalf("claim of a purged key = %+v, %v; want Claimed (a new request)", claim, err)
	}
}

// A key whose row goes between the claim's INSERT (which found it there) and the read that locks
// it, because the request holding it failed and released it (or the purge took it), is claimed
// afresh. Before, the locking read found no row and the claim failed, a 404 on a POST.
func TestClaimOfAKeyReleasedMeanwhile(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	fp := idempotency.Fingerprinter{Key: []byte("k")}.Request("POST", "/v1/x", nil)
	if _, err := db.Idempotency().Claim(ctx, "s", "k", fp, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Another transaction holds the row, as a release about to delete it would.
	holder, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(ctx)
	if _, err := holder.Exec(ctx, `SELECT 1 FROM idempotency_keys WHERE scope = 's' AND key = 'k' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		claim idempotency.Claim
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, err := db.Idempotency().Claim(ctx, "s", "k", fp, time.Minute)
		done <- result{c, err}
	}()
	// The claim's INSERT found the row and its read now waits for the holder's lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim never waited for the row's lock")
		}
		runtime.Gosched()
	}
	if _, err := holder.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = 's' AND key = 'k'`); err != nil {
		t.Fatal(err)
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.claim.State != idempotency.Claimed {
		t.Fatalf("the claim of a key released meanwhile = %+v, %v; want Claimed", r.claim, r.err)
	}
}
