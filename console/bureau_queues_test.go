package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// audited reports whether the trail has an event with this action on the resource.
func audited(t *testing.T, v *venue, resourceType, id, action string) bool {
	t.Helper()
	list, err := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: resourceType, ResourceID: id, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Action == action {
			return true
		}
	}
	return false
}

// sideBySide reports whether the element #card stands to the right of #documents, level with it.
func sideBySide(t *testing.T, tab context.Context) bool {
	return value(t, tab, chromedp.Evaluate[bool](`(() => { const m = document.querySelector("#documents").getBoundingClientRect(),
		c = document.querySelector("#card").getBoundingClientRect(); return c.left >= m.right && c.top < m.bottom; })()`))
}

// signInAs signs a browser tab in with the development sign-in and waits for a landing selector.
func signInAs(t *testing.T, v *venue, tab context.Context, subject, landing string) {
	t.Helper()
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-"+subject)), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS(landing)))
}

// assetApplication has the holder's asset certified as a data resource (API) and apply for its
// data asset certificate, which waits for the data bureau's concurrence.
func (v *venue) assetApplication(t *testing.T) (client.Asset, client.Application) {
	t.Helper()
	ctx, api := context.Background(), v.client.API()
	asset, app := v.application(t)
	if _, err := venueclient.Result[client.ReviewResult](api.ReviewApplicationWithResponse(ctx, app.Id, nil, client.ReviewInput{
		ValidUntil: venueclient.Date(time.Now().AddDate(1, 0, 0)), Items: venueclient.PassAll("legality", "product_info", "scenario_info", "security_risk")},
		v.client.As(venueclient.DataBureau))); err != nil {
		t.Fatalf("issue the resource certificate: %v", err)
	}
	app, err := venueclient.Result[client.Application](api.ApplyForCertificateWithResponse(ctx, nil, client.ApplyInput{Kind: client.ApplyInputKindAsset,
		AssetId: asset.Id, Scope: client.Scope{Scenarios: []string{"城市交通规划客流分析"}, ProductTypes: []string{"dataset"}},
		Materials: client.Materials{SourceCompliance: venueclient.Ptr("来源合法，权属清晰，采集合同齐备")}}, v.client.As(venueclient.Holder)))
	if err != nil {
		t.Fatalf("apply for the asset certificate: %v", err)
	}
	return asset, app
}

