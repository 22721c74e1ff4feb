package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// productColumns is the product SELECT list shared by every read, in scanProduct's order. The
// source assets come from the product_assets join table (ordered, so a product reads the same
// every time) rather than a column: that table is what lets ProductsOnAsset (the suspender, when
// an asset's certificate, grant or approval lapses) find every product derived from an asset by
// an index.
const productColumns = `p.id, p.operator_id, array(SELECT asset_id FROM product_assets WHERE product_id = p.id ORDER BY asset_id),
	p.holder_ids, p.title, p.title_en, p.description, p.description_en, p.product_type, p.domain, p.scenario, p.keywords,
	p.delivery, p.update_frequency, p.data_schema, p.sample, p.licence, p.use_category, p.pricing, p.price_version,
	p.allow_list, p.deny_list, p.status, p.suspension, p.version, p.created_at, p.updated_at, p.published_at`

// scanProduct reads one productColumns row. Delivery, licence, pricing and suspension are JSONB
// documents owned by the listing package; a NULL suspension means "not suspended", so it stays a
// nil pointer rather than an empty struct.
func scanProduct(row pgx.Row) (listing.Product, error) {
	var p listing.Product
	var delivery, licence, pricing, suspension []byte
	var sources, holders, allow, deny []string
	err := row.Scan(&p.ID, &p.OperatorID, &sources, &holders, &p.Title, &p.TitleEN, &p.Description, &p.DescriptionEN,
		&p.ProductType, &p.Domain, &p.Scenario, &p.Keywords, &delivery, &p.UpdateFrequency, &p.Schema, &p.Sample, &licence,
		&p.UseCategory, &pricing, &p.PriceVersion, &allow, &deny, &p.Status, &suspension, &p.Version, &p.CreatedAt,
		&p.UpdatedAt, &p.PublishedAt)
	if err != nil {
		return p, err
	}
	for _, s := range sources {
		p.SourceAssets = append(p.SourceAssets, assets.ID(s))
	}
	p.HolderIDs, p.AllowList, p.DenyList = orgIDs(holders), orgIDs(allow), orgIDs(deny)
	if err := json.Unmarshal(delivery, &p.Delivery); err != nil {
		return p, err
	}
	if err := json.Unmarshal(licence, &p.Licence); err != nil {
		return p, err
	}
	if err := json.Unmarshal(pricing, &p.Pricing); err != nil {
		return p, err
	}
	if suspension != nil {
		p.Suspension = &listing.Suspension{}
		return p, json.Unmarshal(suspension, p.Suspension)
	}
	return p, nil
}

// orgIDs and strs convert between typed ids and the text[] that pgx encodes; the typed ids keep an
// operator id from being passed where a holder id is meant (STYLE habit 7).
func orgIDs(in []string) []datavenue.OrgID {
	out := make([]datavenue.OrgID, len(in))
	for i, s := range in {
		out[i] = datavenue.OrgID(s)
	}
	return out
}

