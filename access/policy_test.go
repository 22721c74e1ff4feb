package access_test

import (
	"slices"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
)

// The policy is consistent: every role it names exists, acting for another organisation never
// reaches more than acting for one's own, and an operation without a token names no roles.
func TestThePolicyIsConsistent(t *testing.T) {
	for op, r := range access.Policy {
		for _, role := range append(slices.Clone(r.Own), r.Other...) {
			if !role.Valid() {
				t.Errorf("%s: unknown role %q", op, role)
			}
		}
		for _, role := range r.Other {
			if !slices.Contains(r.Own, role) {
				t.Errorf("%s: %s may act for another organisation but not for its own", op, role)
			}
		}
		if r.Signed && (r.Public || len(r.Own)+len(r.Other) > 0) {
			t.Errorf("%s: a signed operation is neither public nor open to roles", op)
		}
	}
	if rule, _ := access.Of("importStatement"); !slices.Equal(rule.Own, []datavenue.Role{datavenue.RoleClerk}) || !rule.Token() {
		t.Errorf("importStatement: %v, a clerk's with a token", rule.Own)
	}
	if rule, _ := access.Of("searchCatalogue"); rule.Token() {
		t.Error("searchCatalogue is public")
	}
	if _, ok := access.Of("noSuchOperation"); ok {
		t.Error("an unknown operation has a rule")
	}
}
