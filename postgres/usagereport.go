package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// UsageLines sums usage records by subscription, period and unit (see subscriptions.UsageReader),
// with the period's bill total once billed. One statement: the usage index (subscription_id,
// period_start) serves it per subscription; a report over every operator reads the year's rows.
//
// A page (f.Limit > 0) starts after f.After in the same order, compared as one row, so the
// lines of one subscription's period are never split or repeated across pages.
func (db SubscriptionStore) UsageLines(ctx context.Context, f subscriptions.UsageFilter) ([]subscriptions.UsagePeriodLine, error) {
	var after []any // nil: from the start (the row comparison is skipped)
	if f.After != nil {
		after = []any{f.After.ProductID, f.After.SubscriptionID, f.After.PeriodStart.Time(), f.After.Unit}
	} else {
		after = []any{nil, nil, nil, nil}
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := db.Pool.Query(ctx, `SELECT s.product_id, p.title, u.subscription_id, s.buyer_id, s.seller_id, u.period_start, u.unit,
			count(*), sum(u.quantity)::text, coalesce((SELECT b.total::text FROM subscription_bills b
				WHERE b.subscription_id = u.subscription_id AND b.period_start = u.period_start), '')
		FROM usage_records u JOIN subscriptions s ON s.id = u.subscription_id JOIN products p ON p.id = s.product_id
		WHERE u.period_start BETWEEN $1 AND $2 AND ($3 = '' OR s.product_id = $3) AND ($4 = '' OR s.seller_id = $4) AND ($5 = '' OR s.buyer_id = $5)
			AND ($6::text IS NULL OR (s.product_id, u.subscription_id, u.period_start, u.unit) > ($6::text, $7::text, $8::date, $9::text))
		GROUP BY s.product_id, p.title, u.subscription_id, s.buyer_id, s.seller_id, u.period_start, u.unit
		ORDER BY s.product_id, u.subscription_id, u.period_start, u.unit LIMIT $10`,
		f.From.Time(), f.To.Time(), f.ProductID, string(f.Operator), string(f.Buyer), after[0], after[1], after[2], after[3], limit)
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.UsagePeriodLine, error) {
		var l subscriptions.UsagePeriodLine
		var start time.Time
		var qty string
		err := r.Scan(&l.ProductID, &l.ProductTitle, &l.SubscriptionID, &l.BuyerID, &l.OperatorID, &start, &l.Unit, &l.Records, &qty, &l.Billed)
		l.PeriodStart, l.Quantity = civil.FromTime(start), decimal.RequireFromString(qty)
		return l, err
	})
	return out, interpretError(err)
}

// UsageTotals sums the lines f selects per product and charging unit (paging aside), in the
// report's order: the totals a page of the report carries, without reading the lines.
func (db SubscriptionStore) UsageTotals(ctx context.Context, f subscriptions.UsageFilter) ([]subscriptions.UsageProductLine, error) {
	rows, err := db.Pool.Query(ctx, `SELECT s.product_id, p.title, u.unit, count(DISTINCT u.subscription_id), count(*), sum(u.quantity)::text
		FROM usage_records u JOIN subscriptions s ON s.id = u.subscription_id JOIN products p ON p.id = s.product_id
		WHERE u.period_start BETWEEN $1 AND $2 AND ($3 = '' OR s.product_id = $3) AND ($4 = '' OR s.seller_id = $4) AND ($5 = '' OR s.buyer_id = $5)
		GROUP BY s.product_id, p.title, u.unit ORDER BY s.product_id, u.unit`,
		f.From.Time(), f.To.Time(), f.ProductID, string(f.Operator), string(f.Buyer))
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.UsageProductLine, error) {
		var l subscriptions.UsageProductLine
		var qty string
		err := r.Scan(&l.ProductID, &l.ProductTitle, &l.Unit, &l.Subscriptions, &l.Records, &qty)
		l.Quantity = decimal.RequireFromString(qty)
		return l, err
	})
	return out, interpretError(err)
}

// UsageInYear is the use of an operator's products in a calendar year (China Standard Time, by the
// instant of use) by product and charging unit, for its annual report.
func (db SubscriptionStore) UsageInYear(ctx context.Context, operator datavenue.OrgID, year int) ([]settlement.UsageTotal, error) {
	first := time.Date(year, 1, 1, 0, 0, 0, 0, civil.ChinaStandardTime)
	rows, err := db.Pool.Query(ctx, `SELECT s.product_id, p.title, u.unit, count(DISTINCT u.subscription_id), count(*), sum(u.quantity)::text
		FROM usage_records u JOIN subscriptions s ON s.id = u.subscription_id JOIN products p ON p.id = s.product_id
		WHERE s.seller_id = $1 AND u.used_at >= $2 AND u.used_at < $3
		GROUP BY s.product_id, p.title, u.unit ORDER BY s.product_id, u.unit`, string(operator), first, first.AddDate(1, 0, 0))
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.UsageTotal, error) {
		var u settlement.UsageTotal
		var qty string
		err := r.Scan(&u.ProductID, &u.ProductTitle, &u.Unit, &u.Subscriptions, &u.Records, &qty)
		u.Quantity = qty
		return u, err
	})
	return out, interpretError(err)
}

var _ subscriptions.UsageReader = SubscriptionStore{}
