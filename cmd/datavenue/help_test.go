package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Every command and subcommand answers -h and --help with its usage on standard output and a
// success, and touches nothing: every address the venue could dial (PostgreSQL, its standby,
// Redis, a Redis Cluster seed, the venue a demo or load would call) is a listener that counts
// connections, the key folder does not exist and must not appear, and the output file of
// `openapi -o` must not be written. `serve --help` used to start a venue, `cert verify --help` to
// fail; run is bounded so that a command that serves instead of printing fails the test.
func TestEveryCommandPrintsItsHelp(t *testing.T) {
	trap, dialled := connectionTrap(t)
	keyDir := filepath.Join(t.TempDir(), "keys")
	for k, v := range map[string]string{
		"DATAVENUE_DATABASE_URL":      "postgres://datavenue@" + trap + "/datavenue?sslmode=disable&connect_timeout=1",
		"DATAVENUE_DATABASE_READ_URL": "postgres://datavenue@" + trap + "/datavenue?sslmode=disable&connect_timeout=1",
		"DATAVENUE_REDIS_URL":         "redis://" + trap + "/0",
		"DATAVENUE_LISTEN":            trap,
		"DATAVENUE_KEY_DIR":           keyDir,
	} {
		t.Setenv(k, v)
	}
	out := filepath.Join(t.TempDir(), "openapi.json")
	commands := [][]string{
		{"serve"}, {"migrate"}, {"seed"}, {"token"}, {"token", "--role", "buyer"}, {"keys"}, {"keys", "rotate"}, {"keys", "list"},
		{"cert"}, {"cert", "verify"}, {"cert", "verify", "some.jws"}, {"demo"}, {"load"}, {"load", "--duration", "1s"}, {"check"},
		{"calendar"}, {"calendar", "show"}, {"calendar", "check"}, {"org"}, {"org", "roles"}, {"org", "roles", "org_01JDEM00000000000000000006"},
		{"parked"}, {"parked", "list"}, {"parked", "show", "1"}, {"parked", "retry", "1"}, {"sweep"},
		{"voucher"}, {"voucher", "verify"}, {"voucher", "verify-chain"}, {"metering-secret"}, {"metering-secret", "org_x"}, {"openapi"}, {"openapi", "-o", out}, {"version"},
	}
	covered := map[string]bool{}
	for _, cmd := range commands {
		covered[cmd[0]] = true
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), flag)
			stdout, err := runBounded(t, args)
			if err != nil {
				t.Errorf("datavenue %s: %v, want its usage and success", strings.Join(args, " "), err)
				continue
			}
			if want := "datavenue " + cmd[0]; !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, want) {
				t.Errorf("datavenue %s printed %q, want its usage (naming %q)", strings.Join(args, " "), stdout, want)
			}
		}
	}
	for _, line := range strings.Split(usage, "\n") {
		if rest, ok := strings.CutPrefix(line, "  datavenue "); ok {
			if name, _, _ := strings.Cut(rest, " "); !covered[name] {
				t.Errorf("the usage lists %q, which this test does not ask for its help", name)
			}
		}
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("--help made %d connections, want none", n)
	}
	for _, path := range []string{keyDir, out} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("--help made %s (stat: %v), want nothing written", path, err)
		}
	}
	if _, err := runBounded(t, []string{"frobnicate", "--help"}); err == nil {
		t.Error("datavenue frobnicate --help succeeded, want the unknown command refused")
	}
}

// runBounded runs a command in this process, failing the test if it has not returned within 10 s
// (a command that serves or waits instead of printing its help).
func runBounded(t *testing.T, args []string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(args, &out, &errOut) }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(10 * time.Second):
		t.Fatalf("datavenue %s did not return within 10 s", strings.Join(args, " "))
		return "", nil
	}
}

// connectionTrap is a local address that accepts and counts connections (and closes them).
func connectionTrap(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), &n
}
