package postgres

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// searchSQL builds a catalogue query from fixed fragments and placeholders only: every value a
// client sends is an argument, never SQL text.
type searchSQL struct {
	where []string
	args  []any
}

// arg appends a value and returns its placeholder ($n), so fragments and arguments cannot get out
// of step.
func (s *searchSQL) arg(v any) string {
	s.args = append(s.args, v)
	return "$" + strconv.Itoa(len(s.args))
}

// add appends a condition; conditions are ANDed.
func (s *searchSQL) add(cond string) { s.where = append(s.where, cond) }

// clone copies the builder, so two statements can extend the same filters independently.
func (s searchSQL) clone() searchSQL {
	return searchSQL{where: append([]string(nil), s.where...), args: append([]any(nil), s.args...)}
}

func (s searchSQL) whereSQL() string { return strings.Join(s.where, " AND ") }

// filters turns the query's filters into conditions.
func filters(q listing.SearchQuery) (searchSQL, string) {
	var s searchSQL
	// The status is one of two fixed words (validated by the service) and is written literally so
	// the planner can use the partial indexes, whose predicates name it.
	if q.Status == listing.StatusSuspended {
		s.add("status = 'suspended'")
	} else {
		s.add("status = 'published'")
	}
	tsq := ""
	if q.Terms != "" {
		// The terms come from listing.Query already in tsquery syntax (quoted tokens of letters and
		// digits, the same tokenisation as IndexTerms), bound as a parameter and cast, so a client
		// cannot inject tsquery operators the service did not write.
		tsq = s.arg(q.Terms) + "::tsquery"
		s.add("search @@ " + tsq)
	}
	for _, f := range []struct{ col, v string }{{"domain", q.Domain}, {"product_type", q.ProductType},
		{"pricing_method", q.PricingMethod}, {"use_category", q.UseCategory}} {
		if f.v != "" {
			s.add(f.col + " = " + s.arg(f.v))
		}
	}
	// @> on the holder_ids array lets the GIN index answer "products this holder contributes to".
	if q.Holder != "" {
		s.add("holder_ids @> ARRAY[" + s.arg(string(q.Holder)) + "]::text[]")
	}
	// Price bounds compare the NUMERIC reference price against a decimal string, never a float.
	if q.MinPrice != nil {
		s.add("ref_price >= " + s.arg(q.MinPrice.String()) + "::numeric")
	}
	if q.MaxPrice != nil {
		s.add("ref_price <= " + s.arg(q.MaxPrice.String()) + "::numeric")
	}
	return s, tsq
}

// order is the ORDER BY and the keyset condition (after the cursor) of a sort.
//
// Every ORDER BY ends with id, which makes the sort key unique, so the keyset condition (a row
// comparison against the cursor's last row) neither skips nor repeats a row across pages. The
// descending sorts compare with <, the ascending one with >. The cursor's values are bound as
// arguments and cast to the column's type (rank is real, ref_price NUMERIC, published_at
// timestamptz) so the comparison uses the index's ordering.
func order(s *searchSQL, q listing.SearchQuery) (orderBy, keyset string) {
	c := q.After
	switch q.Sort {
	case "relevance":
		orderBy = "rank DESC, id DESC"
		if c != nil {
			keyset = "(rank, id) < (" + s.arg(c.Rank) + "::real, " + s.arg(c.ID) + ")"
		}
	case "price_asc":
		orderBy = "ref_price, id"
		if c != nil {
			keyset = "(ref_price, id) > (" + s.arg(c.Price) + "::numeric, " + s.arg(c.ID) + ")"
		}
	case "price_desc":
		orderBy = "ref_price DESC, id DESC"
		if c != nil {
			keyset = "(ref_price, id) < (" + s.arg(c.Price) + "::numeric, " + s.arg(c.ID) + ")"
		}
	default: // newest
		orderBy = "published_at DESC, id DESC"
		if c != nil {
			keyset = "(published_at, id) < (" + s.arg(c.PublishedAt) + "::timestamptz, " + s.arg(c.ID) + ")"
		}
	}
	return orderBy, keyset
}

