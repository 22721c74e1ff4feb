// Package testenv gives tests real PostgreSQL and Redis, isolated per test. The README's test
// command (make test) starts both and sets DATAVENUE_TEST_DATABASE_URL and
// DATAVENUE_TEST_REDIS_URL; without them a test fails loudly instead of skipping, so CI can never
// pass by testing nothing.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue/postgres"
)

// mustEnv fails the test (never skips it) when a service's URL is missing: the package doc's
// "fail loudly" rule in one place.
func mustEnv(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Fatalf("%s is not set: run the tests with `make test`, which starts PostgreSQL and Redis", name)
	}
	return v
}

// The template is built once per test binary (templateOnce) and shared by every test in it; the
// advisory lock in template extends that to every test binary running at the same moment.
var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// withDatabase returns url with its database name replaced.
//
// It edits the URL text rather than rebuilding it from the parsed config so that every other
// parameter (sslmode, credentials, options) is kept as written. It expects a query string after
// the database name ("/name?..."): the test command's URLs always carry one.
func withDatabase(url, name string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return url
	}
	return strings.Replace(url, "/"+cfg.Database+"?", "/"+name+"?", 1)
}

// template migrates a template database once per migration set. Test processes of different
// packages run at the same time, so an advisory lock makes one of them build it.
func template(ctx context.Context, admin *pgx.Conn, url string) (string, error) {
	templateOnce.Do(func() {
		name := "dv_tpl_" + postgres.MigrationsFingerprint()
		templateName = name
		templateErr = func() error {
			if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(hashtext('datavenue test template'))`); err != nil {
				return err
			}
			defer admin.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('datavenue test template'))`)
			var exists bool
			// A template of this migration set already exists: another process built it first.
			if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
				return err
			}
			// Templates of other migration sets are left alone: another checkout (a branch, a
			// worktree) may be testing with one right now. They are a few MB each.
			// The template is built under a temporary name and renamed only once fully migrated, so a test
			// binary that crashed mid-build leaves a "_build" database (dropped by the next builder) and never
			// a half-migrated template that later tests would copy.
			building := name + "_build"
			if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+building); err != nil {
				return err
			}
			if _, err := admin.Exec(ctx, `CREATE DATABASE `+building); err != nil {
				return err
			}
			db, err := postgres.Open(ctx, withDatabase(url, building))
			if err != nil {
				return err
			}
			_, err = db.Migrate(ctx)
			db.Close()
			if err != nil {
				return fmt.Errorf("migrate template: %w", err)
			}
			_, err = admin.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+name)
			return err
		}()
	})
	return templateName, templateErr
}

// NewDB returns a fresh, fully migrated database of its own for one test, dropped when the test
// ends. Copying a template takes milliseconds, so every test gets its own.
func NewDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	db, _ := NewDBWithURL(tb)
	return db
}

// NewDBWithURL is NewDB that also returns the database's URL, for code under test that opens its
// own connections (the datavenue commands).
func NewDBWithURL(tb testing.TB) (*postgres.DB, string) {
	tb.Helper()
	url := mustEnv(tb, "DATAVENUE_TEST_DATABASE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	tpl, err := template(ctx, admin, url)
	if err != nil {
		tb.Fatalf("test template database: %v", err)
	}
	// CREATE DATABASE ... TEMPLATE copies the migrated database, far faster than migrating
	// again, which is what makes a database per test affordable. A random name lets test binaries of
	// several packages, and several checkouts, share one server.
	name := "dv_t_" + randomHex(6)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tpl); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	dbURL := withDatabase(url, name)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	// A fresh admin connection: the one above is closed when NewDBWithURL returns. WITH (FORCE) ends
	// any connection the test leaked, so a test that forgot to close something still cleans up.
	tb.Cleanup(func() {
		db.Close()
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	return db, dbURL
}

// Redis is a Redis client for one test plus the key prefix that test owns; keys under the prefix
// are deleted when the test ends. Key prefixes rather than database numbers isolate tests, since
// Redis Cluster has only database 0.
type Redis struct {
	Client *redis.Client
	Prefix string
}

// NewRedis connects to the test Redis and reserves a key prefix for the test.
func NewRedis(tb testing.TB) Redis {
	tb.Helper()
	opts, err := redis.ParseURL(mustEnv(tb, "DATAVENUE_TEST_REDIS_URL"))
	if err != nil {
		tb.Fatalf("DATAVENUE_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("connect to test Redis: %v", err)
	}
	r := Redis{Client: client, Prefix: "t" + randomHex(6) + ":"}
	tb.Cleanup(func() {
		// SCAN in batches rather than KEYS, which blocks the shared server while it walks every key.
		iter := client.Scan(ctx, 0, r.Prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		client.Close()
	})
	return r
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Cluster is a Redis Cluster client for one test and the key prefix the test owns.
type Cluster struct {
	Client *redis.ClusterClient
	Prefix string
}

// NewRedisCluster connects to the test command's local 3-master Redis Cluster
// (DATAVENUE_TEST_REDIS_CLUSTER) and reserves a key prefix; the prefix's keys are deleted on
// every master when the test ends.
func NewRedisCluster(tb testing.TB) Cluster {
	tb.Helper()
	addrs := strings.Split(mustEnv(tb, "DATAVENUE_TEST_REDIS_CLUSTER"), ",")
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("connect to the test Redis Cluster: %v", err)
	}
	c := Cluster{Client: client, Prefix: "t" + randomHex(6) + ":"}
	tb.Cleanup(func() {
		// In a cluster each master holds only its own slots' keys, so the prefix is scanned on every master.
		_ = client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			iter := node.Scan(ctx, 0, c.Prefix+"*", 500).Iterator()
			for iter.Next(ctx) {
				node.Del(ctx, iter.Val())
			}
			return nil
		})
		client.Close()
	})
	return c
}
