package api_test

import (
	"context"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/matching"
)

// GET /v1/negotiations lists the caller's negotiations as the projection has applied them: the
// buyer its own, the operator those on its products, an auditor everyone's; another operator or
// buyer sees none of them, and a clerk is refused (a negotiation is its parties' business).
func TestListNegotiationsByParty(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProduct(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "10500.00"}
	})
	mustStatus(t, m.publish(p.ID), 200)
	buyer, seller := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	neg := decode[matching.NegotiationView](t, m.do("POST", "/v1/negotiations", buyer, map[string]any{"product_id": p.ID, "amount": "9500.00"}))
	mustStatus(t, m.do("POST", "/v1/negotiations/"+neg.ID+"/moves", seller, map[string]any{"action": "counter", "amount": "10200.00"}), 200)
	// Before the projection runs, the books hold nothing yet: the list says so by being empty.
	if page := decode[api.Page[matching.NegotiationRecord]](t, m.do("GET", "/v1/negotiations", seller, nil)); len(page.Data) != 0 {
		t.Fatalf("before the projection the list has %d negotiations", len(page.Data))
	}
	proj := matching.Projector{Redis: m.redis.Client, Keys: m.engine().Keys, Store: m.db.Matching(), Consumer: "t"}
	if _, err := proj.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{buyer, seller, m.as(datavenue.RoleAuditor, auditorOrg)} {
		page := decode[api.Page[matching.NegotiationRecord]](t, m.do("GET", "/v1/negotiations?status=countered", who, nil))
		if len(page.Data) != 1 || page.Data[0].ID != neg.ID || page.Data[0].Status != "countered" || page.Data[0].Price.String() != "10200.00" ||
			page.Data[0].Round != 2 || page.Data[0].Seller != operatorOrg || page.Data[0].Buyer != buyerOrg {
			t.Fatalf("the list = %+v, want the countered negotiation at 10200.00", page.Data)
		}
	}
	if page := decode[api.Page[matching.NegotiationRecord]](t, m.do("GET", "/v1/negotiations?status=offered", seller, nil)); len(page.Data) != 0 {
		t.Errorf("status=offered lists %+v", page.Data)
	}
	for _, who := range []string{m.as(datavenue.RoleBuyer, otherOrg), m.as(datavenue.RoleOperator, govHolder)} {
		if page := decode[api.Page[matching.NegotiationRecord]](t, m.do("GET", "/v1/negotiations", who, nil)); len(page.Data) != 0 {
			t.Errorf("a stranger lists %+v", page.Data)
		}
	}
	wantProblem(t, m.do("GET", "/v1/negotiations", m.as(datavenue.RoleClerk, venueOrg), nil), 403, "role_not_allowed")
	wantProblem(t, m.do("GET", "/v1/negotiations?status=open", seller, nil), 422, "validation_failed")
}
