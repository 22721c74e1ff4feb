package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// A clerk records a buyer's payment in the browser: the order awaiting payment with its amount
// due, the bank's reference typed and sent with Enter; the order is paid (API), and the
// obligations it created are on the obligations page.
func TestClerkRecordsAPaymentInTheBrowser(t *testing.T) {
	v := newVenue(t)
	order := v.negotiatedOrders(t, venueclient.BuyerA)[0]
	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-clerk")), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS("#obligations-none")),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/payments"]`)), chromedp.WaitVisible(chromedp.CSS("#order-"+order.Id)))
	mustContain(t, "the order", textOf(t, tab, "#order-"+order.Id), "智慧物流科技有限公司", "12000.00")
	checkAccessibility(t, tab, "payments")
	screenshot(t, tab, "clerk-payments")

	run(t, tab, chromedp.SendKeys(chromedp.CSS("#reference-"+order.Id), "BANK-20261201-0001"+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#payment-recorded")))
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#order-`+order.Id+`").length`)); n != 0 {
		t.Error("the paid order still awaits payment on the page")
	}
	paid, err := venueclient.Result[client.Order](v.client.API().GetOrderWithResponse(context.Background(), order.Id, v.client.As(venueclient.Clerk)))
	if err != nil || paid.Status != "paid" || venueclient.Deref(paid.PaymentRef) != "BANK-20261201-0001" {
		t.Fatalf("the order is %s with reference %v (%v), want paid with the bank's", paid.Status, paid.PaymentRef, err)
	}
	run(t, tab, chromedp.Click(chromedp.CSS(`#payment-recorded a`)), chromedp.WaitVisible(chromedp.CSS("#obligations")))
	mustContain(t, "the obligations created", textOf(t, tab, "#obligations"), "国库缴款", "市交通运输局", "4800.00")
}
