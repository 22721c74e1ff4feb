package main

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/ratelimit"
)

// openRedis connects to the venue's Redis: the Redis Cluster of DATAVENUE_REDIS_CLUSTER when it is
// set, the single Redis of DATAVENUE_REDIS_URL otherwise. Nothing in the venue needs to know
// which: every user takes the small interface of the calls it makes (below), which both clients
// satisfy, and every key the venue writes carries a {hash tag}, so each script and each command
// touches one slot. The client is not asked to connect here: a Redis that is down at start-up is
// reported by /readyz and retried, as when it goes down later.
func openRedis(cfg config.Config) (redis.UniversalClient, error) {
	if cfg.RedisCluster == "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("DATAVENUE_REDIS_URL: %w", err)
		}
		// A command's context deadline bounds its socket reads and writes too: by default
		// go-redis reads with context.Background() and a stalled connection holds a caller (the
		// projector's pass, a request) past its deadline.
		opts.ContextTimeoutEnabled = true
		return redis.NewClient(opts), nil
	}
	opts, err := clusterOptions(cfg.RedisCluster)
	if err != nil {
		return nil, fmt.Errorf("DATAVENUE_REDIS_CLUSTER: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	return redis.NewClusterClient(opts), nil
}

// clusterOptions reads DATAVENUE_REDIS_CLUSTER: seeds "host:port,host:port", or go-redis's cluster
// URL (redis[s]://[user:password@]host:port?addr=host:port&…), which also carries a password,
// TLS and timeouts. The seeds only need to include one reachable master: the client learns the
// others, and the slots, from it (and again when they move).
// Bare seeds get go-redis's defaults for everything else (no password, no TLS): a cluster that
// needs either is given as a URL instead. The seeds were checked for form by config.Load.
func clusterOptions(v string) (*redis.ClusterOptions, error) {
	if strings.Contains(v, "://") {
		return redis.ParseClusterURL(v)
	}
	var addrs []string
	for _, seed := range strings.Split(v, ",") {
		if seed = strings.TrimSpace(seed); seed != "" {
			addrs = append(addrs, seed)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no seed address")
	}
	return &redis.ClusterOptions{Addrs: addrs}, nil
}

// Key layout ({hash tag} per auction or shard) is what keeps the scripts' multi-key calls inside
// one slot; the checks here only cover the Go side, the cluster tests cover the keys.
// Both kinds of client serve every part of the venue that speaks to Redis; these fail to compile
// if one of those interfaces grows a call a cluster client lacks.
var (
	_ matching.Redis        = redis.UniversalClient(nil)
	_ matching.StreamRedis  = redis.UniversalClient(nil)
	_ matching.StreamReader = redis.UniversalClient(nil)
	_ matching.LagRedis     = redis.UniversalClient(nil)
	_ redis.Scripter        = redis.UniversalClient(nil) // ratelimit.Limiter.Client
	_                       = ratelimit.Limiter{Client: redis.UniversalClient(nil)}
)
