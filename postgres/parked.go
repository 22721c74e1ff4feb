package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/matching"
)

// ParkEvent stores a stream entry the projection cannot apply, once per (stream, id): a projector
// that parked it and died before acknowledging it parks it again on the next pass, which changes
// nothing. Parking is audited (by the system).
func (db MatchingStore) ParkEvent(ctx context.Context, e matching.ParkedEntry) error {
	if _, ok := datavenue.CallerFrom(ctx); !ok {
		ctx = datavenue.WithCaller(ctx, audit.SystemCaller)
	}
	// The entry's raw stream fields are kept, not a decoded event: an entry may be parked precisely
	// because it does not decode, and a fixed venue must be able to decode it again on retry.
	fields, err := json.Marshal(e.Fields)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO projection_parked (stream, event_id, shard, fields, error, error_code)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream, event_id) DO NOTHING RETURNING id`,
			e.Stream, e.EventID, e.Shard, fields, e.Error, e.ErrorCode).Scan(&id)
		if err == pgx.ErrNoRows {
			return nil // parked before
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "projection.parked", "projection_entry", e.Stream+"/"+e.EventID,
			map[string]any{"parked_id": id, "error_code": e.ErrorCode, "error": e.Error})
	})
}

const parkedColumns = `id, stream, event_id, shard, fields, error, error_code, attempts, parked_at, retried_at, resolved_at`

// scanParked derives the status from resolved_at: an entry is never deleted, so the record of what
// was parked and when it was applied stays for the audit.
func scanParked(r pgx.Row) (matching.ParkedEntry, error) {
	var e matching.ParkedEntry
	err := r.Scan(&e.ID, &e.Stream, &e.EventID, &e.Shard, &e.Fields, &e.Error, &e.ErrorCode, &e.Attempts, &e.ParkedAt, &e.RetriedAt, &e.ResolvedAt)
	e.Status = "parked"
	if e.ResolvedAt != nil {
		e.Status = "applied"
	}
	return e, err
}

// ParkedEntries lists parked entries in the order they were parked, a page at a time; status
// "parked" (waiting), "applied" (a retry applied them) or "" (both).
func (db MatchingStore) ParkedEntries(ctx context.Context, status string, after int64, limit int) ([]matching.ParkedEntry, error) {
	// "($1 = 'parked') = (resolved_at IS NULL)" selects the waiting entries for "parked" and the
	// applied ones for "applied" in one predicate.
	rows, err := db.Pool.Query(ctx, `SELECT `+parkedColumns+` FROM projection_parked
		WHERE ($1 = '' OR ($1 = 'parked') = (resolved_at IS NULL)) AND id > $2 ORDER BY id LIMIT $3`, status, after, limit)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (matching.ParkedEntry, error) { return scanParked(r) })
	return list, interpretError(err)
}

var errParkedNotFound = datavenue.NotFound("parked_entry_not_found", "no parked projection entry has this id")

// ParkedEntry reads one parked entry.
func (db MatchingStore) ParkedEntry(ctx context.Context, id int64) (matching.ParkedEntry, error) {
	e, err := scanParked(db.Pool.QueryRow(ctx, `SELECT `+parkedColumns+` FROM projection_parked WHERE id = $1`, id))
	return e, interpretError(notFoundAs(err, errParkedNotFound))
}

// ParkedCounts is how many entries wait parked, by shard (shards with none are left out).
//
// Operators watch this per shard: a parked entry means an engine outcome (a bid, a close, a
// trade) that is not yet in PostgreSQL, and datavenue check fails while any waits.
func (db MatchingStore) ParkedCounts(ctx context.Context) (map[int]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT shard, count(*) FROM projection_parked WHERE resolved_at IS NULL GROUP BY shard`)
	if err != nil {
		return nil, interpretError(err)
	}
	out := map[int]int64{}
	var shard int
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&shard, &n}, func() error {
		out[shard] = n
		return nil
	})
	return out, interpretError(err)
}

// RetryParked applies a parked entry again, in one transaction with marking it applied, and
// audits the attempt. Retrying an entry already applied changes nothing and answers it as it is;
// an entry that still fails stays parked with the new error and one more attempt, and the error
// is returned.
func (db MatchingStore) RetryParked(ctx context.Context, id int64) (matching.ParkedEntry, error) {
	var cause error
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		cause = nil // inTx may run this again after a serialisation failure
		e, err := scanParked(tx.QueryRow(ctx, `SELECT `+parkedColumns+` FROM projection_parked WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFoundAs(err, errParkedNotFound)
		}
		if e.ResolvedAt != nil {
			return nil
		}
		// DecodeEvent takes map[string]any (the shape a Redis stream read gives); the stored fields are
		// strings.
		fields := make(map[string]any, len(e.Fields))
		for k, v := range e.Fields {
			fields[k] = v
		}
		// A savepoint: a failed apply is undone, and the attempt is still recorded below.
		if err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			event, err := matching.DecodeEvent(e.Stream, e.EventID, fields)
			if err != nil {
				return err
			}
			_, err = applyEvent(ctx, sp, event)
			return err
		}); err != nil {
			cause = interpretError(err)
			// A database outage is not the entry's fault: leave the record untouched and report unavailable.
			if datavenue.KindOf(cause) == datavenue.KindUnavailable {
				return cause // the database itself: nothing to record
			}
			if _, err := tx.Exec(ctx, `UPDATE projection_parked SET attempts = attempts + 1, retried_at = $2, error = $3, error_code = $4
				WHERE id = $1`, id, time.Now(), cause.Error(), datavenue.CodeOf(cause)); err != nil {
				return err
			}
			return appendAudit(ctx, tx, "projection.retry_failed", "projection_entry", e.Stream+"/"+e.EventID,
				map[string]any{"parked_id": id, "error_code": datavenue.CodeOf(cause)})
		}
		now := time.Now()
		if _, err := tx.Exec(ctx, `UPDATE projection_parked SET attempts = attempts + 1, retried_at = $2, resolved_at = $2 WHERE id = $1`,
			id, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "projection.retried", "projection_entry", e.Stream+"/"+e.EventID, map[string]any{"parked_id": id})
	})
	if err != nil {
		return matching.ParkedEntry{}, err
	}
	e, err := db.ParkedEntry(ctx, id)
	if err != nil {
		return e, err
	}
	if cause != nil {
		return e, datavenue.Conflict("parked_entry_still_fails", "the entry still cannot be applied: "+datavenue.AsError(cause).Message)
	}
	return e, nil
}
