package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// certificateSelect reads a certificate version with the names a reader needs joined in: the
// holder's and issuer's names, and the asset's name from the asset version the certificate was
// issued on (asset_versions), not the asset's current name, because a certificate attests the
// asset as it was when reviewed (D5). Optional text columns are coalesced to empty strings so they scan
// into plain strings.
const certificateSelect = `SELECT c.id, c.number, c.version, c.kind, c.amendment, coalesce(c.amendment_reason, ''),
	coalesce(c.application_id, ''), c.asset_id, c.asset_version, v.snapshot->>'name', c.holder_id, h.name,
	c.scope_scenarios, c.scope_product_types, c.issuer_org, i.name, c.issued_by, coalesce(c.concurring_org, ''),
	c.issued_at, c.valid_from, c.valid_until, c.status, coalesce(c.superseded_by, ''), c.cancelled_at,
	coalesce(c.cancellation_reason, ''), c.kid, c.document
	FROM certificates c
	JOIN organisations h ON h.id = c.holder_id
	JOIN organisations i ON i.id = c.issuer_org
	JOIN asset_versions v ON v.asset_id = c.asset_id AND v.version = c.asset_version `

// scanCertificate reads one certificateSelect row. Validity dates are stored as DATE and read as
// CST civil dates (civil.FromTime). Status starts as the stored status; the certificates package
// derives "expired" for the day of the read, since nothing updates a row when valid_until passes.
func scanCertificate(row pgx.Row) (certificates.Certificate, error) {
	var c certificates.Certificate
	var from, until time.Time
	err := row.Scan(&c.ID, &c.Number, &c.Version, &c.Kind, &c.Amendment, &c.AmendmentReason, &c.ApplicationID,
		&c.AssetID, &c.AssetVersion, &c.AssetName, &c.HolderID, &c.HolderName, &c.Scope.Scenarios, &c.Scope.ProductTypes,
		&c.IssuerOrg, &c.IssuerName, &c.IssuedBy, &c.ConcurringOrg, &c.IssuedAt, &from, &until, &c.StoredStatus,
		&c.SupersededBy, &c.CancelledAt, &c.CancellationReason, &c.KID, &c.Document)
	c.ValidFrom, c.ValidUntil, c.Status = civil.FromTime(from), civil.FromTime(until), c.StoredStatus
	return c, err
}

var errCertNotFound = datavenue.NotFound("certificate_not_found", "no certificate has this id")

// publish writes an event to the outbox in the caller's transaction.
//
// The outbox (table events) is how certificate, authorisation and approval changes reach their
// consumers (the listing suspender, the matching stopper): the event commits or rolls back with the change it
// describes, and a relay delivers it afterwards (events.go), so no listener acts on a change that
// did not happen.
func publish(ctx context.Context, tx pgx.Tx, typ, subjectID, assetID string, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	// Consumers read the outbox by a cursor on the id (Deliver: id > last). Ids come from a
	// sequence when the row is inserted, not when its transaction commits, so without more a
	// transaction holding id 5 could commit after another's id 6 had been delivered, and event 5
	// (a certificate cancelled, an authorisation revoked) would never reach the suspender. The
	// transaction-scoped lock makes publishers take their ids one transaction at a time, in
	// commit order: the lock is released only after the commit is visible. Certificate events
	// are rare administrative changes, so the wait it can add is small.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('datavenue certificate events'))`); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO events (type, subject_id, asset_id, payload) VALUES ($1, $2, $3, $4)`,
		typ, subjectID, assetID, raw)
	return err
}

// Certificate returns one certificate version.
func (db CertificateStore) Certificate(ctx context.Context, id string) (certificates.Certificate, error) {
	return certificateFrom(ctx, db.Pool, id)
}

// certificateFrom is Certificate read through q: the pool, or the transaction that has just written it (readBack).
func certificateFrom(ctx context.Context, q querier, id string) (certificates.Certificate, error) {
	c, err := scanCertificate(q.QueryRow(ctx, certificateSelect+`WHERE c.id = $1`, id))
	return c, interpretError(notFoundAs(err, errCertNotFound))
}

