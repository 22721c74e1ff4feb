package settlement_test

import (
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
)

// Only a published product of a free purpose, priced free, is obtained as free use, and only by
// an eligible buyer.
func TestFreeUseRefusal(t *testing.T) {
	free := func(mod func(*listing.Product)) listing.Product {
		p := listing.Product{ID: "prd_1", Status: listing.StatusPublished, UseCategory: "public_welfare", OperatorID: "org_op",
			HolderIDs: []datavenue.OrgID{"org_holder"}, Pricing: listing.Pricing{Method: listing.MethodFree}}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		p     listing.Product
		buyer datavenue.OrgID
		code  string
	}{
		{"public welfare", free(nil), "org_b", ""},
		{"public governance", free(func(p *listing.Product) { p.UseCategory = "public_governance" }), "org_b", ""},
		{"industry", free(func(p *listing.Product) { p.UseCategory, p.Pricing.Method = "industry", listing.MethodGuided }), "org_b", "not_free_use"},
		{"free purpose priced", free(func(p *listing.Product) { p.Pricing.Method = listing.MethodAuction }), "org_b", "not_free_use"},
		{"not published", free(func(p *listing.Product) { p.Status = listing.StatusDraft }), "org_b", "product_not_found"},
		{"the operator", free(nil), "org_op", "not_eligible_party"},
		{"a holder", free(nil), "org_holder", "not_eligible_party"},
		{"denied", free(func(p *listing.Product) { p.DenyList = []datavenue.OrgID{"org_b"} }), "org_b", "buyer_denied"},
		{"not allowed", free(func(p *listing.Product) { p.AllowList = []datavenue.OrgID{"org_c"} }), "org_b", "buyer_not_allowed"},
		{"allowed", free(func(p *listing.Product) { p.AllowList = []datavenue.OrgID{"org_b"} }), "org_b", ""},
	} {
		err := settlement.FreeUseRefusal(tc.p, tc.buyer)
		if got := datavenue.CodeOf(err); (err == nil) != (tc.code == "") || (err != nil && got != tc.code) {
			t.Errorf("%s: got %v, want code %q", tc.name, err, tc.code)
		}
	}
}

// A retried request names the same free-use trade; another key, buyer or product another one.
func TestFreeSourceID(t *testing.T) {
	a := settlement.FreeSourceID("org_b", "prd_1", "k1")
	if a != settlement.FreeSourceID("org_b", "prd_1", "k1") {
		t.Fatal("the same request named two trades")
	}
	for _, other := range []string{settlement.FreeSourceID("org_c", "prd_1", "k1"), settlement.FreeSourceID("org_b", "prd_2", "k1"),
		settlement.FreeSourceID("org_b", "prd_1", "k2"), settlement.FreeSourceID("org_b", "prd_1", "")} {
		if other == a {
			t.Errorf("got %s for another request", other)
		}
	}
}
