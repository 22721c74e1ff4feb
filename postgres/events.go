package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// Deliver hands a consumer the events after its cursor, in id order, advancing the cursor after
// each one handled. The cursor row is locked for the run, so two venue processes never deliver to
// the same consumer at once; a failure keeps the cursor at the last success (at-least-once).
func (db CertificateStore) Deliver(ctx context.Context, consumer string, limit int, handle func(certificates.Event) error) (int, error) {
	// handle runs inside the transaction that holds the cursor lock. If inTx retries (serialisation
	// failure, deadlock) the batch is handled again, so consumers must be idempotent, which the
	// at-least-once contract already requires. delivered and handleErr are reset for that reason.
	delivered := 0
	var handleErr error
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		delivered, handleErr = 0, nil
		// The first delivery to a new consumer creates its cursor at 0 (every event from the start);
		// ON CONFLICT DO NOTHING makes that safe when two processes start a new consumer together.
		if _, err := tx.Exec(ctx, `INSERT INTO event_cursors (consumer) VALUES ($1) ON CONFLICT DO NOTHING`, consumer); err != nil {
			return err
		}
		var last int64
		// FOR UPDATE on the cursor row is the mutual exclusion between processes: the second one waits
		// here until the first commits, then reads the advanced cursor, so the same batch is not
		// handled twice concurrently.
		if err := tx.QueryRow(ctx, `SELECT last_id FROM event_cursors WHERE consumer = $1 FOR UPDATE`, consumer).Scan(&last); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, type, subject_id, asset_id, payload, created_at FROM events
			WHERE id > $1 ORDER BY id LIMIT $2`, last, limit)
		if err != nil {
			return err
		}
		events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Event, error) {
			var e certificates.Event
			err := r.Scan(&e.ID, &e.Type, &e.SubjectID, &e.AssetID, &e.Payload, &e.CreatedAt)
			return e, err
		})
		if err != nil {
			return err
		}
		for _, e := range events {
			if handleErr = handle(e); handleErr != nil {
				break
			}
			last = e.ID
			delivered++
		}
		// The cursor of the events handled before a failure is committed all the same.
		_, err = tx.Exec(ctx, `UPDATE event_cursors SET last_id = $2, updated_at = now() WHERE consumer = $1`, consumer, last)
		return err
	})
	if err != nil {
		return delivered, err
	}
	return delivered, handleErr
}

// ExpireDue records what expired before today (China Standard Time): certificates and
// authorisations change status, approvals are marked lapsed; each publishes its event. It is
// idempotent: a second run finds nothing left to do.
//
// Everything expires in one transaction so the three kinds cannot disagree about "today". today
// is the CST civil date of now; a row whose valid_until (a CST date, the last valid day) is before
// today has lapsed. Each expiry writes its outbox event and audit record beside the status change,
// so the suspender stops trading on the lapsed certificate, grant or approval (D9/G5, D10).
func (db CertificateStore) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	// The sweep runs in the background without a request caller; the audit records name the system.
	if _, ok := datavenue.CallerFrom(ctx); !ok {
		ctx = datavenue.WithCaller(ctx, audit.SystemCaller)
	}
	today := civil.Of(now).Time()
	total := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		total = 0
		type expired struct{ id, assetID, extra string }
		collect := func(sql string) ([]expired, error) {
			rows, err := tx.Query(ctx, sql, today)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) (expired, error) {
				var e expired
				err := r.Scan(&e.id, &e.assetID, &e.extra)
				return e, err
			})
		}
		// UPDATE ... RETURNING changes and lists the expired rows in one statement, and "status =
		// 'valid'" makes a second run (or a concurrent one, which waits on the row locks) find nothing.
		certs, err := collect(`UPDATE certificates SET status = 'expired' WHERE status = 'valid' AND valid_until < $1
			RETURNING id, asset_id, number`)
		if err != nil {
			return err
		}
		for _, c := range certs {
			if err := publish(ctx, tx, certificates.EventCertificateExpired, c.id, c.assetID, map[string]any{"number": c.extra}); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, "certificate.expired", "certificate", c.id, map[string]any{"number": c.extra}); err != nil {
				return err
			}
		}
		// Authorisations keep a versioned change history (authorisation_changes): the expiry bumps the
		// version and copies the row into it as an 'expired' change, like any other change to a grant.
		grants, err := collect(`UPDATE authorisations SET status = 'expired', version = version + 1
			WHERE status = 'active' AND valid_until < $1 RETURNING id, asset_id, operator_id`)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if _, err := tx.Exec(ctx, `INSERT INTO authorisation_changes (authorisation_id, version, change, product_types, valid_until,
				conditions, reason, changed_by_org, changed_by)
				SELECT id, version, 'expired', product_types, valid_until, conditions, 'validity ended', 'org_system', 'datavenue-sweep'
				FROM authorisations WHERE id = $1`, g.id); err != nil {
				return err
			}
			if err := publish(ctx, tx, certificates.EventAuthorisationExpired, g.id, g.assetID, map[string]any{"operator_id": g.extra}); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, "authorisation.expired", "authorisation", g.id, nil); err != nil {
				return err
			}
		}
		// Approvals keep their status (approved or recorded: that is history) and gain lapsed_at; the
		// IS NULL guard makes the lapse happen once.
		approvals, err := collect(`UPDATE approvals SET lapsed_at = now()
			WHERE status IN ('approved', 'recorded') AND valid_until < $1 AND lapsed_at IS NULL RETURNING id, asset_id, holder_id`)
		if err != nil {
			return err
		}
		for _, a := range approvals {
			if err := publish(ctx, tx, certificates.EventApprovalLapsed, a.id, a.assetID, map[string]any{"holder_id": a.extra}); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, "approval.lapsed", "approval", a.id, nil); err != nil {
				return err
			}
		}
		total = len(certs) + len(grants) + len(approvals)
		return nil
	})
	return total, err
}
