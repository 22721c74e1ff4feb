package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue/internal/venueclient"
)

// TestMixedLoadShort is the short version of `datavenue load` that CI runs: a real venue process,
// every kind of operation for a few seconds, no error, and every invariant holding after.
func TestMixedLoadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	v := newTestVenue(t, nil)
	env := v.env
	c := &venueclient.Client{Base: v.base, HTTP: &http.Client{Timeout: 30 * time.Second}, Out: &bytes.Buffer{}, Minter: v.mint}
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
