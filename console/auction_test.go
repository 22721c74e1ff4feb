package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// Two buyers in two browsers (one signed in with the development sign-in, the other through the
// identity provider) bid on an English auction; each sees the other's bid move the leading price
// live (the engine's feed, as Server-Sent Events), and a bid under the increment is refused with
// the engine's reason beside the form.
func TestEnglishAuctionAgainstAnotherBrowser(t *testing.T) {
	v := newVenueAt(t, behind(2*time.Minute), idpUser{Subject: "chen.jie", Name: "陈杰", Role: datavenue.RoleBuyer, Org: venueclient.BuyerB.Org})
	auctionID := v.openEnglishAuction(t)
	browser := newBrowser(t)
	a, b := newTab(t, browser), newTab(t, browser)

	run(t, a, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-buyer")), chromedp.Click(chromedp.CSS("#dev-submit")), chromedp.WaitVisible(chromedp.CSS("#total")))
	run(t, b, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#total")))
	mustContain(t, "the second buyer", textOf(t, b, "#who"), "城市规划研究院有限公司")

	// Both open the auction from the product page and wait until their live feed is open.
	for _, tab := range []context.Context{a, b} {
		run(t, tab, chromedp.Navigate(v.URL+"/console/catalogue?pricing_method=auction"), chromedp.WaitVisible(chromedp.CSS("#entries a")),
			chromedp.Click(chromedp.CSS("#entries a")), chromedp.WaitVisible(chromedp.CSS("#auctions a")),
			chromedp.Click(chromedp.CSS("#auctions a")), chromedp.WaitVisible(chromedp.CSS(`#live-price[data-feed="ready"]`)))
	}
	checkAccessibility(t, a, "auction")

	// A bids the opening price; B's page shows it without reloading.
	run(t, a, chromedp.SendKeys(chromedp.CSS("#amount"), "8000.00"), chromedp.Click(chromedp.CSS("#bid-submit")),
		chromedp.WaitVisible(chromedp.CSS("#bid-placed")))
	run(t, b, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-amount="8000.00"]`)))
	screenshot(t, b, "auction")

	// B bids under the increment: refused, the engine's rule named; then outbids A, whose page
	// (reloaded after its own bid, its feed open again) follows.
	run(t, a, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-feed="ready"]`)))
	run(t, b, chromedp.SendKeys(chromedp.CSS("#amount"), "8050.00"), chromedp.Click(chromedp.CSS("#bid-submit")),
		chromedp.WaitVisible(chromedp.CSS("#bid-refused")))
	mustContain(t, "the refusal", textOf(t, b, "#bid-refused"), "bid_too_low")
	run(t, b, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-feed="ready"]`)),
		chromedp.SetValue(chromedp.CSS("#amount"), "8100.00"), chromedp.Click(chromedp.CSS("#bid-submit")),
		chromedp.WaitVisible(chromedp.CSS("#bid-placed")))
	run(t, a, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-amount="8100.00"]`)))

	view, err := venueclient.Result[client.AuctionView](v.client.API().GetAuctionWithResponse(context.Background(), auctionID, v.client.As(venueclient.BuyerA)))
	if err != nil {
		t.Fatal(err)
	}
	if view.Live.High == nil || *view.Live.High != "8100.00" || view.Live.Bids != 2 {
		t.Fatalf("the engine holds high %v after %d bids, want 8100.00 after 2", view.Live.High, view.Live.Bids)
	}
}

// openEnglishAuction publishes an English-auction product open for bids now (its start ahead of the
// services' clock, two minutes behind, and behind the engine's: see behind), opens its auction
// (operator) and records both buyers' deposits (clerk), through the API.
func (v *venue) openEnglishAuction(t *testing.T) string {
	t.Helper()
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	now := time.Now()
	ptr := venueclient.Ptr[string]
	p, err := v.client.Publish(cert.Asset, cert.Scenario, "公交客流小时数据（英式拍卖）", client.PricingInput{Method: client.PricingInputMethodAuction,
		AuctionKind: venueclient.Ptr(client.PricingInputAuctionKindEnglish), Reserve: ptr("9000.00"), OpeningPrice: ptr("8000.00"),
		Increment: ptr("100.00"), Deposit: ptr("500.00"), StartAt: venueclient.Ptr(now.Add(-30 * time.Second)), EndAt: venueclient.Ptr(now.Add(30 * time.Minute))})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	api := v.client.API()
	auc, err := venueclient.Result[client.Auction](api.OpenAuctionWithResponse(context.Background(), nil, client.OpenAuctionInput{ProductId: p.Id},
		v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatalf("open auction: %v", err)
	}
	for _, b := range []venueclient.Actor{venueclient.BuyerA, venueclient.BuyerB} {
		if _, err := api.RecordDepositWithResponse(context.Background(), auc.Id, nil, client.DepositInput{Buyer: string(b.Org), Ref: "保证金-" + string(b.Org)},
			v.client.As(venueclient.Clerk)); err != nil {
			t.Fatalf("deposit: %v", err)
		}
	}
	return auc.Id
}
