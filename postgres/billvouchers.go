package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/settlement"
)

// queueUsageCovered queues the read of what the bills among some orders cover (issue 15: the
// voucher of a period lists its usage), into covered by order id; an order that is not a bill's
// gets nothing, so its voucher is signed as before. confirmGroup queues it in the round trip that
// locks the orders: a bill's row is written once, with its order, and never changes.
func queueUsageCovered(b *pgx.Batch, orderIDs []string, covered map[string]*settlement.UsageCovered) {
	b.Queue(`SELECT b.order_id, b.subscription_id, b.period_index, to_char(b.period_start, 'YYYY-MM-DD'), to_char(b.period_end, 'YYYY-MM-DD'),
			s.charging_unit, b.units::text, b.unit_price::text, b.fixed_fee::text, b.metered::text, coalesce(s.plan_maximum::text, ''),
			b.capped_by, b.record_count, b.records_digest
		FROM subscription_bills b JOIN subscriptions s ON s.id = b.subscription_id WHERE b.order_id = ANY($1)`, orderIDs).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var orderID, unit, units string
				u := &settlement.UsageCovered{}
				if err := rows.Scan(&orderID, &u.SubscriptionID, &u.PeriodIndex, &u.PeriodStart, &u.PeriodEnd, &unit, &units, &u.UnitPrice,
					&u.FixedFee, &u.Metered, &u.PlanMaximum, &u.CappedBy, &u.Records, &u.RecordsDigest); err != nil {
					return err
				}
				// Records of another unit are refused at ingestion, so a period's units are all
				// of the subscription's charging unit.
				u.Units = []settlement.UnitsUsed{{Unit: unit, Quantity: units}}
				if len(u.CappedBy) == 0 {
					u.CappedBy = nil
				}
				covered[orderID] = u
			}
			return rows.Err()
		})
}
