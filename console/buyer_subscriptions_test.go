package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// meteredSubscription makes the buyer's (BuyerA, demo-buyer's) subscription to a product sold per
// call (0.60 a call agreed by negotiation, a fixed fee of 300.00 and a maximum of 2,000.00 a
// month, three months) and reports three records of use (12.5 calls) from the operator's signed
// gateway (the buyer's and the operator's usage tests share it); it returns the product and the
// subscription.
func (v *venue) meteredSubscription(t *testing.T, title string) (client.Product, client.MeteredSubscription) {
	t.Helper()
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	ctx, api, ptr := context.Background(), v.client.API(), venueclient.Ptr[string]
	var sample any = []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}}
	var schema any = map[string]any{"stop_id": "string", "hour": "int", "riders": "int"}
	p, err := venueclient.Result[client.Product](api.CreateProductWithResponse(ctx, nil, client.ProductInput{SourceAssets: []string{cert.Asset.Id},
		Title: title, Description: "按调用次数计费的公交客流查询服务，按月结算", ProductType: "dataset", Domain: "transport",
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
	v.project(t)
	subs, err := venueclient.Result[client.PageOfMeteredSubscription](api.ListSubscriptionsWithResponse(ctx, nil, v.client.As(venueclient.BuyerA)))
	if err != nil || len(subs.Data) != 1 {
		t.Fatalf("the buyer's subscriptions: %+v (%v), want one", subs, err)
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
	return p, sub
}

// The buyer reads its subscriptions and cancels one: the list (product, status, term, price per
// call, fee, maximum), the subscription's page with its period's use (12.5 calls in 3 records, the
// period still open) and the revision the operator published to it; a cancellation without a
// reason is refused beside the form (the service's invalid_reason), one with a reason stops the
// subscription (read back through the API, and its audit event found).
func TestBuyerSubscriptionCancelInTheBrowser(t *testing.T) {
	v := newVenue(t, idpUser{Subject: "chen.jie", Name: "陈杰", Role: datavenue.RoleBuyer, Org: venueclient.BuyerB.Org})
	const title = "公交客流实时查询接口（买方订阅）"
	p, sub := v.meteredSubscription(t, title)
	ctx, api := context.Background(), v.client.API()
	if _, err := venueclient.Result[client.Revision](api.PublishRevisionWithResponse(ctx, p.Id, nil, client.RevisionInput{Version: "2026-11",
		Checksum: "sha256:" + strings.Repeat("3d", 32), Url: venueclient.Ptr("https://files.operator.example/revisions/2026-11.csv")},
		v.client.As(venueclient.Operator))); err != nil {
		t.Fatalf("publish a revision: %v", err)
	}

	// Another buyer finds no such subscription, and its cancellation changes nothing; the seller's
	// operator is refused the buyer's page (its own view is the usage page).
	other := browserless(t)
	if resp, _ := oidcSignIn(t, v, other, "chen.jie"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other buyer's sign-in = %d", resp.StatusCode)
	}
	_, landing := get(t, other, v.URL+"/console/catalogue")
	page := v.URL + "/console/subscriptions/" + sub.Id
	if resp, _ := get(t, other, page); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another buyer opening the subscription = %d, want 404", resp.StatusCode)
	}
	if resp, _ := post(t, other, page+"/cancel", url.Values{"_csrf": {csrfOf(t, landing)}, "key": {"other-1"}, "reason": {"不是我的"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another buyer cancelling the subscription = %d, want 404", resp.StatusCode)
	}
	seller := browserless(t)
	devSignIn(t, v, seller, "demo-operator")
	if resp, _ := get(t, seller, page); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the seller's operator opening the buyer's subscription page = %d, want 403", resp.StatusCode)
	}

	tab := newTab(t, newBrowser(t))
	signInDev(t, v, tab, "demo-buyer")
	run(t, tab, chromedp.Click(chromedp.CSS(`nav a[href="/console/subscriptions"]`)), chromedp.WaitVisible(chromedp.CSS("#subscription-"+sub.Id)))
	mustContain(t, "the list's row", textOf(t, tab, "#subscription-"+sub.Id), title, "生效中", "按调用次数", "0.60", "300.00", "2000.00", sub.StartsOn.String())
	checkAccessibility(t, tab, "subscriptions")
	run(t, tab, chromedp.Click(chromedp.CSS(`#subscription-`+sub.Id+` a`)), chromedp.WaitVisible(chromedp.CSS("#subscription-periods")))
	mustContain(t, "the terms", textOf(t, tab, "#subscription"), sub.Id, title, "按月 × 3", "0.60", "300.00", "2000.00")
	cells := value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#subscription-periods tbody td")].map(e => e.textContent.trim())`))
	if len(cells) != 5 || cells[0] != sub.StartsOn.String() || cells[2] != "3" || cells[3] != "12.5" || cells[4] != "周期未结" {
		t.Errorf("the period's line is %q, want the period from %s: 3 records, 12.5 calls, open", cells, sub.StartsOn)
	}
	mustContain(t, "the revision delivered", textOf(t, tab, "#subscription-deliveries"), "2026-11", "sha256:3d3d")
	checkAccessibility(t, tab, "subscription")
	screenshot(t, tab, "buyer-subscription")

	// Without a reason: the service's refusal beside the form, the subscription still active.
	run(t, tab, chromedp.Click(chromedp.CSS("#cancel-submit")), chromedp.WaitVisible(chromedp.CSS("#cancel-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#cancel-refused"), "invalid_reason")
	if status := textOf(t, tab, "#subscription-status"); !strings.Contains(status, "生效中") {
		t.Errorf("after the refusal the status reads %q, want active", status)
	}
	run(t, tab, chromedp.SendKeys(chromedp.CSS("#cancel-reason"), "项目结束，不再需要"), chromedp.Click(chromedp.CSS("#cancel-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#subscription-status[data-status="cancelled"]`)))
	mustContain(t, "the cancellation", textOf(t, tab, "#subscription-cancelled"), "买方取消", "项目结束，不再需要")
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#cancel-form").length`)); n != 0 {
		t.Errorf("a cancelled subscription still offers the cancel form")
	}
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #subscription`)))
	mustContain(t, "the English page", textOf(t, tab, "main"), "Cancelled", "by the buyer", "Monthly", "Period open")
	checkAccessibility(t, tab, "subscription (English)")
	// The year before the subscription started: no period of it.
	run(t, tab, chromedp.SetValue(chromedp.CSS("#year"), strconv.Itoa(sub.StartsOn.Year()-1)), chromedp.Submit(chromedp.CSS("#year")),
		chromedp.WaitVisible(chromedp.CSS("#periods-none")))

	got, err := venueclient.Result[client.MeteredSubscription](api.GetSubscriptionWithResponse(ctx, sub.Id, v.client.As(venueclient.BuyerA)))
	if err != nil || got.Status != client.MeteredSubscriptionStatusCancelled || got.CancelReason == nil || *got.CancelReason != "项目结束，不再需要" {
		t.Fatalf("the subscription through the API: %+v (%v), want cancelled with the reason", got, err)
	}
	events, err := venueclient.Result[client.PageOfAuditEvent](api.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{
		ResourceType: venueclient.Ptr("subscription"), ResourceId: venueclient.Ptr(sub.Id)}, v.client.As(venueclient.Auditor)))
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	cancelled := 0
	for _, e := range events.Data {
		if e.Action == "subscription.cancelled" {
			cancelled++
		}
	}
	if cancelled != 1 {
		t.Errorf("%d subscription.cancelled events for %s, want 1", cancelled, sub.Id)
	}
}

// keyOf is the idempotency key of the form with the id.
func keyOf(t *testing.T, body, form string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)id="` + form + `".*?name="key" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no key in form %s", form)
	}
	return m[1]
}

// Free use and the subscription pages without a browser: a free public-welfare product's page
// offers the buyer the button, which is refused without the session's CSRF token, makes one order
// of 0.00 (paid at once, free_use) landing on its page, and makes no second order when the same
// form is sent again; a paid product's page and an operator's view offer no button, and an
// operator sending it is refused; the buyer's menu has its subscriptions, other roles' do not;
// an operator is refused the buyer's subscription pages (403) and a buyer a subscription not its
// own (404); the cancel form is refused without the token.
func TestBuyerFreeUseAndSubscriptionPages(t *testing.T) {
	v := newVenue(t)
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	free, err := v.client.PublishFree(cert.Asset, "公交客流公益分析", "公交客流公益研究数据")
	if err != nil {
		t.Fatalf("publish free: %v", err)
	}
	paid := v.publishTransport(t, 0)

	buyer := browserless(t)
	devSignIn(t, v, buyer, "demo-buyer")
	page := v.URL + "/console/products/" + free.Id
	_, body := get(t, buyer, page)
	if !strings.Contains(body, `id="freeuse-submit"`) || !strings.Contains(body, `href="/console/subscriptions"`) {
		t.Fatalf("the buyer's free product page lacks the free-use button or the subscriptions in the menu")
	}
	form := url.Values{"key": {keyOf(t, body, "freeuse-form")}}
	if resp, _ := post(t, buyer, page+"/free-orders", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the free-use form without the token = %d, want 403", resp.StatusCode)
	}
	form.Set("_csrf", csrfOf(t, body))
	resp, _ := post(t, buyer, page+"/free-orders", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/orders/ord_") {
		t.Fatalf("the free-use form = %d to %q, want 303 to the order", resp.StatusCode, loc)
	}
	if again, _ := post(t, buyer, page+"/free-orders", form); again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != loc {
		t.Errorf("the same form sent again = %d to %q, want the first order %s", again.StatusCode, again.Header.Get("Location"), loc)
	}
	resp, body = get(t, buyer, v.URL+loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-status="paid"`) || !strings.Contains(body, "0.00") {
		t.Errorf("the free order's page = %d, want it paid at 0.00", resp.StatusCode)
	}
	orders, err := venueclient.Result[client.PageOfOrder](v.client.API().ListOrdersWithResponse(context.Background(), nil, v.client.As(venueclient.BuyerA)))
	if err != nil || len(orders.Data) != 1 || orders.Data[0].Price != "0.00" || "/console/orders/"+orders.Data[0].Id != loc {
		t.Fatalf("the buyer's orders through the API: %+v (%v), want the one free order", orders, err)
	}
	if _, body := get(t, buyer, v.URL+"/console/products/"+paid.Id); strings.Contains(body, `id="freeuse-form"`) {
		t.Errorf("a paid product's page offers the free-use button")
	}
	if resp, _ := get(t, buyer, v.URL+"/console/subscriptions/sub_01JDEM0000000000000000000X"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a subscription that does not exist = %d, want 404", resp.StatusCode)
	}
	if resp, _ := post(t, buyer, v.URL+"/console/subscriptions/sub_nothing/cancel", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the cancel form without the token = %d, want 403", resp.StatusCode)
	}
	resp, body = get(t, buyer, v.URL+"/console/subscriptions?lang=en")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/console/subscriptions" aria-current="page"`) || !strings.Contains(body, `id="subscriptions-none"`) {
		t.Errorf("the buyer's subscriptions = %d, or not current in the menu, or not empty", resp.StatusCode)
	}

	operator := browserless(t)
	_, token := devSignIn(t, v, operator, "demo-operator")
	if _, body := get(t, operator, page); strings.Contains(body, `id="freeuse-form"`) || strings.Contains(body, `href="/console/subscriptions"`) {
		t.Errorf("the operator's view offers the free-use button or the buyer's subscriptions")
	}
	if resp, _ := post(t, operator, page+"/free-orders", url.Values{"_csrf": {token}, "key": {"op-key-1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an operator sending the free-use form = %d, want 403", resp.StatusCode)
	}
	for _, p := range []string{"/subscriptions", "/subscriptions/sub_01JDEM0000000000000000000X"} {
		if resp, _ := get(t, operator, v.URL+"/console"+p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("an operator opening %s = %d, want 403", p, resp.StatusCode)
		}
	}
	if resp, _ := post(t, operator, v.URL+"/console/subscriptions/sub_nothing/cancel", url.Values{"_csrf": {token}, "reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an operator cancelling from the buyer's page = %d, want 403", resp.StatusCode)
	}
	clerk := browserless(t)
	devSignIn(t, v, clerk, "demo-clerk")
	if _, body := get(t, clerk, v.URL+"/console/catalogue"); strings.Contains(body, `href="/console/subscriptions"`) {
		t.Errorf("the clerk's menu offers the buyer's subscriptions")
	}
}

// The operator's side: the subscriptions it sells are listed on its own pages (the buyer named),
// and it cancels one there with a reason, once however often the form is sent; the cancellation is
// the operator's (the buyer's page says so), delivery stops; a buyer is refused the operator's
// pages (403), and another operator's subscription is not found.
func TestOperatorCancelsASubscriptionItSells(t *testing.T) {
	v := newVenue(t)
	_, sub := v.meteredSubscription(t, "公交客流实时查询（售出的订阅）")
	operator := browserless(t)
	devSignIn(t, v, operator, "demo-operator")
	resp, body := get(t, operator, v.URL+"/console/manage/subscriptions")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="subscription-`+sub.Id+`" data-status="active"`) ||
		!strings.Contains(body, `href="/console/manage/subscriptions/`+sub.Id+`"`) || !strings.Contains(body, `href="/console/manage/subscriptions" aria-current="page"`) {
		t.Fatalf("the operator's subscriptions = %d, or the subscription sold not listed active, or not current in the menu:\n%s", resp.StatusCode, body)
	}
	page := v.URL + "/console/manage/subscriptions/" + sub.Id
	_, body = get(t, operator, page)
	buyerName := ""
	for _, d := range venueclient.DemoOrgs() {
		if d.Reg.ID == venueclient.BuyerA.Org {
			buyerName = d.Reg.Name
		}
	}
	mustContain(t, "the buyer named", body, `id="subscription-counterpart">`+buyerName)
	// Both of the operator's pages pass axe-core in a real browser, the cancel form shown.
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-operator", "#who")
	run(t, tab, chromedp.Navigate(v.URL+"/console/manage/subscriptions"), chromedp.WaitVisible(chromedp.CSS("#subscription-"+sub.Id)))
	checkAccessibility(t, tab, "subscriptions sold")
	run(t, tab, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#cancel-form")))
	checkAccessibility(t, tab, "a subscription sold")
	form := url.Values{"_csrf": {csrfOf(t, body)}, "key": {keyOf(t, body, "cancel-form")}, "reason": {""}}
	if resp, _ := post(t, operator, page+"/cancel", form); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a cancellation without a reason = %d, want 422", resp.StatusCode)
	}
	form.Set("reason", "买方连续两期未付款")
	for range 2 {
		if resp, _ := post(t, operator, page+"/cancel", form); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/manage/subscriptions/"+sub.Id {
			t.Fatalf("the cancellation = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_, body = get(t, operator, page)
	mustContain(t, "the cancelled subscription", body, `data-status="cancelled"`, "运营方取消", "买方连续两期未付款")
	if strings.Contains(body, `id="cancel-form"`) {
		t.Error("a cancelled subscription still offers the cancel form")
	}
	events, err := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "subscription", ResourceID: sub.Id})
	if cancelled := countActions(events, "subscription.cancelled"); err != nil || cancelled != 1 {
		t.Fatalf("audit: %d cancellations (%v), want 1", cancelled, err)
	}

	buyer := browserless(t)
	devSignIn(t, v, buyer, "demo-buyer")
	_, body = get(t, buyer, v.URL+"/console/subscriptions/"+sub.Id)
	mustContain(t, "the buyer's page", body, `data-status="cancelled"`, "运营方取消")
	if resp, _ := get(t, buyer, v.URL+"/console/manage/subscriptions"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a buyer opening the operator's subscriptions = %d, want 403", resp.StatusCode)
	}
}
