package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/ratelimit"
)

func TestBurstThenRefusal(t *testing.T) {
	r := testenv.NewRedis(t)
	// One request per hour after a burst of 3: the 4th is refused for about an hour, whatever
	// the speed of the machine running the test.
	l := ratelimit.Limiter{Client: r.Client, Prefix: r.Prefix, Rate: 1, Period: time.Hour, Burst: 3}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		ok, _, err := l.Allow(ctx, "org_a")
		if err != nil || !ok {
			t.Fatalf("request %d: allowed=%v err=%v, want allowed", i+1, ok, err)
		}
	}
	ok, retry, err := l.Allow(ctx, "org_a")
	if err != nil || ok {
		t.Fatalf("4th request: allowed=%v err=%v, want refused", ok, err)
	}
	if retry < 59*time.Minute || retry > time.Hour {
		t.Fatalf("retry after %v, want about an hour", retry)
	}
	if ok, _, _ := l.Allow(ctx, "org_b"); !ok {
		t.Fatal("another key shares the budget")
	}
}
