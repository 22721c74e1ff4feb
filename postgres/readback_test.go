package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/postgres"
)

// A change and the read that answers it stand or fall together: a failing read leaves nothing
// written, so the request fails whole and its retry (the idempotency key released) does not make
// the change a second time.
func TestReadBackFailingLeavesNothingWritten(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE readback_probe (n int)`); err != nil {
		t.Fatal(err)
	}
	write := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO readback_probe VALUES (7)`)
		return err
	}
	count := func() int {
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM readback_probe`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	lost := errors.New("connection lost while reading the answer")
	if _, err := postgres.ReadBack(ctx, db, write, func(pgx.Tx) (int, error) { return 0, lost }); !errors.Is(err, lost) {
		t.Fatalf("a failed read answered %v, want the read's error", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("a failed read left %d rows written, want 0", n)
	}
	got, err := postgres.ReadBack(ctx, db, write, func(tx pgx.Tx) (int, error) {
		var n int
		err := tx.QueryRow(ctx, `SELECT n FROM readback_probe`).Scan(&n)
		return n, err
	})
	if err != nil || got != 7 {
		t.Fatalf("read back %d, %v; want the row the transaction wrote (7)", got, err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d rows after a read that succeeded, want 1", n)
	}
}

// No store answers a change with a read made after its transaction committed (see readBack): the
// shape "inTx, then if err return, then return db.Something(ctx, …)" must not come back.
func TestNoReadAfterCommit(t *testing.T) {
	afterCommit := regexp.MustCompile(`\n\t\}\)\n\tif err != nil \{\n\t\treturn [\w.]+\{\}, (interpretError\()?err\)?\n\t\}\n\treturn (db\.\w+\(ctx|scan\w+\(db\.Pool)`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := afterCommit.FindIndex(src); loc != nil {
			t.Errorf("%s: a change answered by a read after its commit (use readBack): %q", f, src[loc[0]:loc[1]])
		}
	}
}
