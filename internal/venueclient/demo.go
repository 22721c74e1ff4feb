package venueclient

import (
	"slices"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/parties"
)

// DemoOrg is a demo party and, when Role is set, the role its demo user acts in: `datavenue seed`
// registers them and prints a token for each, and the console's development sign-in lists them.
type DemoOrg struct {
	Reg  parties.Registration
	Role datavenue.Role
}

// DemoUSCC completes a 17-character body with its check character.
func DemoUSCC(body string) string {
	c, err := parties.USCCCheckChar(body)
	if err != nil {
		panic(err)
	}
	return body + string(c)
}

// DemoOrgs are the demo parties, with stable ids (DemoID) so that seeding twice finds the same rows.
func DemoOrgs() []DemoOrg {
	const treasury = "市级国库（市财政局国库支付中心）"
	gov := func(n int, body, name, en string, role datavenue.Role) DemoOrg {
		return DemoOrg{parties.Registration{ID: DemoID(n), USCC: DemoUSCC(body), Name: name, NameEN: en,
			Kind: parties.KindGovernmentUnit, FiscalLevel: parties.LevelMunicipal, Treasury: treasury}, role}
	}
	org := func(n int, body, name, en string, kind parties.Kind, role datavenue.Role) DemoOrg {
		return DemoOrg{parties.Registration{ID: DemoID(n), USCC: DemoUSCC(body), Name: name, NameEN: en, Kind: kind}, role}
	}
	stateEnterprise := org(4, "91350100MA0000004", "城市大数据集团有限公司", "City Big Data Group Co., Ltd.", parties.KindStateEnterprise, "")
	stateEnterprise.Reg.Supervisor = "市人民政府国有资产监督管理委员会"
	venue := org(9, "91350100MA0000009", "市公共数据交易中心有限公司", "City Public Data Exchange Co., Ltd.", parties.KindStateEnterprise, datavenue.RoleClerk)
	venue.Reg.Supervisor = "市人民政府国有资产监督管理委员会"
	orgs := []DemoOrg{
		gov(1, "11350100MB0000001", "市数据管理局", "Municipal Data Bureau", datavenue.RoleDataBureau),
		gov(2, "11350100MB0000002", "市财政局", "Municipal Finance Bureau", datavenue.RoleFinanceBureau),
		gov(3, "11350100MB0000003", "市交通运输局", "Municipal Transport Bureau", ""),
		stateEnterprise,
		org(5, "91350100MA0000005", "数据运营有限公司", "Data Operations Co., Ltd.", parties.KindOperator, datavenue.RoleOperator),
		org(6, "91350100MA0000006", "智慧物流科技有限公司", "Smart Logistics Technology Co., Ltd.", parties.KindBuyer, datavenue.RoleBuyer),
		org(7, "91350100MA0000007", "城市规划研究院有限公司", "Urban Planning Institute Co., Ltd.", parties.KindBuyer, ""),
		org(8, "91350100MA0000008", "正信资产评估有限公司", "Zhengxin Asset Appraisal Co., Ltd.", parties.KindAppraiser, ""),
		venue,
		gov(10, "11350100MB0000010", "市人民政府国有资产监督管理委员会", "Municipal SASAC", datavenue.RoleAuditor),
	}
	// Each holds its kind's default roles; the bureaus, the venue (clerks) and the supervisor
	// hold their own role instead, granted as an administrator would.
	for i := range orgs {
		orgs[i].Reg.Roles = parties.DefaultRoles(orgs[i].Reg.Kind)
		if slices.Contains(parties.PrivilegedRoles, orgs[i].Role) {
			orgs[i].Reg.Roles = []datavenue.Role{orgs[i].Role}
		}
	}
	return orgs
}