// CertificateVersion returns one version of a number (0: the latest) and the latest version.
// The two reads are not in one transaction: a version issued in between can make latest lag by
// one, which a reader sees as "a newer version exists" on the next request, never as a wrong
// certificate.
func (db CertificateStore) CertificateVersion(ctx context.Context, number string, version int) (certificates.Certificate, int, error) {
	var latest int
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM certificates WHERE number = $1`, number).Scan(&latest)
	if err != nil {
		return certificates.Certificate{}, 0, interpretError(err)
	}
	if version == 0 {
		version = latest
	}
	c, err := scanCertificate(db.Pool.QueryRow(ctx, certificateSelect+`WHERE c.number = $1 AND c.version = $2`, number, version))
	return c, latest, interpretError(notFoundAs(err, datavenue.NotFound("certificate_not_found", "no certificate has this number and version")))
}

// Certificates lists certificate versions, newest first.
func (db CertificateStore) Certificates(ctx context.Context, f certificates.CertificateFilter) ([]certificates.Certificate, error) {
	rows, err := db.Pool.Query(ctx, certificateSelect+`
		WHERE ($1 = '' OR c.holder_id = $1) AND ($2 = '' OR c.asset_id = $2) AND ($3 = '' OR c.number = $3)
			AND ($5 = '' OR c.id < $5)
		ORDER BY c.id DESC LIMIT $4`, string(f.Holder), string(f.AssetID), f.Number, clampLimit(f.Limit), f.After) // ids are issue-time ordered
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Certificate, error) { return scanCertificate(r) })
	return list, interpretError(err)
}

// insertCertificate writes a new version as valid. Empty optional fields become NULL (nullif), so
// the foreign keys on application_id and concurring_org are not asked to find an empty id. The partial
// unique index certificates_one_valid_version (one valid row per number) is the last guard against
// two valid versions of one number; the callers supersede the old version first.
func insertCertificate(ctx context.Context, tx pgx.Tx, c certificates.Certificate) error {
	_, err := tx.Exec(ctx, `INSERT INTO certificates (id, number, version, kind, amendment, amendment_reason, application_id,
		asset_id, asset_version, holder_id, scope_scenarios, scope_product_types, issuer_org, issued_by, concurring_org,
		issued_at, valid_from, valid_until, status, kid, document)
		VALUES ($1,$2,$3,$4,$5,nullif($6,''),nullif($7,''),$8,$9,$10,$11,$12,$13,$14,nullif($15,''),$16,$17,$18,'valid',$19,$20)`,
		c.ID, c.Number, c.Version, c.Kind, c.Amendment, c.AmendmentReason, c.ApplicationID, c.AssetID, c.AssetVersion,
		c.HolderID, c.Scope.Scenarios, c.Scope.ProductTypes, c.IssuerOrg, c.IssuedBy, string(c.ConcurringOrg),
		c.IssuedAt, c.ValidFrom.Time(), c.ValidUntil.Time(), c.KID, c.Document)
	return err
}

// supersede marks the valid version of a number as replaced by next, with its event.
func supersede(ctx context.Context, tx pgx.Tx, old certificates.Certificate, nextID string) error {
	// "AND status = 'valid'" with the RowsAffected check makes supersede a compare-and-set: a version
	// that was cancelled or superseded by a concurrent request is refused with a conflict rather than
	// overwritten.
	tag, err := tx.Exec(ctx, `UPDATE certificates SET status = 'superseded', superseded_by = $2 WHERE id = $1 AND status = 'valid'`, old.ID, nextID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return datavenue.Conflict("certificate_not_valid", "only a valid certificate can be changed or corrected")
	}
	return publish(ctx, tx, certificates.EventCertificateSuperseded, old.ID, string(old.AssetID),
		map[string]any{"number": old.Number, "version": old.Version, "superseded_by": nextID})
}

// allocateNumber takes the next human-readable number of a kind: DR-YYYY-NNNNNN for resource
// registration certificates, DA-YYYY-NNNNNN for data asset certificates. A rolled-back issue leaves
// a gap in the sequence; numbers are unique, not gapless.
func allocateNumber(ctx context.Context, tx pgx.Tx, kind certificates.Kind, issuedAt time.Time) (string, error) {
	seq, prefix := "certificate_number_resource", "DR"
	if kind == certificates.KindAsset {
		seq, prefix = "certificate_number_asset", "DA"
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT nextval('`+seq+`')`).Scan(&n); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%04d-%06d", prefix, civil.Of(issuedAt).Time().Year(), n), nil
}

// sign fills the signed document (a JWS) and its key id just before insert, after the number and
// version are final, because both are inside the signed payload.
func sign(c *certificates.Certificate, fn certificates.SignFunc) error {
	kid, doc, err := fn(*c)
	c.KID, c.Document = kid, doc
	return err
}

