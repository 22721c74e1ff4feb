package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/parties"
)

// The parties every workflow test needs, with the ids the demo seed uses.
const (
	financeOrg   = datavenue.OrgID("org_01JDEM00000000000000000002")
	govHolder    = datavenue.OrgID("org_01JDEM00000000000000000003")
	stateHolder  = datavenue.OrgID("org_01JDEM00000000000000000004")
	operatorOrg  = datavenue.OrgID("org_01JDEM00000000000000000005")
	appraiserOrg = datavenue.OrgID("org_01JDEM00000000000000000008")
	auditorOrg   = datavenue.OrgID("org_01JDEM00000000000000000010")
	venueOrg     = datavenue.OrgID("org_01JDEM00000000000000000009") // the venue's own: its clerks
)

func uscc(t *testing.T, n int) string {
	body := fmt.Sprintf("91350100MA%07d", n)
	return body + string(mustCheck(t, body))
}

// seedParties registers the parties directly in the store, as the seed command does (every test
// venue has them: a token's organisation must be registered and hold the token's role). Seeding
// again changes nothing.
func (v *venue) seedParties() {
	v.t.Helper()
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	gov := func(id datavenue.OrgID, n int, name string) parties.Registration {
		return parties.Registration{ID: id, USCC: uscc(v.t, n), Name: name, Kind: parties.KindGovernmentUnit,
			FiscalLevel: parties.LevelMunicipal, Treasury: "市级国库"}
	}
	role := func(reg parties.Registration, r datavenue.Role) parties.Registration {
		reg.Roles = []datavenue.Role{r}
		return reg
	}
	for _, reg := range []parties.Registration{
		role(gov(bureauOrg, 1, "市数据管理局"), datavenue.RoleDataBureau),
		role(gov(financeOrg, 2, "市财政局"), datavenue.RoleFinanceBureau),
		// The holder may also buy (other units' data): the rules on parties to a product are then
		// what stops it buying its own.
		func() parties.Registration {
			r := gov(govHolder, 3, "市交通运输局")
			r.Roles = []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer}
			return r
		}(),
		{ID: stateHolder, USCC: uscc(v.t, 4), Name: "城市大数据集团", Kind: parties.KindStateEnterprise, Supervisor: "市国资委",
			Roles: []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer}},
		{ID: operatorOrg, USCC: uscc(v.t, 5), Name: "数据运营有限公司", Kind: parties.KindOperator},
		{ID: buyerOrg, USCC: uscc(v.t, 6), Name: "智慧物流", Kind: parties.KindBuyer},
		{ID: otherOrg, USCC: uscc(v.t, 7), Name: "规划研究院", Kind: parties.KindBuyer},
		{ID: appraiserOrg, USCC: uscc(v.t, 8), Name: "正信评估", Kind: parties.KindAppraiser},
		{ID: venueOrg, USCC: uscc(v.t, 9), Name: "公共数据交易中心", Kind: parties.KindStateEnterprise, Supervisor: "市国资委",
			Roles: []datavenue.Role{datavenue.RoleClerk}},
		role(gov(auditorOrg, 10, "市国资委"), datavenue.RoleAuditor),
	} {
		if err := reg.Validate(); err != nil {
			v.t.Fatalf("seed %s: %v", reg.Name, err)
		}
		if _, err := v.db.Parties().CreateOrganisation(ctx, reg); err != nil && datavenue.CodeOf(err) != "organisation_exists" {
			v.t.Fatalf("seed %s: %v", reg.Name, err)
		}
	}
}

// as returns a token for role acting for org.
func (v *venue) as(role datavenue.Role, org datavenue.OrgID) string { return v.token(role, org) }

// mustStatus fails the test unless r has the status.
func mustStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.body)
	}
}

func transportCard() map[string]any {
	return map[string]any{
		"category": "data_asset", "name": "公交刷卡客流数据", "summary": "全市公交线路刷卡客流，按站点、小时汇总",
		"rights": []string{"holding", "processing", "operating"}, "classification": "transport", "grade": "important",
		"source": "公交IC卡系统", "scale": "每日约300万条", "update_frequency": "daily", "acquisition_mode": "self_built",
		"cost_components":   []map[string]string{{"stage": "collection", "amount": "120000.50"}, {"stage": "processing", "amount": "30000.25"}},
		"measurement_basis": "cost", "accounting_status": "booked",
	}
}

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
