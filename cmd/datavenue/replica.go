package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/postgres"
)

// readReplica is the catalogue's hot standby (DATAVENUE_DATABASE_READ_URL), or nothing when none
// The standby serves anonymous catalogue reads only (search, product pages, DCAT export): they
// tolerate data a few seconds old, bounded by DATAVENUE_READ_MAX_LAG. Everything a signed-in
// caller reads, and every write, stays on the primary, so nobody reads their own change stale.
// is configured: then every catalogue read goes to the primary as before.
type readReplica struct {
	db     *postgres.DB
	router *postgres.ReadRouter
}

// openReadReplica makes the standby's pool. It does not connect: a standby that is down when the
// venue starts only sends catalogue reads to the primary until it answers.
func openReadReplica(ctx context.Context, cfg config.Config, primary *postgres.DB, logger *slog.Logger) (*readReplica, error) {
	if cfg.DatabaseReadURL == "" {
		return &readReplica{}, nil
	}
	db, err := postgres.Open(ctx, cfg.DatabaseReadURL)
	if err != nil {
		return nil, fmt.Errorf("DATAVENUE_DATABASE_READ_URL: %w", err)
	}
	// The router, not this wrapper, decides per read: the standby while its measured lag is within
	// ReadMaxLag and it answers, the primary otherwise (postgres/replica.go).
	return &readReplica{db: db, router: postgres.NewReadRouter(primary, db, cfg.ReadMaxLag, logger)}, nil
}

// catalogue is what anonymous catalogue requests read (nil: the listing service, on the primary).
func (r *readReplica) catalogue() api.CatalogueReader {
	if r.router == nil {
		return nil
	}
	return listing.Catalogue{Store: r.router}
}

// status reports on the standby for /readyz and the metrics (nil: no standby).
func (r *readReplica) status() api.ReadReplica {
	if r.router == nil {
		return nil
	}
	return r.router
}

// run measures the standby's lag in the background until ctx ends.
func (r *readReplica) run(ctx context.Context) {
	if r.router != nil {
		go r.router.Run(ctx)
	}
}

// close releases the standby's pool; the primary's is closed by its owner (newServer).
func (r *readReplica) close() {
	if r.db != nil {
		r.db.Close()
	}
}
