package api_test

import (
	"context"
	"slices"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
)

// TestCheckIsTheGatesOwnVerdict: listing.Service.Check (the console's checklist) names exactly the
// conditions a submit is refused for, field by field, as they change (several unmet, then one,
// then none), moves nothing, and shows a draft only to those who may read it.
func TestCheckIsTheGatesOwnVerdict(t *testing.T) {
	m := newMarket(t, without{"asset_certificate": true, "approval": true})
	p := m.createProductUncapped(nil)
	svc := listing.Service{Store: m.db.Listing(), Clock: datavenue.SystemClock{}}
	operator := datavenue.Caller{Subject: "op", Role: datavenue.RoleOperator, Org: operatorOrg}
	same := func(when string) {
		t.Helper()
		got, unmet, err := svc.Check(context.Background(), operator, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var checked, refused []string
		for _, u := range unmet {
			checked = append(checked, u.Field+" "+u.Code)
		}
		r := m.do("POST", "/v1/products/"+p.ID+"/submit", m.as(datavenue.RoleOperator, operatorOrg), nil)
		for _, e := range r.problem.Errors {
			refused = append(refused, e.Field+" "+e.Code)
		}
		if !slices.Equal(checked, refused) {
			t.Fatalf("%s: the check says %v, the submit was refused for %v", when, checked, refused)
		}
		if len(checked) > 0 && (r.status != 422 || got.Status != listing.StatusDraft) {
			t.Fatalf("%s: submit %d, product %s", when, r.status, got.Status)
		}
		t.Logf("%s: %v", when, checked)
	}
	same("without the asset certificate, the approval and a cap")
	if _, unmet, _ := svc.Check(context.Background(), operator, p.ID); len(unmet) < 3 {
		t.Fatalf("only %d conditions unmet, the test needs several", len(unmet))
	}
	m.fileCap(p.ID, "10499.99", nil) // under the band's top and the list price: two fields above it
	same("with a cap under the price")
	if _, _, err := svc.Check(context.Background(), datavenue.Caller{Subject: "b", Role: datavenue.RoleBuyer, Org: buyerOrg}, p.ID); datavenue.KindOf(err) != datavenue.KindNotFound {
		t.Fatalf("a buyer checking a draft: %v, want not found", err)
	}
}
