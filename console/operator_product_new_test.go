package console_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The operator makes a new product in the browser from its scenario authorisation: a schema that
// is not JSON is refused beside the form with every value kept; corrected, the draft is made with
// the authorisation's asset, scenario and use, the negotiated amounts only (an auction reserve
// typed under the other method is not sent), sold once, and the browser lands on its publishing
// gate. The draft is then edited from its page (the rest kept, a stale form's edit refused
// 409). The forms pass axe-core. Before, products were created and edited through the API only.
func TestOperatorCreatesAProductInTheBrowser(t *testing.T) {
	v := newVenue(t)
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-operator", "#who")
	run(t, tab, chromedp.Navigate(v.URL+"/console/manage/products"), chromedp.WaitVisible(chromedp.CSS("#product-new")),
		chromedp.Click(chromedp.CSS("#product-new")), chromedp.WaitVisible(chromedp.CSS("#product-form")))
	mustContain(t, "the authorisation offered", textOf(t, tab, "#product-form fieldset"), "公交刷卡客流数据", cert.Scenario)
	checkAccessibility(t, tab, "new product")

	hash := "sha256:" + strings.Repeat("cd", 32)
	run(t, tab, chromedp.Click(chromedp.CSS("#authorisation-"+cert.Authorisation)),
		chromedp.SetValue(chromedp.CSS("#title"), "公交站点客流月报"), chromedp.SetValue(chromedp.CSS("#description"), "按站点、月份汇总的公交刷卡客流"),
		chromedp.SetValue(chromedp.CSS("#keywords"), "公交、客流, 月报"), chromedp.SetValue(chromedp.CSS("#format"), "CSV"),
		chromedp.SetValue(chromedp.CSS("#content_hash"), hash), chromedp.SetValue(chromedp.CSS("#permitted_use"), "交通规划研究"),
		chromedp.SetValue(chromedp.CSS("#schema"), `{"stop_id": "string", "month": `),
		chromedp.Click(chromedp.CSS("#method-negotiation")), chromedp.SetValue(chromedp.CSS("#list_price"), "12000.00"),
		chromedp.SetValue(chromedp.CSS("#min_price"), "9000.00"), chromedp.SetValue(chromedp.CSS("#max_price"), "15000.00"),
		chromedp.SetValue(chromedp.CSS("#reserve"), "5000.00"),
		chromedp.Click(chromedp.CSS("#product-submit")), chromedp.WaitVisible(chromedp.CSS("#product-refused")))
	codes := conditionsShown(t, tab, "#product-refused")
	if !slices.Equal(codes, []string{"invalid_json schema"}) {
		t.Errorf("the refusal's conditions are %q, want the schema's invalid_json", codes)
	}
	if got := value(t, tab, chromedp.Value(chromedp.CSS("#max_price"))); got != "15000.00" {
		t.Errorf("the refused form's highest price = %q, want what was typed", got)
	}
	if !value(t, tab, chromedp.Evaluate[bool](`document.querySelector("#authorisation-`+cert.Authorisation+`").checked`)) {
		t.Error("the refused form lost the authorisation chosen")
	}
	screenshot(t, tab, "operator-product-new-refused")

	run(t, tab, chromedp.SetValue(chromedp.CSS("#schema"), `{"stop_id": "string", "month": "date", "riders": "int"}`),
		chromedp.SetValue(chromedp.CSS("#sample"), `[{"stop_id": "S0001", "month": "2026-10", "riders": 123456}]`),
		chromedp.Click(chromedp.CSS("#product-submit")), chromedp.WaitVisible(chromedp.CSS(`#step-done[data-step="created"]`)))
	mustContain(t, "the gate", textOf(t, tab, "#step-done"), "已保存为草稿")
	id := strings.TrimPrefix(strings.SplitN(value(t, tab, chromedp.Location()), "?", 2)[0], v.URL+"/console/manage/products/")
	p, err := venueclient.Result[client.Product](v.client.API().GetProductWithResponse(context.Background(), id, v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatalf("read the product %s: %v", id, err)
	}
	if p.Status != "draft" || !slices.Equal(p.SourceAssets, []string{cert.Asset.Id}) || p.Scenario != cert.Scenario || p.UseCategory != "industry" ||
		p.Title != "公交站点客流月报" || !slices.Equal(p.Keywords, []string{"公交", "客流", "月报"}) || p.Delivery.ContentHash == nil || *p.Delivery.ContentHash != hash {
		t.Errorf("the product made is %+v", p)
	}
	pr := p.Pricing
	if pr.Method != "negotiation" || pr.ListPrice == nil || *pr.ListPrice != "12000.00" || pr.MaxPrice == nil || *pr.MaxPrice != "15000.00" || pr.Reserve != nil ||
		(pr.ChargingUnit != nil && *pr.ChargingUnit != "one_off") {
		t.Errorf("the pricing made is %+v, want negotiation 9000.00–15000.00 asking 12000.00, one-off, no reserve", pr)
	}

	// The draft edited from its page: the form holds the product as it is; a new title and
	// description saved, the pricing kept, the product still a draft at its next version.
	run(t, tab, chromedp.Click(chromedp.CSS("#product-edit")), chromedp.WaitVisible(chromedp.CSS("#product-form")))
	if got := value(t, tab, chromedp.Value(chromedp.CSS("#list_price"))); got != "12000.00" {
		t.Errorf("the edit form's asking price = %q, want the product's 12000.00", got)
	}
	mustContain(t, "the product's source", textOf(t, tab, "#product-source"), cert.Asset.Id, cert.Scenario)
	checkAccessibility(t, tab, "product edit")
	form := formValues(t, tab, "#product-form")
	run(t, tab, chromedp.SetValue(chromedp.CSS("#title"), "公交站点客流月报（2026版）"),
		chromedp.Click(chromedp.CSS("#product-submit")), chromedp.WaitVisible(chromedp.CSS(`#step-done[data-step="edited"]`)))
	p, err = venueclient.Result[client.Product](v.client.API().GetProductWithResponse(context.Background(), id, v.client.As(venueclient.Operator)))
	if err != nil || p.Title != "公交站点客流月报（2026版）" || p.Status != "draft" || p.Version != 2 || p.Pricing.ListPrice == nil ||
		*p.Pricing.ListPrice != "12000.00" || !slices.Equal(p.SourceAssets, []string{cert.Asset.Id}) || p.Scenario != cert.Scenario {
		t.Fatalf("after the edit the product is %+v (%v), want the new title at version 2, the rest kept", p, err)
	}
	// The form as it was before that edit, sent again under a new key: refused, not saved over it.
	form.Set("key", "stale-"+form.Get("key"))
	status := postFrom(t, tab, "/console/manage/products/"+id+"/edit", form)
	if status != http.StatusConflict {
		t.Errorf("an edit from a form made at version 1 answered %d, want 409", status)
	}
}
