package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// An operator takes a product through the publishing gate in the browser: the checklist names the
// condition not met (no price cap is filed for an industry-use product), a submit is refused by the
// gate with it; once the data bureau files the cap the checklist is clear, and the product is
// submitted and published from the keyboard, and is then in the public catalogue.
func TestOperatorPublishesThroughTheGateInTheBrowser(t *testing.T) {
	v := newVenue(t)
	p := v.draftWithoutCap(t)
	tab := newTab(t, newBrowser(t))

	// Signed in, an operator lands on its products.
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-operator")), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS("#products")))
	mustContain(t, "the products", textOf(t, tab, "#products"), p.Title, "草稿")
	checkAccessibility(t, tab, "products")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/manage/products/`+p.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#checklist")))
	codes := value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#checklist li.unmet")].map(e => e.dataset.code)`))
	if len(codes) != 1 || codes[0] != "price_cap_missing" {
		t.Fatalf("the checklist shows %v, want only price_cap_missing", codes)
	}
	mustContain(t, "the checklist", textOf(t, tab, "#checklist"), "尚未备案上限收费标准")
	mustContain(t, "the pricing", textOf(t, tab, "#pricing"), "12000.00", "9000.00", "15000.00", "当前无适用的上限收费标准")
	checkAccessibility(t, tab, "publishing gate (unmet)")
	screenshot(t, tab, "operator-gate-unmet")

	// Submitting now is refused by the gate, which names the same condition.
	run(t, tab, chromedp.Click(chromedp.CSS("#step-submit")), chromedp.WaitVisible(chromedp.CSS("#step-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#step-refused"), "publish_gate_failed")
	mustContain(t, "the status after the refusal", textOf(t, tab, "#product-status"), "草稿")

	// The data bureau files the cap (through the API); the checklist is then clear.
	if _, err := venueclient.Result[client.Cap](v.client.API().FileCapWithResponse(context.Background(), p.Id, nil, client.CapInput{Amount: "1000000.00",
		ApprovalRef: "数据局批复〔2026〕12号", PricingDocNumber: venueclient.Ptr("发改价格〔2025〕65号"), ValidUntil: venueclient.Date(time.Now().AddDate(1, 0, 0))},
		v.client.As(venueclient.DataBureau))); err != nil {
		t.Fatalf("file the cap: %v", err)
	}
	run(t, tab, chromedp.Navigate(v.URL+"/console/manage/products/"+p.Id), chromedp.WaitVisible(chromedp.CSS("#gate-summary.met")))
	mustContain(t, "the caps", textOf(t, tab, "#caps"), "1000000.00", "数据局批复〔2026〕12号")
	checkAccessibility(t, tab, "publishing gate (clear)")

	// Submit, then publish, each by Enter on the focused button.
	run(t, tab, chromedp.Focus(chromedp.CSS("#step-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#step-done[data-step="submit"]`)))
	mustContain(t, "after submitting", textOf(t, tab, "#product-status"), "已提交")
	run(t, tab, chromedp.Focus(chromedp.CSS("#step-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#step-done[data-step="publish"]`)))
	mustContain(t, "after publishing", textOf(t, tab, "#product-status"), "已上架")
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#step-form").length`)); n != 0 {
		t.Error("a published product still offers a step")
	}
	screenshot(t, tab, "operator-gate-published")

	public, err := venueclient.Result[client.Product](v.client.API().CatalogueProductWithResponse(context.Background(), p.Id, v.client.As(venueclient.Public)))
	if err != nil || public.Status != "published" {
		t.Fatalf("the catalogue has the product as %q (%v), want published", public.Status, err)
	}
	// The public page it links to is the buyer's.
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/products/`+p.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#guidance")))
	if h := textOf(t, tab, "h1"); !strings.Contains(h, p.Title) {
		t.Errorf("the public page's heading = %q", h)
	}
}

// draftWithoutCap is a negotiated industry-use product of a certified asset, created as a draft by
// the operator with no price cap filed: one publishing condition unmet.
func (v *venue) draftWithoutCap(t *testing.T) client.Product {
	t.Helper()
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	var sample any = []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}}
	var schema any = map[string]any{"stop_id": "string", "hour": "int", "riders": "int"}
	p, err := venueclient.Result[client.Product](v.client.API().CreateProductWithResponse(context.Background(), nil, client.ProductInput{
		SourceAssets: []string{cert.Asset.Id}, Title: "公交客流小时数据（待上架）", Description: "全市公交站点按小时汇总的刷卡客流",
		ProductType: "dataset", Domain: "transport", Scenario: cert.Scenario, Keywords: &[]string{"公交", "客流"},
		Delivery:        client.ProductDelivery{Method: "file", Format: venueclient.Ptr("CSV"), ContentHash: venueclient.Ptr("sha256:" + strings.Repeat("ab", 32))},
		UpdateFrequency: "daily", Schema: schema, Sample: sample,
		Licence:     client.Licence{DurationDays: 365, PermittedUse: "交通规划研究"},
		UseCategory: client.ProductInputUseCategoryIndustry, Pricing: client.PricingInput{Method: client.PricingInputMethodNegotiation,
			ListPrice: venueclient.Ptr("12000.00"), MinPrice: venueclient.Ptr("9000.00"), MaxPrice: venueclient.Ptr("15000.00")}},
		v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatalf("create the product: %v", err)
	}
	return p
}
