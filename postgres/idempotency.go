package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/idempotency"
)

// Claim claims an idempotency key (see idempotency.Store). One INSERT … ON CONFLICT decides the
// race between two requests with the same key: exactly one of them claims it.
//
// Stored per scope (the caller: token issuer, organisation and subject, so two callers cannot
// collide on a key) and key, with the request's keyed fingerprint (method, URL, body): the same
// key with a different request is a Mismatch (the client reused a key by mistake), the same
// request after completion is a Replay of the stored response, and one still running (within its
// lease) is InProgress. The lease bounds how long a crashed request blocks its key. A claim
// stored before fingerprints were keyed (request_hash_keyed false) is compared with the plain one.
func (db IdempotencyStore) Claim(ctx context.Context, scope, key string, fp idempotency.Fingerprint, lease time.Duration) (idempotency.Claim, error) {
	var claim idempotency.Claim
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// The key's row can go between the INSERT that found it and the read that locks it (the
		// Release of a request that failed, or the retention purge): the key is then free, and
		// the INSERT is tried again.
		for attempt := 1; ; attempt++ {
			tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, request_hash_keyed, state, locked_until)
				VALUES ($1, $2, $3, true, 'started', now() + make_interval(secs => $4)) ON CONFLICT DO NOTHING`,
				scope, key, fp.Keyed, lease.Seconds())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				claim.State = idempotency.Claimed
				return nil
			}
			var (
				stored  []byte
				keyed   bool
				state   string
				expired bool
				resp    idempotency.Response
				ctype   *string
				status  *int
			)
			// FOR UPDATE orders this claim with a concurrent Complete or a takeover of an expired lease on the
			// same key.
			err = tx.QueryRow(ctx, `SELECT request_hash, request_hash_keyed, state, coalesce(locked_until < now(), false), status, content_type, body, coalesce(location, '')
				FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE`, scope, key).
				Scan(&stored, &keyed, &state, &expired, &status, &ctype, &resp.Body, &resp.Location)
			if errors.Is(err, pgx.ErrNoRows) {
				if attempt < 3 {
					continue
				}
				// Gone three times over: other requests are racing for the key; this one retries.
				return datavenue.Conflict("idempotency_in_progress", "a request with this Idempotency-Key is still running; retry shortly")
			}
			if err != nil {
				return err
			}
			want := fp.Keyed
			if !keyed {
				want = fp.Unkeyed
			}
			switch {
			case !bytes.Equal(stored, want):
				claim.State = idempotency.Mismatch
			case state == "completed":
				resp.Status = *status
				if ctype != nil {
					resp.ContentType = *ctype
				}
				claim = idempotency.Claim{State: idempotency.Replay, Response: resp}
			case expired:
				// The process that claimed it died mid-request; the request's own transaction either
				// committed (and the domain's unique keys make a second run a no-op or a conflict) or
				// rolled back, so running it again is safe.
				_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3)
					WHERE scope = $1 AND key = $2`, scope, key, lease.Seconds())
				claim.State = idempotency.Claimed
			default:
				claim.State = idempotency.InProgress
			}
			return err
		}
	})
	return claim, err
}

// Complete stores the response for replay.
//
// "state = 'started'" keeps a completed response from being overwritten, e.g. by a request whose
// lease expired and was then run again by a retry that completed first.
func (db IdempotencyStore) Complete(ctx context.Context, scope, key string, resp idempotency.Response) error {
	_, err := db.Pool.Exec(ctx, `UPDATE idempotency_keys
		SET state = 'completed', status = $3, content_type = $4, body = $5, location = nullif($6, ''), completed_at = now(), locked_until = NULL
		WHERE scope = $1 AND key = $2 AND state = 'started'`,
		scope, key, resp.Status, resp.ContentType, resp.Body, resp.Location)
	return interpretError(err)
}

// Release forgets a claimed key whose request changed nothing.
//
// Only a started claim is deleted: the request failed before changing anything (a validation
// error, say), so the client may send the same key again with a corrected request.
func (db IdempotencyStore) Release(ctx context.Context, scope, key string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'started'`, scope, key)
	return interpretError(err)
}

// purgeBatch is how many keys one purge statement deletes: small enough that each transaction is
// short and holds few locks, so purging a backlog never stalls the requests claiming keys.
const purgeBatch = 5000

// Purge deletes the keys created more than retention ago (by the database's clock, so every
// venue process agrees), in batches, each batch with an audit record of how many it removed; it
// returns how many it deleted. A key still held by a request in flight is kept whatever its age.
// Several processes may purge at once: a row one deletes, the others skip.
func (db IdempotencyStore) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			var cutoff time.Time
			err := tx.QueryRow(ctx, `WITH gone AS (
				DELETE FROM idempotency_keys WHERE (scope, key) IN (
					SELECT scope, key FROM idempotency_keys
					WHERE created_at < now() - make_interval(secs => $1)
					  AND (state = 'completed' OR locked_until IS NULL OR locked_until < now())
					ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
				RETURNING 1)
				SELECT count(*), now() - make_interval(secs => $1) FROM gone`, retention.Seconds(), purgeBatch).Scan(&n, &cutoff)
			if err != nil || n == 0 {
				return err
			}
			return appendAudit(ctx, tx, "idempotency.keys_purged", "idempotency_keys", "",
				map[string]any{"deleted": n, "created_before": cutoff.UTC().Format(time.RFC3339)})
		})
		if err != nil {
			return total, interpretError(err)
		}
		if total += n; n < purgeBatch {
			return total, nil
		}
	}
}

var _ idempotency.Store = IdempotencyStore{}