func strs[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

var errProductNotFound = datavenue.NotFound("product_not_found", "no product with this id is visible to you")

// Errors from json.Marshal are ignored: the values are plain structs of strings and decimals that
// always encode. The reference price goes as a decimal string cast to NUMERIC so it is never a float
// (habit 4). The last two values are the search index terms: title and keywords weigh more (A) than
// the description (B) in productValues' tsvector, see search.go.
// productArgs are the values of a product row, in the order of the INSERT and UPDATE statements.
func productArgs(p listing.Product) []any {
	delivery, _ := json.Marshal(p.Delivery)
	licence, _ := json.Marshal(p.Licence)
	pricing, _ := json.Marshal(p.Pricing)
	var suspension []byte
	if p.Suspension != nil {
		suspension, _ = json.Marshal(p.Suspension)
	}
	keywords := append([]string{p.Title, p.TitleEN}, p.Keywords...)
	return []any{p.ID, p.OperatorID, strs(p.HolderIDs), p.Title, p.TitleEN, p.Description, p.DescriptionEN, p.ProductType,
		p.Domain, p.Scenario, p.Keywords, delivery, p.UpdateFrequency, []byte(p.Schema), []byte(p.Sample), licence,
		p.UseCategory, p.Pricing.Method, pricing, p.Pricing.RefPrice().String(), p.PriceVersion, strs(p.AllowList),
		strs(p.DenyList), p.Status, suspension, p.Version, p.PublishedAt,
		listing.IndexTerms(keywords...), listing.IndexTerms(p.Description, p.DescriptionEN)}
}

// productValues is the VALUES list for productArgs, shared by the INSERT and the UPDATE ... SET (...)
// = (...) row form so the two statements cannot drift apart column by column.
const productValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20::numeric,
	$21, $22, $23, $24, $25, $26, $27,
	setweight(array_to_tsvector($28::text[]), 'A') || setweight(array_to_tsvector($29::text[]), 'B')`

// syncProductAssets rewrites a product's source-asset links inside the caller's transaction:
// delete then insert, because the set may shrink as well as grow. ON CONFLICT DO NOTHING absorbs
// an asset listed twice in the request.
func syncProductAssets(ctx context.Context, tx pgx.Tx, p listing.Product) error {
	if _, err := tx.Exec(ctx, `DELETE FROM product_assets WHERE product_id = $1`, p.ID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO product_assets (product_id, asset_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
		p.ID, strs(p.SourceAssets))
	return err
}

// appendPrice records a price version in product_prices, the append-only price history (prices
// must be posted and traceable, N5, D15). The version number comes from the product row, which the
// caller has just inserted (CreateProduct) or holds FOR UPDATE (Transition), so two concurrent
// re-pricings cannot both write the same version.
func appendPrice(ctx context.Context, tx pgx.Tx, p listing.Product, reason string) error {
	caller, _ := datavenue.CallerFrom(ctx)
	pricing, _ := json.Marshal(p.Pricing)
	_, err := tx.Exec(ctx, `INSERT INTO product_prices (product_id, version, pricing_method, pricing, ref_price, reason, changed_by_org, changed_by)
		VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8)`,
		p.ID, p.PriceVersion, p.Pricing.Method, pricing, p.Pricing.RefPrice().String(), reason, caller.Org, caller.Subject)
	return err
}

// CreateProduct inserts a draft with its first price version.
// The audit record, the price version and the asset links are written in the same transaction
// as the product, so a product never exists without its history. It reads the product back after
// the commit to return the stored defaults (timestamps, version).
func (db ListingStore) CreateProduct(ctx context.Context, p listing.Product, reason string) (listing.Product, error) {
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO products (id, operator_id, holder_ids, title, title_en, description, description_en,
			product_type, domain, scenario, keywords, delivery, update_frequency, data_schema, sample, licence, use_category,
			pricing_method, pricing, ref_price, price_version, allow_list, deny_list, status, suspension, version, published_at, search)
			VALUES (`+productValues+`)`, productArgs(p)...)
		if err != nil {
			return err
		}
		if err := syncProductAssets(ctx, tx, p); err != nil {
			return err
		}
		if err := appendPrice(ctx, tx, p, reason); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "product.created", "product", p.ID, map[string]any{"title": p.Title, "type": p.ProductType})
	}, func(q querier) (listing.Product, error) {
		return productFrom(ctx, q, p.ID)
	})
}

// Product returns one product.
func (db ListingStore) Product(ctx context.Context, id string) (listing.Product, error) {
	return productFrom(ctx, db.Pool, id)
}

// productFrom is Product read through q: the pool, or the transaction that has just written it (readBack).
func productFrom(ctx context.Context, q querier, id string) (listing.Product, error) {
	p, err := scanProduct(q.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1`, id))
	return p, interpretError(notFoundAs(err, errProductNotFound))
}

// Products lists products in id order.
// Keyset paging on id (f.After); exportLimit rather than clampLimit because the catalogue export
// reads up to 1000 products at once.
func (db ListingStore) Products(ctx context.Context, f listing.ProductFilter) ([]listing.Product, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+productColumns+` FROM products p
		WHERE ($1 = '' OR p.operator_id = $1) AND ($2 = '' OR p.status = $2) AND ($5 = '' OR p.pricing_method = $5) AND p.id > $3
		ORDER BY p.id LIMIT $4`,
		string(f.Operator), f.Status, f.After, exportLimit(f.Limit, 1000), f.Method)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.Product, error) { return scanProduct(r) })
	return list, interpretError(err)
}

// ProductsOnAsset lists the ids of products in a status that derive from an asset.
func (db ListingStore) ProductsOnAsset(ctx context.Context, assetID, status string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `SELECT p.id FROM products p JOIN product_assets pa ON pa.product_id = p.id
		WHERE pa.asset_id = $1 AND p.status = $2 ORDER BY p.id`, assetID, status)
	if err != nil {
		return nil, interpretError(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, interpretError(err)
}

// GateFacts reads a product and the facts of its gate in one transaction, as Transition does but
// without locking the product or changing it (the facts' share locks end with the transaction; a
// step re-reads them under its own lock).
func (db ListingStore) GateFacts(ctx context.Context, id string) (listing.Product, listing.Facts, error) {
	var p listing.Product
	var facts listing.Facts
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if p, err = scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1`, id)); err != nil {
			return notFoundAs(err, errProductNotFound)
		}
		facts, err = gateFacts(ctx, tx, p)
		return err
	})
	return p, facts, err
}

