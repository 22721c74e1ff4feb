package console

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/parties"
)

// Granting a scenario authorisation (D9, G5) from the console: the data bureau picks a certified
// asset (its newest certificates are the list to pick from), reads the card and certificates
// beside the grant form, and grants one operator one scenario through
// certificates.GrantService.Grant (the API's grantAuthorisation), which checks the operator, the
// purpose, the product types and a shared asset's consent, and audits the grant.

type grantNewData struct {
	Key         string
	Certified   []certificates.Certificate // without an asset chosen: the newest certificates, one per asset
	Asset       assets.ID
	Card        cardView
	Operators   []parties.Organisation
	Holder      string
	Types       []string
	Purposes    []string
	CSRF        string
	From, Until string
	Problem     string
	Given       form
	GivenTypes  []string
}

func (c *Console) grantNew(ctx *fiber.Ctx) error {
	return c.renderGrantNew(ctx, "", nil, nil)
}

func (c *Console) renderGrantNew(ctx *fiber.Ctx, problem string, given form, types []string) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	today := civil.Of(c.now())
	d := grantNewData{Key: randomToken(), Asset: assets.ID(ctx.Query("asset_id", ctx.FormValue("asset_id"))), CSRF: s.CSRF, Problem: problem,
		Given: given, GivenTypes: types, Purposes: certificates.Purposes, From: today.String(), Until: today.AddDays(365).String()}
	if d.Asset == "" {
		list, err := c.d.Certificates.Certificates(cx, certificates.CertificateFilter{Limit: listLimit})
		if err != nil {
			return err
		}
		for _, cert := range list {
			if !slices.ContainsFunc(d.Certified, func(x certificates.Certificate) bool { return x.AssetID == cert.AssetID }) {
				d.Certified = append(d.Certified, cert)
			}
		}
		return c.render(ctx, "bureau-grant-new", l.T("grant.new"), d)
	}
	var err error
	if d.Card, err = c.card(ctx, d.Asset, 0); err != nil {
		return err
	}
	if d.Operators, err = c.d.Organisations.List(cx, parties.ListFilter{Kind: parties.KindOperator, Limit: 100}); err != nil {
		return err
	}
	d.Holder = string(d.Card.C.HolderID)
	for _, t := range listing.ProductTypes {
		if t != "raw_data" { // raw data is never traded (the gate's raw_data_not_tradable): not offered
			d.Types = append(d.Types, t)
		}
	}
	return c.render(ctx, "bureau-grant-new", l.T("grant.new"), d)
}

// grantAuthorisation grants through the service; a refusal is shown above the form, what was
// given kept.
func (c *Console) grantAuthorisation(ctx *fiber.Ctx) error {
	f := formOf(ctx, "asset_id", "operator_id", "scenario", "purpose", "conditions", "valid_from", "valid_until")
	types := postedAll(ctx, "product_types")
	return c.once(ctx, func() error {
		g, err := c.d.Grants.Grant(ctx.UserContext(), sessionOf(ctx).Caller, certificates.GrantInput{AssetID: assets.ID(f["asset_id"]),
			OperatorID: datavenue.OrgID(f["operator_id"]), Scenario: f["scenario"], Purpose: f["purpose"], ProductTypes: types,
			Conditions: f["conditions"], ValidFrom: f["valid_from"], ValidUntil: f["valid_until"]})
		return decided(ctx, err, Prefix+"/grants/"+g.ID+"?done=granted", func(problem string) error { return c.renderGrantNew(ctx, problem, f, types) })
	})
}
