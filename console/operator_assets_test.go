package console_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The holder of an asset (the transport bureau, acting as operator, signed in through the identity
// provider) reads its asset cards: the category, update frequency and acquisition mode by their
// names in Chinese and, switched, in English; a card's two versions side by side, the change
// registration's changed cells marked; the certificates issued on it. The data operator (another
// browser) changes its product's price: a price above the cap in force is refused by the gate with
// price_above_cap, a price within it makes version 2, and the same form sent twice is one change.
func TestOperatorAssetCardsAndPricesInTheBrowser(t *testing.T) {
	v := newVenue(t, idpUser{Subject: "li.ming", Name: "李明", Role: datavenue.RoleOperator, Org: venueclient.Holder.Org})
	p := v.publishTransport(t, 0)
	ctx, api := context.Background(), v.client.API()
	asset := p.SourceAssets[0]
	card, err := venueclient.Result[client.AssetCard](api.GetAssetWithResponse(ctx, asset, v.client.As(venueclient.Holder)))
	if err != nil {
		t.Fatal(err)
	}
	// A change registration (D5): the card updated in real time from now on, v2.
	costs := make([]client.CostInput, len(card.CostComponents))
	for i, c := range card.CostComponents {
		costs[i] = client.CostInput{Stage: c.Stage, Amount: c.Amount}
	}
	if _, err := venueclient.Result[client.Asset](api.ChangeAssetWithResponse(ctx, asset, nil, client.AssetChange{Version: card.Version, Reason: "接入实时刷卡数据",
		Category: client.AssetChangeCategory(card.Category), Name: card.Name, Summary: card.Summary, Rights: card.Rights, Classification: card.Classification,
		Grade: client.AssetChangeGrade(card.Grade), Source: card.Source, Scale: card.Scale, UpdateFrequency: "realtime", AcquisitionMode: card.AcquisitionMode,
		CostComponents: costs, MeasurementBasis: client.AssetChangeMeasurementBasis(card.MeasurementBasis),
		AccountingStatus: client.AssetChangeAccountingStatus(card.AccountingStatus)}, v.client.As(venueclient.Holder))); err != nil {
		t.Fatalf("change the card: %v", err)
	}
	browser := newBrowser(t)
	holder, operator := newTab(t, browser), newTab(t, browser)

	run(t, holder, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#who")),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/manage/assets"]`)), chromedp.WaitVisible(chromedp.CSS("#asset-"+asset)))
	mustContain(t, "the ledger's row", textOf(t, holder, "#asset-"+asset), "公交刷卡客流数据", "数据资产", "重要数据", "实时", "自建采集", "v2")
	checkAccessibility(t, holder, "asset cards")
	run(t, holder, chromedp.Click(chromedp.CSS(`#asset-`+asset+` a`)), chromedp.WaitVisible(chromedp.CSS("#versions")))
	mustContain(t, "the card", textOf(t, holder, "#card"), "数据资产", "实时", "自建采集", "历史成本")
	if n := value(t, holder, chromedp.Evaluate[int](`document.querySelectorAll("#versions thead th[data-version]").length`)); n != 2 {
		t.Fatalf("the versions table has %d versions, want 2", n)
	}
	// Only the update frequency changed: one cell marked, v2's, beside v1's daily.
	changed := value(t, holder, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#versions td.changed")].map(e => e.closest("tr").cells[1].textContent + "→" + e.textContent)`))
	if len(changed) != 1 || changed[0] != "每日→实时 已变更" {
		t.Errorf("the changed cells are %q, want only the frequency, daily to real time", changed)
	}
	mustContain(t, "the versions", textOf(t, holder, "#versions"), "接入实时刷卡数据")
	mustContain(t, "the certificates", textOf(t, holder, "#certificates"), "数据资源登记证书", "数据资产登记证书", "有效")
	checkAccessibility(t, holder, "asset card")
	screenshot(t, holder, "operator-asset")
	run(t, holder, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #versions`)))
	mustContain(t, "the card in English", textOf(t, holder, "#card"), "Data asset", "Real time", "Collected itself", "Historical cost")

	// The data operator changes the product's price.
	run(t, operator, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-operator")), chromedp.Click(chromedp.CSS("#dev-submit")), chromedp.WaitVisible(chromedp.CSS("#products")),
		chromedp.Navigate(v.URL+"/console/manage/products/"+p.Id), chromedp.WaitVisible(chromedp.CSS("#price-edit")),
		chromedp.Click(chromedp.CSS("#price-edit")), chromedp.WaitVisible(chromedp.CSS("#price-form")))
	if got := value(t, operator, chromedp.Value(chromedp.CSS("#price-list_price"))); got != "12000.00" {
		t.Errorf("the form's asking price = %q, want the current 12000.00", got)
	}
	checkAccessibility(t, operator, "price change")
	run(t, operator, chromedp.SetValue(chromedp.CSS("#price-max_price"), "2500000.00"), chromedp.SetValue(chromedp.CSS("#price-list_price"), "2000000.00"),
		chromedp.SendKeys(chromedp.CSS("#price-reason"), "按市场需求调价"), chromedp.Click(chromedp.CSS("#price-submit")),
		chromedp.WaitVisible(chromedp.CSS("#price-refused")))
	mustContain(t, "the refusal", textOf(t, operator, "#price-refused"), "publish_gate_failed", "价格高于上限收费标准（N4）")
	// The gate names each price above the cap (the asking price and the top of the range).
	codes := value(t, operator, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#price-refused li")].map(e => e.dataset.code)`))
	if len(codes) == 0 || slices.ContainsFunc(codes, func(c string) bool { return c != "price_above_cap" }) {
		t.Errorf("the refusal's conditions are %v, want price_above_cap only", codes)
	}
	screenshot(t, operator, "operator-price-refused")
	// Within the cap: the form's values were kept; the price is lowered and sent.
	run(t, operator, chromedp.SetValue(chromedp.CSS("#price-max_price"), "15000.00"), chromedp.SetValue(chromedp.CSS("#price-list_price"), "13000.00"))
	// The form sent twice (a double click or a retry after a lost answer) is one change: the
	// second answer is the first's redirect.
	twice := value(t, operator, chromedp.Evaluate[[]string](`(async () => { const f = document.querySelector("#price-form"), out = [];
		for (let i = 0; i < 2; i++) { const r = await fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))}); out.push(r.status + " " + r.url); }
		return out; })()`, chromedp.EvalAwaitPromise))
	if len(twice) != 2 || twice[0] != twice[1] {
		t.Errorf("the form sent twice answered %q", twice)
	}
	run(t, operator, chromedp.Navigate(v.URL+"/console/manage/prices/"+p.Id+"?changed=2"), chromedp.WaitVisible(chromedp.CSS("#price-changed")))
	mustContain(t, "the history", textOf(t, operator, "#history"), "13000.00", "按市场需求调价")
	history, err := venueclient.Result[[]client.PriceVersion](api.PriceHistoryWithResponse(ctx, p.Id, v.client.As(venueclient.Operator)))
	if err != nil || len(history) != 2 || history[1].RefPrice != "13000.00" || history[1].Reason != "按市场需求调价" {
		t.Fatalf("the price history is %+v (%v), want two versions, the second at 13000.00", history, err)
	}
	screenshot(t, operator, "operator-price")
}