// The data bureau concurs on a data asset certificate application in the browser: the queue marks
// it waiting, the application's source-compliance material stands beside the asset card and its
// resource certificate, and the concurrence with its reason is recorded (API, audit), after which
// the finance bureau's review shows it.
func TestBureauConcursInTheBrowser(t *testing.T) {
	v := newVenue(t)
	asset, app := v.assetApplication(t)
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-data_bureau", "#who")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/concurrences"]`)), chromedp.WaitVisible(chromedp.CSS("#concurrences")))
	mustContain(t, "the queue", textOf(t, tab, "#concurrences"), app.Id, "待会签")
	checkAccessibility(t, tab, "concurrence queue")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/concurrences/`+app.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#decision-form")))
	mustContain(t, "the application", textOf(t, tab, "#documents"), "来源合法，权属清晰，采集合同齐备", "城市交通规划客流分析")
	mustContain(t, "the asset card", textOf(t, tab, "#card"), asset.Name, "公交IC卡系统", "数据资源登记证书")
	if !sideBySide(t, tab) {
		t.Error("the asset card is not beside the application")
	}
	checkAccessibility(t, tab, "concurrence")
	screenshot(t, tab, "bureau-concurrence")

	run(t, tab, chromedp.Focus(chromedp.CSS("#verdict-pass")), chromedp.KeyEvent(" "),
		chromedp.SendKeys(chromedp.CSS("#comment"), "来源材料齐备，同意登记"),
		chromedp.Focus(chromedp.CSS("#decision-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#decision-done[data-done="pass"]`)))
	mustContain(t, "the concurrence", textOf(t, tab, "#concurrence"), "通过", "来源材料齐备，同意登记")
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#decision-form").length`)); n != 0 {
		t.Error("the concurrence form is still offered after the concurrence")
	}

	got, err := venueclient.Result[client.Application](v.client.API().GetApplicationWithResponse(context.Background(), app.Id, v.client.As(venueclient.FinanceBureau)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Concurrence == nil || got.Concurrence.Verdict != "pass" || got.Concurrence.Comment != "来源材料齐备，同意登记" {
		t.Fatalf("the venue has the concurrence %+v, want a pass with the reason", got.Concurrence)
	}
	if !audited(t, v, "certificate_application", app.Id, "certificate_application.concurred") {
		t.Error("the concurrence has no audit record")
	}
}

// approvalRequest has the holder (a government unit) ask the finance bureau to approve paid use.
func (v *venue) approvalRequest(t *testing.T) (client.Asset, client.Approval) {
	t.Helper()
	asset, _ := v.application(t)
	ap, err := venueclient.Result[client.Approval](v.client.API().SubmitApprovalWithResponse(context.Background(), nil, client.ApprovalInput{AssetId: asset.Id,
		Purpose: client.ApprovalInputPurposePaidUse, Scenario: "城市交通规划客流分析", PricingMethods: []string{"negotiation", "auction"},
		InternalDecisionRef: "局务会〔2026〕3号"}, v.client.As(venueclient.Holder)))
	if err != nil {
		t.Fatalf("submit the approval: %v", err)
	}
	return asset, ap
}

// The finance bureau decides a paid-use approval in the browser: the request (its purpose,
// methods and the unit's internal decision) beside the asset card; a rejection without its reason
// is refused with what was given kept; then an approval with its validity and reason, recorded
// (API, audit).
func TestFinanceBureauDecidesAnApprovalInTheBrowser(t *testing.T) {
	v := newVenue(t)
	asset, ap := v.approvalRequest(t)
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-finance_bureau", "#who")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/approvals"]`)), chromedp.WaitVisible(chromedp.CSS("#approvals")))
	mustContain(t, "the queue", textOf(t, tab, "#approvals"), ap.Id, "有偿使用", "待审批")
	checkAccessibility(t, tab, "approval queue")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/approvals/`+ap.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#decision-form")))
	mustContain(t, "the request", textOf(t, tab, "#documents"), "局务会〔2026〕3号", "协商定价", "拍卖", "财政部门审批")
	mustContain(t, "the asset card", textOf(t, tab, "#card"), asset.Name, "市交通运输局")
	if !sideBySide(t, tab) {
		t.Error("the asset card is not beside the request")
	}
	checkAccessibility(t, tab, "approval")
	screenshot(t, tab, "bureau-approval")

	// A rejection without its reason: refused by the service, the choice kept.
	run(t, tab, chromedp.Click(chromedp.CSS("#decision-reject")), chromedp.Click(chromedp.CSS("#decision-submit")),
		chromedp.WaitVisible(chromedp.CSS("#decision-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#decision-refused"), "a rejection gives its reason")
	if !value(t, tab, chromedp.Evaluate[bool](`document.querySelector("#decision-reject").checked`)) {
		t.Error("the decision given was lost with the refusal")
	}

	// Approved from the keyboard, with a reason and the validity offered.
	run(t, tab, chromedp.Focus(chromedp.CSS("#decision-approve")), chromedp.KeyEvent(" "),
		chromedp.SendKeys(chromedp.CSS("#comment"), "内部决策程序完备，同意有偿使用"),
		chromedp.Focus(chromedp.CSS("#decision-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#decision-done[data-done="approved"]`)))
	mustContain(t, "the approval", textOf(t, tab, "#approval-status"), "已批准")
	mustContain(t, "the decision", textOf(t, tab, "#decision"), "内部决策程序完备，同意有偿使用")

	got, err := venueclient.Result[client.Approval](v.client.API().GetApprovalWithResponse(context.Background(), ap.Id, v.client.As(venueclient.Holder)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "approved" || got.ValidUntil == nil || got.DecisionComment == nil || *got.DecisionComment != "内部决策程序完备，同意有偿使用" {
		t.Fatalf("the venue has the approval %s, %v, %v; want approved with the validity and the reason", got.Status, got.ValidUntil, got.DecisionComment)
	}
	if !audited(t, v, "approval", ap.Id, "approval.approved") {
		t.Error("the decision has no audit record")
	}
}

var formKey = regexp.MustCompile(`name="key" value="([^"]+)"`)

// A decision form sent twice records one decision: the second answer is the first one's
// redirect, even though the approval is no longer open; the same form key with other values is
// refused; without the finance bureau's role the form is refused.
func TestADecisionFormSentTwiceDecidesOnce(t *testing.T) {
	v := newVenue(t)
	_, ap := v.approvalRequest(t)
	c := browserless(t)
	devSignIn(t, v, c, "demo-finance_bureau")
	_, body := get(t, c, v.URL+"/console/approvals/"+ap.Id)
	m := formKey.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the decision form has no key:\n%s", body)
	}
	form := url.Values{"_csrf": {csrfOf(t, body)}, "key": {m[1]}, "decision": {"reject"}, "comment": {"内部决策文件缺失"}}
	first, _ := post(t, c, v.URL+"/console/approvals/"+ap.Id, form)
	again, _ := post(t, c, v.URL+"/console/approvals/"+ap.Id, form)
	if first.StatusCode != http.StatusSeeOther || again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != first.Header.Get("Location") ||
		!strings.HasSuffix(first.Header.Get("Location"), "done=rejected") {
		t.Fatalf("sent twice: %d to %q, then %d to %q; want the same 303 to the rejection", first.StatusCode, first.Header.Get("Location"),
			again.StatusCode, again.Header.Get("Location"))
	}
	form.Set("comment", "另一理由")
	if resp, _ := post(t, c, v.URL+"/console/approvals/"+ap.Id, form); resp.StatusCode != http.StatusConflict {
		t.Errorf("the same key with another reason = %d, want 409", resp.StatusCode)
	}
	// Without a key (a client without the page) the service decides: the approval is no longer open.
	form.Del("key")
	if resp, body := post(t, c, v.URL+"/console/approvals/"+ap.Id, form); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "approval_not_open") {
		t.Errorf("a second decision = %d, want 422 naming approval_not_open", resp.StatusCode)
	}
	list, _ := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "approval", ResourceID: ap.Id, Limit: 100})
	decided := 0
	for _, e := range list {
		if e.Action == "approval.rejected" {
			decided++
		}
	}
	if decided != 1 {
		t.Errorf("%d rejections recorded, want 1", decided)
	}
	data := browserless(t)
	_, token := devSignIn(t, v, data, "demo-data_bureau")
	if resp, _ := post(t, data, v.URL+"/console/approvals/"+ap.Id, url.Values{"_csrf": {token}, "decision": {"approve"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the data bureau deciding an approval = %d, want 403", resp.StatusCode)
	}
}

// The data bureau reads an authorisation in force beside the asset card, records a periodic
// assessment, is refused a revocation without its reason and revokes it with one: the
// authorisation is revoked in the venue and each step audited.
func TestBureauAssessesAndRevokesAnAuthorisation(t *testing.T) {
	v := newVenue(t)
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatal(err)
	}
	c := browserless(t)
	devSignIn(t, v, c, "demo-data_bureau")
	resp, body := get(t, c, v.URL+"/console/grants")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, cert.Authorisation) || !strings.Contains(body, "城市交通规划客流分析") {
		t.Fatalf("the authorisations = %d, lack %s:\n%s", resp.StatusCode, cert.Authorisation, body)
	}
	page := v.URL + "/console/grants/" + cert.Authorisation
	_, body = get(t, c, page)
	for _, want := range []string{`id="documents"`, `id="card"`, "仅限脱敏汇总数据", cert.Asset.Name, "数据资产登记证书", `id="assess-form"`, `id="revoke-form"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the authorisation's page lacks %q", want)
		}
	}
	token := csrfOf(t, body)
	resp, _ = post(t, c, page+"/assess", url.Values{"_csrf": {token}, "period": {"2026-H2"}, "result": {"needs_improvement"}, "comment": {"脱敏抽检发现一处字段未处理"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assess = %d, want 303", resp.StatusCode)
	}
	_, body = get(t, c, page)
	if !strings.Contains(body, "需整改") || !strings.Contains(body, "脱敏抽检发现一处字段未处理") {
		t.Errorf("the assessment is not shown:\n%s", body)
	}
	// Narrowing only takes away: a later end is refused; one product type fewer is recorded.
	later := time.Now().AddDate(3, 0, 0).Format("2006-01-02")
	if resp, body := post(t, c, page+"/narrow", url.Values{"_csrf": {token}, "product_types": {"dataset"}, "valid_until": {later},
		"reason": {"整改期间收窄"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "not_narrower") {
		t.Fatalf("narrowing to a later end = %d, want 422 naming not_narrower", resp.StatusCode)
	}
	soon := time.Now().AddDate(0, 6, 0).Format("2006-01-02")
	if resp, _ := post(t, c, page+"/narrow", url.Values{"_csrf": {token}, "product_types": {"dataset"}, "valid_until": {soon},
		"conditions": {"仅限脱敏汇总数据；整改期间不得提供接口服务"}, "reason": {"整改期间收窄"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("narrow = %d, want 303", resp.StatusCode)
	}
	narrowed, err := venueclient.Result[client.Authorisation](v.client.API().GetAuthorisationWithResponse(context.Background(), cert.Authorisation, v.client.As(venueclient.DataBureau)))
	if err != nil {
		t.Fatal(err)
	}
	if len(narrowed.ProductTypes) != 1 || narrowed.ProductTypes[0] != "dataset" || narrowed.ValidUntil.Format("2006-01-02") != soon {
		t.Fatalf("the venue has %v until %v after narrowing, want [dataset] until %s", narrowed.ProductTypes, narrowed.ValidUntil, soon)
	}
	if resp, body := post(t, c, page+"/revoke", url.Values{"_csrf": {token}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="decision-refused"`) {
		t.Fatalf("revoking without a reason = %d, want 422 with the refusal shown", resp.StatusCode)
	}
	if resp, _ := post(t, c, page+"/revoke", url.Values{"_csrf": {token}, "reason": {"整改期满仍未达标"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke = %d, want 303", resp.StatusCode)
	}
	got, err := venueclient.Result[client.Authorisation](v.client.API().GetAuthorisationWithResponse(context.Background(), cert.Authorisation, v.client.As(venueclient.DataBureau)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "revoked" || venueclient.Deref(got.RevocationReason) != "整改期满仍未达标" {
		t.Fatalf("the venue has the authorisation %s (%v), want revoked with the reason", got.Status, got.RevocationReason)
	}
	for _, action := range []string{"authorisation.assessed", "authorisation.narrowed", "authorisation.revoked"} {
		if !audited(t, v, "authorisation", cert.Authorisation, action) {
			t.Errorf("no %s audit record", action)
		}
	}
	if _, body := get(t, c, page); strings.Contains(body, `id="revoke-form"`) || !strings.Contains(body, "整改期满仍未达标") {
		t.Error("a revoked authorisation still offers its forms, or hides the reason")
	}
	// The operator reads its own authorisation (not the holder's card) and has no form.
	op := browserless(t)
	devSignIn(t, v, op, "demo-operator")
	resp, body = get(t, op, page)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `id="assess-form"`) || !strings.Contains(body, `id="card-hidden"`) {
		t.Errorf("the operator's view of its authorisation = %d, want 200 without forms and without the holder's card", resp.StatusCode)
	}
	if resp, body := post(t, op, page+"/assess", url.Values{"_csrf": {csrfOf(t, body)}, "period": {"x"}, "result": {"satisfactory"}}); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "表单已过期") {
		t.Errorf("an operator assessing = %d, want 403 for the role (not the form's token)", resp.StatusCode)
	}
}

// The data bureau files a cap in the browser for a draft the gate holds back for want of one:
// the queue names price_cap_missing, the product's prices stand beside the cap's versions, an
// amount that is not one is refused, and the cap filed clears the gate's cap condition (API,
// audit).
func TestBureauFilesACapInTheBrowser(t *testing.T) {
	v := newVenue(t)
	p := v.draftWithoutCap(t)
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-data_bureau", "#who")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/caps"]`)), chromedp.WaitVisible(chromedp.CSS("#cap-queue")))
	mustContain(t, "the queue", textOf(t, tab, "#cap-queue"), p.Title, "尚未备案上限收费标准")
	checkAccessibility(t, tab, "cap queue")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/caps/`+p.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#cap-form")))
	mustContain(t, "the product", textOf(t, tab, "#card"), "12000.00", "15000.00", "当前无适用的上限收费标准")
	if !sideBySide(t, tab) {
		t.Error("the product is not beside the caps")
	}
	checkAccessibility(t, tab, "cap")

	// Not an amount (the page's pattern is bypassed: the service must refuse it too).
	value(t, tab, chromedp.Evaluate[any](`document.querySelector("#amount").removeAttribute("pattern")`))
	run(t, tab, chromedp.SendKeys(chromedp.CSS("#amount"), "一百万"), chromedp.SendKeys(chromedp.CSS("#approval_ref"), "数据局批复〔2026〕12号"),
		chromedp.Click(chromedp.CSS("#cap-submit")), chromedp.WaitVisible(chromedp.CSS("#decision-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#decision-refused"), "amount")
	value(t, tab, chromedp.Evaluate[any](`document.querySelector("#amount").value = ""`))
	run(t, tab, chromedp.SendKeys(chromedp.CSS("#amount"), "1000000.00"),
		chromedp.Focus(chromedp.CSS("#cap-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#decision-done[data-done="filed"]`)))
	mustContain(t, "the caps", textOf(t, tab, "#caps"), "1000000.00", "数据局批复〔2026〕12号")
	mustContain(t, "the gate", textOf(t, tab, "#cap-gate"), "已满足")
	screenshot(t, tab, "bureau-cap")

	caps, err := venueclient.Result[[]client.Cap](v.client.API().ListCapsWithResponse(context.Background(), p.Id, v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatal(err)
	}
	if len(caps) != 1 || caps[0].Amount != "1000000.00" || caps[0].ApprovalRef != "数据局批复〔2026〕12号" {
		t.Fatalf("the venue has the caps %+v, want the one filed", caps)
	}
	if !audited(t, v, "product", p.Id, "price_cap.filed") {
		t.Error("the filing has no audit record")
	}
}

