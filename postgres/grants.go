package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// authorisationSelect reads a scenario authorisation (D9/G5) with the holder taken from its asset:
// the grant does not store the holder, so the holder filters join through the asset.
const authorisationSelect = `SELECT g.id, g.asset_id, a.holder_id, g.operator_id, g.scenario, g.purpose, g.product_types, g.conditions,
	g.valid_from, g.valid_until, g.version, g.status, g.granted_by_org, g.granted_by, g.granted_at, g.revoked_at,
	coalesce(g.revocation_reason, '')
	FROM authorisations g JOIN assets a ON a.id = g.asset_id `

// scanAuthorisation reads one authorisationSelect row; validity dates are CST civil dates.
func scanAuthorisation(row pgx.Row) (certificates.Authorisation, error) {
	var g certificates.Authorisation
	var from, until time.Time
	err := row.Scan(&g.ID, &g.AssetID, &g.HolderID, &g.OperatorID, &g.Scenario, &g.Purpose, &g.ProductTypes, &g.Conditions, &from, &until,
		&g.Version, &g.Status, &g.GrantedByOrg, &g.GrantedBy, &g.GrantedAt, &g.RevokedAt, &g.RevocationReason)
	g.ValidFrom, g.ValidUntil = civil.FromTime(from), civil.FromTime(until)
	return g, err
}

var errAuthorisationNotFound = datavenue.NotFound("authorisation_not_found", "no authorisation with this id is visible to you")

// recordGrantChange appends the grant as it now is to authorisation_changes, the history a
// supervisor reviews when assessing or narrowing a grant (D9: grants are supervised, narrowed or
// revoked). It is written in the transaction of the change, with the change's version, so the
// history and the row cannot disagree.
func recordGrantChange(ctx context.Context, tx pgx.Tx, g certificates.Authorisation, change, reason string) error {
	caller, _ := datavenue.CallerFrom(ctx)
	_, err := tx.Exec(ctx, `INSERT INTO authorisation_changes (authorisation_id, version, change, product_types, valid_until,
		conditions, reason, changed_by_org, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		g.ID, g.Version, change, g.ProductTypes, g.ValidUntil.Time(), g.Conditions, reason, caller.Org, caller.Subject)
	return err
}

// CreateAuthorisation inserts an active authorisation with its first history entry.
//
// The partial unique index authorisations_one_per_scenario (one active grant per asset and
// scenario) enforces D9's "one scenario, one authorisation" even against two concurrent grants; the
// loser gets scenario_already_authorised (constraintCodes).
func (db CertificateStore) CreateAuthorisation(ctx context.Context, g certificates.Authorisation, reason string) (certificates.Authorisation, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO authorisations (id, asset_id, operator_id, scenario, product_types, conditions,
			valid_from, valid_until, version, status, granted_by_org, granted_by, purpose)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 'active', $9, $10, $11)`,
			g.ID, g.AssetID, g.OperatorID, g.Scenario, g.ProductTypes, g.Conditions, g.ValidFrom.Time(), g.ValidUntil.Time(),
			g.GrantedByOrg, g.GrantedBy, g.Purpose)
		if err != nil {
			return err
		}
		if err := recordGrantChange(ctx, tx, g, "granted", reason); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "authorisation.granted", "authorisation", g.ID,
			map[string]any{"asset_id": g.AssetID, "operator_id": g.OperatorID, "scenario": g.Scenario, "purpose": g.Purpose})
	}, func(q querier) (certificates.Authorisation, error) {
		return authorisationFrom(ctx, q, g.ID)
	})
}

// Authorisation returns an authorisation with its history and assessments.
// The three reads are separate statements outside a transaction: the history is append-only and an
// assessment never changes, so a change committed in between can only add a row.
func (db CertificateStore) Authorisation(ctx context.Context, id string) (certificates.Authorisation, error) {
	return authorisationFrom(ctx, db.Pool, id)
}

