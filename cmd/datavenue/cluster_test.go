package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/matching"
)

// The served-venue tests run their venues on the single test Redis, or, with
// DATAVENUE_TEST_VENUE_REDIS=cluster (make test-cluster), all of them on the test Redis Cluster.
// make test runs a representative part on the cluster as well (TestServedVenueOnRedisCluster)
// and the scale-out test, which always uses the cluster.
func venueOnCluster() bool { return os.Getenv("DATAVENUE_TEST_VENUE_REDIS") == "cluster" }

// venueRedisEnv is the Redis settings of a test's venue: the cluster's seeds when the venue runs
// on the cluster (its DATAVENUE_REDIS_URL is then unused), the single test Redis otherwise.
func venueRedisEnv(t testing.TB) map[string]string {
	t.Helper()
	env := map[string]string{"DATAVENUE_REDIS_URL": os.Getenv("DATAVENUE_TEST_REDIS_URL"), "DATAVENUE_REDIS_CLUSTER": ""}
	if venueOnCluster() {
		env["DATAVENUE_REDIS_CLUSTER"] = clusterSeeds(t)
	}
	return env
}

func clusterSeeds(t testing.TB) string {
	t.Helper()
	seeds := os.Getenv("DATAVENUE_TEST_REDIS_CLUSTER")
	if seeds == "" {
		t.Fatal("DATAVENUE_TEST_REDIS_CLUSTER is not set: run the tests with `make test`, which starts the Redis Cluster")
	}
	return seeds
}

// venueRedis connects the test to the Redis its venue uses (env holds the venue's settings), with
// the same code the venue connects with.
func venueRedis(t testing.TB, env map[string]string) redis.UniversalClient {
	t.Helper()
	rdb, err := openRedis(config.Config{RedisURL: env["DATAVENUE_REDIS_URL"], RedisCluster: env["DATAVENUE_REDIS_CLUSTER"]})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("the venue's Redis: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// clearVenueKeys deletes every key of this test run's venues (venueKeys.Prefix), on every master
// of a cluster.
func clearVenueKeys(rdb redis.UniversalClient) {
	ctx := context.Background()
	clear := func(ctx context.Context, node *redis.Client) error {
		iter := node.Scan(ctx, 0, venueKeys.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			node.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		_ = c.ForEachMaster(ctx, clear)
	case *redis.Client:
		_ = clear(ctx, c)
	}
}

// useTestKeys gives this test run's venues a Redis key prefix of their own, so two runs at once
// (two checkouts, or make test beside a developer's go test) never clear or close each other's
// auctions; the venue processes a test starts inherit it through the environment, and with it
// the shortened background intervals a test asks for.
func useTestKeys() {
	prefix := os.Getenv("DATAVENUE_TEST_KEY_PREFIX")
	if prefix == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		prefix = "dvt" + hex.EncodeToString(b) + ":"
		os.Setenv("DATAVENUE_TEST_KEY_PREFIX", prefix)
	}
	venueKeys = matching.Keys{Prefix: prefix}
	if d, err := time.ParseDuration(os.Getenv("DATAVENUE_TEST_SWEEP_EVERY")); err == nil && d > 0 {
		sweepEvery, expiryEvery = d, d
	}
}

// TestServedVenueOnRedisCluster runs a representative part of the served-venue tests with their
// venues on the Redis Cluster: every route of the wired venue, acknowledged bids across a kill -9,
// and parked projection entries (raw stream writes into every shard). The mixed load runs on the
// cluster in the scale-out test; make test-cluster runs every served-venue test there.
func TestServedVenueOnRedisCluster(t *testing.T) {
	if venueOnCluster() {
		t.Skip("this run puts every served-venue test on the cluster")
	}
	t.Setenv("DATAVENUE_TEST_VENUE_REDIS", "cluster")
	t.Run("EveryRoute", TestEveryRouteOfTheWiredVenueAnswersWithoutA500)
	t.Run("Kill9", TestAcknowledgedBidsSurviveKill9OfTheVenue)
	t.Run("Parked", TestUnappliableEntriesAreParkedAndTradingGoesOn)
}

// TestRedisClusterSetting: DATAVENUE_REDIS_CLUSTER takes seeds or go-redis's cluster URL, and
// refuses anything else before the venue starts.
func TestRedisClusterSetting(t *testing.T) {
	for _, tc := range []struct {
		value string
		addrs []string
		ok    bool
	}{
		{"10.0.0.1:6379,10.0.0.2:6379", []string{"10.0.0.1:6379", "10.0.0.2:6379"}, true},
		{" redis-0:7000 , redis-1:7000", []string{"redis-0:7000", "redis-1:7000"}, true},
		{"redis://u:secret@10.0.0.1:6379?addr=10.0.0.2:6379", []string{"10.0.0.1:6379", "10.0.0.2:6379"}, true},
		{"10.0.0.1", nil, false},
		{"10.0.0.1:6379,:6379", nil, false},
		{"10.0.0.1:http", nil, false},
	} {
		cfg, err := config.Load(func(k string) (string, bool) {
			return map[string]string{"DATAVENUE_REDIS_CLUSTER": tc.value}[k], k == "DATAVENUE_REDIS_CLUSTER"
		})
		if (err == nil) != tc.ok {
			t.Errorf("%q: config error %v, want ok=%v", tc.value, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		opts, err := clusterOptions(cfg.RedisCluster)
		if err != nil || len(opts.Addrs) != len(tc.addrs) {
			t.Errorf("%q: %+v %v, want %v", tc.value, opts, err, tc.addrs)
			continue
		}
		for i := range tc.addrs {
			if opts.Addrs[i] != tc.addrs[i] {
				t.Errorf("%q: seeds %v, want %v", tc.value, opts.Addrs, tc.addrs)
			}
		}
	}
}
