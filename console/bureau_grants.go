package console

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
)

// The data bureau's scenario authorisations (D9, G5): a grant is not requested and waited on, it
// is given; what waits on the bureau afterwards is its periodic assessment of each authorised
// operator, and the revocation that stops trading under a grant. The queue lists the
// authorisations in force, each opened with its scope and history beside the asset card and its
// certificates; the assessment and the revocation are certificates.GrantService's Assess and
// Revoke (the API's assessAuthorisation and revokeAuthorisation).

type grantsData struct {
	CanGrant bool
	Status   string
	Rows     []certificates.Authorisation
	Next     string
}

// grantStatuses are the queue's tabs.
var grantStatuses = []string{"active", "revoked", "expired"}

func (c *Console) grants(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := grantsData{Status: ctx.Query("status", "active"), CanGrant: allowed("grant", s.Caller.Role)}
	list, err := c.d.Grants.Authorisations(ctx.UserContext(), s.Caller, certificates.GrantFilter{Status: d.Status, After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Rows = list
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/grants?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "bureau-grants", l.T("grants.title"), d)
}

type grantData struct {
	Key       string // the assessment form's idempotency key (once)
	RevokeKey string // the revocation form's
	NarrowKey string // the narrowing form's
	CanNarrow bool
	G         certificates.Authorisation
	Card      cardView
	CanAssess bool
	CanRevoke bool
	CSRF      string
	Done      string
	Problem   string
	Given     form
}

func (c *Console) grant(ctx *fiber.Ctx) error {
	return c.renderGrant(ctx, ctx.Query("done"), "", nil)
}

func (c *Console) renderGrant(ctx *fiber.Ctx, done, problem string, given form) error {
	l, s := lang(ctx), sessionOf(ctx)
	g, err := c.d.Grants.Authorisation(ctx.UserContext(), s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	d := grantData{Key: randomToken(), RevokeKey: randomToken(), NarrowKey: randomToken(), G: g, CSRF: s.CSRF, Done: done, Problem: problem, Given: given,
		CanAssess: allowed("assess", s.Caller.Role) && g.Status == "active", CanRevoke: allowed("revoke", s.Caller.Role) && g.Status == "active",
		CanNarrow: allowed("narrow", s.Caller.Role) && g.Status == "active"}
	if d.Card, err = c.card(ctx, g.AssetID, 0); err != nil {
		return err
	}
	return c.render(ctx, "bureau-grant", l.T("grant.title"), d)
}

// grantAction records an assessment, a narrowing or a revocation; a refusal is shown above the
// forms, what was given kept.
func (c *Console) grantAction(ctx *fiber.Ctx) error {
	id, action := ctx.Params("id"), ctx.Params("action")
	if action != "assess" && action != "revoke" && action != "narrow" {
		return fiber.ErrNotFound
	}
	if !allowed(action, sessionOf(ctx).Caller.Role) {
		return datavenue.Forbidden("role_not_allowed", "the role may not "+action+" authorisations")
	}
	f := formOf(ctx, "period", "result", "comment", "reason", "valid_until", "conditions")
	types := postedAll(ctx, "product_types")
	return c.once(ctx, func() error {
		s, cx := sessionOf(ctx), ctx.UserContext()
		var err error
		switch action {
		case "assess":
			_, err = c.d.Grants.Assess(cx, s.Caller, id, certificates.AssessInput{Period: f["period"], Result: f["result"], Comment: f["comment"]})
		case "narrow":
			_, err = c.d.Grants.Narrow(cx, s.Caller, id, certificates.NarrowInput{ProductTypes: types, ValidUntil: f["valid_until"],
				Conditions: f["conditions"], Reason: f["reason"]})
		default:
			_, err = c.d.Grants.Revoke(cx, s.Caller, id, certificates.CancelInput{Reason: f["reason"]})
		}
		return decided(ctx, err, Prefix+"/grants/"+id+"?done="+action, func(problem string) error { return c.renderGrant(ctx, "", problem, f) })
	})
}
