package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
)

// Grants is what the API needs for authorisations (D9/G5: one scenario, one authorisation),
// paid-use and disposal approvals (D10) and appraisals (D7/D14). They are one service because all
// three attach to an asset and its holder and operator, and the listings filter on those.
type Grants interface {
	Grant(ctx context.Context, caller datavenue.Caller, in certificates.GrantInput) (certificates.Authorisation, error)
	Narrow(ctx context.Context, caller datavenue.Caller, id string, in certificates.NarrowInput) (certificates.Authorisation, error)
	Revoke(ctx context.Context, caller datavenue.Caller, id string, in certificates.CancelInput) (certificates.Authorisation, error)
	Assess(ctx context.Context, caller datavenue.Caller, id string, in certificates.AssessInput) (certificates.Authorisation, error)
	Authorisation(ctx context.Context, caller datavenue.Caller, id string) (certificates.Authorisation, error)
	Authorisations(ctx context.Context, caller datavenue.Caller, f certificates.GrantFilter) ([]certificates.Authorisation, error)
	SubmitApproval(ctx context.Context, caller datavenue.Caller, in certificates.ApprovalInput) (certificates.Approval, error)
	DecideApproval(ctx context.Context, caller datavenue.Caller, id string, in certificates.DecisionInput) (certificates.Approval, error)
	Approval(ctx context.Context, caller datavenue.Caller, id string) (certificates.Approval, error)
	Approvals(ctx context.Context, caller datavenue.Caller, f certificates.GrantFilter) ([]certificates.Approval, error)
	RecordAppraisal(ctx context.Context, caller datavenue.Caller, in certificates.AppraisalInput) (certificates.Appraisal, error)
	Appraisal(ctx context.Context, caller datavenue.Caller, id string) (certificates.Appraisal, error)
	Appraisals(ctx context.Context, caller datavenue.Caller, f certificates.GrantFilter) ([]certificates.Appraisal, error)
}

// grantFilter reads the filters the three lists share (grantParams documents them).
func grantFilter(c *fiber.Ctx, after string, limit int) certificates.GrantFilter {
	return certificates.GrantFilter{AssetID: assets.ID(c.Query("asset_id")), Holder: datavenue.OrgID(c.Query("holder")),
		Operator: datavenue.OrgID(c.Query("operator")), After: after, Limit: limit}
}

var grantParams = []Param{{Name: "asset_id", In: "query"}, {Name: "holder", In: "query"}, {Name: "operator", In: "query"}, limitParam, cursorParam}

// grantRoutes: narrowing, revoking and deciding change the resource in place and answer 200 with
// it; an assessment is a new record under an authorisation, so it answers 201, with the
// authorisation (which lists its assessments) at the Location, as an assessment has no URL of its
// own. Narrowing and revoking are POST actions rather than PUT: they are transitions with a reason,
// not replacements of the resource, and like every POST they take an Idempotency-Key.
func (h *handlers) grantRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/authorisations", Operation{ID: "grantAuthorisation", Tag: "authorisations", Summary: "Grant a scenario authorisation (data bureau)",
			Description: "One scenario, one authorisation (D9): an asset's scenario is authorised to one operator at a time (409 scenario_already_authorised). Shared data needs the source unit's consent on the card (G5).",
			Auth:        true, Request: certificates.GrantInput{}, Response: certificates.Authorisation{}, Status: 201, Errors: []int{403, 409}}, h.grant},
		{"GET", "/v1/authorisations", Operation{ID: "listAuthorisations", Tag: "authorisations", Summary: "Scenario authorisations", Auth: true,
			Params: grantParams, Response: Page[certificates.Authorisation]{}}, h.listAuthorisations},
		{"GET", "/v1/authorisations/:id", Operation{ID: "getAuthorisation", Tag: "authorisations", Summary: "One authorisation with its history and assessments", Auth: true,
			Params: id, Response: certificates.Authorisation{}, Errors: []int{404}}, h.getAuthorisation},
		{"POST", "/v1/authorisations/:id/narrow", Operation{ID: "narrowAuthorisation", Tag: "authorisations", Summary: "Narrow an authorisation", Auth: true,
			Params: id, Request: certificates.NarrowInput{}, Response: certificates.Authorisation{}, Errors: []int{403, 404, 409}}, h.narrow},
		{"POST", "/v1/authorisations/:id/assessments", Operation{ID: "assessAuthorisation", Tag: "authorisations", Summary: "Record a periodic assessment", Auth: true,
			Params: id, Request: certificates.AssessInput{}, Response: certificates.Authorisation{}, Status: 201, Errors: []int{403, 404, 409}}, h.assess},
		{"POST", "/v1/authorisations/:id/revoke", Operation{ID: "revokeAuthorisation", Tag: "authorisations", Summary: "Revoke an authorisation; trading under it stops", Auth: true,
			Params: id, Request: certificates.CancelInput{}, Response: certificates.Authorisation{}, Errors: []int{403, 404, 409}}, h.revoke},
		{"POST", "/v1/approvals", Operation{ID: "submitApproval", Tag: "approvals", Summary: "Submit (government unit) or record (state enterprise) a usage or disposal approval",
			Description: "D10: a government unit's paid use or disposal needs the finance bureau's approval after its internal decision; a state enterprise records its own approval route and validity.",
			Auth:        true, Request: certificates.ApprovalInput{}, Response: certificates.Approval{}, Status: 201, Errors: []int{403}}, h.submitApproval},
		{"GET", "/v1/approvals", Operation{ID: "listApprovals", Tag: "approvals", Summary: "Usage and disposal approvals", Auth: true,
			Params: grantParams, Response: Page[certificates.Approval]{}}, h.listApprovals},
		{"GET", "/v1/approvals/:id", Operation{ID: "getApproval", Tag: "approvals", Summary: "One approval", Auth: true,
			Params: id, Response: certificates.Approval{}, Errors: []int{404}}, h.getApproval},
		{"POST", "/v1/approvals/:id/decision", Operation{ID: "decideApproval", Tag: "approvals", Summary: "The finance bureau approves or rejects", Auth: true,
			Params: id, Request: certificates.DecisionInput{}, Response: certificates.Approval{}, Errors: []int{403, 404, 409}}, h.decideApproval},
		{"POST", "/v1/appraisals", Operation{ID: "recordAppraisal", Tag: "appraisals", Summary: "Record an appraisal report (appraiser)", Auth: true,
			Request: certificates.AppraisalInput{}, Response: certificates.Appraisal{}, Status: 201, Errors: []int{403, 409}}, h.recordAppraisal},
		{"GET", "/v1/appraisals", Operation{ID: "listAppraisals", Tag: "appraisals", Summary: "Appraisal reports", Auth: true,
			Params: grantParams, Response: Page[certificates.Appraisal]{}}, h.listAppraisals},
		{"GET", "/v1/appraisals/:id", Operation{ID: "getAppraisal", Tag: "appraisals", Summary: "One appraisal report", Auth: true,
			Params: id, Response: certificates.Appraisal{}, Errors: []int{404}}, h.getAppraisal},
	}
}

