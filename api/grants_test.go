package api_test

import (
	"net/http"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/certificates"
)

func grantBody(assetID any, scenario string) map[string]any {
	return map[string]any{"asset_id": assetID, "operator_id": operatorOrg, "scenario": scenario, "purpose": "industry",
		"product_types": []string{"dataset", "api_service"}, "conditions": "仅限脱敏汇总数据",
		"valid_until": today().AddDays(180).String()}
}

func TestScenarioAuthorisationLifecycle(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	bureau := v.as(datavenue.RoleDataBureau, bureauOrg)
	wantProblem(t, v.do("POST", "/v1/authorisations", v.as(datavenue.RoleFinanceBureau, financeOrg), grantBody(a.ID, "客流分析")), 403, "role_not_allowed")
	r := v.do("POST", "/v1/authorisations", bureau, grantBody(a.ID, "客流分析"))
	mustStatus(t, r, 201)
	g := decode[certificates.Authorisation](t, r)
	if g.Status != "active" || g.OperatorID != operatorOrg || g.HolderID != govHolder || len(g.Changes) != 1 {
		t.Fatalf("granted = %+v", g)
	}
	// One scenario, one authorisation (D9).
	dup := grantBody(a.ID, "客流分析")
	dup["operator_id"] = govHolder
	wantProblem(t, v.do("POST", "/v1/authorisations", bureau, dup), 409, "scenario_already_authorised")
	// The grantee must be an operator or the holder itself.
	bad := grantBody(a.ID, "另一场景")
	bad["operator_id"] = buyerOrg
	wantProblem(t, v.do("POST", "/v1/authorisations", bureau, bad), 422, "not_an_operator")

	// Visible to its operator and the holder, not to a buyer.
	mustStatus(t, v.do("GET", "/v1/authorisations/"+g.ID, v.as(datavenue.RoleOperator, operatorOrg), nil), 200)
	mustStatus(t, v.do("GET", "/v1/authorisations/"+g.ID, v.as(datavenue.RoleOperator, govHolder), nil), 200)
	wantProblem(t, v.do("GET", "/v1/authorisations/"+g.ID, v.as(datavenue.RoleBuyer, buyerOrg), nil), 404, "authorisation_not_found")
	mine := decode[api.Page[certificates.Authorisation]](t, v.do("GET", "/v1/authorisations", v.as(datavenue.RoleOperator, operatorOrg), nil))
	if len(mine.Data) != 1 {
		t.Fatalf("operator sees %d authorisations, want 1", len(mine.Data))
	}

	// Narrowing keeps a subset and never extends.
	wider := map[string]any{"product_types": []string{"dataset", "model"}, "valid_until": today().AddDays(90).String(), "conditions": "", "reason": "x"}
	wantProblem(t, v.do("POST", "/v1/authorisations/"+g.ID+"/narrow", bureau, wider), 422, "not_narrower")
	longer := map[string]any{"product_types": []string{"dataset"}, "valid_until": today().AddDays(400).String(), "conditions": "", "reason": "x"}
	wantProblem(t, v.do("POST", "/v1/authorisations/"+g.ID+"/narrow", bureau, longer), 422, "not_narrower")
	narrow := map[string]any{"product_types": []string{"dataset"}, "valid_until": today().AddDays(90).String(), "conditions": "仅限月度汇总", "reason": "评估后收窄"}
	r = v.do("POST", "/v1/authorisations/"+g.ID+"/narrow", bureau, narrow)
	mustStatus(t, r, 200)
	if n := decode[certificates.Authorisation](t, r); n.Version != 2 || len(n.ProductTypes) != 1 || len(n.Changes) != 2 {
		t.Fatalf("narrowed = %+v", n)
	}

	// Periodic assessment, once per period.
	assess := map[string]any{"period": "2026-H2", "result": "satisfactory", "comment": "按约定使用"}
	mustStatus(t, v.do("POST", "/v1/authorisations/"+g.ID+"/assessments", bureau, assess), 201)
	wantProblem(t, v.do("POST", "/v1/authorisations/"+g.ID+"/assessments", bureau, assess), 409, "assessment_exists")

	// Revocation stops trading: the event is published, and nothing more can change.
	r = v.do("POST", "/v1/authorisations/"+g.ID+"/revoke", bureau, map[string]any{"reason": "违反授权条件"})
	mustStatus(t, r, 200)
	if rv := decode[certificates.Authorisation](t, r); rv.Status != "revoked" || rv.RevocationReason != "违反授权条件" {
		t.Fatalf("revoked = %+v", rv)
	}
	wantProblem(t, v.do("POST", "/v1/authorisations/"+g.ID+"/narrow", bureau, narrow), 409, "authorisation_not_active")
	events := v.outbox()
	if len(events) != 2 || events[0].Type != certificates.EventAuthorisationNarrowed || events[1].Type != certificates.EventAuthorisationRevoked {
		t.Fatalf("events = %+v", events)
	}
	// After revocation the scenario can be granted again.
	mustStatus(t, v.do("POST", "/v1/authorisations", bureau, grantBody(a.ID, "客流分析")), 201)
}

