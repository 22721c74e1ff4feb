package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/internal/testenv"
)

// TestMixedLoadShort is the short version of `datavenue load` that CI runs: a real venue process,
// every kind of operation for a few seconds, no error, and every invariant holding after.
func TestMixedLoadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
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
		"DATAVENUE_LISTEN": addr, "DATAVENUE_KEY_DIR": keyDir, "DATAVENUE_RATE_PER_SECOND": "0", "DATAVENUE_LOG_LEVEL": "error"}
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
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		t.Fatal(err)
	}
	c := &demoClient{base: "http://" + addr, http: &http.Client{Timeout: 30 * time.Second}, out: &bytes.Buffer{},
		minter: auth.Minter{Keys: kr, Issuer: "urn:datavenue:dev", Audience: "datavenue", Clock: datavenue.SystemClock{}}}
	rep, err := runLoad(context.Background(), c, 8*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printLoad(&out, rep)
	t.Log("\n" + out.String())
	if rep.Errors != 0 {
		t.Fatalf("%d errors under load", rep.Errors)
	}
	for _, op := range []string{"search", "bid", "negotiate", "settle", "import"} {
		if s := rep.Ops[op]; s == nil || len(s.latencies) == 0 {
			t.Errorf("no successful %s under load", op)
		}
	}
	if out, err := runCmd(t, env, "check"); err != nil || !strings.Contains(out, "0 broken") {
		t.Fatalf("check after the load: %v\n%s", err, out)
	}
}
