package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/console"
	"github.com/datavenue/datavenue/console/redisstore"
	"github.com/datavenue/datavenue/internal/testenv"
)

func TestSessionsKeepHashedIdsWithTheirLifetime(t *testing.T) {
	rdb := testenv.NewRedis(t)
	s := redisstore.Sessions{Redis: rdb.Client, Prefix: rdb.Prefix}
	ctx := context.Background()
	const id = "the-secret-session-id"
	want := console.Session{Caller: datavenue.Caller{Subject: "u1", Role: datavenue.RoleBuyer, Org: "org_1"}, CSRF: "tok"}
	if err := s.Put(ctx, id, want, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get(ctx, id)
	if err != nil || !ok || got.Caller != want.Caller || got.CSRF != want.CSRF {
		t.Fatalf("Get = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	keys, err := rdb.Client.Keys(ctx, rdb.Prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %v, %v; want one", keys, err)
	}
	if strings.Contains(keys[0], id) || !strings.Contains(keys[0], "{console:") {
		t.Errorf("key %q holds the session id or lacks its hash tag", keys[0])
	}
	if ttl := rdb.Client.TTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > 90*time.Second {
		t.Errorf("TTL = %s, want the session's lifetime (90 s)", ttl)
	}
	if _, ok, _ := s.Get(ctx, "another-id"); ok {
		t.Error("an unknown id found a session")
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, id); ok {
		t.Error("a deleted session is still found")
	}
}
