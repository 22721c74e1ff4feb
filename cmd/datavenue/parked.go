package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/postgres"
)

// parkedCommand handles the engine events the projection parked (see README "Parked engine
// events"). It reads the database directly, so it shows entries whole (the API seals bids); a
// retry is audited as the venue's own command.
// A parked entry is an engine event (a bid, a close, a negotiation step) the projection could not
// apply to PostgreSQL and set aside so its shard keeps moving; until it is retried, PostgreSQL
// lacks that event. The usual cause is fixed first (a bug, a missing row), then the entry retried.
func parkedCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	usage := errors.New("usage: datavenue parked list [--all] | show ID | retry ID")
	if len(args) == 0 {
		return usage
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	// list pages through the entries by id, 500 at a time, so a long list never loads at once;
	// without --all only those still parked are shown, not those a retry has applied.
	case args[0] == "list" && len(args) <= 2:
		status := "parked"
		if len(args) == 2 {
			if args[1] != "--all" {
				return usage
			}
			status = ""
		}
		var after int64
		total := 0
		for {
			page, err := db.Matching().ParkedEntries(ctx, status, after, 500)
			if err != nil {
				return err
			}
			for _, e := range page {
				fmt.Fprintf(stdout, "%-6d %-8s %s/%s  %s %s  parked %s, %d attempt(s): %s\n", e.ID, e.Status, e.Stream, e.EventID,
					e.Fields["type"], e.Fields["auction"]+e.Fields["negotiation"], e.ParkedAt.Format("2006-01-02 15:04:05Z07:00"), e.Attempts, e.Error)
			}
			total += len(page)
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
		fmt.Fprintf(stdout, "parked: %d entries\n", total)
		return nil
	case (args[0] == "show" || args[0] == "retry") && len(args) == 2:
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("parked %s: %q is not an entry id (see datavenue parked list)", args[0], args[1])
		}
		if args[0] == "show" {
			e, err := db.Matching().ParkedEntry(ctx, id)
			if err != nil {
				return err
			}
			return printParked(stdout, e)
		}
		// A retry applies the entry and marks it applied in one transaction (idempotent: an applied
		// entry is answered as it is). It acts as the system caller, so the audit record says the venue's
		// own command did it; an entry that still fails stays parked with the new error, shown here.
		e, err := db.Matching().RetryParked(datavenue.WithCaller(ctx, audit.SystemCaller), id)
		if err != nil {
			if e.ID != 0 { // still parked: show the new error
				_ = printParked(stdout, e)
			}
			return fmt.Errorf("parked retry %d: %w", id, err)
		}
		return printParked(stdout, e)
	}
	return usage
}

// printParked prints an entry as JSON (its fields in key order).
func printParked(w io.Writer, e any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}
