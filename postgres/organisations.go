package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/parties"
)

const orgColumns = `id, uscc, name, name_en, kind, coalesce(fiscal_level, ''), coalesce(treasury, ''),
	coalesce(supervisor, ''), created_at, updated_at`

func scanOrganisation(row pgx.Row) (parties.Organisation, error) {
	var o parties.Organisation
	err := row.Scan(&o.ID, &o.USCC, &o.Name, &o.NameEN, &o.Kind, &o.FiscalLevel, &o.Treasury,
		&o.Supervisor, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

// CreateOrganisation inserts an organisation and its audit record in one transaction.
func (db *DB) CreateOrganisation(ctx context.Context, reg parties.Registration) (parties.Organisation, error) {
	var org parties.Organisation
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		org, err = scanOrganisation(tx.QueryRow(ctx, `INSERT INTO organisations
			(id, uscc, name, name_en, kind, fiscal_level, treasury, supervisor)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), nullif($8, ''))
			RETURNING `+orgColumns,
			reg.ID, reg.USCC, reg.Name, reg.NameEN, reg.Kind, reg.FiscalLevel, reg.Treasury, reg.Supervisor))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, "organisation.registered", "organisation", string(org.ID), reg)
	})
	return org, err
}

// Organisation returns one organisation.
func (db *DB) Organisation(ctx context.Context, id datavenue.OrgID) (parties.Organisation, error) {
	org, err := scanOrganisation(db.Pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = $1`, id))
	if err == pgx.ErrNoRows {
		return org, datavenue.NotFound("organisation_not_found", "no organisation has this id")
	}
	return org, interpretError(err)
}

// Organisations returns a page of organisations in id order (ids are ULIDs, so that is
// registration order).
func (db *DB) Organisations(ctx context.Context, f parties.ListFilter) ([]parties.Organisation, error) {
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

var _ parties.Store = (*DB)(nil)