// Search runs a catalogue query. Its cost is bounded whatever the query matches:
//
//  1. One statement reads at most ExactMatches+1 matches into a narrow working set and returns,
//     from that set, their count, the facet counts and the ids of the requested page.
//  2. If the matches fit, that is the exact answer. If not, the facets and total are estimated
//     from a 2% block sample of the table, and the page comes from an index-ordered scan (for relevance:
//     ranked among the newest ExactMatches matches).
//  3. The page's entries are read by primary key.
func (db ListingStore) Search(ctx context.Context, q listing.SearchQuery) (listing.SearchResult, error) {
	base, tsq := filters(q)
	rank := "0::real"
	if tsq != "" && q.Sort == "relevance" {
		rank = "ts_rank_cd(search, " + tsq + ")"
	}
	s := base.clone()
	orderBy, keyset := order(&s, q)
	if keyset == "" {
		keyset = "true"
	}
	// One round trip answers the exact case. The MATERIALIZED CTE m is the working set: at most
	// ExactMatches+1 matching rows of the narrow columns (LIMIT without ORDER BY stops the scan early).
	// The three branches, told apart by the first column, are the count ('n'), the facet counts by
	// GROUPING SETS, one set per facet ('f'), and the page's ids in the requested order ('p'). If the
	// count is ExactMatches+1, the query is broad and only the count is used from here.
	sql := `WITH m AS MATERIALIZED (
			SELECT id, domain, product_type, pricing_method, use_category, ref_price, published_at, ` + rank + ` AS rank
			FROM products WHERE ` + s.whereSQL() + ` LIMIT ` + strconv.Itoa(listing.ExactMatches+1) + `)
		SELECT 'n', NULL, NULL, NULL, NULL, count(*), NULL::real FROM m
		UNION ALL
		SELECT 'f', domain, product_type, pricing_method, use_category, count(*), NULL FROM m
			GROUP BY GROUPING SETS ((domain), (product_type), (pricing_method), (use_category))
		UNION ALL
		(SELECT 'p', id, NULL, NULL, NULL, NULL, rank FROM m WHERE ` + keyset + ` ORDER BY ` + orderBy + ` LIMIT ` + s.arg(q.Limit+1) + `)`
	rows, err := db.Pool.Query(ctx, sql, s.args...)
	if err != nil {
		return listing.SearchResult{}, interpretError(err)
	}
	count, facets, ids, err := readWorkingSet(rows)
	if err != nil {
		return listing.SearchResult{}, interpretError(err)
	}
	// The API reports TotalExact so a client can show "about N" rather than a false exact number.
	result := listing.SearchResult{Data: []listing.Entry{}, Total: count, TotalExact: count <= listing.ExactMatches}
	if !result.TotalExact {
		if facets, result.Total, err = db.sampledFacets(ctx, base); err != nil {
			return result, err
		}
		if ids, err = db.broadPage(ctx, base, q, rank); err != nil {
			return result, err
		}
	}
	if q.Facets {
		result.Facets = facets
	}
	page, err := db.entries(ctx, ids)
	if err != nil {
		return result, err
	}
	// One extra row was read (Limit+1) to know whether a next page exists without a count query.
	// The cursor records the last row's sort key; rank is formatted at float32 precision so that the
	// ::real comparison in order() matches the stored rank exactly.
	if len(page) > q.Limit {
		last := page[q.Limit-1]
		c := listing.Cursor{Sort: q.Sort, ID: last.ID, Price: last.Price.String(), PublishedAt: last.PublishedAt}
		if q.Sort == "relevance" {
			c.Rank = strconv.FormatFloat(float64(last.Rank), 'g', -1, 32)
		}
		result.NextCursor, page = c.Encode(), page[:q.Limit]
	}
	result.Data = page
	return result, nil
}

// pageID is a page entry's id and its relevance rank, read before the entries themselves.
type pageID struct {
	id   string
	rank float32
}

// newFacets starts every facet empty, so a response lists each facet even when it has no values.
func newFacets() map[string]map[string]int {
	return map[string]map[string]int{"domain": {}, "product_type": {}, "pricing_method": {}, "use_category": {}}
}

// readWorkingSet splits the union in Search back into its three parts by the tag column.
func readWorkingSet(rows pgx.Rows) (int, map[string]map[string]int, []pageID, error) {
	defer rows.Close()
	facets := newFacets()
	count := 0
	var ids []pageID
	for rows.Next() {
		var kind string
		var a, b, c, d *string
		var n *int
		var rank *float32
		if err := rows.Scan(&kind, &a, &b, &c, &d, &n, &rank); err != nil {
			return 0, nil, nil, err
		}
		switch kind {
		case "n":
			count = *n
		case "p":
			ids = append(ids, pageID{id: *a, rank: *rank})
		default:
			addFacet(facets, a, b, c, d, *n)
		}
	}
	return count, facets, ids, rows.Err()
}

// addFacet files a GROUPING SETS row under the one facet whose column is not NULL in it.
func addFacet(facets map[string]map[string]int, domain, ptype, method, use *string, n int) {
	switch {
	case domain != nil:
		facets["domain"][*domain] = n
	case ptype != nil:
		facets["product_type"][*ptype] = n
	case method != nil:
		facets["pricing_method"][*method] = n
	case use != nil:
		facets["use_category"][*use] = n
	}
}

// samplePercent is the share of the table read to estimate a broad query's facets.
const samplePercent = 2

