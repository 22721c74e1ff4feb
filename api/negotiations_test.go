package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
)

func TestNegotiationToTrade(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProduct(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "10500.00"}
	})
	mustStatus(t, m.publish(p.ID), 200)
	buyer, seller := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	wantProblem(t, m.do("POST", "/v1/negotiations", buyer, map[string]any{"product_id": p.ID, "amount": "8000.00"}), 422, matching.ErrOutsideBand)
	wantProblem(t, m.do("POST", "/v1/negotiations", m.as(datavenue.RoleBuyer, govHolder), map[string]any{"product_id": p.ID, "amount": "9500.00"}), 403, matching.ErrParty)
	r := m.do("POST", "/v1/negotiations", buyer, map[string]any{"product_id": p.ID, "amount": "9500.00"}, "Idempotency-Key", "n1")
	mustStatus(t, r, 201)
	neg := decode[matching.NegotiationView](t, r)
	if neg.Status != "offered" || neg.Round != 1 || neg.Seller != operatorOrg {
		t.Fatalf("opened = %+v", neg)
	}
	path := "/v1/negotiations/" + neg.ID + "/moves"
	// The buyer cannot answer its own offer; strangers do not see the negotiation.
	wantProblem(t, m.do("POST", path, buyer, map[string]any{"action": "accept"}), 409, "not_your_move")
	wantProblem(t, m.do("GET", "/v1/negotiations/"+neg.ID, m.as(datavenue.RoleBuyer, otherOrg), nil), 404, "negotiation_not_found")
	wantProblem(t, m.do("POST", path, seller, map[string]any{"action": "counter", "amount": "11500.00"}), 422, matching.ErrOutsideBand)
	r = m.do("POST", path, seller, map[string]any{"action": "counter", "amount": "10200.00"}, "Idempotency-Key", "c1")
	mustStatus(t, r, 200)
	if v := decode[matching.NegotiationView](t, r); v.Status != "countered" || v.Price.String() != "10200.00" || v.Round != 2 {
		t.Fatalf("after counter = %+v", v)
	}
	mustStatus(t, m.do("POST", path, buyer, map[string]any{"action": "accept"}), 200)
	wantProblem(t, m.do("POST", path, seller, map[string]any{"action": "counter", "amount": "10300.00"}), 409, "negotiation_accepted")
	v := decode[matching.NegotiationView](t, m.do("GET", "/v1/negotiations/"+neg.ID, m.as(datavenue.RoleAuditor, auditorOrg), nil))
	if v.Status != "accepted" || len(v.Moves) != 3 || v.Moves[2].Action != "accept" {
		t.Fatalf("final = %+v", v)
	}
	// The projection turns the accepted price into one trade, however often it runs.
	ctx := context.Background()
	proj := matching.Projector{Redis: m.redis.Client, Keys: m.engine().Keys, Store: m.db.Matching(), Consumer: "t"}
	for i := 0; i < 2; i++ {
		if _, err := proj.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var trades int
	var price, method string
	m.db.Pool.QueryRow(ctx, `SELECT count(*), min(price::text), min(pricing_method) FROM trades WHERE source_id = $1`, neg.ID).Scan(&trades, &price, &method)
	if trades != 1 || price != "10200.00" || method != "guided" {
		t.Fatalf("trades: %d at %s by %s", trades, price, method)
	}
	// Guidance now counts the trade; the appraisal (200,000) lies above the band, so the band binds.
	g := decode[matching.Guidance](t, m.do("GET", "/v1/products/"+p.ID+"/guidance", "", nil))
	if g.Comparable.Count != 1 || g.Band == nil || g.Appraisal == nil || g.Low == nil || g.Low.Amount.String() != "11000.00" ||
		g.High == nil || g.High.Amount.String() != "11000.00" || g.Cap == nil || g.Cap.ChargingUnit != "one_off" {
		t.Fatalf("guidance = %+v", g)
	}
	// A cap below the band (filed by the data bureau) bounds the suggestion too: the guidance shows
	// the cap, the band, the appraisal and the comparable trades together.
	mustStatus(t, m.do("POST", "/v1/products/"+p.ID+"/caps", m.as(datavenue.RoleDataBureau, bureauOrg), map[string]any{
		"amount": "10800.00", "approval_ref": "数据局〔2026〕12号", "valid_from": civil.Of(time.Now()).String(), "valid_until": "2027-12-31"}), 201)
	g = decode[matching.Guidance](t, m.do("GET", "/v1/products/"+p.ID+"/guidance", "", nil))
	if g.Cap == nil || g.Cap.Amount.String() != "10800.00" || g.High == nil || g.High.Amount.String() != "10800.00" || g.Low.Amount.String() != "10800.00" ||
		!strings.Contains(g.High.Reason, "cap") {
		t.Fatalf("guidance under a lowered cap = %+v (cap %+v)", g, g.Cap)
	}
}
