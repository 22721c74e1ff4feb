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

// runChecks is every invariant, the voucher chain's included (verified with the venue's keys).
func runChecks(ctx context.Context, db *postgres.DB, keyDir string) ([]postgres.Invariant, error) {
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		return nil, fmt.Errorf("check: the venue's keys verify the voucher chain: %w", err)
	}
	return db.CheckAll(ctx, kr)
}

// projectionBacklog is the one check that reads Redis: engine events that wait longer than the
// lag limit to reach PostgreSQL (a stuck shard: trades there do not become orders).
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