// The data bureau assesses an authorised operator in the browser: the authorisation in force in
// its queue, its scope and history beside the asset card and certificates, the assessment given
// from the keyboard and shown in the record (API).
func TestBureauAssessesAnAuthorisationInTheBrowser(t *testing.T) {
	v := newVenue(t)
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatal(err)
	}
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-data_bureau", "#who")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/grants"]`)), chromedp.WaitVisible(chromedp.CSS("#grants")))
	mustContain(t, "the queue", textOf(t, tab, "#grants"), cert.Authorisation, "城市交通规划客流分析", "产业发展")
	checkAccessibility(t, tab, "authorisations")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/grants/`+cert.Authorisation+`"]`)), chromedp.WaitVisible(chromedp.CSS("#assess-form")))
	mustContain(t, "the authorisation", textOf(t, tab, "#documents"), "仅限脱敏汇总数据", "授予", "尚无评估")
	mustContain(t, "the asset card", textOf(t, tab, "#card"), cert.Asset.Name, "数据资源登记证书", "数据资产登记证书")
	if !sideBySide(t, tab) {
		t.Error("the asset card is not beside the authorisation")
	}
	checkAccessibility(t, tab, "authorisation")

	run(t, tab, chromedp.SendKeys(chromedp.CSS("#period"), "2026-H2"), chromedp.Focus(chromedp.CSS("#result-satisfactory")), chromedp.KeyEvent(" "),
		chromedp.SendKeys(chromedp.CSS("#comment"), "按约定场景运营，未见违规"),
		chromedp.Focus(chromedp.CSS("#assess-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#decision-done[data-done="assess"]`)))
	mustContain(t, "the assessments", textOf(t, tab, "#assessments"), "2026-H2", "合格", "按约定场景运营，未见违规")
	screenshot(t, tab, "bureau-grant")

	got, err := venueclient.Result[client.Authorisation](v.client.API().GetAuthorisationWithResponse(context.Background(), cert.Authorisation, v.client.As(venueclient.DataBureau)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Assessments == nil || len(*got.Assessments) != 1 || (*got.Assessments)[0].Result != "satisfactory" {
		t.Fatalf("the venue has the assessments %+v, want the one given", got.Assessments)
	}

	// The grant pages read as well as the others (the grant itself: TestBureauGrantsAnAuthorisation).
	run(t, tab, chromedp.Navigate(v.URL+"/console/grants"), chromedp.WaitVisible(chromedp.CSS("#grant-new")),
		chromedp.Click(chromedp.CSS("#grant-new")), chromedp.WaitVisible(chromedp.CSS("#certified")))
	checkAccessibility(t, tab, "grant: certified assets")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/grants/new?asset_id=`+cert.Asset.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#grant-form")))
	if !sideBySide(t, tab) {
		t.Error("the asset card is not beside the grant form")
	}
	checkAccessibility(t, tab, "grant")
}

// The data bureau grants a scenario authorisation from the console: it picks the certified asset,
// reads its card and certificate beside the form, is refused a grant naming no product type, and
// grants one (API, audit).
func TestBureauGrantsAnAuthorisation(t *testing.T) {
	v := newVenue(t)
	asset, app := v.application(t)
	if _, err := venueclient.Result[client.ReviewResult](v.client.API().ReviewApplicationWithResponse(context.Background(), app.Id, nil, client.ReviewInput{
		ValidUntil: venueclient.Date(time.Now().AddDate(1, 0, 0)), Items: venueclient.PassAll("legality", "product_info", "scenario_info", "security_risk")},
		v.client.As(venueclient.DataBureau))); err != nil {
		t.Fatal(err)
	}
	c := browserless(t)
	devSignIn(t, v, c, "demo-data_bureau")
	if _, body := get(t, c, v.URL+"/console/grants"); !strings.Contains(body, `href="/console/grants/new"`) {
		t.Fatal("the authorisations page offers the data bureau no grant")
	}
	resp, body := get(t, c, v.URL+"/console/grants/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `/console/grants/new?asset_id=`+asset.Id) {
		t.Fatalf("the certified assets = %d, lack %s:\n%s", resp.StatusCode, asset.Id, body)
	}
	_, body = get(t, c, v.URL+"/console/grants/new?asset_id="+asset.Id)
	for _, want := range []string{`id="grant-form"`, `id="card"`, asset.Name, "数据资源登记证书", `value="` + string(venueclient.Operator.Org) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the grant page lacks %q", want)
		}
	}
	form := url.Values{"_csrf": {csrfOf(t, body)}, "asset_id": {asset.Id}, "operator_id": {string(venueclient.Operator.Org)},
		"scenario": {"城市交通规划客流分析"}, "purpose": {"industry"}, "conditions": {"仅限脱敏汇总数据"}, "valid_until": {time.Now().AddDate(1, 0, 0).Format("2006-01-02")}}
	if resp, body := post(t, c, v.URL+"/console/grants/new", form); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "product_types") || !strings.Contains(body, `value="城市交通规划客流分析"`) {
		t.Fatalf("a grant without product types = %d, want 422 naming them with the form kept:\n%s", resp.StatusCode, body)
	}
	form["product_types"] = []string{"dataset", "api_service"}
	resp, _ = post(t, c, v.URL+"/console/grants/new", form)
	loc := resp.Header.Get("Location")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/console/grants/"), "?done=granted")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(id, "aut_") {
		t.Fatalf("grant = %d to %q, want 303 to the new authorisation", resp.StatusCode, loc)
	}
	got, err := venueclient.Result[client.Authorisation](v.client.API().GetAuthorisationWithResponse(context.Background(), id, v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "active" || got.OperatorId != string(venueclient.Operator.Org) || len(got.ProductTypes) != 2 || got.Conditions != "仅限脱敏汇总数据" {
		t.Fatalf("the venue has the authorisation %+v, want the grant given", got)
	}
	if !audited(t, v, "authorisation", id, "authorisation.granted") {
		t.Error("the grant has no audit record")
	}
	// Only the data bureau grants: the finance bureau's page and form are refused.
	fin := browserless(t)
	_, token := devSignIn(t, v, fin, "demo-finance_bureau")
	if resp, _ := get(t, fin, v.URL+"/console/grants/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the finance bureau opening the grant page = %d, want 403", resp.StatusCode)
	}
	form.Set("_csrf", token)
	if resp, _ := post(t, fin, v.URL+"/console/grants/new", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the finance bureau granting = %d, want 403", resp.StatusCode)
	}
}
