package api_test

import (
	"context"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
)

// The identity provider may be wrong; the venue does not follow it: a validly signed token whose
// organisation does not hold its role, or that names an organisation the venue does not know, is
// refused before anything else (issue 11, finding 2: a buyer's clerk token paid the buyer's own
// order, a buyer's auditor token read the whole trail, a buyer's finance-bureau token passed a
// review's rights check).
func TestRolesAreBoundToOrganisations(t *testing.T) {
	m, o, _ := wonAuction(t)
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", m.as(datavenue.RoleClerk, buyerOrg), map[string]any{"reference": "self-pay"}),
		403, "role_not_held")
	wantProblem(t, m.do("GET", "/v1/audit-events", m.as(datavenue.RoleAuditor, buyerOrg), nil), 403, "role_not_held")
	wantProblem(t, m.do("POST", "/v1/certificate-applications/app_01JNONE0000000000000000000/review", m.as(datavenue.RoleFinanceBureau, buyerOrg),
		map[string]any{}), 403, "role_not_held")
	wantProblem(t, m.do("GET", "/v1/me", m.as(datavenue.RoleBuyer, "org_01JNOSUCHORG00000000000000"), nil), 403, "organisation_unknown")
	// A data bureau is a government unit, but a government unit is not a data bureau.
	wantProblem(t, m.do("GET", "/v1/reconciliation/exceptions", m.as(datavenue.RoleDataBureau, govHolder), nil), 403, "role_not_held")

	// Registration over the API: a role the kind cannot hold, or a privileged one, is refused.
	bureau := m.as(datavenue.RoleDataBureau, bureauOrg)
	wantProblem(t, m.do("POST", "/v1/organisations", bureau, map[string]any{"uscc": uscc(t, 501), "name": "买方甲", "kind": "buyer",
		"roles": []string{"clerk"}}), 422, "validation_failed")
	wantProblem(t, m.do("POST", "/v1/organisations", bureau, map[string]any{"uscc": uscc(t, 502), "name": "某局", "kind": "government_unit",
		"fiscal_level": "municipal", "treasury": "市级国库", "roles": []string{"finance_bureau"}}), 422, "validation_failed")

	// The administrators' act grants a role (audited); from then on the token works.
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	wantProblem(t, m.do("GET", "/v1/reconciliation/exceptions", m.as(datavenue.RoleAuditor, stateHolder), nil), 403, "role_not_held")
	if _, err := m.db.Parties().SetOrganisationRoles(ctx, stateHolder, []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer, datavenue.RoleAuditor}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, m.do("GET", "/v1/reconciliation/exceptions", m.as(datavenue.RoleAuditor, stateHolder), nil), 200)
	events, err := m.db.Audit().Events(ctx, audit.Filter{ResourceID: string(stateHolder)})
	if err != nil || len(events) == 0 || events[0].Action != "organisation.roles_changed" {
		t.Fatalf("the grant's audit event: %+v %v", events, err)
	}
	// The database holds the rule too: a buyer cannot be made a clerk, whatever the code does.
	if _, err := m.db.Parties().SetOrganisationRoles(ctx, buyerOrg, []datavenue.Role{datavenue.RoleClerk}); datavenue.CodeOf(err) != "role_not_for_kind" {
		t.Fatalf("a buyer made a clerk in the store: %v", err)
	}
}