// authorisationFrom is Authorisation read through q: the pool, or the transaction that has just written it (readBack).
func authorisationFrom(ctx context.Context, q querier, id string) (certificates.Authorisation, error) {
	g, err := scanAuthorisation(q.QueryRow(ctx, authorisationSelect+`WHERE g.id = $1`, id))
	if err != nil {
		return g, interpretError(notFoundAs(err, errAuthorisationNotFound))
	}
	rows, err := q.Query(ctx, `SELECT version, change, product_types, valid_until, conditions, reason, changed_by_org,
		changed_by, changed_at FROM authorisation_changes WHERE authorisation_id = $1 ORDER BY changed_at, version`, id)
	if err != nil {
		return g, interpretError(err)
	}
	g.Changes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.GrantChange, error) {
		var c certificates.GrantChange
		var until time.Time
		err := r.Scan(&c.Version, &c.Change, &c.ProductTypes, &until, &c.Conditions, &c.Reason, &c.ChangedByOrg, &c.ChangedBy, &c.ChangedAt)
		c.ValidUntil = civil.FromTime(until)
		return c, err
	})
	if err != nil {
		return g, interpretError(err)
	}
	rows, err = q.Query(ctx, `SELECT period, result, comment, assessed_by_org, assessed_at
		FROM authorisation_assessments WHERE authorisation_id = $1 ORDER BY id`, id)
	if err != nil {
		return g, interpretError(err)
	}
	g.Assessments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Assessment, error) {
		var a certificates.Assessment
		err := r.Scan(&a.Period, &a.Result, &a.Comment, &a.AssessedBy, &a.AssessedAt)
		return a, err
	})
	return g, interpretError(err)
}

// Authorisations lists authorisations, newest first.
func (db CertificateStore) Authorisations(ctx context.Context, f certificates.GrantFilter) ([]certificates.Authorisation, error) {
	rows, err := db.Pool.Query(ctx, authorisationSelect+`WHERE ($1 = '' OR g.asset_id = $1) AND ($2 = '' OR a.holder_id = $2)
		AND ($3 = '' OR g.operator_id = $3) AND ($5 = '' OR g.id < $5) AND ($6 = '' OR g.status = $6) ORDER BY g.id DESC LIMIT $4`,
		string(f.AssetID), string(f.Holder), string(f.Operator), clampLimit(f.Limit), f.After, f.Status)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Authorisation, error) { return scanAuthorisation(r) })
	return list, interpretError(err)
}

// ChangeAuthorisation narrows or revokes an active authorisation (see the interface).
//
// Lock the grant row first, then let apply (the certificates package's rule) edit it: narrowing
// shrinks product types, validity or conditions; revoking sets status, revoked_at and the reason.
// The event is published in the same transaction, so the listing suspender sees a revocation only
// once it commits and then suspends the products traded under the grant (D9: revocation must stop
// trading). A grant that is no longer active (revoked or expired meanwhile) is a conflict.
func (db CertificateStore) ChangeAuthorisation(ctx context.Context, id, change, reason string, apply func(*certificates.Authorisation) error) (certificates.Authorisation, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		g, err := scanAuthorisation(tx.QueryRow(ctx, authorisationSelect+`WHERE g.id = $1 FOR UPDATE OF g`, id))
		if err != nil {
			return notFoundAs(err, errAuthorisationNotFound)
		}
		if g.Status != "active" {
			return datavenue.Conflict("authorisation_not_active", "the authorisation is "+g.Status)
		}
		if err := apply(&g); err != nil {
			return err
		}
		g.Version++
		_, err = tx.Exec(ctx, `UPDATE authorisations SET product_types = $2, valid_until = $3, conditions = $4, version = $5,
			status = $6, revoked_at = $7, revocation_reason = nullif($8, '') WHERE id = $1`,
			id, g.ProductTypes, g.ValidUntil.Time(), g.Conditions, g.Version, g.Status, g.RevokedAt, g.RevocationReason)
		if err != nil {
			return err
		}
		if err := recordGrantChange(ctx, tx, g, change, reason); err != nil {
			return err
		}
		event := certificates.EventAuthorisationNarrowed
		if change == "revoked" {
			event = certificates.EventAuthorisationRevoked
		}
		if err := publish(ctx, tx, event, id, string(g.AssetID), map[string]any{"operator_id": g.OperatorID,
			"scenario": g.Scenario, "product_types": g.ProductTypes, "valid_until": g.ValidUntil, "reason": reason}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "authorisation."+change, "authorisation", id, map[string]any{"reason": reason, "version": g.Version})
	}, func(q querier) (certificates.Authorisation, error) {
		return authorisationFrom(ctx, q, id)
	})
}

