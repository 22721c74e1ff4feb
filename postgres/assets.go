package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/money"
)

// assetColumns is the asset card (D4/G2) as every read returns it, with the holder's name joined
// from organisations (assetFrom). Money columns (original cost, book value; NUMERIC yuan) are read
// as text and parsed into decimals, never through float (habit 4).
const assetColumns = `a.id, a.holder_id, o.name, a.version, a.category, a.name, a.summary, a.rights, a.classification,
	a.grade, a.source, coalesce(a.shared_from, ''), coalesce(a.shared_consent_ref, ''), a.scale, a.update_frequency,
	a.acquisition_mode, a.cost_components, a.original_cost::text, a.measurement_basis, a.book_value::text,
	a.accounting_status, a.created_at, a.updated_at`

const assetFrom = ` FROM assets a JOIN organisations o ON o.id = a.holder_id `

// scanAsset reads assetColumns only; gateFacts uses scanAssetWith to read the holder kind too.
func scanAsset(row pgx.Row) (assets.Asset, error) { return scanAssetWith(row) }

// scanAssetWith scans assetColumns followed by extra columns.
func scanAssetWith(row pgx.Row, extra ...any) (assets.Asset, error) {
	var a assets.Asset
	var costs []byte
	var original, book string
	dest := []any{&a.ID, &a.HolderID, &a.HolderName, &a.Version, &a.Category, &a.Name, &a.Summary, &a.Rights,
		&a.Classification, &a.Grade, &a.Source, &a.SharedFrom, &a.SharedConsentRef, &a.Scale, &a.UpdateFrequency,
		&a.AcquisitionMode, &costs, &original, &a.MeasurementBasis, &book, &a.AccountingStatus, &a.CreatedAt, &a.UpdatedAt}
	err := row.Scan(append(dest, extra...)...)
	if err != nil {
		return a, err
	}
	// Every amount the venue keeps is in yuan (CNY); the column is implicit.
	a.Currency = "CNY"
	if err := json.Unmarshal(costs, &a.CostComponents); err != nil {
		return a, err
	}
	if a.OriginalCost, err = money.Parse(original); err != nil {
		return a, err
	}
	a.BookValue, err = money.Parse(book)
	return a, err
}

// holderKind reads the holder's kind, which the assets table requires (by foreign key) to be a
// government unit or a state enterprise.
func holderKind(ctx context.Context, tx pgx.Tx, holder datavenue.OrgID) (string, error) {
	var kind string
	err := tx.QueryRow(ctx, `SELECT kind FROM organisations WHERE id = $1`, holder).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", datavenue.Forbidden("holder_unknown", "your organisation is not registered at the venue")
	}
	if err == nil && kind != "government_unit" && kind != "state_enterprise" {
		return "", datavenue.Forbidden("not_a_holder", "only government units and state enterprises hold data assets")
	}
	return kind, err
}

// CreateAsset inserts a card, its first version and the audit record in one transaction.
//
// The holder's kind is copied into the row because the composite foreign key (holder_id,
// holder_kind) -> organisations (id, kind) together with the CHECK on holder_kind is what keeps
// assets to government units and state enterprises in the database itself; the pre-check in
// holderKind only gives a clearer error first. The row is read back inside the transaction so
// asset_versions snapshots exactly what was stored.
func (db AssetStore) CreateAsset(ctx context.Context, a assets.Asset) (assets.Asset, error) {
	var out assets.Asset
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		kind, err := holderKind(ctx, tx, a.HolderID)
		if err != nil {
			return err
		}
		costs, _ := json.Marshal(a.CostComponents)
		_, err = tx.Exec(ctx, `INSERT INTO assets (id, holder_id, holder_kind, version, category, name, summary, rights,
			classification, grade, source, shared_from, shared_consent_ref, scale, update_frequency, acquisition_mode,
			cost_components, original_cost, measurement_basis, book_value, accounting_status)
			VALUES ($1,$2,$3,1,$4,$5,$6,$7,$8,$9,$10,nullif($11,''),nullif($12,''),$13,$14,$15,$16,$17::numeric,$18,$19::numeric,$20)`,
			a.ID, a.HolderID, kind, a.Category, a.Name, a.Summary, a.Rights, a.Classification, a.Grade, a.Source,
			string(a.SharedFrom), a.SharedConsentRef, a.Scale, a.UpdateFrequency, a.AcquisitionMode, costs,
			a.OriginalCost.String(), a.MeasurementBasis, a.BookValue.String(), a.AccountingStatus)
		if err != nil {
			return err
		}
		if out, err = scanAsset(tx.QueryRow(ctx, `SELECT `+assetColumns+assetFrom+`WHERE a.id = $1`, a.ID)); err != nil {
			return err
		}
		if err := appendVersion(ctx, tx, out, "registered"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "asset.registered", "asset", string(a.ID), map[string]any{"version": 1, "name": a.Name})
	})
	return out, err
}