// Transition changes a product under a row lock, with the gate's facts read (and share-locked) in
// the same transaction (see listing.Store).
//
// Lock order: the product row (FOR UPDATE) first, then the gate's rows (FOR SHARE) in gateFacts.
// A certificate, grant or approval change that must wait for this transaction does not hold the
// product row, so the two cannot wait on each other in a cycle.
// change is the listing package's rule (publish, suspend, re-price...): it edits p in place or
// returns an error, which rolls everything back. listing.ErrUnchanged is the rule saying "nothing
// to do": the transaction rolls back and the caller gets ErrUnchanged with an empty product (the
// suspender ignores it). newPrice, when not empty, is the reason for a new price version.
func (db ListingStore) Transition(ctx context.Context, id, action, newPrice string, change func(*listing.Product, listing.Facts) error) (listing.Product, error) {
	var out listing.Product
	saved, err := readBack(ctx, db.conn, func(tx pgx.Tx) error {
		p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFoundAs(err, errProductNotFound)
		}
		from := p.Status
		facts, err := gateFacts(ctx, tx, p)
		if err != nil {
			return err
		}
		if err := change(&p, facts); err != nil {
			return err
		}
		p.Version++
		if newPrice != "" {
			p.PriceVersion++
			if err := appendPrice(ctx, tx, p, newPrice); err != nil {
				return err
			}
		}
		args := productArgs(p)
		_, err = tx.Exec(ctx, `UPDATE products SET (id, operator_id, holder_ids, title, title_en, description, description_en,
			product_type, domain, scenario, keywords, delivery, update_frequency, data_schema, sample, licence, use_category,
			pricing_method, pricing, ref_price, price_version, allow_list, deny_list, status, suspension, version, published_at, search)
			= (`+productValues+`), updated_at = now() WHERE id = $1`, args...)
		if err != nil {
			return err
		}
		if err := syncProductAssets(ctx, tx, p); err != nil {
			return err
		}
		if err := keepSuspensionSpan(ctx, tx, p, from); err != nil {
			return err
		}
		out = p
		detail := map[string]any{"from": from, "to": p.Status, "version": p.Version}
		if p.Suspension != nil {
			detail["suspension"] = p.Suspension
		}
		if newPrice != "" {
			detail["price_version"], detail["reason"] = p.PriceVersion, newPrice
		}
		// A suspension is announced to webhook subscribers in the same transaction (outbox), so a
		// subscriber never hears of a suspension that rolled back and never misses one that committed.
		if action == "product.suspended" && p.Status == listing.StatusSuspended {
			if err := announceProductSuspended(ctx, tx, p); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, action, "product", id, detail)
	}, func(q querier) (listing.Product, error) {
		return productFrom(ctx, q, out.ID)
	})
	if errors.Is(err, listing.ErrUnchanged) {
		return listing.Product{}, listing.ErrUnchanged
	}
	return saved, err
}

// gateFacts reads what the publishing gate needs, share-locking the rows it relies on, so that a
// cancellation, revocation or lapse committed meanwhile waits for this transaction and then sees
// its outcome.
//
// This is what makes "revocation must stop trading" (D9/G5) and "no profit without approval"
// (D10) hold under concurrency: the certificate (D5), authorisation and approval rows the gate
// checks cannot change until this transaction commits. Caps (N4) and the appraisal (D14) are
// read for the price checks.
func gateFacts(ctx context.Context, tx pgx.Tx, p listing.Product) (listing.Facts, error) {
	facts := listing.Facts{Assets: map[assets.ID]listing.AssetFacts{}}
	ids := strs(p.SourceAssets)
	rows, err := tx.Query(ctx, `SELECT `+assetColumns+`, a.holder_kind`+assetFrom+`WHERE a.id = ANY($1) FOR SHARE OF a`, ids)
	if err != nil {
		return facts, err
	}
	for rows.Next() {
		var kind string
		a, err := scanAssetWith(rows, &kind)
		if err != nil {
			rows.Close()
			return facts, err
		}
		facts.Assets[a.ID] = listing.AssetFacts{Asset: a, HolderKind: kind}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return facts, err
	}
	certs, err := collect(ctx, tx, scanCertificate, certificateSelect+`WHERE c.asset_id = ANY($1) AND c.status = 'valid' FOR SHARE OF c`, ids)
	if err != nil {
		return facts, err
	}
	grants, err := collect(ctx, tx, scanAuthorisation, authorisationSelect+`WHERE g.asset_id = ANY($1) AND g.operator_id = $2
		AND g.status = 'active' FOR SHARE OF g`, ids, p.OperatorID)
	if err != nil {
		return facts, err
	}
	approvals, err := collect(ctx, tx, scanApproval, approvalSelect+`WHERE asset_id = ANY($1) AND status IN ('approved', 'recorded') FOR SHARE`, ids)
	if err != nil {
		return facts, err
	}
	// Attach each certificate, grant and approval to its asset in Go: a product has a handful of
	// source assets, so nested loops are cheaper than three more queries.
	for id, af := range facts.Assets {
		for _, c := range certs {
			if c.AssetID == id {
				af.Certificates = append(af.Certificates, c)
			}
		}
		for _, g := range grants {
			if g.AssetID == id {
				af.Authorisations = append(af.Authorisations, g)
			}
		}
		for _, a := range approvals {
			if a.AssetID == id {
				af.Approvals = append(af.Approvals, a)
			}
		}
		facts.Assets[id] = af
	}
	if facts.Caps, err = collect(ctx, tx, scanCap, capSelect+`WHERE product_id = $1 ORDER BY charging_unit, version`, p.ID); err != nil {
		return facts, err
	}
	if p.Pricing.Method == listing.MethodAppraisal && p.Pricing.AppraisalID != "" {
		a, err := scanAppraisal(tx.QueryRow(ctx, appraisalSelect+`WHERE id = $1 FOR SHARE`, p.Pricing.AppraisalID))
		// A missing appraisal is not an error here: the listing rule reports it as a gate failure with
		// its own code.
		if err == nil {
			facts.Appraisal = &a
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return facts, err
		}
	}
	return facts, nil
}