// IssueCertificate decides an application in favour and issues its certificate (see the interface).
//
// One transaction decides the application and issues the certificate (D2, D5): the open
// application is locked at the revision the reviewers saw (a concurrent amendment makes this a
// conflict), the reviews are stored, and either a fresh number is allocated (first issue) or, for
// a change registration (c.Number set), the valid version is locked and superseded by this one.
func (db CertificateStore) IssueCertificate(ctx context.Context, appID string, revision int, reviews []certificates.Review, c certificates.Certificate, signFn certificates.SignFunc) (certificates.Certificate, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		if err := lockOpenApplication(ctx, tx, appID, revision); err != nil {
			return err
		}
		if err := insertReviews(ctx, tx, appID, reviews); err != nil {
			return err
		}
		if c.Number == "" {
			number, err := allocateNumber(ctx, tx, c.Kind, c.IssuedAt)
			if err != nil {
				return err
			}
			c.Number, c.Version = number, 1
		} else {
			// Any error here, including no valid version, is reported as certificate_not_valid.
			old, err := scanCertificate(tx.QueryRow(ctx, certificateSelect+`WHERE c.number = $1 AND c.status = 'valid' FOR UPDATE OF c`, c.Number))
			if err != nil {
				return datavenue.Conflict("certificate_not_valid", "the certificate being changed is no longer valid")
			}
			c.Version = old.Version + 1
			if err := supersede(ctx, tx, old, c.ID); err != nil {
				return err
			}
		}
		if err := sign(&c, signFn); err != nil {
			return err
		}
		if err := insertCertificate(ctx, tx, c); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE certificate_applications SET status = 'issued', certificate_id = $2, decided_at = now()
			WHERE id = $1`, appID, c.ID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "certificate.issued", "certificate", c.ID,
			map[string]any{"number": c.Number, "version": c.Version, "application": appID, "amendment": c.Amendment})
	}, func(q querier) (certificates.Certificate, error) {
		return certificateFrom(ctx, q, c.ID)
	})
}

// CorrectCertificate supersedes a valid version by a corrected one.
//
// fix is the certificates package's correction rule (D5 更正): it builds the next version from the
// locked old one. Correction keeps the number and supersedes the version in place.
func (db CertificateStore) CorrectCertificate(ctx context.Context, id string, fix func(certificates.Certificate) (certificates.Certificate, error), signFn certificates.SignFunc) (certificates.Certificate, error) {
	var next certificates.Certificate
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		old, err := scanCertificate(tx.QueryRow(ctx, certificateSelect+`WHERE c.id = $1 FOR UPDATE OF c`, id))
		if err != nil {
			return notFoundAs(err, errCertNotFound)
		}
		if next, err = fix(old); err != nil {
			return err
		}
		if err := supersede(ctx, tx, old, next.ID); err != nil {
			return err
		}
		if err := sign(&next, signFn); err != nil {
			return err
		}
		if err := insertCertificate(ctx, tx, next); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "certificate.corrected", "certificate", next.ID,
			map[string]any{"number": next.Number, "version": next.Version, "supersedes": old.ID, "reason": next.AmendmentReason})
	}, func(q querier) (certificates.Certificate, error) {
		return certificateFrom(ctx, q, next.ID)
	})
}

// CancelCertificate cancels a valid version and publishes certificate.cancelled.
//
// check runs on the locked row (e.g. only the issuer may cancel) before the status test, so a
// caller without the right learns nothing about the certificate's state. Cancellation (D5 注销)
// publishes certificate.cancelled in the same transaction; the listing suspender consumes it to
// suspend every published product derived from the asset.
func (db CertificateStore) CancelCertificate(ctx context.Context, id, reason string, check func(certificates.Certificate) error) (certificates.Certificate, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		c, err := scanCertificate(tx.QueryRow(ctx, certificateSelect+`WHERE c.id = $1 FOR UPDATE OF c`, id))
		if err != nil {
			return notFoundAs(err, errCertNotFound)
		}
		if err := check(c); err != nil {
			return err
		}
		if c.StoredStatus != certificates.StatusValid {
			return datavenue.Conflict("certificate_not_valid", "only a valid certificate is cancelled; this one is "+string(c.StoredStatus))
		}
		if _, err := tx.Exec(ctx, `UPDATE certificates SET status = 'cancelled', cancelled_at = now(), cancellation_reason = $2
			WHERE id = $1`, id, reason); err != nil {
			return err
		}
		if err := publish(ctx, tx, certificates.EventCertificateCancelled, c.ID, string(c.AssetID),
			map[string]any{"number": c.Number, "version": c.Version, "kind": c.Kind, "reason": reason}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "certificate.cancelled", "certificate", id, map[string]any{"number": c.Number, "reason": reason})
	}, func(q querier) (certificates.Certificate, error) {
		return certificateFrom(ctx, q, id)
	})
}

var _ certificates.Store = CertificateStore{}
