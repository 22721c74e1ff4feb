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
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/webhooks"
)

// subscribeFromTrade makes the subscription of a trade whose product has a subscription plan,
// once (trade_id is unique); made is false for a product sold once.
func subscribeFromTrade(ctx context.Context, tx pgx.Tx, tradeID string) (made bool, err error) {
	var raw []byte
	var price string
	t := subscriptions.Trade{ID: tradeID}
	if err := tx.QueryRow(ctx, `SELECT p.pricing, t.product_id, t.buyer_id, t.seller_id, t.price::text, t.traded_at
		FROM trades t JOIN products p ON p.id = t.product_id WHERE t.id = $1`, tradeID).
		Scan(&raw, &t.ProductID, &t.Buyer, &t.Seller, &price, &t.TradedAt); err != nil {
		return false, err
	}
	var pricing listing.Pricing
	if err := json.Unmarshal(raw, &pricing); err != nil {
		return false, err
	}
	if pricing.Subscription == nil {
		return false, nil
	}
	t.Price = money.MustParse(price)
	s := subscriptions.FromTrade(t, listing.UnitOf(pricing), *pricing.Subscription)
	tag, err := tx.Exec(ctx, `INSERT INTO subscriptions (id, trade_id, product_id, buyer_id, seller_id, charging_unit, unit_price, fixed_fee,
			plan_maximum, quota, billing_period, term_periods, renewal, starts_on, started_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9::numeric, $10::numeric, $11, $12, $13, $14, $15, $15)
		ON CONFLICT (trade_id) DO NOTHING`,
		s.ID, s.TradeID, s.ProductID, string(s.BuyerID), string(s.SellerID), s.ChargingUnit, s.UnitPrice.String(), s.FixedFee.String(),
		yuanOrNil(s.PlanMaximum), decimalOrNil(s.Quota), s.BillingPeriod, s.TermPeriods, s.Renewal, s.StartsOn.Time(), s.StartedAt)
	if err != nil || tag.RowsAffected() == 0 {
		return true, err
	}
	return true, appendAudit(ctx, tx, "subscription.created", "subscription", s.ID, map[string]any{"trade_id": tradeID,
		"unit": s.ChargingUnit, "unit_price": s.UnitPrice, "fixed_fee": s.FixedFee, "billing_period": s.BillingPeriod,
		"term_periods": s.TermPeriods, "renewal": s.Renewal, "free": s.Free})
}

func yuanOrNil(y *money.Yuan) *string {
	if y == nil {
		return nil
	}
	s := y.String()
	return &s
}

func decimalOrNil(d *decimal.Decimal) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

const meteredColumns = `s.id, s.trade_id, s.product_id, s.buyer_id, s.seller_id, s.charging_unit, s.unit_price::text, s.fixed_fee::text,
	s.plan_maximum::text, s.quota::text, s.billing_period, s.term_periods, s.renewal, s.starts_on, s.started_at, s.status,
	s.cancelled_at, coalesce(s.cancelled_by, ''), coalesce(s.cancel_reason, ''), s.created_at`

func scanMetered(row pgx.Row) (subscriptions.Subscription, error) {
	var s subscriptions.Subscription
	var unitPrice, fee string
	var maximum, quota *string
	var starts time.Time
	err := row.Scan(&s.ID, &s.TradeID, &s.ProductID, &s.BuyerID, &s.SellerID, &s.ChargingUnit, &unitPrice, &fee, &maximum, &quota,
		&s.BillingPeriod, &s.TermPeriods, &s.Renewal, &starts, &s.StartedAt, &s.Status, &s.CancelledAt, &s.CancelledBy, &s.CancelReason, &s.CreatedAt)
	if err != nil {
		return s, err
	}
	s.UnitPrice, s.FixedFee, s.StartsOn, s.Currency = money.MustParse(unitPrice), money.MustParse(fee), civil.FromTime(starts), "CNY"
	if maximum != nil {
		m := money.MustParse(*maximum)
		s.PlanMaximum = &m
	}
	if quota != nil {
		q := decimal.RequireFromString(*quota)
		s.Quota, s.Free = &q, true
	}
	return s, nil
}

// MeteredSubscription is one subscription by id.
func (db SubscriptionStore) MeteredSubscription(ctx context.Context, id string) (subscriptions.Subscription, error) {
	s, err := scanMetered(db.Pool.QueryRow(ctx, `SELECT `+meteredColumns+` FROM subscriptions s WHERE s.id = $1`, id))
	if err != nil {
		return s, notFoundAs(err, datavenue.NotFound("subscription_not_found", "no such subscription"))
	}
	return s, nil
}

// MeteredSubscriptions is a keyset page of an organisation's subscriptions (as buyer or seller), or of
// every one when all is set.
func (db SubscriptionStore) MeteredSubscriptions(ctx context.Context, org datavenue.OrgID, all bool, p subscriptions.Page) ([]subscriptions.Subscription, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+meteredColumns+` FROM subscriptions s
		WHERE ($1 OR s.buyer_id = $2 OR s.seller_id = $2) AND s.id > $3 ORDER BY s.id LIMIT $4`,
		all, string(org), p.After, clampLimit(p.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.Subscription, error) { return scanMetered(r) })
	return out, interpretError(err)
}

// CancelMeteredSubscription locks the subscription, lets decide cancel it, and stores the cancellation
// with its audit record; an unchanged subscription (already cancelled) writes nothing.
func (db SubscriptionStore) CancelMeteredSubscription(ctx context.Context, id string, decide func(subscriptions.Subscription) (subscriptions.Subscription, bool, error)) (subscriptions.Subscription, error) {
	var out subscriptions.Subscription
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		s, err := scanMetered(tx.QueryRow(ctx, `SELECT `+meteredColumns+` FROM subscriptions s WHERE s.id = $1 FOR NO KEY UPDATE`, id))
		if err != nil {
			return notFoundAs(err, datavenue.NotFound("subscription_not_found", "no such subscription"))
		}
		s, changed, err := decide(s)
		if out = s; err != nil || !changed {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE subscriptions SET status = 'cancelled', cancelled_at = $2, cancelled_by = $3, cancel_reason = $4 WHERE id = $1`,
			id, s.CancelledAt, s.CancelledBy, s.CancelReason); err != nil {
			return err
		}
		if err := appendWebhookEvents(ctx, tx, webhooks.NewEvent(webhooks.SubscriptionCancelled, "subscription", id,
			webhooks.Parties{Buyer: s.BuyerID, Seller: s.SellerID}, map[string]any{"subscription_id": id, "product_id": s.ProductID,
				"buyer_id": s.BuyerID, "seller_id": s.SellerID, "cancelled_at": s.CancelledAt, "cancelled_by": s.CancelledBy, "reason": s.CancelReason},
			webhooks.SubscriptionCancelled+":"+id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "subscription.cancelled", "subscription", id, map[string]any{"by": s.CancelledBy, "reason": s.CancelReason})
	})
	if err != nil {
		return out, interpretError(err)
	}
	return out, nil
}

var _ subscriptions.Store = SubscriptionStore{}
