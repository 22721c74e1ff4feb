package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// The operator reads the metered use of its subscriptions: a product sold as a service (a price
// per call under its caps), a buyer's accepted offer making a subscription, and a signed batch of
// three records from the operator's gateway; the usage page shows the product's 12.50 calls in 3
// records and the subscription's period, in Chinese and in English, and its two files download.
func TestOperatorReadsUsageInTheBrowser(t *testing.T) {
	v := newVenue(t)
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	ctx, api, ptr := context.Background(), v.client.API(), venueclient.Ptr[string]
	var sample any = []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}}
	var schema any = map[string]any{"stop_id": "string", "hour": "int", "riders": "int"}
	p, err := venueclient.Result[client.Product](api.CreateProductWithResponse(ctx, nil, client.ProductInput{SourceAssets: []string{cert.Asset.Id},
		Title: "公交客流实时查询接口（按次计费订阅）", Description: "按调用次数计费的公交客流查询服务，按月结算", ProductType: "dataset", Domain: "transport",
		Scenario: cert.Scenario, Delivery: client.ProductDelivery{Method: "file", Format: ptr("CSV"), ContentHash: ptr("sha256:" + strings.Repeat("cd", 32))},
		UpdateFrequency: "daily", Schema: schema, Sample: sample, Licence: client.Licence{DurationDays: 365, PermittedUse: "交通规划研究"},
		UseCategory: client.ProductInputUseCategoryIndustry, Pricing: client.PricingInput{Method: client.PricingInputMethodNegotiation,
			ListPrice: ptr("0.60"), MinPrice: ptr("0.40"), MaxPrice: ptr("0.80"), ChargingUnit: venueclient.Ptr(client.PricingInputChargingUnitPerCall),
			Subscription: &client.SubscriptionPlanInput{BillingPeriod: client.SubscriptionPlanInputBillingPeriodMonthly, TermPeriods: 3,
				FixedFee: ptr("300.00"), PlanMaximum: ptr("2000.00")}}}, v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	for unit, amount := range map[client.CapInputChargingUnit]string{client.CapInputChargingUnitPerCall: "0.80", client.CapInputChargingUnitPerTimeUnit: "500.00"} {
		if _, err := venueclient.Result[client.Cap](api.FileCapWithResponse(ctx, p.Id, nil, client.CapInput{Amount: amount, ChargingUnit: &unit,
			ApprovalRef: "数据局批复〔2026〕12号", ValidUntil: venueclient.Date(time.Now().AddDate(1, 0, 0))}, v.client.As(venueclient.DataBureau))); err != nil {
			t.Fatalf("cap %s: %v", unit, err)
		}
	}
	if _, err := venueclient.Result[client.Product](api.SubmitProductWithResponse(ctx, p.Id, nil, v.client.As(venueclient.Operator))); err != nil {
		t.Fatalf("submit: %v", err)
	}
	if _, err := venueclient.Result[client.Product](api.PublishProductWithResponse(ctx, p.Id, nil, v.client.As(venueclient.Operator))); err != nil {
		t.Fatalf("publish: %v", err)
	}
	neg, err := venueclient.Result[client.NegotiationView](api.StartNegotiationWithResponse(ctx, nil, client.NegotiationInput{ProductId: p.Id, Amount: "0.60"},
		v.client.As(venueclient.BuyerA)))
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	if _, err := venueclient.Result[client.NegotiationView](api.MoveNegotiationWithResponse(ctx, neg.Id, nil, client.MoveInput{Action: client.MoveInputActionAccept},
		v.client.As(venueclient.Operator))); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if _, err := v.projector.RunOnce(ctx); err != nil {
		t.Fatalf("projection: %v", err)
	}
	subs, err := venueclient.Result[client.PageOfMeteredSubscription](api.ListSubscriptionsWithResponse(ctx, nil, v.client.As(venueclient.Operator)))
	if err != nil || len(subs.Data) != 1 {
		t.Fatalf("the operator's subscriptions: %+v (%v), want one", subs, err)
	}
	sub := subs.Data[0]
	now := time.Now().UTC()
	var records []map[string]any
	for i, qty := range []string{"10", "2", "0.5"} {
		records = append(records, map[string]any{"record_id": fmt.Sprintf("%s-%d", sub.Id, i), "subscription_id": sub.Id, "unit": "per_call",
			"quantity": qty, "used_at": now.Format(time.RFC3339)})
	}
	body, _ := json.Marshal(map[string]any{"records": records})
	sig := settlement.CallbackSignature(subscriptions.OperatorSecret([]byte(meteringSecret), venueclient.Operator.Org), body, time.Now())
	res, err := venueclient.Result[client.BatchResult](api.ReportUsageWithBodyWithResponse(ctx, &client.ReportUsageParams{XDatavenueSignature: sig},
		"application/json", bytes.NewReader(body), v.client.As(venueclient.Operator)))
	if err != nil || res.Accepted != 3 {
		t.Fatalf("the usage batch: %+v (%v), want 3 accepted", res, err)
	}

	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-operator")), chromedp.Click(chromedp.CSS("#dev-submit")), chromedp.WaitVisible(chromedp.CSS("#products")),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/manage/orders"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/console/manage/usage"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/console/manage/usage"]`)), chromedp.WaitVisible(chromedp.CSS("#usage-products")))
	mustContain(t, "the product's use", textOf(t, tab, "#usage-products"), "公交客流实时查询接口（按次计费订阅）", "按次", "12.5")
	cells := value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#usage-products tbody td")].map(e => e.textContent)`))
	if len(cells) != 5 || cells[2] != "1" || cells[3] != "3" {
		t.Errorf("the product's line is %q, want 1 subscription and 3 records", cells)
	}
	mustContain(t, "the periods", textOf(t, tab, "#usage-periods"), sub.Id, sub.StartsOn.String()[:8], "周期未结")
	checkAccessibility(t, tab, "usage")
	screenshot(t, tab, "operator-usage")
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #usage-products`)))
	mustContain(t, "the usage in English", textOf(t, tab, "#usage-products"), "Per call", "12.5")
	// The downloads carry the report's year as a query parameter (written after a "?" in the
	// template it was escaped into one value, year%3d…, and ignored).
	if href := value(t, tab, chromedp.Evaluate[string](`document.querySelector("#usage-csv").getAttribute("href")`)); !strings.Contains(href, "?year=") {
		t.Errorf("the CSV download's link is %q, want ?year=…", href)
	}
	csv := value(t, tab, chromedp.Evaluate[string](`fetch(document.querySelector("#usage-csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	mustContain(t, "the CSV", csv, "公交客流实时查询接口（按次计费订阅）", sub.Id, "12.5")
}
