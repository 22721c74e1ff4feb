package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/internal/testenv"
)

// newTestVenue starts a real venue process (this test binary re-executed as `datavenue serve`) on
// a fresh, seeded database and the test Redis, without rate limits unless extra says otherwise;
// extra overrides or adds environment variables.
func newTestVenue(t *testing.T, extra map[string]string) *faultVenue {
	t.Helper()
	db, dbURL := testenv.NewDBWithURL(t)
	r := testenv.NewRedis(t)
	keyDir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{"DATAVENUE_DATABASE_URL": dbURL, "DATAVENUE_REDIS_URL": os.Getenv("DATAVENUE_TEST_REDIS_URL"),
		"DATAVENUE_LISTEN": addr, "DATAVENUE_KEY_DIR": keyDir, "DATAVENUE_RATE_PER_SECOND": "0", "DATAVENUE_LOG_LEVEL": "error"}
	for k, v := range extra {
		env[k] = v
	}
	if out, err := runCmd(t, env, "seed"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	v := &venueProcess{t: t, addr: addr, env: []string{"DATAVENUE_FAULT_SERVE=1"}}
	for k, val := range env {
		v.env = append(v.env, k+"="+val)
	}
	t.Cleanup(func() { // the venue's engine keys live under "dv:"
		keys, _ := r.Client.Keys(context.Background(), "dv:*").Result()
		if len(keys) > 0 {
			r.Client.Del(context.Background(), keys...)
		}
	})
	v.start()
	t.Cleanup(func() { _ = v.cmd.Process.Kill(); _ = v.cmd.Wait() })
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &faultVenue{venueProcess: v, db: db, env: env, keys: kr, base: "http://" + addr,
		mint:  auth.Minter{Keys: kr, Issuer: "urn:datavenue:dev", Audience: "datavenue", Clock: datavenue.SystemClock{}},
		http:  &http.Client{Timeout: 10 * time.Second},
		stats: &faultStats{}}
}
