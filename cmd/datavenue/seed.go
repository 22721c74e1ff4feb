package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
)

// demoOrg is a demo party and, when Role is set, the role its printed demo token acts in.
type demoOrg struct {
	reg  parties.Registration
	role datavenue.Role
}

// demoID makes stable ids, so seeding twice finds the same rows and the printed tokens stay valid.
func demoID(n int) datavenue.OrgID { return venueclient.DemoID(n) }

// demoUSCC completes a 17-character body with its check character.
// It panics on a bad body: the bodies are constants of this file, so that is a bug here, caught
// by any test that seeds.
func demoUSCC(body string) string {
	c, err := parties.USCCCheckChar(body)
	if err != nil {
		panic(err)
	}
	return body + string(c)
}

// demoOrgs is the demo's cast, numbered as venueclient.DemoID expects (the demo and the load refer
// to them by number): the two bureaus, the transport bureau (a government unit holding the data,
// whose income is non-tax revenue remitted to the municipal treasury, D17), a state enterprise
// (collector and processor, filing with SASAC per G6), the operator, two buyers, an appraiser,
// the venue itself (its clerks) and SASAC (the auditor). USCCs beginning 11 are government
// bodies', 91 companies' (GB 32100's registration-authority and category codes).
func demoOrgs() []demoOrg {
	const treasury = "市级国库（市财政局国库支付中心）"
	// Government units carry a fiscal level and a treasury: their shares of revenue are non-tax
	// revenue remitted to the treasury of the same level (D17), so settlement needs both to create
	// the remittance obligation.
	gov := func(n int, body, name, en string, role datavenue.Role) demoOrg {
		return demoOrg{parties.Registration{ID: demoID(n), USCC: demoUSCC(body), Name: name, NameEN: en,
			Kind: parties.KindGovernmentUnit, FiscalLevel: parties.LevelMunicipal, Treasury: treasury}, role}
	}
	org := func(n int, body, name, en string, kind parties.Kind, role datavenue.Role) demoOrg {
		return demoOrg{parties.Registration{ID: demoID(n), USCC: demoUSCC(body), Name: name, NameEN: en, Kind: kind}, role}
	}
	// The state enterprises name their supervisor (SASAC): G6 has them file usage income with it,
	// and the filing obligations are addressed to it.
	stateEnterprise := org(4, "91350100MA0000004", "城市大数据集团有限公司", "City Big Data Group Co., Ltd.", parties.KindStateEnterprise, "")
	stateEnterprise.reg.Supervisor = "市人民政府国有资产监督管理委员会"
	venue := org(9, "91350100MA0000009", "市公共数据交易中心有限公司", "City Public Data Exchange Co., Ltd.", parties.KindStateEnterprise, datavenue.RoleClerk)
	venue.reg.Supervisor = "市人民政府国有资产监督管理委员会"
	orgs := []demoOrg{
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
		orgs[i].reg.Roles = parties.DefaultRoles(orgs[i].reg.Kind)
		if slices.Contains(parties.PrivilegedRoles, orgs[i].role) {
			orgs[i].reg.Roles = []datavenue.Role{orgs[i].role}
		}
	}
	return orgs
}

// seed loads the demo organisations. Each is inserted once (stable id and USCC); a second run
// finds them and changes nothing, so its audit trail does not grow either.
func seed(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// Seeding acts as the system caller with a request id of its own, so every organisation created
	// has an audit record that says who did it and groups this run's records together.
	ctx = datavenue.WithRequestID(datavenue.WithCaller(ctx, audit.SystemCaller), datavenue.NewID("req"))
	created := 0
	for _, d := range demoOrgs() {
		if err := d.reg.Validate(); err != nil {
			return fmt.Errorf("demo organisation %s: %w", d.reg.Name, err)
		}
		_, err := db.CreateOrganisation(ctx, d.reg)
		// An organisation already present (by id or by USCC) is not an error: seeding is idempotent and
		// runs on every `make run`.
		switch datavenue.CodeOf(err) {
		case "organisation_exists", "organisation_uscc_taken":
			// Present, perhaps from before roles were recorded: give it its demo roles.
			if o, err := db.Organisation(ctx, d.reg.ID); err == nil && !slices.Equal(o.Roles, d.reg.Roles) {
				if _, err := db.SetOrganisationRoles(ctx, d.reg.ID, d.reg.Roles); err != nil {
					return fmt.Errorf("seed %s roles: %w", d.reg.Name, err)
				}
			}
		default:
			if err != nil {
				return fmt.Errorf("seed %s: %w", d.reg.Name, err)
			}
			created++
		}
	}
	fmt.Fprintf(stdout, "seed: %d demo organisations created, %d already present\n", created, len(demoOrgs())-created)
	return printDemoTokens(cfg, stdout)
}

// printDemoTokens prints one bearer token per demo role, ready to export in a shell. They are
// development tokens signed by the venue's own key, so they only work on a venue that trusts
// its own issuer (DATAVENUE_DEV_ISSUER, the default); 12 hours covers a working day, and exceeds
// no lifetime limit the venue applies by default (24 h).
func printDemoTokens(cfg config.Config, stdout io.Writer) error {
	m, err := minter(cfg)
	if err != nil {
		return err
	}
	base := "http://" + cfg.Listen
	fmt.Fprintf(stdout, "\nBase URL: %s   (docs: %s/docs, OpenAPI: %s/openapi.json)\n", base, base, base)
	fmt.Fprintln(stdout, "Demo bearer tokens (valid 12h; mint more with `datavenue token --role R --org ID`):")
	for _, d := range demoOrgs() {
		if d.role == "" {
			continue
		}
		tok, err := m.Mint("demo-"+strings.ReplaceAll(string(d.role), "_", "-"), d.role, d.reg.ID, 12*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n  %s — %s (%s)\n  export DV_%s_TOKEN=%s\n", d.role, d.reg.Name, d.reg.ID, strings.ToUpper(string(d.role)), tok)
	}
	fmt.Fprintf(stdout, "\nTry: curl -H \"Authorization: Bearer $DV_BUYER_TOKEN\" %s/v1/me\n\n", base)
	return nil
}
