package certificates

import (
	"context"
	"slices"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// GrantService runs scenario authorisations, usage/disposal approvals and appraisals.
type GrantService struct {
	Store     GrantStore
	Clock     datavenue.Clock
	Published func() // see Service.Published
}

func (s GrantService) today() civil.Date { return civil.Of(s.Clock.Now()) }

func isOverseer(c datavenue.Caller) bool { return c.Is(access.Overseers...) }

// period parses a validity period given as text; an empty start means today.
func (s GrantService) period(f *datavenue.Fields, fromText, untilText string) (civil.Date, civil.Date) {
	from, until := s.today(), civil.Date{}
	if fromText != "" {
		d, err := civil.Parse(fromText)
		if err != nil {
			f.Add("valid_from", "invalid_date", err.Error())
		}
		from = d
	}
	d, err := civil.Parse(untilText)
	switch {
	case err != nil:
		f.Add("valid_until", "invalid_date", err.Error())
	case d.Before(from) || d.Before(s.today()):
		f.Add("valid_until", "invalid_period", "valid_until is on or after valid_from and today")
	}
	until = d
	return from, until
}

func checkProductTypes(f *datavenue.Fields, field string, types []string) {
	if len(types) == 0 {
		f.Add(field, "required", "name at least one product type")
	}
	for _, t := range types {
		if !slices.Contains(ProductTypes, t) {
			f.Add(field, "invalid_value", "product types are dataset, api_service, data_report, model, sandbox_access, privacy_computing, published_data")
			return
		}
	}
}

// Grant authorises an operator to operate an asset for one scenario. Data obtained from another
// unit through sharing needs that unit's consent on the card first (G5).
func (s GrantService) Grant(ctx context.Context, caller datavenue.Caller, in GrantInput) (Authorisation, error) {
	if !caller.Is(datavenue.RoleDataBureau) {
		return Authorisation{}, datavenue.Forbidden("role_not_allowed", "the data bureau grants scenario authorisations")
	}
	var f datavenue.Fields
	assets.Text(&f, "scenario", in.Scenario, 1, 500)
	assets.Text(&f, "conditions", in.Conditions, 0, 2000)
	checkProductTypes(&f, "product_types", in.ProductTypes)
	if !slices.Contains(Purposes, in.Purpose) {
		f.Add("purpose", "invalid_value", "purpose is public_governance, public_welfare (free use) or industry (paid)")
	}
	from, until := s.period(&f, in.ValidFrom, in.ValidUntil)
	if err := f.Err(); err != nil {
		return Authorisation{}, err
	}
	a, err := s.Store.Asset(ctx, in.AssetID)
	if err != nil {
		return Authorisation{}, datavenue.Invalid("asset_not_found", "no such asset",
			datavenue.FieldError{Field: "asset_id", Code: "not_found", Message: "no asset has this id"})
	}
	kind, err := s.Store.OrganisationKind(ctx, in.OperatorID)
	if err != nil || (kind != "operator" && in.OperatorID != a.HolderID) {
		return Authorisation{}, datavenue.Invalid("not_an_operator", "the grantee must be a registered operating entity or the holder itself",
			datavenue.FieldError{Field: "operator_id", Code: "not_an_operator", Message: "not an operator or the holder"})
	}
	if a.AcquisitionMode == "shared" && a.SharedConsentRef == "" {
		return Authorisation{}, datavenue.Invalid("shared_data_needs_consent",
			"the asset was obtained through government sharing; record the source unit's consent on its card first (G5)")
	}
	return s.Store.CreateAuthorisation(ctx, Authorisation{
		ID: datavenue.NewID("aut"), AssetID: a.ID, HolderID: a.HolderID, OperatorID: in.OperatorID, Scenario: in.Scenario,
		Purpose: in.Purpose, ProductTypes: in.ProductTypes, Conditions: in.Conditions, ValidFrom: from, ValidUntil: until, Version: 1,
		Status: "active", GrantedByOrg: caller.Org, GrantedBy: caller.Subject,
	}, "granted")
}

// Narrow reduces an active authorisation: a subset of its product types, an end no later than now.
func (s GrantService) Narrow(ctx context.Context, caller datavenue.Caller, id string, in NarrowInput) (Authorisation, error) {
	if !caller.Is(datavenue.RoleDataBureau) {
		return Authorisation{}, datavenue.Forbidden("role_not_allowed", "the data bureau narrows authorisations")
	}
	var f datavenue.Fields
	checkProductTypes(&f, "product_types", in.ProductTypes)
	assets.Text(&f, "conditions", in.Conditions, 0, 2000)
	assets.Text(&f, "reason", in.Reason, 1, 500)
	_, until := s.period(&f, "", in.ValidUntil)
	if err := f.Err(); err != nil {
		return Authorisation{}, err
	}
	// The wake is deferred so it happens after the change committed (or failed: a spare wake only
	// runs an empty delivery pass).
	defer func() { notify(s.Published) }() // a narrowing may suspend products: deliver at once
	// The checks run on the locked current version, so two concurrent narrowings cannot each pass
	// against the same old scope and together widen it.
	return s.Store.ChangeAuthorisation(ctx, id, "narrowed", in.Reason, func(a *Authorisation) error {
		for _, t := range in.ProductTypes {
			if !slices.Contains(a.ProductTypes, t) {
				return datavenue.Invalid("not_narrower", "narrowing keeps a subset of the granted product types",
					datavenue.FieldError{Field: "product_types", Code: "not_narrower", Message: t + " was not granted"})
			}
		}
		if until.After(a.ValidUntil) {
			return datavenue.Invalid("not_narrower", "narrowing cannot extend the validity",
				datavenue.FieldError{Field: "valid_until", Code: "not_narrower", Message: "later than the current end " + a.ValidUntil.String()})
		}
		a.ProductTypes, a.ValidUntil, a.Conditions = in.ProductTypes, until, in.Conditions
		return nil
	})
}

// Revoke ends an authorisation; trading under it must stop (listing and matching consume the event).
func (s GrantService) Revoke(ctx context.Context, caller datavenue.Caller, id string, in CancelInput) (Authorisation, error) {
	if !caller.Is(datavenue.RoleDataBureau) {
		return Authorisation{}, datavenue.Forbidden("role_not_allowed", "the data bureau revokes authorisations")
	}
	var f datavenue.Fields
	assets.Text(&f, "reason", in.Reason, 1, 500)
	if err := f.Err(); err != nil {
		return Authorisation{}, err
	}
	// Revocation takes effect through the authorisation.revoked event, written with the change: the
	// wake delivers it at once, so listing suspends the products and matching stops their auctions
	// within a delivery pass rather than at the next tick (D9: revocation must stop trading).
	now := s.Clock.Now()
	a, err := s.Store.ChangeAuthorisation(ctx, id, "revoked", in.Reason, func(a *Authorisation) error {
		a.Status, a.RevokedAt, a.RevocationReason = "revoked", &now, in.Reason
		return nil
	})
	if err == nil {
		notify(s.Published)
	}
	return a, err
}

// Assess records a periodic assessment of an active authorisation.
func (s GrantService) Assess(ctx context.Context, caller datavenue.Caller, id string, in AssessInput) (Authorisation, error) {
	if !caller.Is(datavenue.RoleDataBureau) {
		return Authorisation{}, datavenue.Forbidden("role_not_allowed", "the data bureau assesses authorisations")
	}
	var f datavenue.Fields
	assets.Text(&f, "period", in.Period, 1, 50)
	assets.Text(&f, "comment", in.Comment, 0, 2000)
	if !slices.Contains([]string{"satisfactory", "needs_improvement", "unsatisfactory"}, in.Result) {
		f.Add("result", "invalid_value", "result is satisfactory, needs_improvement or unsatisfactory")
	}
	if err := f.Err(); err != nil {
		return Authorisation{}, err
	}
	return s.Store.AddAssessment(ctx, id, Assessment{Period: in.Period, Result: in.Result, Comment: in.Comment, AssessedBy: caller.Org})
}

var errGrantNotFound = datavenue.NotFound("authorisation_not_found", "no authorisation with this id is visible to you")

// Authorisation returns one authorisation with its history, to the bureaus, auditors, its
// operator and the asset's holder.
func (s GrantService) Authorisation(ctx context.Context, caller datavenue.Caller, id string) (Authorisation, error) {
	a, err := s.Store.Authorisation(ctx, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound || (err == nil && !isOverseer(caller) && caller.Org != a.OperatorID && caller.Org != a.HolderID) {
		return Authorisation{}, errGrantNotFound
	}
	return a, err
}

// Authorisations lists authorisations visible to caller.
func (s GrantService) Authorisations(ctx context.Context, caller datavenue.Caller, f GrantFilter) ([]Authorisation, error) {
	if !isOverseer(caller) {
		// A party sees grants to it and grants on its assets: two queries would be needed for the
		// union, so a party filters by its role: operators by grantee, holders by holder.
		if f.Holder != caller.Org {
			f.Holder, f.Operator = "", caller.Org
		}
	}
	return s.Store.Authorisations(ctx, f)
}

// SubmitApproval submits (government unit) or records (state enterprise) a usage or disposal approval.
func (s GrantService) SubmitApproval(ctx context.Context, caller datavenue.Caller, in ApprovalInput) (Approval, error) {
	if !caller.Is(datavenue.RoleOperator) {
		return Approval{}, datavenue.Forbidden("role_not_allowed", "the holder submits its approval request with the operator role")
	}
	var f datavenue.Fields
	if in.Purpose != "paid_use" && in.Purpose != "disposal" {
		f.Add("purpose", "invalid_value", "purpose is paid_use (有偿使用) or disposal (处置)")
	}
	assets.Text(&f, "scenario", in.Scenario, 1, 500)
	assets.Text(&f, "internal_decision_ref", in.InternalDecisionRef, 1, 200)
	if len(in.PricingMethods) == 0 {
		f.Add("pricing_methods", "required", "name the pricing methods the approval covers")
	}
	for _, m := range in.PricingMethods {
		if !slices.Contains(PricingMethods, m) {
			f.Add("pricing_methods", "invalid_value", "pricing methods are guided, appraisal, auction, negotiation")
			break
		}
	}
	if err := f.Err(); err != nil {
		return Approval{}, err
	}
	a, err := s.Store.Asset(ctx, in.AssetID)
	if err != nil || !assets.CanRead(caller, a.HolderID) {
		return Approval{}, datavenue.Invalid("asset_not_found", "no such asset of yours",
			datavenue.FieldError{Field: "asset_id", Code: "not_found", Message: "no asset of yours has this id"})
	}
	if !assets.IsHolder(caller, a.HolderID) {
		return Approval{}, datavenue.Forbidden("not_holder", "the holder submits approvals for its assets")
	}
	kind, err := s.Store.OrganisationKind(ctx, a.HolderID)
	if err != nil {
		return Approval{}, err
	}
	// A government unit's paid use or disposal waits for the finance bureau (D10/G5); a state
	// enterprise's is recorded at once with its own approver and validity, since its route runs
	// through its own governance (and SASAC), not the finance bureau.
	ap := Approval{ID: datavenue.NewID("apv"), AssetID: a.ID, HolderID: a.HolderID, Purpose: in.Purpose, Scenario: in.Scenario,
		PricingMethods: in.PricingMethods, InternalDecisionRef: in.InternalDecisionRef}
	if kind == "government_unit" {
		if in.OwnApprover != "" {
			return Approval{}, datavenue.Invalid("finance_bureau_route", "a government unit's paid use or disposal is approved by the finance bureau (D10), not by its own approver",
				datavenue.FieldError{Field: "own_approver", Code: "not_applicable", Message: "government units have no own route"})
		}
		ap.Route, ap.Status = "finance_bureau", "submitted"
		return s.Store.CreateApproval(ctx, ap)
	}
	assets.Text(&f, "own_approver", in.OwnApprover, 1, 200)
	ap.ValidFrom, ap.ValidUntil = s.period(&f, in.ValidFrom, in.ValidUntil)
	if err := f.Err(); err != nil {
		return Approval{}, err
	}
	ap.Route, ap.Status, ap.OwnApprover = "own", "recorded", in.OwnApprover
	return s.Store.CreateApproval(ctx, ap)
}

// DecideApproval is the finance bureau's approval or rejection of a submitted approval.
func (s GrantService) DecideApproval(ctx context.Context, caller datavenue.Caller, id string, in DecisionInput) (Approval, error) {
	if !caller.Is(datavenue.RoleFinanceBureau) {
		return Approval{}, datavenue.Forbidden("role_not_allowed", "the finance bureau decides approvals")
	}
	var f datavenue.Fields
	assets.Text(&f, "comment", in.Comment, 0, 2000)
	var from, until civil.Date
	switch in.Decision {
	case "approve":
		from, until = s.period(&f, in.ValidFrom, in.ValidUntil)
	case "reject":
		if in.Comment == "" {
			f.Add("comment", "required", "a rejection gives its reason")
		}
	default:
		f.Add("decision", "invalid_value", "decision is approve or reject")
	}
	if err := f.Err(); err != nil {
		return Approval{}, err
	}
	now := s.Clock.Now()
	return s.Store.DecideApproval(ctx, id, func(a *Approval) error {
		if a.Status != "submitted" {
			return datavenue.Conflict("approval_not_open", "the approval is not waiting for a decision")
		}
		a.Status, a.DecidedByOrg, a.DecidedBy, a.DecidedAt, a.DecisionComment = "rejected", caller.Org, caller.Subject, &now, in.Comment
		if in.Decision == "approve" {
			a.Status, a.ValidFrom, a.ValidUntil = "approved", from, until
		}
		return nil
	})
}

// Approval returns one approval to the bureaus, auditors and the holder.
func (s GrantService) Approval(ctx context.Context, caller datavenue.Caller, id string) (Approval, error) {
	a, err := s.Store.Approval(ctx, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound || (err == nil && !isOverseer(caller) && caller.Org != a.HolderID) {
		return Approval{}, datavenue.NotFound("approval_not_found", "no approval with this id is visible to you")
	}
	return a, err
}

// Approvals lists approvals visible to caller.
func (s GrantService) Approvals(ctx context.Context, caller datavenue.Caller, f GrantFilter) ([]Approval, error) {
	if !isOverseer(caller) {
		f.Holder = caller.Org
	}
	return s.Store.Approvals(ctx, f)
}

// RecordAppraisal records an appraisal report; only an appraiser organisation may.
func (s GrantService) RecordAppraisal(ctx context.Context, caller datavenue.Caller, in AppraisalInput) (Appraisal, error) {
	if !caller.Is(datavenue.RoleAppraiser) {
		return Appraisal{}, datavenue.Forbidden("role_not_allowed", "appraisal reports are recorded by appraisers")
	}
	var f datavenue.Fields
	assets.Text(&f, "report_number", in.ReportNumber, 1, 100)
	if !slices.Contains([]string{"cost", "income", "market"}, in.Method) {
		f.Add("method", "invalid_value", "method is cost, income or market (成本法, 收益法, 市场法)")
	}
	value, err := money.Parse(in.Value)
	if err != nil {
		f.Add("value", "invalid_amount", err.Error())
	} else if value.IsZero() {
		f.Add("value", "invalid_amount", "an appraised value is more than zero")
	}
	valuation, err := civil.Parse(in.ValuationDate)
	if err != nil {
		f.Add("valuation_date", "invalid_date", err.Error())
	} else if valuation.After(s.today()) {
		f.Add("valuation_date", "in_future", "the valuation date is not in the future")
	}
	until, err := civil.Parse(in.ValidUntil)
	if err != nil {
		f.Add("valid_until", "invalid_date", err.Error())
	} else if until.Before(valuation) {
		f.Add("valid_until", "invalid_period", "valid_until is on or after the valuation date")
	}
	if err := f.Err(); err != nil {
		return Appraisal{}, err
	}
	if kind, err := s.Store.OrganisationKind(ctx, caller.Org); err != nil || kind != "appraiser" {
		return Appraisal{}, datavenue.Forbidden("not_an_appraiser", "your organisation is not registered as an appraiser")
	}
	if _, err := s.Store.Asset(ctx, in.AssetID); err != nil {
		return Appraisal{}, datavenue.Invalid("asset_not_found", "no such asset",
			datavenue.FieldError{Field: "asset_id", Code: "not_found", Message: "no asset has this id"})
	}
	return s.Store.CreateAppraisal(ctx, Appraisal{ID: datavenue.NewID("apr"), AssetID: in.AssetID, AppraiserID: caller.Org,
		ReportNumber: in.ReportNumber, Method: in.Method, Value: value, Currency: "CNY", ValuationDate: valuation,
		ValidUntil: until, RecordedBy: caller.Subject, RecordedAt: time.Time{}})
}

// Appraisal returns one appraisal to the bureaus, auditors, the appraiser and the asset's holder.
func (s GrantService) Appraisal(ctx context.Context, caller datavenue.Caller, id string) (Appraisal, error) {
	a, err := s.Store.Appraisal(ctx, id)
	if err != nil {
		return Appraisal{}, err
	}
	if isOverseer(caller) || caller.Org == a.AppraiserID {
		return a, nil
	}
	if asset, err := s.Store.Asset(ctx, a.AssetID); err == nil && caller.Org == asset.HolderID {
		return a, nil
	}
	return Appraisal{}, datavenue.NotFound("appraisal_not_found", "no appraisal with this id is visible to you")
}

// Appraisals lists the appraisals of an asset visible to caller.
func (s GrantService) Appraisals(ctx context.Context, caller datavenue.Caller, f GrantFilter) ([]Appraisal, error) {
	if !isOverseer(caller) && !caller.Is(datavenue.RoleAppraiser) {
		f.Holder = caller.Org
	}
	if caller.Is(datavenue.RoleAppraiser) {
		f.Appraiser = caller.Org // appraisers see their own reports
	}
	return s.Store.Appraisals(ctx, f)
}
