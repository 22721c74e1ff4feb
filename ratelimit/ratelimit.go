// Package ratelimit limits how often one subject (an organisation) may call the venue, with the
// generic cell rate algorithm run as one Lua script in Redis: every venue process shares the same
// budget, and the decision and its write are one atomic step.
package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed gcra.lua
var gcraSource string

var gcra = redis.NewScript(gcraSource)

// Limiter allows Burst requests at once and Rate requests per Period on average, per key.
type Limiter struct {
	Client redis.Scripter
	Prefix string // key namespace, e.g. "rl:"; keys are Prefix + "{" + key + "}"
	Rate   int
	Period time.Duration
	Burst  int
}

// Allow spends one request of key's budget. When refused, retryAfter says when one is available.
func (l Limiter) Allow(ctx context.Context, key string) (allowed bool, retryAfter time.Duration, err error) {
	if l.Rate <= 0 || l.Burst <= 0 || l.Period <= 0 {
		return false, 0, fmt.Errorf("ratelimit: rate, burst and period must be positive")
	}
	interval := l.Period.Microseconds() / int64(l.Rate)
	res, err := gcra.Run(ctx, l.Client, []string{l.Prefix + "{" + key + "}"}, l.Burst, interval).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
