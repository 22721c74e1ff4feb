package parties

import (
	"testing"

	"github.com/datavenue/datavenue"
)

func TestRolesFitTheKind(t *testing.T) {
	ok := map[Kind][]datavenue.Role{
		KindGovernmentUnit:  {datavenue.RoleDataBureau, datavenue.RoleOperator},
		KindStateEnterprise: {datavenue.RoleClerk},
		KindBuyer:           {datavenue.RoleBuyer},
		KindAppraiser:       {datavenue.RoleAppraiser},
		KindOperator:        {datavenue.RoleOperator, datavenue.RoleBuyer},
	}
	for kind, roles := range ok {
		if err := CheckRoles(kind, roles); err != nil {
			t.Errorf("%s may hold %v: %v", kind, roles, err)
		}
	}
	bad := []struct {
		kind  Kind
		roles []datavenue.Role
	}{
		{KindBuyer, []datavenue.Role{datavenue.RoleClerk}},
		{KindBuyer, []datavenue.Role{datavenue.RoleAuditor}},
		{KindStateEnterprise, []datavenue.Role{datavenue.RoleFinanceBureau}},
		{KindGovernmentUnit, []datavenue.Role{datavenue.RoleClerk}},
		{KindOperator, []datavenue.Role{datavenue.RoleOperator, datavenue.RoleOperator}},
		{KindAppraiser, []datavenue.Role{"admin"}},
	}
	for _, b := range bad {
		if err := CheckRoles(b.kind, b.roles); datavenue.CodeOf(err) != "validation_failed" {
			t.Errorf("%s holding %v: %v, want refused", b.kind, b.roles, err)
		}
	}
	for _, k := range Kinds {
		if err := CheckRoles(k, DefaultRoles(k)); err != nil || len(DefaultRoles(k)) == 0 {
			t.Errorf("%s's default roles %v: %v", k, DefaultRoles(k), err)
		}
	}
}
