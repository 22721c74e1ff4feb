package testenv

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Replica is the test command's PostgreSQL hot standby (scripts/services.sh up --replica), as one
// test sees it: its own database's URL there.
type Replica struct {
	// URL is the test's database on the standby.
	URL string
	// admin is a connection to the standby, for pausing and resuming replay.
	admin     *pgx.Conn
	exclusive bool
}

// replicaLockKey names the advisory lock (on the primary) that orders tests around the standby's
// replay, which is the whole cluster's: a test that pauses it holds the lock exclusively, tests
// that wait for the standby to catch up hold it shared. Test binaries of several packages run at
// once, so the lock has to live in PostgreSQL.
const replicaLockKey = `hashtext('datavenue test replica replay')`

// NewReplica returns the standby's URL for the test's database (dbURL, from NewDBWithURL) once the
// standby has replayed its creation. exclusive: the test pauses replay (PauseReplay), so it runs
// alone among the tests that use the standby. The test is skipped when
// DATAVENUE_TEST_DATABASE_READ_URL is unset (make test sets it: `scripts/services.sh up --replica`).
func NewReplica(tb testing.TB, dbURL string, exclusive bool) Replica {
	tb.Helper()
	base := os.Getenv("DATAVENUE_TEST_DATABASE_READ_URL")
	if base == "" {
		tb.Skip("DATAVENUE_TEST_DATABASE_READ_URL is not set: start the hot standby with `scripts/services.sh up --replica` (make test does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lock, err := pgx.Connect(ctx, mustEnv(tb, "DATAVENUE_TEST_DATABASE_URL"))
	if err != nil {
		tb.Fatalf("connect to test PostgreSQL: %v", err)
	}
	// Two connections on purpose: the lock lives on the primary (where every test binary can see it),
	// while replay is controlled on the standby.
	tb.Cleanup(func() { lock.Close(context.Background()) }) // the session's lock goes with it
	take := `SELECT pg_advisory_lock_shared(` + replicaLockKey + `)`
	if exclusive {
		take = `SELECT pg_advisory_lock(` + replicaLockKey + `)`
	}
	if _, err := lock.Exec(ctx, take); err != nil {
		tb.Fatalf("replica test lock: %v", err)
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to the test hot standby (DATAVENUE_TEST_DATABASE_READ_URL): %v", err)
	}
	tb.Cleanup(func() { admin.Close(context.Background()) })
	// The test's database on the standby has the same name as on the primary: streaming replication
	// copies the whole cluster, CREATE DATABASE included.
	r := Replica{URL: withDatabase(base, databaseOf(tb, dbURL)), admin: admin, exclusive: exclusive}
	// No test that pauses replay runs now; one that died paused would hold up every other.
	r.ResumeReplay(tb)
	r.waitForDatabase(ctx, tb)
	return r
}

func databaseOf(tb testing.TB, url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		tb.Fatalf("database URL: %v", err)
	}
	return cfg.Database
}

// waitForDatabase polls until the test's database exists on the standby (its creation replayed).
func (r Replica) waitForDatabase(ctx context.Context, tb testing.TB) {
	tb.Helper()
	name := databaseOf(tb, r.URL)
	// Polling is the only way to learn that the standby has replayed the CREATE DATABASE; 20 ms keeps
	// the wait short without busy-looping, and ctx bounds it at two minutes.
	for {
		var exists bool
		err := r.admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
		if err == nil && exists {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			tb.Fatalf("hot standby: %v", err)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("database %s did not appear on the hot standby within the deadline", name)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PauseReplay stops the standby applying WAL (it keeps receiving it), so it falls behind the
// primary from the next write on; replay resumes when the test ends, if not before. Only a test
// that took the replica exclusively may pause it.
func (r Replica) PauseReplay(tb testing.TB) {
	tb.Helper()
	if !r.exclusive {
		tb.Fatal("PauseReplay needs NewReplica(tb, url, true)")
	}
	if _, err := r.admin.Exec(context.Background(), `SELECT pg_wal_replay_pause()`); err != nil {
		tb.Fatalf("pause replay: %v", err)
	}
	tb.Cleanup(func() { r.ResumeReplay(tb) })
}

// ResumeReplay lets the standby apply WAL again (nothing when it is not paused).
func (r Replica) ResumeReplay(tb testing.TB) {
	tb.Helper()
	if _, err := r.admin.Exec(context.Background(),
		// The WHERE clause makes this a no-op when replay is not paused, so it is safe to call at any
		// time, including from a cleanup after the test already resumed.
		`SELECT pg_wal_replay_resume() WHERE pg_get_wal_replay_pause_state() <> 'not paused'`); err != nil {
		tb.Fatalf("resume replay: %v", err)
	}
}
