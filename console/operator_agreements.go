package console

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// A product's contribution agreement (D16, G6): who shares its revenue, by agreed ratios or by
// each party's input cost per stage. The page shows the version in force and a form for the
// next one, sent through settlement.Service.SetAgreement (the API's setAgreement: a new version,
// the old ones kept for the orders made under them); a refusal shows its fields beside the form,
// with what was typed kept.

func init() {
	pageOps["agreement"] = []string{"getProduct", "getAgreement", "setAgreement", "listOrganisations"}
	pageNames = append(pageNames, "op-agreement")
}

// agreementRows is how many party rows the form offers at least: an agreement of the pilot plans'
// shape (holder, collector, processor, operator, the venue's fee) and one more. A longer
// agreement gets two rows more than it has, up to the 20 an agreement may have.
const agreementRows = 6

type agreementData struct {
	P       listing.Product
	Title   string
	Current *settlement.Agreement // nil: none yet
	// Shown is the version in force, a row per party with its organisation's name.
	Shown      []agreementRow
	Basis      string
	Rows       []agreementRow // the form's rows
	Roles      []string
	Stages     []string
	Orgs       []parties.Organisation
	CSRF, Key  string
	Saved      string // the version just made
	Problem    string
	Conditions []condition
}

// agreementRow is one party of an agreement as the form and the table show it.
type agreementRow struct {
	N, No             int // the row's index in the form, and its number as shown (N+1)
	Party, Name, Role string
	Ratio             string
	Costs             []stageCost // in the order of settlement.Stages
}

type stageCost struct {
	Stage, Amount string
}

func (c *Console) agreementForm(ctx *fiber.Ctx) error {
	return c.renderAgreement(ctx, "", nil, "", nil)
}

// renderAgreement shows the page: the form holds what was sent when a version was refused, else
// the version in force (or empty rows).
func (c *Console) renderAgreement(ctx *fiber.Ctx, basis string, sent []agreementRow, problem string, conds []condition) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	p, err := c.d.Listing.Get(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	if p.OperatorID != s.Caller.Org {
		// Only the product's operator sets its agreement; another operator would see a form the
		// venue refuses, and a share it has no business seeing.
		return datavenue.NotFound("product_not_found", "no product of yours has this id")
	}
	d := agreementData{P: p, Title: displayTitle(l, p), Roles: settlement.Roles, Stages: settlement.Stages, CSRF: s.CSRF, Key: randomToken(),
		Saved: versionParam(ctx, "saved"), Problem: problem, Conditions: conds, Basis: "ratio"}
	a, err := c.d.Settlement.Agreement(cx, s.Caller, p.ID)
	switch {
	case err == nil:
		d.Current, d.Basis = &a, a.Basis
		for i, party := range a.Parties {
			d.Shown = append(d.Shown, rowOf(i, party))
		}
	case datavenue.KindOf(err) != datavenue.KindNotFound:
		return err
	}
	// The party lists: the registered organisations, with every party named in the agreement or
	// the form among them whatever the list's length.
	var named []datavenue.OrgID
	for _, party := range a.Parties {
		named = append(named, party.Party)
	}
	for _, r := range sent {
		named = append(named, datavenue.OrgID(r.Party))
	}
	if d.Orgs, err = c.orgChoices(cx, named...); err != nil {
		return err
	}
	names := map[datavenue.OrgID]string{}
	for _, o := range d.Orgs {
		names[o.ID] = o.Name
	}
	for i := range d.Shown {
		d.Shown[i].Name = names[datavenue.OrgID(d.Shown[i].Party)]
	}
	d.Rows = d.Shown
	if sent != nil {
		d.Basis, d.Rows = basis, sent
	}
	rows := max(agreementRows, len(d.Rows)+2)
	for i := len(d.Rows); i < min(rows, 20); i++ {
		d.Rows = append(d.Rows, rowOf(i, settlement.AgreementParty{}))
	}
	return c.render(ctx, "op-agreement", d.Title, d)
}

// rowOf is a party as a row, its costs in the stages' order (its organisation's name is filled
// in once the pickers' organisations are read).
func rowOf(n int, p settlement.AgreementParty) agreementRow {
	r := agreementRow{N: n, No: n + 1, Party: string(p.Party), Role: p.Role, Ratio: p.Ratio}
	for _, stage := range settlement.Stages {
		amount := ""
		if y, ok := p.Costs[stage]; ok {
			amount = y.String()
		}
		r.Costs = append(r.Costs, stageCost{Stage: stage, Amount: amount})
	}
	return r
}

// setAgreement reads the form's rows (a row with neither a party nor a role is left out) and
// sends them as the next version: ratios for the ratio basis, costs for the cost basis, so a
// column left filled from the other basis is not sent.
func (c *Console) setAgreement(ctx *fiber.Ctx) error {
	s, cx, id := sessionOf(ctx), ctx.UserContext(), ctx.Params("id")
	basis := strings.TrimSpace(ctx.FormValue("basis"))
	in := settlement.AgreementInput{Basis: basis}
	var sent []agreementRow
	var conds []condition
	for i := 0; i < 20; i++ {
		n := strconv.Itoa(i)
		row := agreementRow{N: len(sent), No: len(sent) + 1, Party: strings.TrimSpace(ctx.FormValue("party-" + n)), Role: strings.TrimSpace(ctx.FormValue("role-" + n)),
			Ratio: strings.TrimSpace(ctx.FormValue("ratio-" + n))}
		for _, stage := range settlement.Stages {
			row.Costs = append(row.Costs, stageCost{Stage: stage, Amount: strings.TrimSpace(ctx.FormValue("cost-" + n + "-" + stage))})
		}
		// A row with neither a party nor a role is no party, whatever else it holds.
		if row.Party == "" && row.Role == "" {
			continue
		}
		party := settlement.AgreementParty{Party: datavenue.OrgID(row.Party), Role: row.Role}
		for _, cost := range row.Costs {
			if basis != "cost" || cost.Amount == "" {
				continue
			}
			y, err := money.Parse(cost.Amount)
			if err != nil {
				conds = append(conds, condition{Code: "invalid_amount", Field: fmt.Sprintf("parties[%d].costs.%s", len(sent), cost.Stage),
					Message: "an amount in yuan with at most two places"})
				continue
			}
			if party.Costs == nil {
				party.Costs = map[string]money.Yuan{}
			}
			party.Costs[cost.Stage] = y
		}
		if basis == "ratio" {
			party.Ratio = row.Ratio
		}
		sent = append(sent, row)
		in.Parties = append(in.Parties, party)
	}
	if len(conds) > 0 {
		// An amount that is not one never reaches the service: the refusal names it like the
		// service's own.
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderAgreement(ctx, basis, sent, lang(ctx).T("agreement.refused.amount"), conds)
	}
	err := c.onceTo(ctx, func() (string, error) {
		a, err := c.d.Settlement.SetAgreement(cx, s.Caller, id, in)
		return Prefix + "/manage/agreements/" + id + "?saved=" + strconv.Itoa(a.Version), err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(refusalStatus(err))
		return c.renderAgreement(ctx, basis, sent, text, conditionsOf(err))
	}
	return err
}
