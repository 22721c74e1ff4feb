package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
)

// applicationSelect reads an application for a registration certificate (D2) or a data asset
// certificate (D5). It names the asset version it was filed on: reviewers judge the card as it
// was submitted, even if the holder edits the card while the review runs.
const applicationSelect = `SELECT id, kind, asset_id, asset_version, holder_id, coalesce(amends, ''), revision, status,
	scope_scenarios, scope_product_types, materials, concurrence, coalesce(certificate_id, ''), submitted_at, decided_at
	FROM certificate_applications `

// scanApplication reads one applicationSelect row without its reviews (Application adds them);
// Reviews starts as an empty list so a list response encodes [] rather than null.
func scanApplication(row pgx.Row) (certificates.Application, error) {
	var a certificates.Application
	var materials, concurrence []byte
	err := row.Scan(&a.ID, &a.Kind, &a.AssetID, &a.AssetVersion, &a.HolderID, &a.Amends, &a.Revision, &a.Status,
		&a.Scope.Scenarios, &a.Scope.ProductTypes, &materials, &concurrence, &a.CertificateID, &a.SubmittedAt, &a.DecidedAt)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(materials, &a.Materials); err != nil {
		return a, err
	}
	if concurrence != nil {
		a.Concurrence = &certificates.Concurrence{}
		if err := json.Unmarshal(concurrence, a.Concurrence); err != nil {
			return a, err
		}
	}
	a.Reviews = []certificates.Review{}
	return a, nil
}

var errApplicationNotFound = datavenue.NotFound("application_not_found", "no application with this id is visible to you")

// CreateApplication inserts a submitted application.
//
// The partial unique index certificate_applications_one_open (one open application per asset and
// kind) refuses a second concurrent application with application_open.
func (db CertificateStore) CreateApplication(ctx context.Context, app certificates.Application) (certificates.Application, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		materials, _ := json.Marshal(app.Materials)
		_, err := tx.Exec(ctx, `INSERT INTO certificate_applications (id, kind, asset_id, asset_version, holder_id, amends,
			revision, status, scope_scenarios, scope_product_types, materials)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), 1, 'submitted', $7, $8, $9)`,
			app.ID, app.Kind, app.AssetID, app.AssetVersion, app.HolderID, app.Amends, app.Scope.Scenarios, app.Scope.ProductTypes, materials)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "certificate_application.submitted", "certificate_application", app.ID,
			map[string]any{"kind": app.Kind, "asset_id": app.AssetID, "asset_version": app.AssetVersion, "amends": app.Amends})
	}, func(q querier) (certificates.Application, error) {
		return applicationFrom(ctx, q, app.ID)
	})
}

// Application returns an application with every review of every revision.
func (db CertificateStore) Application(ctx context.Context, id string) (certificates.Application, error) {
	return applicationFrom(ctx, db.Pool, id)
}

// applicationFrom is Application read through q: the pool, or the transaction that has just written it (readBack).
func applicationFrom(ctx context.Context, q querier, id string) (certificates.Application, error) {
	app, err := scanApplication(q.QueryRow(ctx, applicationSelect+`WHERE id = $1`, id))
	if err != nil {
		return app, interpretError(notFoundAs(err, errApplicationNotFound))
	}
	// Reviews of every revision are kept, ordered by revision: a rejected revision's verdicts are the
	// reasons the holder amended, and remain part of the record.
	rows, err := q.Query(ctx, `SELECT revision, item, verdict, comment, reviewer_org, reviewer, reviewed_at
		FROM application_reviews WHERE application_id = $1 ORDER BY revision, item`, id)
	if err != nil {
		return app, interpretError(err)
	}
	app.Reviews, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Review, error) {
		var v certificates.Review
		err := r.Scan(&v.Revision, &v.Item, &v.Verdict, &v.Comment, &v.ReviewerOrg, &v.Reviewer, &v.ReviewedAt)
		return v, err
	})
	return app, interpretError(err)
}

// Applications lists applications, newest first.
func (db CertificateStore) Applications(ctx context.Context, f certificates.ApplicationFilter) ([]certificates.Application, error) {
	rows, err := db.Pool.Query(ctx, applicationSelect+`WHERE ($1 = '' OR holder_id = $1) AND ($2 = '' OR kind = $2)
		AND ($3 = '' OR status = $3) AND ($5 = '' OR id < $5) ORDER BY id DESC LIMIT $4`,
		string(f.Holder), string(f.Kind), string(f.Status), clampLimit(f.Limit), f.After)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Application, error) { return scanApplication(r) })
	return list, interpretError(err)
}