// appendVersion snapshots the card as stored into asset_versions, so every version of a card
// stays readable (D4: the card is kept current; D5: change and correction registrations) and a
// certificate can show the asset as it was when it was issued (certificateSelect joins on it).
func appendVersion(ctx context.Context, tx pgx.Tx, a assets.Asset, reason string) error {
	caller, _ := datavenue.CallerFrom(ctx)
	snapshot, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO asset_versions (asset_id, version, snapshot, change_reason, changed_by_org, changed_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, a.Version, snapshot, reason, caller.Org, caller.Subject)
	return err
}

// UpdateAsset applies change to the current card under a row lock and saves it as the next version.
//
// expected is the version the client read (optimistic concurrency across requests, the row lock
// within this one): a card changed by someone else in between is refused with version_conflict
// rather than silently overwritten. change is the assets package's rule and runs on the locked
// row before the check, so a rule error wins over a version conflict.
func (db AssetStore) UpdateAsset(ctx context.Context, id assets.ID, expected int, reason string, change func(*assets.Asset) error) (assets.Asset, error) {
	var out assets.Asset
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanAsset(tx.QueryRow(ctx, `SELECT `+assetColumns+assetFrom+`WHERE a.id = $1 FOR UPDATE OF a`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return datavenue.NotFound("asset_not_found", "no asset with this id is visible to you")
		}
		if err != nil {
			return err
		}
		if err := change(&cur); err != nil {
			return err
		}
		if cur.Version != expected {
			return datavenue.Conflict("version_conflict", "the card changed since you read it; reload it and apply your change again")
		}
		costs, _ := json.Marshal(cur.CostComponents)
		_, err = tx.Exec(ctx, `UPDATE assets SET version = version + 1, category = $2, name = $3, summary = $4, rights = $5,
			classification = $6, grade = $7, source = $8, shared_from = nullif($9, ''), shared_consent_ref = nullif($10, ''),
			scale = $11, update_frequency = $12, acquisition_mode = $13, cost_components = $14, original_cost = $15::numeric,
			measurement_basis = $16, book_value = $17::numeric, accounting_status = $18, updated_at = now()
			WHERE id = $1`,
			id, cur.Category, cur.Name, cur.Summary, cur.Rights, cur.Classification, cur.Grade, cur.Source,
			string(cur.SharedFrom), cur.SharedConsentRef, cur.Scale, cur.UpdateFrequency, cur.AcquisitionMode, costs,
			cur.OriginalCost.String(), cur.MeasurementBasis, cur.BookValue.String(), cur.AccountingStatus)
		if err != nil {
			return err
		}
		if out, err = scanAsset(tx.QueryRow(ctx, `SELECT `+assetColumns+assetFrom+`WHERE a.id = $1`, id)); err != nil {
			return err
		}
		if err := appendVersion(ctx, tx, out, reason); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "asset.changed", "asset", string(id), map[string]any{"version": out.Version, "reason": reason})
	})
	return out, err
}

