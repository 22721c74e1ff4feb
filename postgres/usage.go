package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/subscriptions"
)

// IngestUsage stores an operator's batch of usage records in one transaction (see
// subscriptions.Store): the batch's subscriptions of this operator are locked in id order (a
// cancellation or another batch on the same subscription waits, so quotas and cancellations are
// seen in one order), the standings and the ids stored before are read, judge decides, and the
// accepted records go in with one unnest-based INSERT … ON CONFLICT DO NOTHING: a record a
// concurrent batch stored first is reported a duplicate, never counted twice.
func (db *DB) IngestUsage(ctx context.Context, operator datavenue.OrgID, records []subscriptions.RecordInput,
	judge func(map[string]*subscriptions.Standing, map[string]bool) subscriptions.Judgement) (subscriptions.BatchResult, error) {
	subIDs, recordIDs := batchIDs(records)
	var res subscriptions.BatchResult
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		standings, err := lockStandings(ctx, tx, operator, subIDs)
		if err != nil {
			return err
		}
		seen, err := seenRecords(ctx, tx, operator, recordIDs)
		if err != nil {
			return err
		}
		j := judge(standings, seen)
		stored, err := insertUsage(ctx, tx, operator, j.Accept)
		if err != nil {
			return err
		}
		for i, v := range j.Verdicts {
			if v.Status == subscriptions.Accepted && !stored[v.RecordID] {
				j.Verdicts[i].Status = subscriptions.Duplicate // a concurrent batch stored it first
			}
		}
		res = subscriptions.Tally(j.Verdicts)
		return appendAudit(ctx, tx, "usage.ingested", "organisation", string(operator), map[string]int{
			"records": len(records), "accepted": res.Accepted, "duplicate": res.Duplicate, "refused": res.Refused})
	})
	if err != nil {
		return subscriptions.BatchResult{}, interpretError(err)
	}
	return res, nil
}

// batchIDs are a batch's distinct subscription ids and its record ids.
func batchIDs(records []subscriptions.RecordInput) (subIDs, recordIDs []string) {
	seen := map[string]bool{}
	recordIDs = make([]string, len(records))
	for i, r := range records {
		recordIDs[i] = r.RecordID
		if !seen[r.SubscriptionID] {
			seen[r.SubscriptionID] = true
			subIDs = append(subIDs, r.SubscriptionID)
		}
	}
	return subIDs, recordIDs
}

// lockStandings locks the operator's subscriptions among ids and reads their standings: the
// product's status and suspension, and for free use the units counted per period.
func lockStandings(ctx context.Context, tx pgx.Tx, operator datavenue.OrgID, ids []string) (map[string]*subscriptions.Standing, error) {
	rows, err := tx.Query(ctx, `SELECT `+meteredColumns+`, p.status, p.suspension FROM subscriptions s JOIN products p ON p.id = s.product_id
		WHERE s.id = ANY($1) AND s.seller_id = $2 ORDER BY s.id FOR NO KEY UPDATE OF s`, ids, string(operator))
	if err != nil {
		return nil, err
	}
	standings := map[string]*subscriptions.Standing{}
	var free []string
	for rows.Next() {
		st := &subscriptions.Standing{}
		var suspension []byte
		if err := scanMeteredInto(rows, st, &suspension); err != nil {
			rows.Close()
			return nil, err
		}
		if suspension != nil {
			st.Suspension = &listing.Suspension{}
			if err := json.Unmarshal(suspension, st.Suspension); err != nil {
				rows.Close()
				return nil, err
			}
		}
		standings[st.Sub.ID] = st
		if st.Sub.Quota != nil {
			free = append(free, st.Sub.ID)
		}
	}
	if err := rows.Err(); err != nil || len(free) == 0 {
		return standings, err
	}
	return standings, usedPerPeriod(ctx, tx, free, standings)
}

// scanMeteredInto scans a subscription followed by its product's status and suspension.
func scanMeteredInto(rows pgx.Rows, st *subscriptions.Standing, suspension *[]byte) error {
	var err error
	st.Sub, err = scanMetered(rowWithExtra{rows, []any{&st.ProductStatus, suspension}})
	return err
}

// rowWithExtra scans a row whose last columns go to extra, after the ones Scan is given.
type rowWithExtra struct {
	pgx.Row
	extra []any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.extra...)...) }

// usedPerPeriod reads the units counted so far per period of free subscriptions.
func usedPerPeriod(ctx context.Context, tx pgx.Tx, ids []string, standings map[string]*subscriptions.Standing) error {
	rows, err := tx.Query(ctx, `SELECT subscription_id, period_start, sum(quantity)::text FROM usage_records
		WHERE subscription_id = ANY($1) GROUP BY 1, 2`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, sum string
		var start time.Time
		if err := rows.Scan(&id, &start, &sum); err != nil {
			return err
		}
		st := standings[id]
		if st.Used == nil {
			st.Used = map[civil.Date]decimal.Decimal{}
		}
		st.Used[civil.FromTime(start)] = decimal.RequireFromString(sum)
	}
	return rows.Err()
}

// seenRecords are the ids among ids that the operator's earlier batches stored.
func seenRecords(ctx context.Context, tx pgx.Tx, operator datavenue.OrgID, ids []string) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `SELECT record_id FROM usage_records WHERE operator_id = $1 AND record_id = ANY($2)`, string(operator), ids)
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	seen := make(map[string]bool, len(got))
	for _, id := range got {
		seen[id] = true
	}
	return seen, err
}

// insertUsage inserts the accepted records with one multi-row INSERT from arrays (unnest) and
// returns the ids it stored: those missing were stored by a concurrent batch.
func insertUsage(ctx context.Context, tx pgx.Tx, operator datavenue.OrgID, recs []subscriptions.Record) (map[string]bool, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	n := len(recs)
	ids, subs, units, qty, periods := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	used := make([]time.Time, n)
	for i, r := range recs {
		ids[i], subs[i], units[i], qty[i], used[i], periods[i] = r.RecordID, r.SubscriptionID, r.Unit, r.Quantity.String(), r.UsedAt, r.PeriodStart.String()
	}
	rows, err := tx.Query(ctx, `INSERT INTO usage_records (operator_id, record_id, subscription_id, unit, quantity, used_at, period_start)
		SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]::numeric[], $6::timestamptz[], $7::text[]::date[]) AS u
		ON CONFLICT (operator_id, record_id) DO NOTHING RETURNING record_id`, string(operator), ids, subs, units, qty, used, periods)
	if err != nil {
		return nil, err
	}
	stored := make(map[string]bool, n)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range got {
		stored[id] = true
	}
	return stored, err
}