// AddAssessment records an assessment of an active authorisation.
func (db CertificateStore) AddAssessment(ctx context.Context, id string, a certificates.Assessment) (certificates.Authorisation, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		// FOR SHARE: an assessment does not change the grant, but it must not be recorded against a grant
		// that a concurrent revocation is about to end.
		g, err := scanAuthorisation(tx.QueryRow(ctx, authorisationSelect+`WHERE g.id = $1 FOR SHARE OF g`, id))
		if err != nil {
			return notFoundAs(err, errAuthorisationNotFound)
		}
		if g.Status != "active" {
			return datavenue.Conflict("authorisation_not_active", "the authorisation is "+g.Status)
		}
		caller, _ := datavenue.CallerFrom(ctx)
		// The unique key (authorisation_id, period) allows one assessment per period; a second one is
		// assessment_exists.
		if _, err := tx.Exec(ctx, `INSERT INTO authorisation_assessments (authorisation_id, period, result, comment, assessed_by_org, assessed_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, a.Period, a.Result, a.Comment, a.AssessedBy, caller.Subject); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "authorisation.assessed", "authorisation", id, a)
	}, func(q querier) (certificates.Authorisation, error) {
		return authorisationFrom(ctx, q, id)
	})
}

// approvalSelect reads an approval of paid use or disposal (D10/G5): finance-bureau route
// (submitted, then decided) or the unit's own route (recorded at once). Validity dates stay NULL
// until a decision sets them, hence the pointer scan in scanApproval.
const approvalSelect = `SELECT id, asset_id, holder_id, purpose, scenario, pricing_methods, internal_decision_ref, route,
	coalesce(own_approver, ''), status, coalesce(decided_by_org, ''), coalesce(decided_by, ''), decided_at,
	coalesce(decision_comment, ''), valid_from, valid_until, submitted_at FROM approvals `

func scanApproval(row pgx.Row) (certificates.Approval, error) {
	var a certificates.Approval
	var from, until *time.Time
	err := row.Scan(&a.ID, &a.AssetID, &a.HolderID, &a.Purpose, &a.Scenario, &a.PricingMethods, &a.InternalDecisionRef,
		&a.Route, &a.OwnApprover, &a.Status, &a.DecidedByOrg, &a.DecidedBy, &a.DecidedAt, &a.DecisionComment, &from, &until, &a.SubmittedAt)
	if from != nil {
		a.ValidFrom = civil.FromTime(*from)
	}
	if until != nil {
		a.ValidUntil = civil.FromTime(*until)
	}
	return a, err
}

// nullDate stores a zero civil date as NULL, so "no validity yet" is not confused with a real date.
func nullDate(d civil.Date) *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time()
	return &t
}

var errApprovalNotFound = datavenue.NotFound("approval_not_found", "no approval with this id is visible to you")

// CreateApproval inserts a submitted (finance-bureau route) or recorded (own route) approval.
//
// Without an approved or recorded approval no product of a government unit's asset may be
// offered for profit (D10): the listing gate reads these rows FOR SHARE (gateFacts).
func (db CertificateStore) CreateApproval(ctx context.Context, a certificates.Approval) (certificates.Approval, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO approvals (id, asset_id, holder_id, purpose, scenario, pricing_methods,
			internal_decision_ref, route, own_approver, status, valid_from, valid_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, ''), $10, $11, $12)`,
			a.ID, a.AssetID, a.HolderID, a.Purpose, a.Scenario, a.PricingMethods, a.InternalDecisionRef, a.Route,
			a.OwnApprover, a.Status, nullDate(a.ValidFrom), nullDate(a.ValidUntil))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "approval."+a.Status, "approval", a.ID,
			map[string]any{"asset_id": a.AssetID, "purpose": a.Purpose, "route": a.Route})
	}, func(q querier) (certificates.Approval, error) {
		return approvalFrom(ctx, q, a.ID)
	})
}

// Approval returns one approval.
func (db CertificateStore) Approval(ctx context.Context, id string) (certificates.Approval, error) {
	return approvalFrom(ctx, db.Pool, id)
}

// approvalFrom is Approval read through q: the pool, or the transaction that has just written it (readBack).
func approvalFrom(ctx context.Context, q querier, id string) (certificates.Approval, error) {
	a, err := scanApproval(q.QueryRow(ctx, approvalSelect+`WHERE id = $1`, id))
	return a, interpretError(notFoundAs(err, errApprovalNotFound))
}

// Approvals lists approvals, newest first.
func (db CertificateStore) Approvals(ctx context.Context, f certificates.GrantFilter) ([]certificates.Approval, error) {
	rows, err := db.Pool.Query(ctx, approvalSelect+`WHERE ($1 = '' OR asset_id = $1) AND ($2 = '' OR holder_id = $2)
		AND ($4 = '' OR id < $4) AND ($5 = '' OR status = $5) ORDER BY id DESC LIMIT $3`, string(f.AssetID), string(f.Holder), clampLimit(f.Limit), f.After, f.Status)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Approval, error) { return scanApproval(r) })
	return list, interpretError(err)
}

