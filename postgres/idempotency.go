package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/idempotency"
)

// Claim claims an idempotency key (see idempotency.Store). One INSERT … ON CONFLICT decides the
// race between two requests with the same key: exactly one of them claims it.
//
// Stored per scope (the caller: token issuer, organisation and subject, so two callers cannot
// collide on a key) and key, with a fingerprint of the request (method, URL, body): the same key with a different request is a Mismatch (the client reused a key by
// mistake), the same request after completion is a Replay of the stored response, and one
// still running (within its lease) is InProgress. The lease bounds how long a crashed request
// blocks its key.
func (db IdempotencyStore) Claim(ctx context.Context, scope, key string, hash []byte, lease time.Duration) (idempotency.Claim, error) {
	var claim idempotency.Claim
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, state, locked_until)
			VALUES ($1, $2, $3, 'started', now() + make_interval(secs => $4)) ON CONFLICT DO NOTHING`,
			scope, key, hash, lease.Seconds())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			claim.State = idempotency.Claimed
			return nil
		}
		var (
			stored  []byte
			state   string
			expired bool
			resp    idempotency.Response
			ctype   *string
			status  *int
		)
		// FOR UPDATE orders this claim with a concurrent Complete or a takeover of an expired lease on the
		// same key.
		err = tx.QueryRow(ctx, `SELECT request_hash, state, coalesce(locked_until < now(), false), status, content_type, body, coalesce(location, '')
			FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE`, scope, key).
			Scan(&stored, &state, &expired, &status, &ctype, &resp.Body, &resp.Location)
		if err != nil {
			return err
		}
		switch {
		case !bytes.Equal(stored, hash):
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

var _ idempotency.Store = IdempotencyStore{}