// collect runs a query in tx and scans every row with a store's row scanner, so gateFacts can
// reuse each domain's SELECT and scan functions instead of repeating their column lists.
func collect[T any](ctx context.Context, tx pgx.Tx, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// PriceHistory returns every price version of a product, oldest first.
func (db ListingStore) PriceHistory(ctx context.Context, id string) ([]listing.PriceVersion, error) {
	rows, err := db.Pool.Query(ctx, `SELECT version, pricing, ref_price::text, reason, changed_by_org, changed_by, changed_at
		FROM product_prices WHERE product_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.PriceVersion, error) {
		var v listing.PriceVersion
		var pricing []byte
		var ref string
		if err := r.Scan(&v.Version, &pricing, &ref, &v.Reason, &v.ChangedByOrg, &v.ChangedBy, &v.ChangedAt); err != nil {
			return v, err
		}
		if err := json.Unmarshal(pricing, &v.Pricing); err != nil {
			return v, err
		}
		v.RefPrice, err = money.Parse(ref)
		return v, err
	})
	return list, interpretError(err)
}

var _ listing.Store = ListingStore{}

// keepSuspensionSpan keeps the product's suspension history (product_suspensions) in step with
// its status, in the transition's transaction: a span opens when the product becomes suspended
// and closes when it stops being so, at the instant the rule stamped (Lifted) or, failing one,
// the transaction's. The deferred constraint trigger refuses a commit that leaves the two apart.
func keepSuspensionSpan(ctx context.Context, tx pgx.Tx, p listing.Product, from string) error {
	suspended := p.Status == listing.StatusSuspended
	switch {
	case from != listing.StatusSuspended && suspended:
		_, err := tx.Exec(ctx, `INSERT INTO product_suspensions (product_id, suspended_at, by_whom, reason) VALUES ($1, $2, $3, $4)`,
			p.ID, p.Suspension.At, p.Suspension.By, p.Suspension.Reason)
		return err
	case from == listing.StatusSuspended && !suspended:
		// GREATEST: a span never ends before it began, should the rule's clock lag the suspender's.
		_, err := tx.Exec(ctx, `UPDATE product_suspensions SET lifted_at = GREATEST(coalesce($2, now()), suspended_at)
			WHERE product_id = $1 AND lifted_at IS NULL`, p.ID, p.Lifted)
		return err
	}
	return nil
}

// suspensionSpans are the suspension spans of the products among ids, by product, oldest first.
func suspensionSpans(ctx context.Context, tx pgx.Tx, ids []string) (map[string][]listing.SuspensionSpan, error) {
	rows, err := tx.Query(ctx, `SELECT product_id, suspended_at, lifted_at, by_whom, reason FROM product_suspensions
		WHERE product_id = ANY($1) ORDER BY product_id, suspended_at`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	spans := map[string][]listing.SuspensionSpan{}
	for rows.Next() {
		var id string
		var s listing.SuspensionSpan
		if err := rows.Scan(&id, &s.From, &s.Until, &s.By, &s.Reason); err != nil {
			return nil, err
		}
		spans[id] = append(spans[id], s)
	}
	return spans, rows.Err()
}