// DecideApproval applies the finance bureau's decision under a row lock.
//
// decide is the certificates package's rule (who may decide, which transitions are allowed); the
// row lock keeps two bureau clerks from deciding the same approval at once.
func (db CertificateStore) DecideApproval(ctx context.Context, id string, decide func(*certificates.Approval) error) (certificates.Approval, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		a, err := scanApproval(tx.QueryRow(ctx, approvalSelect+`WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFoundAs(err, errApprovalNotFound)
		}
		if err := decide(&a); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE approvals SET status = $2, decided_by_org = $3, decided_by = $4, decided_at = $5,
			decision_comment = $6, valid_from = $7, valid_until = $8 WHERE id = $1`,
			id, a.Status, a.DecidedByOrg, a.DecidedBy, a.DecidedAt, a.DecisionComment, nullDate(a.ValidFrom), nullDate(a.ValidUntil))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "approval."+a.Status, "approval", id, map[string]any{"comment": a.DecisionComment})
	}, func(q querier) (certificates.Approval, error) {
		return approvalFrom(ctx, q, id)
	})
}

// appraisalSelect reads an appraisal report (D7/D14): the value is read as text and parsed as a
// decimal so no float rounding touches it.
const appraisalSelect = `SELECT id, asset_id, appraiser_id, report_number, method, value::text, valuation_date, valid_until,
	recorded_by, recorded_at FROM appraisals `

func scanAppraisal(row pgx.Row) (certificates.Appraisal, error) {
	var a certificates.Appraisal
	var value string
	var valuation, until time.Time
	err := row.Scan(&a.ID, &a.AssetID, &a.AppraiserID, &a.ReportNumber, &a.Method, &value, &valuation, &until, &a.RecordedBy, &a.RecordedAt)
	if err != nil {
		return a, err
	}
	// Appraised values are in yuan; the venue only deals in CNY.
	a.ValuationDate, a.ValidUntil, a.Currency = civil.FromTime(valuation), civil.FromTime(until), "CNY"
	a.Value, err = money.Parse(value)
	return a, err
}

// CreateAppraisal records an appraisal report.
//
// The unique key (appraiser_id, report_number) refuses the same report recorded twice
// (report_number_taken), and the appraiser must be an organisation of the appraiser kind (the
// composite foreign key, not_an_appraiser).
func (db CertificateStore) CreateAppraisal(ctx context.Context, a certificates.Appraisal) (certificates.Appraisal, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO appraisals (id, asset_id, appraiser_id, report_number, method, value, valuation_date,
			valid_until, recorded_by) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9)`,
			a.ID, a.AssetID, a.AppraiserID, a.ReportNumber, a.Method, a.Value.String(), a.ValuationDate.Time(), a.ValidUntil.Time(), a.RecordedBy)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "appraisal.recorded", "appraisal", a.ID,
			map[string]any{"asset_id": a.AssetID, "report_number": a.ReportNumber, "value": a.Value})
	}, func(q querier) (certificates.Appraisal, error) {
		return appraisalFrom(ctx, q, a.ID)
	})
}

// Appraisal returns one appraisal.
func (db CertificateStore) Appraisal(ctx context.Context, id string) (certificates.Appraisal, error) {
	return appraisalFrom(ctx, db.Pool, id)
}

// appraisalFrom is Appraisal read through q: the pool, or the transaction that has just written it (readBack).
func appraisalFrom(ctx context.Context, q querier, id string) (certificates.Appraisal, error) {
	a, err := scanAppraisal(q.QueryRow(ctx, appraisalSelect+`WHERE id = $1`, id))
	return a, interpretError(notFoundAs(err, datavenue.NotFound("appraisal_not_found", "no appraisal with this id is visible to you")))
}

// Appraisals lists appraisals, newest first.
func (db CertificateStore) Appraisals(ctx context.Context, f certificates.GrantFilter) ([]certificates.Appraisal, error) {
	// The holder filter goes through the asset: an appraisal belongs to an asset, not to a holder.
	rows, err := db.Pool.Query(ctx, appraisalSelect+`WHERE ($1 = '' OR asset_id = $1) AND ($2 = '' OR appraiser_id = $2)
		AND ($3 = '' OR asset_id IN (SELECT id FROM assets WHERE holder_id = $3)) AND ($5 = '' OR id < $5) ORDER BY id DESC LIMIT $4`,
		string(f.AssetID), string(f.Appraiser), string(f.Holder), clampLimit(f.Limit), f.After)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (certificates.Appraisal, error) { return scanAppraisal(r) })
	return list, interpretError(err)
}

var _ certificates.GrantStore = CertificateStore{}
