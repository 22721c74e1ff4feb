package postgres

import (
	"context"
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

func (s *searchSQL) arg(v any) string {
	s.args = append(s.args, v)
	return "$" + strconv.Itoa(len(s.args))
}

func (s *searchSQL) add(cond string) { s.where = append(s.where, cond) }

const entryColumns = `id, title, title_en, description, product_type, domain, use_category, pricing_method, ref_price::text AS price_text,
	operator_id, holder_ids, status, published_at`

// Search runs a catalogue query: the page in the requested order with keyset pagination, and the
// facet counts of all matches.
func (db *DB) Search(ctx context.Context, q listing.SearchQuery) (listing.SearchResult, error) {
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
		tsq = s.arg(q.Terms) + "::tsquery"
		s.add("search @@ " + tsq)
	}
	for col, v := range map[string]string{"domain": q.Domain, "product_type": q.ProductType, "pricing_method": q.PricingMethod, "use_category": q.UseCategory} {
		if v != "" {
			s.add(col + " = " + s.arg(v))
		}
	}
	if q.Holder != "" {
		s.add("holder_ids @> ARRAY[" + s.arg(string(q.Holder)) + "]::text[]")
	}
	if q.MinPrice != nil {
		s.add("ref_price >= " + s.arg(q.MinPrice.String()) + "::numeric")
	}
	if q.MaxPrice != nil {
		s.add("ref_price <= " + s.arg(q.MaxPrice.String()) + "::numeric")
	}
	where := strings.Join(s.where, " AND ")
	result := listing.SearchResult{Data: []listing.Entry{}}
	if q.Facets {
		facets, total, err := db.facets(ctx, where, s.args)
		if err != nil {
			return result, err
		}
		result.Facets, result.Total = facets, total
	}
	page, err := db.page(ctx, q, s, where, tsq)
	if err != nil {
		return result, err
	}
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

func (db *DB) facets(ctx context.Context, where string, args []any) (map[string]map[string]int, int, error) {
	rows, err := db.Pool.Query(ctx, `SELECT domain, product_type, pricing_method, use_category, count(*) FROM products
		WHERE `+where+` GROUP BY GROUPING SETS ((domain), (product_type), (pricing_method), (use_category))`, args...)
	if err != nil {
		return nil, 0, interpretError(err)
	}
	defer rows.Close()
	out := map[string]map[string]int{"domain": {}, "product_type": {}, "pricing_method": {}, "use_category": {}}
	total := 0
	for rows.Next() {
		var domain, ptype, method, use *string
		var n int
		if err := rows.Scan(&domain, &ptype, &method, &use, &n); err != nil {
			return nil, 0, interpretError(err)
		}
		switch {
		case domain != nil:
			out["domain"][*domain] = n
			total += n
		case ptype != nil:
			out["product_type"][*ptype] = n
		case method != nil:
			out["pricing_method"][*method] = n
		case use != nil:
			out["use_category"][*use] = n
		}
	}
	return out, total, interpretError(rows.Err())
}

func (db *DB) page(ctx context.Context, q listing.SearchQuery, s searchSQL, where, tsq string) ([]listing.Entry, error) {
	rank := "0::real"
	if tsq != "" {
		rank = "ts_rank_cd(search, " + tsq + ")"
	}
	var keyset, order string
	switch q.Sort {
	case "relevance":
		order = "rank DESC, id DESC"
		if q.After != nil {
			keyset = "(rank, id) < (" + s.arg(q.After.Rank) + "::real, " + s.arg(q.After.ID) + ")"
		}
	case "price_asc":
		order = "ref_price, id"
		if q.After != nil {
			keyset = "(ref_price, id) > (" + s.arg(q.After.Price) + "::numeric, " + s.arg(q.After.ID) + ")"
		}
	case "price_desc":
		order = "ref_price DESC, id DESC"
		if q.After != nil {
			keyset = "(ref_price, id) < (" + s.arg(q.After.Price) + "::numeric, " + s.arg(q.After.ID) + ")"
		}
	default: // newest
		order = "published_at DESC, id DESC"
		if q.After != nil {
			keyset = "(published_at, id) < (" + s.arg(q.After.PublishedAt) + "::timestamptz, " + s.arg(q.After.ID) + ")"
		}
	}
	sql := `SELECT ` + entryColumns + `, ` + rank + ` AS rank FROM products WHERE ` + where
	if keyset != "" {
		if q.Sort == "relevance" {
			sql = `SELECT * FROM (` + sql + `) m WHERE ` + keyset
		} else {
			sql += " AND " + keyset
		}
	}
	sql += " ORDER BY " + order + " LIMIT " + s.arg(q.Limit+1)
	rows, err := db.Pool.Query(ctx, sql, s.args...)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listing.Entry, error) {
		var e listing.Entry
		var price string
		var holders []string
		var published *time.Time
		err := r.Scan(&e.ID, &e.Title, &e.TitleEN, &e.Description, &e.ProductType, &e.Domain, &e.UseCategory, &e.PricingMethod,
			&price, &e.OperatorID, &holders, &e.Status, &published, &e.Rank)
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
	return list, interpretError(err)
}
