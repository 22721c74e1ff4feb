package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/postgres"
)

// TestOutboxDeliversAnEventCommittedAfterALaterOne: a transaction that took an event id and
// commits after another transaction's later event must not be skipped by a consumer whose cursor
// moved past it in between. Without the publishers' lock the second transaction commits at once,
// its event is delivered first, and the first event is never delivered.
func TestOutboxDeliversAnEventCommittedAfterALaterOne(t *testing.T) {
	ctx := context.Background()
	db := testenv.NewDB(t)
	var delivered []string
	deliver := func() {
		t.Helper()
		if _, err := db.Certificates().Deliver(ctx, "ordering-test", 100, func(e certificates.Event) error {
			delivered = append(delivered, e.SubjectID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	first, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if err := postgres.PublishEvent(ctx, first, "certificate.cancelled", "first"); err != nil {
		t.Fatal(err)
	}
	secondDone := make(chan error, 1)
	go func() {
		second, err := db.Pool.Begin(ctx)
		if err == nil {
			if err = postgres.PublishEvent(ctx, second, "certificate.cancelled", "second"); err == nil {
				err = second.Commit(ctx)
			}
		}
		secondDone <- err
	}()
	// Wait until the second publisher either committed (the bug) or waits for the first.
	waiting := func() bool {
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
wait:
	for !waiting() {
		select {
		case err := <-secondDone:
			secondDone <- err
			break wait
		default:
		}
	}
	deliver() // the consumer runs while the first transaction is still open
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	deliver()
	slices.Sort(delivered)
	if !slices.Equal(delivered, []string{"first", "second"}) {
		t.Fatalf("delivered %v, want both events once", delivered)
	}
}
