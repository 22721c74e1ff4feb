package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The data bureau reviews a registration application in the browser: the holder's materials beside
// the asset card, a failed item without its reason refused (the reason is what the holder amends
// by), then every item passed from the keyboard and the certificate issued.
func TestBureauApprovesInTheBrowser(t *testing.T) {
	v := newVenue(t)
	asset, app := v.application(t)
	tab := newTab(t, newBrowser(t))

	// Signed in, the data bureau lands on its queue.
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-data_bureau")), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS("#applications")))
	mustContain(t, "the queue", textOf(t, tab, "#applications"), app.Id, "数据资源登记证书", "待审查")
	checkAccessibility(t, tab, "review queue")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/reviews/`+app.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#review-form")))

	// The documents side by side: the materials item by item, the card they describe.
	mustContain(t, "the materials", textOf(t, tab, "#materials"), "合法合规性", "数据采集依据《公共交通条例》", "数据安全风险评估", "已脱敏，无个人信息")
	mustContain(t, "the asset card", textOf(t, tab, "#card"), asset.Name, "市交通运输局", "公交IC卡系统", "重要数据", "150000.75")
	side := value(t, tab, chromedp.Evaluate[bool](`(() => { const m = document.querySelector("#materials").getBoundingClientRect(),
		c = document.querySelector("#card").getBoundingClientRect(); return c.left >= m.right && c.top < m.bottom; })()`))
	if !side {
		t.Error("the asset card is not beside the materials")
	}
	checkAccessibility(t, tab, "review")
	screenshot(t, tab, "bureau-review")

	// A failed item without its reason: refused, the verdicts given kept.
	for _, item := range []string{"legality", "product_info", "scenario_info"} {
		run(t, tab, chromedp.Focus(chromedp.CSS("#verdict-"+item+"-pass")), chromedp.KeyEvent(" "))
	}
	run(t, tab, chromedp.Click(chromedp.CSS("#verdict-security_risk-fail")), chromedp.Click(chromedp.CSS("#review-submit")),
		chromedp.WaitVisible(chromedp.CSS("#review-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#review-refused"), "a failed item needs the reason")
	if !value(t, tab, chromedp.Evaluate[bool](`document.querySelector("#verdict-legality-pass").checked`)) {
		t.Error("the verdicts given were lost with the refusal")
	}

	// Every item passes, by the keyboard: the certificate is issued.
	run(t, tab, chromedp.Focus(chromedp.CSS("#verdict-security_risk-pass")), chromedp.KeyEvent(" "),
		chromedp.SendKeys(chromedp.CSS("#reason-security_risk"), "脱敏方案经复核，风险可控"),
		chromedp.Focus(chromedp.CSS("#review-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#review-done[data-done="issued"]`)))
	mustContain(t, "the application", textOf(t, tab, "#application-status"), "已发证")
	screenshot(t, tab, "bureau-issued")

	got, err := venueclient.Result[client.Application](v.client.API().GetApplicationWithResponse(context.Background(), app.Id, v.client.As(venueclient.DataBureau)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "issued" || got.CertificateId == nil {
		t.Fatalf("the venue has the application %s with certificate %v, want issued", got.Status, got.CertificateId)
	}
	reviews := got.Reviews
	var reason string
	for _, r := range reviews {
		if r.Item == "security_risk" && r.Verdict == "pass" {
			reason = r.Comment
		}
	}
	if len(reviews) != 4 || reason != "脱敏方案经复核，风险可控" {
		t.Errorf("the recorded reviews are %+v, want four passes with the reason given", reviews)
	}
}

// application has the transport bureau register an asset card and apply for its data resource
// certificate, through the API.
func (v *venue) application(t *testing.T) (client.Asset, client.Application) {
	t.Helper()
	ctx, api := context.Background(), v.client.API()
	asset, err := venueclient.Result[client.Asset](api.RegisterAssetWithResponse(ctx, nil, client.AssetInput{
		Category: client.AssetInputCategoryDataAsset, Name: "公交刷卡客流数据", Summary: "全市公交线路刷卡客流，按站点、小时汇总",
		Rights: []string{"holding", "processing", "operating"}, Classification: "transport", Grade: client.AssetInputGradeImportant,
		Source: "公交IC卡系统", Scale: "每日约300万条", UpdateFrequency: "daily", AcquisitionMode: "self_built",
		CostComponents:   []client.CostInput{{Stage: "collection", Amount: "120000.50"}, {Stage: "processing", Amount: "30000.25"}},
		MeasurementBasis: client.AssetInputMeasurementBasisCost, AccountingStatus: client.AssetInputAccountingStatusBooked}, v.client.As(venueclient.Holder)))
	if err != nil {
		t.Fatalf("register the asset: %v", err)
	}
	app, err := venueclient.Result[client.Application](api.ApplyForCertificateWithResponse(ctx, nil, client.ApplyInput{Kind: client.ApplyInputKindResource,
		AssetId: asset.Id, Scope: client.Scope{Scenarios: []string{"城市交通规划客流分析"}, ProductTypes: []string{"dataset", "api_service"}},
		Materials: client.Materials{Legality: venueclient.Ptr("数据采集依据《公共交通条例》"), ProductInfo: venueclient.Ptr("按站点小时汇总的客流数据集"),
			ScenarioInfo: venueclient.Ptr("面向交通规划研究"), SecurityAssessment: venueclient.Ptr("已脱敏，无个人信息")}}, v.client.As(venueclient.Holder)))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return asset, app
}