// lockOpenApplication locks an application that is still waiting at the given revision.
//
// Matching the revision makes a decision a compare-and-set: a reviewer who read revision 1 cannot
// decide revision 2 that the holder submitted meanwhile, and two reviewers cannot both decide.
// Either case, and a decided application, is application_not_open.
func lockOpenApplication(ctx context.Context, tx pgx.Tx, id string, revision int) error {
	var found string
	err := tx.QueryRow(ctx, `SELECT id FROM certificate_applications WHERE id = $1 AND status = 'submitted' AND revision = $2
		FOR UPDATE`, id, revision).Scan(&found)
	return notFoundAs(err, datavenue.Conflict("application_not_open", "the application was decided or amended meanwhile; reload it"))
}

// insertReviews stores the per-item verdicts of one review round (legality and compliance,
// product and scenario information, security risk: D2's review items) with one audit record.
// It runs in the deciding transaction after lockOpenApplication.
func insertReviews(ctx context.Context, tx pgx.Tx, appID string, reviews []certificates.Review) error {
	for _, r := range reviews {
		if _, err := tx.Exec(ctx, `INSERT INTO application_reviews (application_id, revision, item, verdict, comment, reviewer_org, reviewer)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, appID, r.Revision, r.Item, r.Verdict, r.Comment, r.ReviewerOrg, r.Reviewer); err != nil {
			return err
		}
	}
	return appendAudit(ctx, tx, "certificate_application.reviewed", "certificate_application", appID, reviews)
}

// RejectApplication records failing verdicts and rejects the application.
func (db CertificateStore) RejectApplication(ctx context.Context, id string, revision int, reviews []certificates.Review) (certificates.Application, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		if err := lockOpenApplication(ctx, tx, id, revision); err != nil {
			return err
		}
		if err := insertReviews(ctx, tx, id, reviews); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE certificate_applications SET status = 'rejected', decided_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "certificate_application.rejected", "certificate_application", id, map[string]any{"revision": revision})
	}, func(q querier) (certificates.Application, error) {
		return applicationFrom(ctx, q, id)
	})
}

// AmendApplication resubmits a rejected application as its next revision.
//
// The guarded UPDATE (status 'rejected' at the revision the holder read) is the lock and the check
// in one statement. The bureau's concurrence is cleared because it was given on the previous
// revision's materials.
func (db CertificateStore) AmendApplication(ctx context.Context, id string, revision, assetVersion int, in certificates.AmendInput) (certificates.Application, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		materials, _ := json.Marshal(in.Materials)
		tag, err := tx.Exec(ctx, `UPDATE certificate_applications SET status = 'submitted', revision = revision + 1,
			asset_version = $3, scope_scenarios = $4, scope_product_types = $5, materials = $6, concurrence = NULL,
			submitted_at = now(), decided_at = NULL
			WHERE id = $1 AND status = 'rejected' AND revision = $2`,
			id, revision, assetVersion, in.Scope.Scenarios, in.Scope.ProductTypes, materials)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return datavenue.Conflict("application_not_rejected", "only a rejected application is amended and resubmitted")
		}
		return appendAudit(ctx, tx, "certificate_application.amended", "certificate_application", id, map[string]any{"revision": revision + 1})
	}, func(q querier) (certificates.Application, error) {
		return applicationFrom(ctx, q, id)
	})
}

// RecordConcurrence stores the data bureau's concurrence on an open asset-certificate application.
//
// An asset certificate is issued by the finance bureau with the data bureau (D5): this records the
// data bureau's half, once per revision (concurrence IS NULL), only on an open asset application.
func (db CertificateStore) RecordConcurrence(ctx context.Context, id string, revision int, c certificates.Concurrence) (certificates.Application, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		raw, _ := json.Marshal(c)
		tag, err := tx.Exec(ctx, `UPDATE certificate_applications SET concurrence = $3
			WHERE id = $1 AND revision = $2 AND status = 'submitted' AND kind = 'asset' AND concurrence IS NULL`, id, revision, raw)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return datavenue.Conflict("application_not_open", "the application is not waiting for a concurrence")
		}
		return appendAudit(ctx, tx, "certificate_application.concurred", "certificate_application", id, c)
	}, func(q querier) (certificates.Application, error) {
		return applicationFrom(ctx, q, id)
	})
}
