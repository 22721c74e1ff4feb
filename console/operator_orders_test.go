package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The operator's side of a negotiation through to the delivery: a buyer's offer (API) is in the
// operator's negotiations; a counter-offer above the cap in force is refused by the engine
// (above_cap), one within it is the buyer's move; the buyer counters back (API) and the operator
// accepts from the keyboard. The trade's order, paid (clerk, API), is on the operator's orders: a
// delivery by another method than the product's is refused (delivery_method_mismatch), by the
// file's hash it is recorded. The usage report's page and both its files answer.
func TestOperatorNegotiatesAndDeliversInTheBrowser(t *testing.T) {
	v := newVenue(t)
	p := v.publishTransport(t, 0)
	ctx, api := context.Background(), v.client.API()
	neg, err := venueclient.Result[client.NegotiationView](api.StartNegotiationWithResponse(ctx, nil, client.NegotiationInput{ProductId: p.Id, Amount: "10000.00"},
		v.client.As(venueclient.BuyerA)))
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	project := func() {
		t.Helper()
		if _, err := v.projector.RunOnce(ctx); err != nil {
			t.Fatalf("projection: %v", err)
		}
	}
	project()
	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-operator")), chromedp.Click(chromedp.CSS("#dev-submit")), chromedp.WaitVisible(chromedp.CSS("#products")),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/manage/negotiations"]`)), chromedp.WaitVisible(chromedp.CSS("#negotiation-"+neg.Id)))
	mustContain(t, "the negotiation listed", textOf(t, tab, "#negotiation-"+neg.Id), "公交客流小时数据（协议定价）", "智慧物流科技有限公司", "待卖方答复", "10000.00")
	checkAccessibility(t, tab, "negotiations")
	run(t, tab, chromedp.Click(chromedp.CSS(`#negotiation-`+neg.Id+` a`)), chromedp.WaitVisible(chromedp.CSS("#counter-form")))
	mustContain(t, "the offer", textOf(t, tab, "#moves"), "买方", "出价", "10000.00")
	checkAccessibility(t, tab, "negotiation")
	screenshot(t, tab, "operator-negotiation")

	// Above the cap (1,000,000.00): the engine refuses, naming its rule.
	run(t, tab, chromedp.SendKeys(chromedp.CSS("#counter-amount"), "1200000.00"), chromedp.Click(chromedp.CSS("#counter-submit")),
		chromedp.WaitVisible(chromedp.CSS("#move-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#move-refused"), "above_cap")
	run(t, tab, chromedp.SetValue(chromedp.CSS("#counter-amount"), "11500.00"), chromedp.Click(chromedp.CSS("#counter-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#moved[data-action="counter"]`)))
	mustContain(t, "after the counter", textOf(t, tab, "#negotiation-status"), "待买方答复")
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#counter-form, #accept-form").length`)); n != 0 {
		t.Error("the operator is offered a move on the buyer's turn")
	}
	if _, err := venueclient.Result[client.NegotiationView](api.MoveNegotiationWithResponse(ctx, neg.Id, nil,
		client.MoveInput{Action: client.MoveInputActionCounter, Amount: venueclient.Ptr("11000.00")}, v.client.As(venueclient.BuyerA))); err != nil {
		t.Fatalf("the buyer's counter: %v", err)
	}
	run(t, tab, chromedp.Navigate(v.URL+"/console/manage/negotiations/"+neg.Id), chromedp.WaitVisible(chromedp.CSS("#accept-submit")))
	mustContain(t, "the accept button", textOf(t, tab, "#accept-submit"), "11000.00")
	run(t, tab, chromedp.Focus(chromedp.CSS("#accept-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#moved[data-action="accept"]`)))
	mustContain(t, "after accepting", textOf(t, tab, "#negotiation-status"), "已成交")
	final, err := venueclient.Result[client.NegotiationView](api.GetNegotiationWithResponse(ctx, neg.Id, v.client.As(venueclient.BuyerA)))
	if err != nil || final.Status != "accepted" || final.Price != "11000.00" || len(final.Moves) != 4 {
		t.Fatalf("the negotiation is %+v (%v), want accepted at 11000.00 after four moves", final, err)
	}

	// The trade becomes an order (projection); the clerk records its payment.
	project()
	orders, err := venueclient.Result[client.PageOfOrder](api.ListOrdersWithResponse(ctx, nil, v.client.As(venueclient.Operator)))
	if err != nil || len(orders.Data) != 1 {
		t.Fatalf("the operator's orders: %+v (%v)", orders, err)
	}
	order := orders.Data[0].Id
	if _, err := venueclient.Result[client.Order](api.RecordPaymentWithResponse(ctx, order, nil, client.PaymentInput{Reference: "BANK-OP-0001"},
		v.client.As(venueclient.Clerk))); err != nil {
		t.Fatalf("payment: %v", err)
	}
	run(t, tab, chromedp.Click(chromedp.CSS(`nav a[href="/console/manage/orders"]`)), chromedp.WaitVisible(chromedp.CSS(`#order-`+order+`[data-status="paid"]`)))
	mustContain(t, "the paid order", textOf(t, tab, "#order-"+order), "智慧物流科技有限公司", "11000.00", "已付款，待交付")
	if m := value(t, tab, chromedp.Value(chromedp.CSS("#method-"+order))); m != "file" {
		t.Errorf("the delivery form offers %q first, want the product's method, file", m)
	}
	checkAccessibility(t, tab, "orders")
	screenshot(t, tab, "operator-orders")
	run(t, tab, chromedp.SetValue(chromedp.CSS("#method-"+order), "api"), chromedp.SendKeys(chromedp.CSS("#proof-"+order), "cred-0001"),
		chromedp.Click(chromedp.CSS("#deliver-"+order)), chromedp.WaitVisible(chromedp.CSS("#delivery-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#delivery-refused"), "delivery_method_mismatch")
	hash := "sha256:" + strings.Repeat("ab", 32)
	run(t, tab, chromedp.SetValue(chromedp.CSS("#method-"+order), "file"), chromedp.SetValue(chromedp.CSS("#proof-"+order), hash),
		chromedp.Click(chromedp.CSS("#deliver-"+order)), chromedp.WaitVisible(chromedp.CSS("#delivered")),
		chromedp.WaitVisible(chromedp.CSS(`#order-`+order+`[data-status="delivered"]`)))
	delivered, err := venueclient.Result[client.Order](api.GetOrderWithResponse(ctx, order, v.client.As(venueclient.BuyerA)))
	if err != nil || delivered.Status != "delivered" {
		t.Fatalf("the order is %q (%v), want delivered", delivered.Status, err)
	}

	// The usage report of its subscriptions (none metered here) and its two files.
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/manage/usage"]`)), chromedp.WaitVisible(chromedp.CSS("#usage-downloads")))
	checkAccessibility(t, tab, "usage")
	files := value(t, tab, chromedp.Evaluate[[]string](`Promise.all(["#usage-xlsx", "#usage-csv"].map(s => fetch(document.querySelector(s).href)
		.then(r => r.status + " " + r.headers.get("content-type") + " " + r.headers.get("content-disposition"))))`, chromedp.EvalAwaitPromise))
	if len(files) != 2 || !strings.HasPrefix(files[0], "200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") ||
		!strings.Contains(files[0], "usage-report-operator-") || !strings.HasPrefix(files[1], "200 text/csv") {
		t.Errorf("the usage files answered %q", files)
	}
}
