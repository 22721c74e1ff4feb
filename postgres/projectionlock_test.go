package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue/internal/testenv"
)

// One projector at a time holds a shard, whichever process it runs in (two sessions here); another
// shard is free; a released shard can be taken again, and so can the shard of a process whose
// connections are gone.
func TestProjectionShardLockIsExclusiveAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	db := testenv.NewDB(t)
	a, b := db.Matching().ProjectionLocks(), db.Matching().ProjectionLocks() // two processes' locks
	defer a.Close()
	defer b.Close()
	unlock, ok, err := a.TryLockShard(ctx, 3)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := b.TryLockShard(ctx, 3); err != nil || ok {
		t.Fatalf("the same shard from another process: got it=%v, %v; want refused", ok, err)
	}
	unlock4, ok, err := b.TryLockShard(ctx, 4)
	if err != nil || !ok {
		t.Fatalf("another shard: %v %v", ok, err)
	}
	unlock4()
	unlock()
	unlock, ok, err = b.TryLockShard(ctx, 3)
	if err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}
	ok = false
	// The holder's process dies: its session ends, and the lock with it.
	if _, err := db.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND objid = 3 AND objsubid = 2 AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	var unlockA func()
	for deadline := time.Now().Add(10 * time.Second); !ok; { // the session ends asynchronously
		if unlockA, ok, err = a.TryLockShard(ctx, 3); err != nil || (!ok && time.Now().After(deadline)) {
			t.Fatalf("after the holder's end: %v %v", ok, err)
		}
		time.Sleep(10 * time.Millisecond) // polling pace
	}
	unlockA()
	unlock() // the dead session's unlock fails; its connection is dropped, not pooled
}
