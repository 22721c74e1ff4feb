package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
)

// publishFree publishes a public-welfare product (free use, N1) on its own authorisation.
func (m *market) publishFree() listing.Product {
	m.t.Helper()
	const welfare = "公交客流公益分析"
	grant := grantBody(m.asset.ID, welfare)
	grant["purpose"] = "public_welfare"
	mustStatus(m.t, m.do("POST", "/v1/authorisations", m.as(datavenue.RoleDataBureau, bureauOrg), grant), 201)
	free := m.createProduct(func(p map[string]any) {
		p["scenario"], p["use_category"] = welfare, "public_welfare"
		p["pricing"] = map[string]any{"method": "free"}
	})
	mustStatus(m.t, m.publish(free.ID), 200)
	return free
}

// A free public-welfare product is obtained at 0.00, settled at once with no payment, split,
// ledger posting or obligation, delivered, confirmed and vouchered like any order; a retry with
// the same Idempotency-Key returns the same order; a paid product is refused on this path.
func TestFreeUseOrderEndToEnd(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	free := m.publishFree()
	buyer, operator, clerk := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleClerk, venueOrg)
	path := "/v1/products/" + free.ID + "/free-orders"

	wantProblem(t, m.do("POST", path, operator, nil, "Idempotency-Key", "free-op"), 403, "role_not_allowed")
	r := m.do("POST", path, buyer, nil, "Idempotency-Key", "free-1")
	mustStatus(t, r, 201)
	o := decode[settlement.Order](t, r)
	if o.Price.String() != "0.00" || o.AmountDue.String() != "0.00" || o.Status != settlement.OrderPaid || o.PaidVia != settlement.PaidViaFreeUse ||
		o.AgreementVersion != nil || len(o.Shares) != 0 || len(o.Obligations) != 0 || o.SellerID != operatorOrg {
		t.Fatalf("free order = %+v", o)
	}
	if again := decode[settlement.Order](t, m.do("POST", path, buyer, nil, "Idempotency-Key", "free-1")); again.ID != o.ID {
		t.Fatalf("retry made order %s, want %s", again.ID, o.ID)
	}
	// The same key past the idempotency store (its answer lost) still finds the same order.
	if again, err := (settlement.Service{Store: m.db.Settlement(), Clock: datavenue.SystemClock{}}).ObtainFree(ctx,
		datavenue.Caller{Org: buyerOrg, Role: datavenue.RoleBuyer}, free.ID, "free-1"); err != nil || again.ID != o.ID {
		t.Fatalf("service retry = %s, %v; want %s", again.ID, err, o.ID)
	}
	var source, trades, ledger, obligations, events int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE source = 'free_use' AND price = 0), count(*) FROM trades WHERE product_id = $1`, free.ID).Scan(&source, &trades)
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions WHERE source_id = $1`, o.ID).Scan(&ledger)
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM obligations WHERE order_id = $1`, o.ID).Scan(&obligations)
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE resource_id = $1 AND type IN ('order.created', 'payment.recorded')`, o.ID).Scan(&events)
	if source != 1 || trades != 1 || ledger != 0 || obligations != 0 || events != 2 {
		t.Fatalf("free trades %d of %d, ledger transactions %d, obligations %d, order events %d", source, trades, ledger, obligations, events)
	}
	// A clerk cannot record a payment of it: nothing is owed.
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "free-pay"}), 409, "order_not_awaiting_payment")

	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", operator,
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("1b", 32)}), 200)
	r = m.do("POST", "/v1/orders/"+o.ID+"/confirm", buyer, nil)
	mustStatus(t, r, 201)
	v := decode[settlement.Voucher](t, r)
	content, err := settlement.VerifyVoucher(string(m.do("GET", "/v1/vouchers/"+v.ID+"/document", buyer, nil).body), m.keys)
	if err != nil || content.OrderID != o.ID || content.Price != "0.00" || content.Purpose != "public_welfare" || content.Method != listing.MethodFree {
		t.Fatalf("voucher = %+v, %v", content, err)
	}
	m.checkInvariants()
}

// A paid product is never obtained as free use, and a database write that tried a zero price on
// a paid trade is refused by the constraints.
func TestFreeUseRefusesAPaidProduct(t *testing.T) {
	m := newMarket(t, nil)
	paid := m.createProduct(nil)
	mustStatus(t, m.publish(paid.ID), 200)
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	wantProblem(t, m.do("POST", "/v1/products/"+paid.ID+"/free-orders", buyer, nil, "Idempotency-Key", "paid-1"), 409, "not_free_use")
	wantProblem(t, m.do("POST", "/v1/products/prd_01JNOSUCHPRODUCT0000000000/free-orders", buyer, nil), 404, "product_not_found")
	var n int
	m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM trades WHERE product_id = $1`, paid.ID).Scan(&n)
	if n != 0 {
		t.Fatalf("%d trades of the paid product", n)
	}
	_, err := m.db.Pool.Exec(context.Background(), `INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
		VALUES ('trd_01JZEROPRICE00000000000000', 'negotiation', 'neg_zero', $1, $2, $3, 0, 'guided', 1, now())`, paid.ID, string(buyerOrg), string(operatorOrg))
	if err == nil || !strings.Contains(err.Error(), "trades_free_use_zero") {
		t.Fatalf("a paid trade at 0.00: %v", err)
	}
	m.checkInvariants()
}

// A published public-welfare product cannot be given a paid price: a change of pricing method is
// checked against every condition that depends on it (N1 here, D10 for a government unit's paid
// use), not only the price's own.
func TestPublishedFreeUseProductCannotBePriced(t *testing.T) {
	m := newMarket(t, nil)
	free := m.publishFree()
	op := m.as(datavenue.RoleOperator, operatorOrg)
	r := m.do("POST", "/v1/products/"+free.ID+"/price", op, map[string]any{"reason": "改为协议定价",
		"pricing": map[string]any{"method": "negotiation", "list_price": "150.00", "min_price": "100.00", "max_price": "200.00"}})
	wantProblem(t, r, 422, "publish_gate_failed")
	if !strings.Contains(string(r.body), listing.CondFreeUsePriced) {
		t.Fatalf("refusal %s does not name %s", r.body, listing.CondFreeUsePriced)
	}
	if p := decode[listing.Product](t, m.do("GET", "/v1/products/"+free.ID, op, nil)); p.Pricing.Method != listing.MethodFree {
		t.Fatalf("pricing method %s after the refused change, want free", p.Pricing.Method)
	}
}
