package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/internal/testenv"
)

// TestMain lets a test start this very binary as `datavenue serve` (DATAVENUE_FAULT_SERVE=1), so
// a test can kill -9 a real venue process.
func TestMain(m *testing.M) {
	useTestKeys()
	if os.Getenv("DATAVENUE_FAULT_SERVE") == "1" {
		if err := run([]string{"serve"}, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type venueProcess struct {
	t    *testing.T
	env  []string
	addr string
	cmd  *exec.Cmd
}

func (v *venueProcess) start() {
	v.t.Helper()
	v.cmd = exec.Command(os.Args[0], "-test.run=^$")
	v.cmd.Env = append(os.Environ(), v.env...)
	if path := os.Getenv("DATAVENUE_TEST_VENUE_LOG"); path != "" { // the venues' logs, for a failure's reader
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			v.cmd.Stderr = f
			v.t.Cleanup(func() { f.Close() })
		}
	}
	if err := v.cmd.Start(); err != nil {
		v.t.Fatal(err)
	}
	// Wait until it serves: bounded, and not a stand-in for ordering two events of the test.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + v.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			v.t.Fatal("the venue did not start")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// newTestVenue starts a real venue process (this test binary re-executed as `datavenue serve`) on
// a fresh, seeded database and the test Redis, without rate limits unless extra says otherwise;
// extra overrides or adds environment variables.
func newTestVenue(t *testing.T, extra map[string]string) *faultVenue {
	t.Helper()
	db, dbURL := testenv.NewDBWithURL(t)
	keyDir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := venueRedisEnv(t) // the single test Redis or the cluster (see venueOnCluster)
	for k, v := range map[string]string{"DATAVENUE_DATABASE_URL": dbURL,
		"DATAVENUE_LISTEN": addr, "DATAVENUE_KEY_DIR": keyDir, "DATAVENUE_RATE_PER_SECOND": "0", "DATAVENUE_LOG_LEVEL": "error"} {
		env[k] = v
	}
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
	// The venue's engine keys live under venueKeys.Prefix in the test Redis: cleared before (an
	// earlier test of this run may have left auctions whose deadlines have passed since, which
	// this venue's closer would then close into a database that has never heard of them) and after.
	rdb := venueRedis(t, env)
	clearEngine := func() { clearVenueKeys(rdb) }
	clearEngine()
	t.Cleanup(clearEngine)
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
