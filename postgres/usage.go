package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/subscriptions"
)

// IngestUsage stores an operator's batch of usage records in one transaction (see
// subscriptions.Store): the batch's subscriptions of this operator are locked (a cancellation
// waits for the batch, and batches on one free subscription queue, so a quota is counted in one
// order), the standings and the ids stored before are read, judge decides, and the accepted
// records are COPYed in. The primary key keeps them exactly once: should a concurrent batch of
// the same operator have stored one of them in between (it can share a record id without sharing
// a subscription lock), the COPY fails on the key and the whole batch is judged again, once the
// other has committed, with that record now a duplicate.
func (db SubscriptionStore) IngestUsage(ctx context.Context, operator datavenue.OrgID, records []subscriptions.RecordInput,
	judge func(map[string]*subscriptions.Standing, map[string]bool) subscriptions.Judgement) (subscriptions.BatchResult, error) {
	subIDs, recordIDs := batchIDs(records)
	var res subscriptions.BatchResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = db.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			res, err = ingestInTx(ctx, tx, operator, subIDs, recordIDs, judge)
			return err
		})
		if !isUniqueViolation(err, "usage_records_pkey") {
			break
		}
	}
	if err != nil {
		return subscriptions.BatchResult{}, interpretError(err)
	}
	return res, nil
}

func ingestInTx(ctx context.Context, tx pgx.Tx, operator datavenue.OrgID, subIDs, recordIDs []string,
	judge func(map[string]*subscriptions.Standing, map[string]bool) subscriptions.Judgement) (subscriptions.BatchResult, error) {
	standings, err := lockStandings(ctx, tx, operator, subIDs)
	if err != nil {
		return subscriptions.BatchResult{}, err
	}
	seen, err := seenRecords(ctx, tx, operator, recordIDs)
	if err != nil {
		return subscriptions.BatchResult{}, err
	}
	j := judge(standings, seen)
	if err := copyUsage(ctx, tx, operator, j.Accept); err != nil {
		return subscriptions.BatchResult{}, err
	}
	res := subscriptions.Tally(j.Verdicts)
	return res, appendAudit(ctx, tx, "usage.ingested", "organisation", string(operator), map[string]int{
		"records": len(recordIDs), "accepted": res.Accepted, "duplicate": res.Duplicate, "refused": res.Refused})
}

// isUniqueViolation reports whether err is a unique violation of the named constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
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
// product's status and suspension, and for free use the units counted per period. A free
// subscription is locked exclusively (its quota is counted by one batch at a time), a paid one
// shared (batches on it run side by side; a cancellation waits for them). The quota never
// changes, so the two sets are fixed and always locked in the same order: free, then paid, each
// by id. No two batches can wait for each other.
func lockStandings(ctx context.Context, tx pgx.Tx, operator datavenue.OrgID, ids []string) (map[string]*subscriptions.Standing, error) {
	standings := map[string]*subscriptions.Standing{}
	var free []string
	// The batch's products first, shared and by id (a suspension, a delisting, a revision lock the
	// product before its subscriptions too, so the order is the same everywhere): a suspension
	// committing while the batch runs then either waits for it (the records were taken before it)
	// or is seen whole by the reads below, its status and its span; unlocked, a batch could read
	// the product before the suspension and accept records dated after it.
	if _, err := tx.Exec(ctx, `SELECT p.id FROM products p WHERE p.id IN (SELECT s.product_id FROM subscriptions s
		WHERE s.id = ANY($1) AND s.seller_id = $2) ORDER BY p.id FOR SHARE OF p`, ids, string(operator)); err != nil {
		return nil, err
	}
	for _, lock := range []string{"quota IS NOT NULL ORDER BY s.id FOR NO KEY UPDATE OF s", "quota IS NULL ORDER BY s.id FOR SHARE OF s"} {
		rows, err := tx.Query(ctx, `SELECT `+meteredColumns+`, p.status, p.suspension FROM subscriptions s JOIN products p ON p.id = s.product_id
			WHERE s.id = ANY($1) AND s.seller_id = $2 AND s.`+lock, ids, string(operator))
		if err != nil {
			return nil, err
		}
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
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if err := attachSpans(ctx, tx, standings); err != nil {
		return nil, err
	}
	if len(free) == 0 {
		return standings, nil
	}
	return standings, usedPerPeriod(ctx, tx, free, standings)
}

// attachSpans gives each standing its product's suspension history (one query for the batch's
// products): a record dated inside a suspension since lifted is refused like one during it.
func attachSpans(ctx context.Context, tx pgx.Tx, standings map[string]*subscriptions.Standing) error {
	seen := map[string]bool{}
	var products []string
	for _, st := range standings {
		if !seen[st.Sub.ProductID] {
			seen[st.Sub.ProductID] = true
			products = append(products, st.Sub.ProductID)
		}
	}
	if len(products) == 0 {
		return nil
	}
	spans, err := suspensionSpans(ctx, tx, products)
	for _, st := range standings {
		st.Spans = spans[st.Sub.ProductID]
	}
	return err
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

// copyUsage COPYs the accepted records in (the protocol's fastest path; duplicates were sorted
// out before, and a racing one fails the key: see IngestUsage).
func copyUsage(ctx context.Context, tx pgx.Tx, operator datavenue.OrgID, recs []subscriptions.Record) error {
	if len(recs) == 0 {
		return nil
	}
	op := string(operator)
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"usage_records"},
		[]string{"operator_id", "record_id", "subscription_id", "unit", "quantity", "used_at", "period_start"},
		pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
			r := recs[i]
			return []any{op, r.RecordID, r.SubscriptionID, r.Unit, r.Quantity.String(), r.UsedAt, r.PeriodStart.Time()}, nil
		}))
	return err
}