func TestSharedDataNeedsConsentBeforeAuthorisation(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	shared := transportCard()
	shared["acquisition_mode"] = "shared"
	shared["shared_from"] = stateHolder
	a := v.registerCard(shared)
	bureau := v.as(datavenue.RoleDataBureau, bureauOrg)
	wantProblem(t, v.do("POST", "/v1/authorisations", bureau, grantBody(a.ID, "共享数据场景")), 422, "shared_data_needs_consent")
	change := map[string]any{"version": 1, "reason": "取得数据提供单位同意"}
	for k, val := range shared {
		change[k] = val
	}
	change["shared_consent_ref"] = "城投函〔2026〕12号"
	mustStatus(t, v.do("PUT", "/v1/assets/"+string(a.ID), v.as(datavenue.RoleOperator, govHolder), change), 200)
	mustStatus(t, v.do("POST", "/v1/authorisations", bureau, grantBody(a.ID, "共享数据场景")), 201)
}

func TestUsageApprovals(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	holder, finance := v.as(datavenue.RoleOperator, govHolder), v.as(datavenue.RoleFinanceBureau, financeOrg)
	submit := map[string]any{"asset_id": a.ID, "purpose": "paid_use", "scenario": "客流分析",
		"pricing_methods": []string{"auction", "negotiation"}, "internal_decision_ref": "局党组会议纪要〔2026〕9号"}
	own := map[string]any{}
	for k, val := range submit {
		own[k] = val
	}
	own["own_approver"] = "局长办公会"
	wantProblem(t, v.do("POST", "/v1/approvals", holder, own), 422, "finance_bureau_route")
	r := v.do("POST", "/v1/approvals", holder, submit)
	mustStatus(t, r, 201)
	ap := decode[certificates.Approval](t, r)
	if ap.Status != "submitted" || ap.Route != "finance_bureau" {
		t.Fatalf("government unit's approval = %+v", ap)
	}
	decide := map[string]any{"decision": "approve", "comment": "同意", "valid_until": today().AddDays(365).String()}
	wantProblem(t, v.do("POST", "/v1/approvals/"+ap.ID+"/decision", v.as(datavenue.RoleDataBureau, bureauOrg), decide), 403, "role_not_allowed")
	wantProblem(t, v.do("POST", "/v1/approvals/"+ap.ID+"/decision", finance, map[string]any{"decision": "reject", "comment": ""}), 422, "validation_failed")
	r = v.do("POST", "/v1/approvals/"+ap.ID+"/decision", finance, decide)
	mustStatus(t, r, 200)
	ap = decode[certificates.Approval](t, r)
	if ap.Status != "approved" || !ap.Covers("auction", today()) || ap.Covers("guided", today()) || ap.DecidedByOrg != financeOrg {
		t.Fatalf("approved = %+v", ap)
	}
	wantProblem(t, v.do("POST", "/v1/approvals/"+ap.ID+"/decision", finance, decide), 409, "approval_not_open")

	// A state enterprise records its own route; the finance bureau is not involved.
	seCard := v.do("POST", "/v1/assets", v.as(datavenue.RoleOperator, stateHolder), transportCard())
	mustStatus(t, seCard, 201)
	own["asset_id"] = decode[map[string]any](t, seCard)["id"]
	own["valid_until"] = today().AddDays(365).String()
	r = v.do("POST", "/v1/approvals", v.as(datavenue.RoleOperator, stateHolder), own)
	mustStatus(t, r, 201)
	if se := decode[certificates.Approval](t, r); se.Status != "recorded" || se.Route != "own" || se.OwnApprover != "局长办公会" {
		t.Fatalf("state enterprise approval = %+v", se)
	}
	// Only the holder submits; others do not even see the asset.
	wantProblem(t, v.do("POST", "/v1/approvals", v.as(datavenue.RoleOperator, operatorOrg), submit), 422, "asset_not_found")
	wantProblem(t, v.do("GET", "/v1/approvals/"+ap.ID, v.as(datavenue.RoleBuyer, buyerOrg), nil), 404, "approval_not_found")
}