// sampledFacets estimates the facet counts and total of a broad query from a block sample of the
// table (REPEATABLE, so the same query gets the same estimate while the table is unchanged).
func (db ListingStore) sampledFacets(ctx context.Context, s searchSQL) (map[string]map[string]int, int, error) {
	rows, err := db.Pool.Query(ctx, `SELECT domain, product_type, pricing_method, use_category, count(*)
		FROM products TABLESAMPLE SYSTEM (`+strconv.Itoa(samplePercent)+`) REPEATABLE (7)
		WHERE `+s.whereSQL()+` GROUP BY GROUPING SETS ((domain), (product_type), (pricing_method), (use_category))`, s.args...)
	if err != nil {
		return nil, 0, interpretError(err)
	}
	defer rows.Close()
	facets, total := newFacets(), 0
	scale := 100.0 / samplePercent
	for rows.Next() {
		var a, b, c, d *string
		var n int
		if err := rows.Scan(&a, &b, &c, &d, &n); err != nil {
			return nil, 0, interpretError(err)
		}
		// Each sampled count is scaled by 100/samplePercent; the total is the sum over one facet
		// (domain), since every matching row has exactly one domain.
		est := int(math.Round(float64(n) * scale))
		addFacet(facets, a, b, c, d, est)
		if a != nil {
			total += est
		}
	}
	if total <= listing.ExactMatches { // the sample missed most matches: say at least what we know
		total = listing.ExactMatches + 1
	}
	return facets, total, interpretError(rows.Err())
}

// broadPage reads the page of a query with more matches than ExactMatches, letting the planner
// walk an ordered index and stop at the page's end. Relevance ranks the newest ExactMatches
// matches (ranking every match of a near-universal term would cost a scan of the catalogue).
func (db ListingStore) broadPage(ctx context.Context, base searchSQL, q listing.SearchQuery, rank string) ([]pageID, error) {
	s := base.clone()
	orderBy, keyset := order(&s, q)
	if keyset == "" {
		keyset = "true"
	}
	var sql string
	if q.Sort == "relevance" {
		sql = `SELECT id, rank FROM (SELECT id, ` + rank + ` AS rank FROM products WHERE ` + s.whereSQL() + `
			ORDER BY published_at DESC, id DESC LIMIT ` + strconv.Itoa(listing.ExactMatches) + `) c
			WHERE ` + keyset + ` ORDER BY ` + orderBy + ` LIMIT ` + s.arg(q.Limit+1)
	} else {
		sql = `SELECT id, 0::real FROM products WHERE ` + s.whereSQL() + ` AND ` + keyset + ` ORDER BY ` + orderBy + ` LIMIT ` + s.arg(q.Limit+1)
	}
	rows, err := db.Pool.Query(ctx, sql, s.args...)
	if err != nil {
		return nil, interpretError(err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pageID, error) {
		var p pageID
		err := r.Scan(&p.id, &p.rank)
		return p, err
	})
	return ids, interpretError(err)
}

// entries reads a page's entries by primary key, in the page's order.
//
// Reading the entries by primary key after choosing ids keeps the wide columns (descriptions)
// out of the working set and the sorts. The order of the page is the ids' order, not the
// database's, hence the map. Only a product deleted between the two reads is missing; one whose
// status changed meanwhile is still returned as it now is.
func (db ListingStore) entries(ctx context.Context, ids []pageID) ([]listing.Entry, error) {
	if len(ids) == 0 {
		return []listing.Entry{}, nil
	}
	keys := make([]string, len(ids))
	for i, p := range ids {
		keys[i] = p.id
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, title, title_en, description, product_type, domain, use_category, pricing_method,
		ref_price::text, operator_id, holder_ids, status, published_at FROM products WHERE id = ANY($1)`, keys)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.Entry, error) {
		var e listing.Entry
		var price string
		var holders []string
		var published *time.Time
		err := r.Scan(&e.ID, &e.Title, &e.TitleEN, &e.Description, &e.ProductType, &e.Domain, &e.UseCategory, &e.PricingMethod,
			&price, &e.OperatorID, &holders, &e.Status, &published)
		if err != nil {
			return e, err
		}
		e.HolderIDs, e.Currency = orgIDs(holders), "CNY"
		if published != nil {
			e.PublishedAt = *published
		}
		e.Price, err = money.Parse(price)
		return e, err
	})
	if err != nil {
		return nil, interpretError(err)
	}
	byID := make(map[string]listing.Entry, len(list))
	for _, e := range list {
		byID[e.ID] = e
	}
	out := make([]listing.Entry, 0, len(ids))
	for _, p := range ids {
		if e, ok := byID[p.id]; ok { // a product changed between the two reads is left out
			e.Rank = p.rank
			out = append(out, e)
		}
	}
	return out, nil
}
