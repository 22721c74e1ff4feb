package matching

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
)

func TestFailureClasses(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{datavenue.Unavailable("database_unavailable", "down", nil), failureTransient},
		{datavenue.Unavailable("database_timeout", "slow", nil), failureTransient},
		{datavenue.Conflict("concurrent_update", "retry"), failureTransient},
		{datavenue.Invalid("reference_not_found", "no auction"), failurePermanent},
		{datavenue.Invalid("event_undecodable", "bad price"), failurePermanent},
		{datavenue.NotFound("not_found", "no product"), failurePermanent},
		{datavenue.Conflict("duplicate", "unique"), failurePermanent},
		{errors.New("relation does not exist"), failureUnexpected},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}

func TestAssessProjection(t *testing.T) {
	lags := []ShardLag{{Shard: 0}, {Shard: 1, Entries: 3, Oldest: 45 * time.Second}, {Shard: 2, Entries: 1, Oldest: time.Second}}
	h := assessProjection(lags, map[int]int64{2: 4}, 30*time.Second)
	if h.Parked != 4 || len(h.Degraded) != 2 || !strings.Contains(h.Degraded[0], "shard 1: 3 entries behind") ||
		!strings.Contains(h.Degraded[1], "shard 2: 4 parked") {
		t.Fatalf("assessment: %+v", h)
	}
	if h := assessProjection(lags[:1], nil, 30*time.Second); len(h.Degraded) != 0 || len(h.Shards) != 1 {
		t.Fatalf("a projection that keeps up is degraded: %+v", h)
	}
}

func TestParkedBidsAreSealed(t *testing.T) {
	e := redactParked(ParkedEntry{Fields: map[string]string{"type": "bid", "auction": "auc_1", "amount": "100", "buyer": "org_1", "bid": "b"}})
	if e.Fields["amount"] != "(sealed)" || e.Fields["buyer"] != "(sealed)" || e.Fields["auction"] != "auc_1" {
		t.Fatalf("redacted: %v", e.Fields)
	}
	if n := redactParked(ParkedEntry{Fields: map[string]string{"type": "negotiation", "price": "100"}}); n.Fields["price"] != "100" {
		t.Fatalf("a negotiation entry redacted: %v", n.Fields)
	}
}
