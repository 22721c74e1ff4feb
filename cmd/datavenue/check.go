package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/postgres"
)

// errInvariantsBroken makes `datavenue check` exit non-zero when a rule is broken.
var errInvariantsBroken = errors.New("check: invariants broken (see above)")

// check verifies the invariants of a live database (see postgres.CheckInvariants) and the voucher
// chain with the venue's keys.
// check is meant for operations and for the end of every process-level test: it reads only, so it
// can run against a live venue, and it exits 1 when anything is broken so a cron job or CI notices.
func check(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// A connection error is returned as such (exit 1 with the reason), not as a broken invariant:
	// "could not look" and "looked and found a violation" must not read alike.
	results, err := runChecks(ctx, db, cfg.KeyDir)
	if err != nil {
		return err
	}
	results = append(results, projectionBacklog(ctx, cfg))
	broken := 0
	for _, r := range results {
		if !r.OK() {
			broken++
		}
	}
	// The JSON form is for monitoring: one object with an overall ok and every invariant with its
	// rule, how many rows it checked and the violating ones, whatever the outcome.
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"ok": broken == 0, "invariants": results}); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Fprintln(stdout, r)
		}
		fmt.Fprintf(stdout, "check: %d invariants, %d broken\n", len(results), broken)
	}
	if broken > 0 {
		return errInvariantsBroken
	}
	return nil
}

// runChecks is every invariant, the voucher chain's included (postgres.DB.CheckAll, which the
// console's integrity page shows too): the database's invariant queries (the ledger balances,
// shares sum to the price, every closed auction has one outcome and every trade one order, …)
// and the voucher chain, every signature verified with the venue's keys and every entry's hash
// over the one before, so an edited, removed or reordered voucher is found. The keys are loaded
// without creating one: a check must never change the key folder.
func runChecks(ctx context.Context, db *postgres.DB, keyDir string) ([]postgres.Invariant, error) {
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		return nil, fmt.Errorf("check: the venue's keys verify the voucher chain: %w", err)
	}
	return db.CheckAll(ctx, kr)
}

// projectionBacklog is the one check that reads Redis: engine events that wait longer than the
// lag limit to reach PostgreSQL (a stuck shard: trades there do not become orders).
// projectionBacklog uses the same lag limit as /readyz (DATAVENUE_PROJECTION_LAG_LIMIT), so check
// and the readiness probe agree on what "stuck" means. An unreachable Redis counts as a violation:
// a backlog that cannot be read cannot be said to be empty.
func projectionBacklog(ctx context.Context, cfg config.Config) postgres.Invariant {
	inv := postgres.Invariant{Name: "projection_keeps_up", Checked: matching.Shards,
		Rule: fmt.Sprintf("no engine event waits longer than %s to reach PostgreSQL", cfg.ProjectionLagLimit)}
	rdb, err := openRedis(cfg)
	if err != nil {
		inv.Violating = []string{err.Error()}
		return inv
	}
	defer rdb.Close()
	lags, err := matching.Lag(ctx, rdb, venueKeys, "", time.Now())
	if err != nil {
		inv.Violating = []string{"Redis unreadable: " + err.Error()}
		return inv
	}
	for _, l := range lags {
		if l.Entries > 0 && l.Oldest > cfg.ProjectionLagLimit {
			inv.Violating = append(inv.Violating, fmt.Sprintf("shard %d: %d events, the oldest %s old", l.Shard, l.Entries, l.Oldest.Round(time.Second)))
		}
	}
	return inv
}
