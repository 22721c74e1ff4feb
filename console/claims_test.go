package console

import (
	"slices"
	"testing"

	"github.com/datavenue/datavenue"
)

// The claim mapping reads a role from a string or a list, keeps the venue roles (translated when
// a map is set, in the claim's order, each once) and an organisation id (translated when a map is
// set, an unmapped code refused).
func TestClaimMapping(t *testing.T) {
	plain := ClaimMapping{}
	mapped := ClaimMapping{RoleClaim: "roles", OrgClaim: "dept_code",
		RoleMap: map[string]datavenue.Role{"bureau_staff": datavenue.RoleDataBureau, "trader": datavenue.RoleBuyer},
		OrgMap:  map[string]datavenue.OrgID{"310000-SJJ": "org_bureau"}}
	keycloak := ClaimMapping{RoleClaim: "realm_access.roles", OrgClaim: "attrs.org"}
	auth0 := ClaimMapping{RoleClaim: "https://venue.example/roles", OrgClaim: "https://venue.example/org"}
	for _, tc := range []struct {
		name   string
		m      ClaimMapping
		claims map[string]any
		roles  []datavenue.Role
		org    datavenue.OrgID
		code   string
	}{
		{"the venue's words", plain, map[string]any{"role": "buyer", "org": "org_a"}, []datavenue.Role{datavenue.RoleBuyer}, "org_a", ""},
		{"a list, as it is", plain, map[string]any{"role": []any{"nobody", "clerk", "buyer", "clerk"}, "org": "org_a"},
			[]datavenue.Role{datavenue.RoleClerk, datavenue.RoleBuyer}, "org_a", ""},
		{"no venue role", plain, map[string]any{"role": "admin", "org": "org_a"}, nil, "", "token_bad_role"},
		{"not an organisation id", plain, map[string]any{"role": "buyer", "org": "310000"}, []datavenue.Role{datavenue.RoleBuyer}, "", "token_bad_claims"},
		{"mapped", mapped, map[string]any{"roles": []any{"mail", "trader", "bureau_staff"}, "dept_code": "310000-SJJ"},
			[]datavenue.Role{datavenue.RoleBuyer, datavenue.RoleDataBureau}, "org_bureau", ""},
		{"mapped: the venue's own word is not a mapped value", mapped, map[string]any{"roles": "buyer", "dept_code": "310000-SJJ"}, nil, "", "token_bad_role"},
		{"mapped: an unknown unit", mapped, map[string]any{"roles": "trader", "dept_code": "999"}, []datavenue.Role{datavenue.RoleBuyer}, "", "token_bad_claims"},
		{"mapped: the old claim names are not read", mapped, map[string]any{"role": "buyer", "org": "org_a"}, nil, "", "token_bad_role"},
		{"a path into nested claims (Keycloak)", keycloak, map[string]any{"realm_access": map[string]any{"roles": []any{"offline_access", "clerk"}},
			"attrs": map[string]any{"org": []any{"org_c"}}}, []datavenue.Role{datavenue.RoleClerk}, "org_c", ""},
		{"a path that leads nowhere", keycloak, map[string]any{"realm_access": "clerk", "attrs": map[string]any{"org": "org_c"}}, nil, "", "token_bad_role"},
		{"an organisation list of two is not one organisation", keycloak, map[string]any{"realm_access": map[string]any{"roles": []any{"clerk"}},
			"attrs": map[string]any{"org": []any{"org_c", "org_d"}}}, []datavenue.Role{datavenue.RoleClerk}, "", "token_bad_claims"},
		{"a namespaced top-level claim with dots (Auth0)", auth0, map[string]any{"https://venue.example/roles": []any{"buyer"},
			"https://venue.example/org": "org_e"}, []datavenue.Role{datavenue.RoleBuyer}, "org_e", ""},
	} {
		id, err := tc.m.identity(tc.claims, "sub-1")
		code := ""
		var de *datavenue.Error
		if asError(err, &de) {
			code = de.Code
		}
		if code != tc.code || !slices.Equal(id.Roles, tc.roles) || (tc.code == "" && id.Org != tc.org) {
			t.Errorf("%s: got roles %v, org %q, error %v; want %v, %q, %q", tc.name, id.Roles, id.Org, err, tc.roles, tc.org, tc.code)
		}
	}
}
