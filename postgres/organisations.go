package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/parties"
)

// orgColumns is an organisation as parties.Organisation needs it. Fiscal level and treasury are set
// only for government units (D17: a unit's non-tax revenue goes to the treasury of its level), the
// supervisor only for state enterprises (G6: they file with SASAC); constraints in the organisations
// table enforce both (organisations_government_treasury, organisations_supervisor_state_enterprise).
const orgColumns = `id, uscc, name, name_en, kind, coalesce(fiscal_level, ''), coalesce(treasury, ''),
	coalesce(supervisor, ''), roles, created_at, updated_at`

// scanOrganisation reads one orgColumns row; roles are stored as text[] and typed here.
func scanOrganisation(row pgx.Row) (parties.Organisation, error) {
	var o parties.Organisation
	var roles []string
	err := row.Scan(&o.ID, &o.USCC, &o.Name, &o.NameEN, &o.Kind, &o.FiscalLevel, &o.Treasury,
		&o.Supervisor, &roles, &o.CreatedAt, &o.UpdatedAt)
	o.Roles = make([]datavenue.Role, len(roles))
	for i, r := range roles {
		o.Roles[i] = datavenue.Role(r)
	}
	return o, err
}

// roleStrings is the text[] form of roles for pgx.
func roleStrings(roles []datavenue.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// CreateOrganisation inserts an organisation and its audit record in one transaction. A
// registration naming no roles gets its kind's default ones.
func (db PartyStore) CreateOrganisation(ctx context.Context, reg parties.Registration) (parties.Organisation, error) {
	if len(reg.Roles) == 0 {
		reg.Roles = parties.DefaultRoles(reg.Kind)
	}
	var org parties.Organisation
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		// INSERT ... RETURNING reads the stored row (defaults, timestamps) in the same statement. The
		// unique USCC (the national unified social credit code) makes a second registration of the same
		// organisation organisation_uscc_taken.
		org, err = scanOrganisation(tx.QueryRow(ctx, `INSERT INTO organisations
			(id, uscc, name, name_en, kind, fiscal_level, treasury, supervisor, roles)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), nullif($8, ''), $9)
			RETURNING `+orgColumns,
			reg.ID, reg.USCC, reg.Name, reg.NameEN, reg.Kind, reg.FiscalLevel, reg.Treasury, reg.Supervisor, roleStrings(reg.Roles)))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "organisation.registered", "organisation", string(org.ID), reg)
	})
	return org, err
}

// Organisation returns one organisation.
func (db PartyStore) Organisation(ctx context.Context, id datavenue.OrgID) (parties.Organisation, error) {
	org, err := scanOrganisation(db.Pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = $1`, id))
	return org, interpretError(notFoundAs(err, datavenue.NotFound("organisation_not_found", "no organisation has this id")))
}

// Organisations returns a page of organisations in id order (ids are ULIDs, so that is
// registration order).
func (db PartyStore) Organisations(ctx context.Context, f parties.ListFilter) ([]parties.Organisation, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+orgColumns+` FROM organisations
		WHERE ($1 = '' OR kind = $1) AND id > $2 ORDER BY id LIMIT $3`,
		string(f.Kind), string(f.After), clampLimit(f.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	orgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (parties.Organisation, error) {
		return scanOrganisation(row)
	})
	return orgs, interpretError(err)
}

// SetOrganisationRoles replaces an organisation's roles, audited with what they were.
func (db PartyStore) SetOrganisationRoles(ctx context.Context, id datavenue.OrgID, roles []datavenue.Role) (parties.Organisation, error) {
	var org parties.Organisation
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var before []string
		// The row lock orders concurrent role changes, and "before" is the value this change replaced,
		// so the audit trail shows every role change in sequence.
		if err := tx.QueryRow(ctx, `SELECT roles FROM organisations WHERE id = $1 FOR UPDATE`, id).Scan(&before); err != nil {
			return notFoundAs(err, datavenue.NotFound("organisation_not_found", "no organisation has this id"))
		}
		var err error
		org, err = scanOrganisation(tx.QueryRow(ctx, `UPDATE organisations SET roles = $2, updated_at = now() WHERE id = $1 RETURNING `+orgColumns,
			id, roleStrings(roles)))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "organisation.roles_changed", "organisation", string(id), map[string]any{"before": before, "after": roles})
	})
	return org, err
}

var _ parties.Store = PartyStore{}

// OrganisationKind returns an organisation's kind.
// The cheap read that access checks and other stores use when only the kind matters.
func (db PartyStore) OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error) {
	var kind string
	err := db.Pool.QueryRow(ctx, `SELECT kind FROM organisations WHERE id = $1`, id).Scan(&kind)
	return kind, interpretError(notFoundAs(err, datavenue.NotFound("organisation_not_found", "no organisation has this id")))
}