// Asset returns a card's current version.
func (db AssetStore) Asset(ctx context.Context, id assets.ID) (assets.Asset, error) {
	a, err := scanAsset(db.Pool.QueryRow(ctx, `SELECT `+assetColumns+assetFrom+`WHERE a.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, datavenue.NotFound("asset_not_found", "no asset with this id is visible to you")
	}
	return a, interpretError(err)
}

// Card returns a card with its usage information.
//
// Usage is computed on read, not stored: the count of valid certificates (valid until today or
// later in CST, since expiry is only swept once a day), active grants, appraisals, live listings
// (published or suspended), trades on products derived from the asset, and the holder's revenue
// share from settlement orders that were not cancelled (D16/G6). The whole card is one statement,
// so the figures are consistent with each other.
func (db AssetStore) Card(ctx context.Context, id assets.ID) (assets.Card, error) {
	a, err := db.Asset(ctx, id)
	if err != nil {
		return assets.Card{}, err
	}
	c := assets.Card{Asset: a}
	var revenue string
	err = db.Pool.QueryRow(ctx, `SELECT
			coalesce((SELECT array_agg(number || ' v' || version ORDER BY number) FROM certificates
				WHERE asset_id = $1 AND status = 'valid' AND valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date), '{}'),
			(SELECT count(*) FROM authorisations WHERE asset_id = $1 AND status = 'active'),
			(SELECT count(*) FROM appraisals WHERE asset_id = $1),
			(SELECT count(*) FROM product_assets pa JOIN products p ON p.id = pa.product_id WHERE pa.asset_id = $1 AND p.status IN ('published', 'suspended')),
			(SELECT count(*) FROM trades t JOIN product_assets pa ON pa.product_id = t.product_id WHERE pa.asset_id = $1),
			(SELECT coalesce(sum(s.amount), 0)::text FROM settlement_shares s JOIN settlement_orders o ON o.id = s.order_id
				JOIN product_assets pa ON pa.product_id = o.product_id
				WHERE pa.asset_id = $1 AND s.role = 'holder' AND s.party_id = $2 AND o.status <> 'cancelled')`, id, string(a.HolderID)).
		Scan(&c.Usage.ValidCertificates, &c.Usage.ActiveAuthorisations, &c.Usage.Appraisals, &c.Usage.Listings, &c.Usage.Trades, &revenue)
	c.Usage.Revenue = yuan(revenue)
	return c, interpretError(err)
}

// Assets lists cards in id order.
func (db AssetStore) Assets(ctx context.Context, f assets.Filter) ([]assets.Asset, error) {
	// Keyset paging by id; an export of the asset ledger (台账, D4) may ask for up to 10000 cards.
	rows, err := db.Pool.Query(ctx, `SELECT `+assetColumns+assetFrom+`
		WHERE ($1 = '' OR a.holder_id = $1) AND ($2 = '' OR a.category = $2) AND ($3 = '' OR a.grade = $3)
		  AND ($4 = '' OR a.accounting_status = $4) AND a.id > $5
		ORDER BY a.id LIMIT $6`,
		string(f.Holder), f.Category, f.Grade, f.AccountingStatus, string(f.After), exportLimit(f.Limit, 10000))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (assets.Asset, error) { return scanAsset(row) })
	return list, interpretError(err)
}

// AssetVersions returns every version of a card, oldest first.
func (db AssetStore) AssetVersions(ctx context.Context, id assets.ID) ([]assets.Version, error) {
	rows, err := db.Pool.Query(ctx, `SELECT version, snapshot, change_reason, changed_by_org, changed_by, changed_at
		FROM asset_versions WHERE asset_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (assets.Version, error) {
		var v assets.Version
		var snap []byte
		if err := row.Scan(&v.Version, &snap, &v.ChangeReason, &v.ChangedByOrg, &v.ChangedBy, &v.ChangedAt); err != nil {
			return v, err
		}
		return v, json.Unmarshal(snap, &v.Snapshot)
	})
	return list, interpretError(err)
}

var _ assets.Store = AssetStore{}