// authorisationAt is where an authorisation is read back (a grant's and an assessment's Location).
func authorisationAt(g certificates.Authorisation) string { return "/v1/authorisations/" + g.ID }

// grant creates an authorisation (201). A second grant of the same asset and scenario to another
// operator is 409 scenario_already_authorised: D9's "one scenario, one authorisation" is a state
// conflict, not a field error.
func (h *handlers) grant(c *fiber.Ctx) error {
	return create(c, h.d.Grants.Grant, authorisationAt)
}

// listAuthorisations, listApprovals and listAppraisals pass the filters to the service, which
// narrows them to what the caller may see (for authorisations: a party asking with holder set to
// itself sees the grants on its assets, otherwise the grants to it; overseers see everything).
func (h *handlers) listAuthorisations(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]certificates.Authorisation, error) {
		return h.d.Grants.Authorisations(c.UserContext(), callerOf(c), grantFilter(c, after, limit))
	}, func(x certificates.Authorisation) string { return x.ID })
}

func (h *handlers) getAuthorisation(c *fiber.Ctx) error {
	g, err := h.d.Grants.Authorisation(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(g)
}

// narrow shrinks an authorisation's scope (D9: grants can be narrowed); products it no longer
// covers are suspended through the authorisation.narrowed event, not by this request.
func (h *handlers) narrow(c *fiber.Ctx) error {
	return update(c, h.d.Grants.Narrow)
}

// assess records a periodic assessment (D9: grants are supervised and periodically assessed).
func (h *handlers) assess(c *fiber.Ctx) error {
	return create(c, onID(c, h.d.Grants.Assess), authorisationAt)
}

// revoke ends an authorisation (D9/G5: revocation must stop trading under the grant). The service
// writes the authorisation.revoked event with the change, on which listing suspends the products
// and matching stops their auctions; the answer does not wait for them.
func (h *handlers) revoke(c *fiber.Ctx) error {
	return update(c, h.d.Grants.Revoke)
}

// submitApproval: a government unit's request waits for the finance bureau's decision, while a
// state enterprise's own approval route is recorded at once (D10); both answer 201.
func (h *handlers) submitApproval(c *fiber.Ctx) error {
	return create(c, h.d.Grants.SubmitApproval, func(a certificates.Approval) string { return "/v1/approvals/" + a.ID })
}

func (h *handlers) listApprovals(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]certificates.Approval, error) {
		return h.d.Grants.Approvals(c.UserContext(), callerOf(c), grantFilter(c, after, limit))
	}, func(x certificates.Approval) string { return x.ID })
}

func (h *handlers) getApproval(c *fiber.Ctx) error {
	a, err := h.d.Grants.Approval(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(a)
}

// decideApproval is the finance bureau's approval or rejection (D10: without it a government
// unit's data asset may not be offered for profit); it changes the approval, so it answers 200.
func (h *handlers) decideApproval(c *fiber.Ctx) error {
	return update(c, h.d.Grants.DecideApproval)
}

// recordAppraisal records an appraiser's report (D7/D14): its appraised value is what an
// appraisal-priced product's reserve rests on, so the report number and validity are kept with it.
func (h *handlers) recordAppraisal(c *fiber.Ctx) error {
	return create(c, h.d.Grants.RecordAppraisal, func(a certificates.Appraisal) string { return "/v1/appraisals/" + a.ID })
}

func (h *handlers) listAppraisals(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]certificates.Appraisal, error) {
		return h.d.Grants.Appraisals(c.UserContext(), callerOf(c), grantFilter(c, after, limit))
	}, func(x certificates.Appraisal) string { return x.ID })
}

func (h *handlers) getAppraisal(c *fiber.Ctx) error {
	a, err := h.d.Grants.Appraisal(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(a)
}
