package main

import (
	"strings"
	"testing"
)

// TestDemoWalksTheWholeTrade starts a real venue process on a fresh database, seeds it, runs
// `datavenue demo` against it over HTTP, and then `datavenue check` on what the demo left: the
// walk-through in the README passes, and leaves every invariant holding.
func TestDemoWalksTheWholeTrade(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo waits for two auctions to close (about a minute)")
	}
	v := newTestVenue(t, map[string]string{"DATAVENUE_RATE_PER_SECOND": "50", "DATAVENUE_PAYMENT_CALLBACK_SECRET": "demo-test-secret",
		"DATAVENUE_METERING_SECRET": "demo-metering-secret"})
	env := v.env
	out, err := runCmd(t, env, "demo", "--url", v.base)
	t.Log(out)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, want := range []string{"verified offline", "the price cap in force (数据局批复〔2026〕12号, 发改价格〔2025〕65号): 1000000.00 per one_off", "map[matched:3 missing:0 unmatched:1]", "(callback)", "refused: bid_too_low",
		"anti-sniping: the end moved", "no amount, no leader", "price 0.00, status paid (free_use), 0 shares, 0 obligations",
		"for public_welfare at 0.00", "usage batch: 3 accepted, 0 duplicate", "retried batch: 1 accepted, 3 duplicate",
		"13.5 per_call in 4 records", "demo: done"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if out, err := runCmd(t, env, "check"); err != nil || !strings.Contains(out, "0 broken") {
		t.Fatalf("check after the demo: %v\n%s", err, out)
	}
}