func TestAppraisals(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	appraiser := v.as(datavenue.RoleAppraiser, appraiserOrg)
	report := map[string]any{"asset_id": a.ID, "report_number": "正信评报字〔2026〕第0188号", "method": "income",
		"value": "2350000.00", "valuation_date": today().AddDays(-3).String(), "valid_until": today().AddDays(362).String()}
	r := v.do("POST", "/v1/appraisals", appraiser, report)
	mustStatus(t, r, http.StatusCreated)
	ap := decode[certificates.Appraisal](t, r)
	if ap.Value.String() != "2350000.00" || ap.AppraiserID != appraiserOrg || !ap.ValidOn(today()) {
		t.Fatalf("appraisal = %+v", ap)
	}
	wantProblem(t, v.do("POST", "/v1/appraisals", appraiser, report), 409, "report_number_taken")
	wantProblem(t, v.do("POST", "/v1/appraisals", v.as(datavenue.RoleOperator, operatorOrg), report), 403, "role_not_allowed")
	wantProblem(t, v.do("POST", "/v1/appraisals", v.as(datavenue.RoleAppraiser, buyerOrg), report), 403, "role_not_held")
	for field, value := range map[string]string{"value": "0", "valuation_date": today().AddDays(5).String(), "method": "guess"} {
		bad := map[string]any{}
		for k, val := range report {
			bad[k] = val
		}
		bad[field] = value
		bad["report_number"] = "other-" + field
		r := v.do("POST", "/v1/appraisals", appraiser, bad)
		wantProblem(t, r, 422, "validation_failed")
		if r.problem.Errors[0].Field != field {
			t.Errorf("%s=%s: errors %+v", field, value, r.problem.Errors)
		}
	}
	mustStatus(t, v.do("GET", "/v1/appraisals/"+ap.ID, v.as(datavenue.RoleOperator, govHolder), nil), 200)
	wantProblem(t, v.do("GET", "/v1/appraisals/"+ap.ID, v.as(datavenue.RoleBuyer, buyerOrg), nil), 404, "appraisal_not_found")
	card := decode[map[string]any](t, v.do("GET", "/v1/assets/"+string(a.ID), v.as(datavenue.RoleOperator, govHolder), nil))
	if usage := card["usage"].(map[string]any); usage["appraisals"] != float64(1) {
		t.Fatalf("card usage = %v", usage)
	}
}

// The auditor reads everything and changes nothing.
func TestAuditorChangesNothing(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	c := v.issueResource(a.ID)
	auditor := v.as(datavenue.RoleAuditor, auditorOrg)
	for _, tt := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/assets", transportCard()},
		{"/v1/certificate-applications", resourceApplication(a.ID)},
		{"/v1/certificates/" + c.ID + "/cancel", map[string]any{"reason": "x"}},
		{"/v1/certificates/" + c.ID + "/correct", map[string]any{"scope": map[string]any{"scenarios": []string{"x"}, "product_types": []string{"dataset"}}, "valid_until": today().AddDays(9).String(), "reason": "x"}},
		{"/v1/authorisations", grantBody(a.ID, "x")},
		{"/v1/approvals", map[string]any{"asset_id": a.ID, "purpose": "paid_use", "scenario": "x", "pricing_methods": []string{"auction"}, "internal_decision_ref": "x"}},
		{"/v1/appraisals", map[string]any{"asset_id": a.ID, "report_number": "x", "method": "cost", "value": "1.00", "valuation_date": today().String(), "valid_until": today().String()}},
		{"/v1/organisations", validRegistration("x")},
	} {
		r := v.do("POST", tt.path, auditor, tt.body)
		if r.status != http.StatusForbidden {
			t.Errorf("auditor POST %s = %d, want 403", tt.path, r.status)
		}
	}
	for _, path := range []string{"/v1/assets/" + string(a.ID), "/v1/certificates/" + c.ID, "/v1/ledger.xlsx", "/v1/authorisations", "/v1/approvals", "/v1/appraisals", "/v1/certificate-applications"} {
		mustStatus(t, v.do("GET", path, auditor, nil), 200)
	}
	if got := decode[certificates.Certificate](t, v.do("GET", "/v1/certificates/"+c.ID, auditor, nil)); got.Status != certificates.StatusValid {
		t.Fatalf("certificate after the auditor's attempts = %s", got.Status)
	}
}
