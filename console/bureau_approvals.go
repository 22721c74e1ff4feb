package console

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// The finance bureau's approvals: a government unit's paid use or disposal of a data asset waits
// for its decision after the unit's internal one (D10); the decision, approve with a validity or
// reject with its reason, is certificates.GrantService.DecideApproval's (the API's
// decideApproval).

type approvalsData struct {
	Status string
	Rows   []certificates.Approval
	Next   string
}

// approvalStatuses are the queue's tabs: waiting first, then the decided ones.
var approvalStatuses = []string{"submitted", "approved", "rejected"}

func (c *Console) approvals(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := approvalsData{Status: ctx.Query("status", "submitted")}
	list, err := c.d.Grants.Approvals(ctx.UserContext(), s.Caller, certificates.GrantFilter{Status: d.Status, After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Rows = list
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/approvals?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "bureau-approvals", l.T("approvals.title"), d)
}

type approvalData struct {
	Key         string // the form's idempotency key (once)
	A           certificates.Approval
	Card        cardView
	CanAct      bool
	CSRF        string
	From, Until string // the validity offered: from today, for a year
	Done        string
	Problem     string
	Given       form
}

func (c *Console) approval(ctx *fiber.Ctx) error {
	return c.renderApproval(ctx, ctx.Query("done"), "", nil)
}

// renderApproval is the request (purpose, scenario, pricing methods, the unit's internal
// decision) beside the asset card and its certificates, with the decision form while it waits.
func (c *Console) renderApproval(ctx *fiber.Ctx, done, problem string, given form) error {
	l, s := lang(ctx), sessionOf(ctx)
	a, err := c.d.Grants.Approval(ctx.UserContext(), s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	today := civil.Of(c.now())
	d := approvalData{Key: randomToken(), A: a, CSRF: s.CSRF, Done: done, Problem: problem, Given: given,
		CanAct: allowed("decideApproval", s.Caller.Role) && a.Status == "submitted", From: today.String(), Until: today.AddDays(365).String()}
	if d.Card, err = c.card(ctx, a.AssetID, 0); err != nil {
		return err
	}
	return c.render(ctx, "bureau-approval", l.T("approval.title"), d)
}

// decideApproval records the decision; a refusal (a rejection without its reason, dates out of
// order, a request decided meanwhile) is shown above the form with what was given.
func (c *Console) decideApproval(ctx *fiber.Ctx) error {
	id := ctx.Params("id")
	f := formOf(ctx, "decision", "comment", "valid_from", "valid_until")
	return c.once(ctx, func() error { return c.recordDecision(ctx, id, f) })
}

func (c *Console) recordDecision(ctx *fiber.Ctx, id string, f form) error {
	s := sessionOf(ctx)
	in := certificates.DecisionInput{Decision: f["decision"], Comment: f["comment"]}
	if in.Decision == "approve" {
		in.ValidFrom, in.ValidUntil = f["valid_from"], f["valid_until"]
	}
	a, err := c.d.Grants.DecideApproval(ctx.UserContext(), s.Caller, id, in)
	return decided(ctx, err, Prefix+"/approvals/"+id+"?done="+a.Status, func(problem string) error { return c.renderApproval(ctx, "", problem, f) })
}
