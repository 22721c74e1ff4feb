package main

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/datavenue/datavenue/internal/testenv"
)

// TestDemoWalksTheWholeTrade starts a real venue process on a fresh database, seeds it, runs
// `datavenue demo` against it over HTTP, and then `datavenue check` on what the demo left: the
// walk-through in the README passes, and leaves every invariant holding.
func TestDemoWalksTheWholeTrade(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo waits for two auctions to close (about a minute)")
	}
	_, dbURL := testenv.NewDBWithURL(t)
	r := testenv.NewRedis(t)
	keyDir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{"DATAVENUE_DATABASE_URL": dbURL, "DATAVENUE_REDIS_URL": os.Getenv("DATAVENUE_TEST_REDIS_URL"),
		"DATAVENUE_LISTEN": addr, "DATAVENUE_KEY_DIR": keyDir, "DATAVENUE_PAYMENT_CALLBACK_SECRET": "demo-test-secret", "DATAVENUE_LOG_LEVEL": "error"}
	if out, err := runCmd(t, env, "seed"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	v := &venueProcess{t: t, addr: addr, env: []string{"DATAVENUE_FAULT_SERVE=1"}}
	for k, val := range env {
		v.env = append(v.env, k+"="+val)
	}
	t.Cleanup(func() {
		keys, _ := r.Client.Keys(context.Background(), "dv:*").Result()
		if len(keys) > 0 {
			r.Client.Del(context.Background(), keys...)
		}
	})
	v.start()
	t.Cleanup(func() { _ = v.cmd.Process.Kill(); _ = v.cmd.Wait() })

	out, err := runCmd(t, env, "demo", "--url", "http://"+addr)
	t.Log(out)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, want := range []string{"verified offline", "map[matched:3 missing:0 unmatched:1]", "(callback)", "refused: bid_too_low",
		"anti-sniping: the end moved", "no amount, no leader", "demo: done"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if out, err := runCmd(t, env, "check"); err != nil || !strings.Contains(out, "0 broken") {
		t.Fatalf("check after the demo: %v\n%s", err, out)
	}
}
