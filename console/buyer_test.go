package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/matching"
)

// Issue 16's buyer journey: two buyers in two browsers bid on an English auction that closes
// while both watch it. The close reaches each page through the live feed; the winner's page says
// it won and at what price, the loser's that it lost. The winner finds the order in "my orders"
// (the deposit applied, the rest due), its deposit shown applied and the loser's refunded; the
// order paid (clerk) and delivered (operator) through the API, the winner confirms the delivery
// in the console, and its voucher verifies (signature and place in the chain), the document
// downloaded being the one the API serves.
func TestBuyerWinsAnEnglishAuctionAgainstAnotherBrowser(t *testing.T) {
	v := newVenueAt(t, behind(2*time.Minute), idpUser{Subject: "chen.jie", Name: "陈杰", Role: datavenue.RoleBuyer, Org: venueclient.BuyerB.Org})
	// The auction ends on the engine's clock (Redis TIME) 40 s after it is opened: time for both
	// browsers to sign in and bid on a loaded machine (the tabs get two minutes for the whole
	// journey). The test waits on the pages for the close, not on the clock.
	auctionID, product := v.openAuction(t, client.PricingInputAuctionKindEnglish, 40*time.Second, venueclient.BuyerA, venueclient.BuyerB)
	v.runCloser(t)
	browser := newBrowser(t)
	a, b := newTabWithin(t, browser, 2*time.Minute), newTabWithin(t, browser, 2*time.Minute)
	signInDev(t, v, a, "demo-buyer")
	run(t, b, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#total")))

	page := v.URL + "/console/auctions/" + auctionID
	// Both deposits were recorded (clerk, API): each page says so before any bid.
	for _, tab := range []context.Context{a, b} {
		run(t, tab, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#live-price[data-feed="ready"]`)))
		mustContain(t, "the deposit the auction requires", textOf(t, tab, "#deposit-required"), "500.00", "您的保证金已到账")
	}
	// A opens, B outbids, A outbids again: each bid reaches the other page through the feed.
	bid := func(tab context.Context, amount string) {
		t.Helper()
		run(t, tab, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-feed="ready"]`)), chromedp.SetValue(chromedp.CSS("#amount"), amount),
			chromedp.Click(chromedp.CSS("#bid-submit")), chromedp.WaitVisible(chromedp.CSS("#bid-placed")))
	}
	bid(a, "8000.00")
	run(t, b, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-amount="8000.00"]`)))
	bid(b, "9000.00")
	run(t, a, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-amount="9000.00"]`)))
	bid(a, "9200.00")
	run(t, b, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-amount="9200.00"]`)))

	// The close: each page, its feed open, reloads on the close event and shows the result.
	run(t, a, chromedp.WaitVisible(chromedp.CSS(`#auction-outcome[data-result="won"]`)))
	run(t, b, chromedp.WaitVisible(chromedp.CSS(`#auction-outcome[data-result="lost"]`)))
	mustContain(t, "the winner's page", textOf(t, a, "#outcome-text"), "您已竞得", "9200.00")
	mustContain(t, "the loser's page", textOf(t, b, "#outcome-text"), "您未竞得", "9200.00")
	if n := value(t, b, chromedp.Evaluate[int](`document.querySelectorAll("#bid-form").length`)); n != 0 {
		t.Error("the closed auction still offers the bid form")
	}
	checkAccessibility(t, a, "auction won")
	screenshot(t, a, "buyer-auction-won")
	screenshot(t, b, "buyer-auction-lost")
	// Anyone else (here the operator who ran it) reads it sold at the price, never "you won".
	op := browserless(t)
	devSignIn(t, v, op, "demo-operator")
	if _, body := get(t, op, page); !strings.Contains(body, `data-result="sold"`) || strings.Contains(body, "您已竞得") {
		t.Errorf("the operator's auction page after the close does not say sold:\n%s", body)
	}

	// The engine's close event becomes the trade and its order in PostgreSQL (the projection).
	v.project(t)
	run(t, a, chromedp.Click(chromedp.CSS("#outcome-orders")), chromedp.WaitVisible(chromedp.CSS(`#orders tr[data-status="awaiting_payment"]`)))
	row := textOf(t, a, `#orders tr[data-status="awaiting_payment"]`)
	mustContain(t, "the winner's order", row, product.Title, "9200.00", "500.00", "8700.00", "待付款")
	checkAccessibility(t, a, "my orders")
	screenshot(t, a, "buyer-orders")

	// Deposits: the winner's applied to the price, the loser's refunded.
	run(t, a, chromedp.Navigate(v.URL+"/console/deposits"), chromedp.WaitVisible(chromedp.CSS(`#deposit-`+auctionID+`[data-outcome="apply"]`)))
	mustContain(t, "the winner's deposit", textOf(t, a, "#deposit-"+auctionID), "500.00", "已抵扣成交价")
	run(t, b, chromedp.Navigate(v.URL+"/console/deposits"), chromedp.WaitVisible(chromedp.CSS(`#deposit-`+auctionID+`[data-outcome="release"]`)))
	mustContain(t, "the loser's deposit", textOf(t, b, "#deposit-"+auctionID), "500.00", "已退还")
	checkAccessibility(t, b, "deposits")
	screenshot(t, b, "buyer-deposits")

	// Paid (clerk) and delivered (operator) through the API; the winner confirms in the console.
	api, cx := v.client.API(), context.Background()
	orders, err := venueclient.Result[client.PageOfOrder](api.ListOrdersWithResponse(cx, nil, v.client.As(venueclient.BuyerA)))
	if err != nil || len(orders.Data) != 1 {
		t.Fatalf("the winner's orders: %v, %v", orders.Data, err)
	}
	order := orders.Data[0]
	// The loser cannot open the winner's order.
	run(t, b, chromedp.Navigate(v.URL+"/console/orders/"+order.Id), chromedp.WaitVisible(chromedp.CSS("main h1")))
	mustContain(t, "another buyer's order", textOf(t, b, "main"), "未找到")
	if _, err := venueclient.Result[client.Order](api.RecordPaymentWithResponse(cx, order.Id, nil, client.PaymentInput{Reference: "BANK-" + order.Id},
		v.client.As(venueclient.Clerk))); err != nil {
		t.Fatalf("payment: %v", err)
	}
	if _, err := venueclient.Result[client.Order](api.RecordDeliveryWithResponse(cx, order.Id, nil, client.OrderDelivery{Method: client.OrderDeliveryMethodFile,
		ContentHash: venueclient.Ptr("sha256:" + strings.Repeat("ab", 32))}, v.client.As(venueclient.Operator))); err != nil {
		t.Fatalf("delivery: %v", err)
	}
	run(t, a, chromedp.Navigate(v.URL+"/console/orders"), chromedp.WaitVisible(chromedp.CSS(`#order-`+order.Id+`[data-status="delivered"]`)),
		chromedp.Click(chromedp.CSS(`#order-`+order.Id+` a`)), chromedp.WaitVisible(chromedp.CSS("#confirm-submit")))
	checkAccessibility(t, a, "order")
	run(t, a, chromedp.Click(chromedp.CSS("#confirm-submit")), chromedp.WaitVisible(chromedp.CSS("#voucher-verify")))

	// The voucher: verified as `datavenue voucher verify` does, its place in the chain checked. The
	// page says each part's result in data attributes, so the test reads the verdict, not its wording.
	run(t, a, chromedp.Click(chromedp.CSS("#voucher-verify")), chromedp.WaitVisible(chromedp.CSS("#voucher-check")))
	if sig, pos := value(t, a, chromedp.Evaluate[string](`document.querySelector("#voucher-check").dataset.signature`)),
		value(t, a, chromedp.Evaluate[string](`document.querySelector("#voucher-check").dataset.position`)); sig != "true" || pos != "true" {
		t.Errorf("the voucher's check: signature %s, position %s (%s)", sig, pos, textOf(t, a, "#voucher-check"))
	}
	mustContain(t, "the verified voucher", textOf(t, a, "#voucher-content"), "9200.00 CNY", order.TradeId)
	checkAccessibility(t, a, "voucher")
	screenshot(t, a, "buyer-voucher")

	// The download is the signed document the API serves, byte for byte.
	type download struct {
		Type, Body string
	}
	got := value(t, a, chromedp.Evaluate[download](`fetch(document.querySelector("#voucher-download").href).then(r => r.text().then(b => ({type: r.headers.get("Content-Type"), body: b})))`,
		chromedp.EvalAwaitPromise))
	voucherID := strings.TrimSuffix(strings.TrimPrefix(value(t, a, chromedp.Evaluate[string](`location.pathname`)), "/console/vouchers/"), "/verify")
	doc, err := api.VoucherDocumentWithResponse(cx, voucherID, v.client.As(venueclient.BuyerA))
	if err != nil || doc.StatusCode() != 200 {
		t.Fatalf("the API's voucher document: %v", err)
	}
	if got.Body != string(doc.Body) || !strings.HasPrefix(got.Type, "application/jose") || strings.Count(got.Body, ".") != 2 {
		t.Errorf("the downloaded voucher (%s, %d bytes) is not the API's document (%d bytes)", got.Type, len(got.Body), len(doc.Body))
	}
	// The order now links to it.
	run(t, a, chromedp.Navigate(v.URL+"/console/orders/"+order.Id), chromedp.WaitVisible(chromedp.CSS("#order-voucher")))
	mustContain(t, "the confirmed order", textOf(t, a, "#order-status"), "已确认")
}

// A sealed-bid auction: a bid is placed and the page says only that (its amount is shown to
// nobody, the bidder's own page included, and the other buyer sees only the count); a second bid
// from the same buyer and a bid without a recorded deposit are refused with the engine's rule
// beside the form.
func TestSealedBidInTheBrowser(t *testing.T) {
	v := newVenueAt(t, behind(2*time.Minute), idpUser{Subject: "chen.jie", Name: "陈杰", Role: datavenue.RoleBuyer, Org: venueclient.BuyerB.Org})
	// Only buyer A's deposit is recorded.
	auctionID, _ := v.openAuction(t, client.PricingInputAuctionKindSealedFirst, 30*time.Minute, venueclient.BuyerA)
	browser := newBrowser(t)
	a, b := newTab(t, browser), newTab(t, browser)
	signInDev(t, v, a, "demo-buyer")
	run(t, b, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#total")))
	page := v.URL + "/console/auctions/" + auctionID

	// The form says the rules of a sealed auction before the bid; the acknowledgement says only
	// that the bid was placed.
	run(t, a, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#sealed-note")))
	run(t, a, chromedp.SetValue(chromedp.CSS("#amount"), "9600.00"), chromedp.Click(chromedp.CSS("#bid-submit")), chromedp.WaitVisible(chromedp.CSS("#bid-placed")))
	mustContain(t, "the sealed bid's acknowledgement", textOf(t, a, "#bid-placed"), "密封出价已提交")
	if body := textOf(t, a, "main"); strings.Contains(body, "9600") {
		t.Errorf("the bidder's page shows the sealed amount: %s", body)
	}
	checkAccessibility(t, a, "sealed auction")
	screenshot(t, a, "buyer-sealed-placed")

	// A second sealed bid from the same buyer: refused, the rule named beside the form.
	run(t, a, chromedp.SetValue(chromedp.CSS("#amount"), "9700.00"), chromedp.Click(chromedp.CSS("#bid-submit")), chromedp.WaitVisible(chromedp.CSS("#bid-refused")))
	mustContain(t, "a second sealed bid", textOf(t, a, "#bid-refused"), "bid_exists")

	// The other buyer sees that one bid was placed, never its amount, and that its own deposit is
	// missing: its bid is refused for it.
	run(t, b, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#deposit-note")))
	body := textOf(t, b, "main")
	mustContain(t, "the other buyer's page", body, "密封竞价", "您的保证金尚未到账")
	if strings.Contains(body, "9600") {
		t.Errorf("another buyer's page shows the sealed amount: %s", body)
	}
	run(t, b, chromedp.SetValue(chromedp.CSS("#amount"), "9800.00"), chromedp.Click(chromedp.CSS("#bid-submit")), chromedp.WaitVisible(chromedp.CSS("#bid-refused")))
	mustContain(t, "a bid without a deposit", textOf(t, b, "#bid-refused"), "deposit_missing")
	checkAccessibility(t, b, "sealed auction refused")
	screenshot(t, b, "buyer-sealed-refused")
}

// A buyer negotiates: opens a negotiation from the product page (an offer above the price cap
// refused with the engine's rule), the seller counters (API), the buyer accepts; the list
// of the buyer's negotiations shows it accepted.
func TestNegotiationInTheBrowser(t *testing.T) {
	v := newVenue(t)
	product := v.publishTransport(t, 0)
	tab := newTab(t, newBrowser(t))
	signInDev(t, v, tab, "demo-buyer")
	run(t, tab, chromedp.Navigate(v.URL+"/console/products/"+product.Id), chromedp.WaitVisible(chromedp.CSS("#negotiate-link")),
		chromedp.Click(chromedp.CSS("#negotiate-link")), chromedp.WaitVisible(chromedp.CSS("#negotiate-form")))
	mustContain(t, "the range", textOf(t, tab, "#negotiate-range"), "9000.00", "15000.00")
	checkAccessibility(t, tab, "negotiate")

	run(t, tab, chromedp.SetValue(chromedp.CSS("#offer"), "2000000.00"), chromedp.Click(chromedp.CSS("#negotiate-submit")), chromedp.WaitVisible(chromedp.CSS("#negotiate-refused")))
	mustContain(t, "an offer above the price cap", textOf(t, tab, "#negotiate-refused"), "above_cap")
	run(t, tab, chromedp.SetValue(chromedp.CSS("#offer"), "10000.00"), chromedp.Click(chromedp.CSS("#negotiate-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#negotiation-status[data-status="offered"]`)))
	id := strings.TrimPrefix(value(t, tab, chromedp.Evaluate[string](`location.pathname`)), "/console/negotiations/")

	// The seller counters through the API; the buyer's page then offers accept, counter, reject.
	if _, err := venueclient.Result[client.NegotiationView](v.client.API().MoveNegotiationWithResponse(context.Background(), id, nil,
		client.MoveInput{Action: client.MoveInputActionCounter, Amount: venueclient.Ptr("11000.00")}, v.client.As(venueclient.Operator))); err != nil {
		t.Fatalf("counter: %v", err)
	}
	run(t, tab, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#accept-submit")))
	mustContain(t, "the counter-offer", textOf(t, tab, "#negotiation-price"), "11000.00")
	checkAccessibility(t, tab, "negotiation")
	screenshot(t, tab, "buyer-negotiation")
	run(t, tab, chromedp.Click(chromedp.CSS("#accept-submit")), chromedp.WaitVisible(chromedp.CSS(`#negotiation-status[data-status="accepted"]`)))
	mustContain(t, "the moves", textOf(t, tab, "#moves"), "出价", "还价", "接受", "10000.00", "11000.00")
	// The same page in English.
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #moves`)))
	mustContain(t, "the English page", textOf(t, tab, "main"), "Accepted", "Offer", "Counter", "Accept")
	checkAccessibility(t, tab, "negotiation (English)")
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"] #moves`)))

	v.project(t)
	run(t, tab, chromedp.Navigate(v.URL+"/console/negotiations"), chromedp.WaitVisible(chromedp.CSS("#negotiation-"+id)))
	mustContain(t, "the buyer's negotiations", textOf(t, tab, "#negotiation-"+id), product.Title, "已成交", "11000.00")
	checkAccessibility(t, tab, "negotiations")
	screenshot(t, tab, "buyer-negotiations")
}

// newTabWithin is newTab with a longer time limit, for a journey that outlasts an auction.
func newTabWithin(t *testing.T, browser context.Context, limit time.Duration) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// As in newTab: the tab is opened first, the limit set on a context derived after it.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	limited, cancelTimeout := context.WithTimeout(tab, limit)
	t.Cleanup(cancelTimeout)
	return limited
}

// signInDev signs the tab in with the development sign-in as a demo identity.
func signInDev(t *testing.T, v *venue, tab context.Context, subject string) {
	t.Helper()
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-"+subject)), chromedp.Click(chromedp.CSS("#dev-submit")), chromedp.WaitVisible(chromedp.CSS("#who")))
}

// openAuction publishes an auction-priced product of the kind, ending endIn from now (no
// anti-sniping extension: the test waits for the very end), opens its auction and records the
// deposits of the buyers named, through the API. The services' clock is behind the engine's (see
// behind), so the auction has already started for the engine.
func (v *venue) openAuction(t *testing.T, kind client.PricingInputAuctionKind, endIn time.Duration, deposits ...venueclient.Actor) (string, client.Product) {
	t.Helper()
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	now, ptr := time.Now(), venueclient.Ptr[string]
	pricing := client.PricingInput{Method: client.PricingInputMethodAuction, AuctionKind: venueclient.Ptr(kind), Reserve: ptr("9000.00"),
		Deposit: ptr("500.00"), AntiSnipeMinutes: venueclient.Ptr(0), StartAt: venueclient.Ptr(now.Add(-30 * time.Second)), EndAt: venueclient.Ptr(now.Add(endIn))}
	if kind == client.PricingInputAuctionKindEnglish {
		pricing.OpeningPrice, pricing.Increment = ptr("8000.00"), ptr("100.00")
	}
	p, err := v.client.Publish(cert.Asset, cert.Scenario, "公交客流小时数据（"+string(kind)+"）", pricing)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	api := v.client.API()
	auc, err := venueclient.Result[client.Auction](api.OpenAuctionWithResponse(context.Background(), nil, client.OpenAuctionInput{ProductId: p.Id},
		v.client.As(venueclient.Operator)))
	if err != nil {
		t.Fatalf("open auction: %v", err)
	}
	for _, b := range deposits {
		if _, err := venueclient.Result[client.Status](api.RecordDepositWithResponse(context.Background(), auc.Id, nil,
			client.DepositInput{Buyer: string(b.Org), Ref: "保证金-" + string(b.Org)}, v.client.As(venueclient.Clerk))); err != nil {
			t.Fatalf("deposit: %v", err)
		}
	}
	// The deposits reach PostgreSQL (and the deposits page) through the projection.
	v.project(t)
	return auc.Id, p
}

// runCloser runs the auction closer over the venue's engine, as `datavenue serve` does (every
// process runs one), until the test ends; it records each outcome at once as serve's does.
func (v *venue) runCloser(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	closer := matching.Closer{Engine: v.auctions.Engine, OnClose: func(ctx context.Context, id string, o matching.Outcome) {
		if err := v.auctions.Closed(ctx, id, o); err != nil {
			t.Errorf("recording the outcome of %s: %v", id, err)
		}
	}}
	go func() { defer close(done); closer.Run(ctx, 100*time.Millisecond) }()
}

// project applies the engine's events to PostgreSQL (trades, orders, deposits, negotiations).
func (v *venue) project(t *testing.T) {
	t.Helper()
	if _, err := v.projector.RunOnce(context.Background()); err != nil {
		t.Fatalf("projection: %v", err)
	}
}

// The buyer's pages without a browser: the buyer's menu has them and its home stays the
// catalogue; roles that do not act on them do not get them in the menu, an operator may not open
// the deposits page (it reads no deposit); every new form is refused without the session's CSRF
// token; an order that does not exist is not found (another buyer's: see the journey).
func TestBuyerPagesAndTheirForms(t *testing.T) {
	v := newVenue(t)
	buyer := browserless(t)
	home, _ := devSignIn(t, v, buyer, "demo-buyer")
	if home != "/console/catalogue" {
		t.Errorf("the buyer lands on %s, want the catalogue", home)
	}
	for _, p := range []string{"/orders", "/deposits", "/negotiations"} {
		for _, l := range []string{"zh", "en"} {
			resp, body := get(t, buyer, v.URL+"/console"+p+"?lang="+l)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/console`+p+`" aria-current="page"`) {
				t.Errorf("the buyer opening %s (%s) = %d, or the menu lacks it", p, l, resp.StatusCode)
			}
		}
	}
	for _, form := range []string{"/orders/ord_nothing/confirm", "/negotiations", "/negotiations/neg_nothing/moves", "/auctions/auc_nothing/bids"} {
		if resp, _ := post(t, buyer, v.URL+"/console"+form, url.Values{"action": {"accept"}, "amount": {"1.00"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without the token = %d, want 403", form, resp.StatusCode)
		}
	}
	if resp, _ := get(t, buyer, v.URL+"/console/orders/ord_01JDEM0000000000000000000X"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an order that does not exist = %d, want 404", resp.StatusCode)
	}
	for _, who := range []string{"demo-clerk", "demo-operator"} {
		c := browserless(t)
		_, _ = devSignIn(t, v, c, who)
		_, body := get(t, c, v.URL+"/console/catalogue")
		for _, p := range []string{"/orders", "/deposits", "/negotiations"} {
			if strings.Contains(body, `href="/console`+p+`"`) {
				t.Errorf("%s's menu offers the buyer's %s", who, p)
			}
		}
	}
	operator := browserless(t)
	devSignIn(t, v, operator, "demo-operator")
	if resp, _ := get(t, operator, v.URL+"/console/deposits"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an operator opening the deposits page = %d, want 403", resp.StatusCode)
	}
}

// A voucher further down the chain verifies on its page: its signature, and its place after the
// entry before it (the second of two vouchers, so the previous entry's stored hash is read and
// compared). Two negotiated sales are settled and confirmed through the API, then the buyer opens
// the second voucher's verification without a browser.
func TestVoucherVerifiedInItsChain(t *testing.T) {
	v := newVenue(t)
	product := v.publishTransport(t, 0)
	api, cx := v.client.API(), context.Background()
	var vouchers []client.Voucher
	for i, price := range []string{"10000.00", "11000.00"} {
		n, err := venueclient.Result[client.NegotiationView](api.StartNegotiationWithResponse(cx, nil,
			client.NegotiationInput{ProductId: product.Id, Amount: price}, v.client.As(venueclient.BuyerA)))
		if err != nil {
			t.Fatalf("negotiation %d: %v", i, err)
		}
		if _, err := venueclient.Result[client.NegotiationView](api.MoveNegotiationWithResponse(cx, n.Id, nil,
			client.MoveInput{Action: client.MoveInputActionAccept}, v.client.As(venueclient.Operator))); err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
		v.project(t)
		orders, err := venueclient.Result[client.PageOfOrder](api.ListOrdersWithResponse(cx,
			&client.ListOrdersParams{Status: venueclient.Ptr("awaiting_payment")}, v.client.As(venueclient.BuyerA)))
		if err != nil || len(orders.Data) != 1 {
			t.Fatalf("orders awaiting payment after sale %d: %v, %v", i, orders.Data, err)
		}
		id := orders.Data[0].Id
		if _, err := venueclient.Result[client.Order](api.RecordPaymentWithResponse(cx, id, nil, client.PaymentInput{Reference: "BANK-" + id},
			v.client.As(venueclient.Clerk))); err != nil {
			t.Fatalf("payment %d: %v", i, err)
		}
		if _, err := venueclient.Result[client.Order](api.RecordDeliveryWithResponse(cx, id, nil, client.OrderDelivery{Method: client.OrderDeliveryMethodFile,
			ContentHash: venueclient.Ptr("sha256:" + strings.Repeat("cd", 32))}, v.client.As(venueclient.Operator))); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		vch, err := venueclient.Result[client.Voucher](api.ConfirmDeliveryWithResponse(cx, id, nil, v.client.As(venueclient.BuyerA)))
		if err != nil {
			t.Fatalf("confirm %d: %v", i, err)
		}
		vouchers = append(vouchers, vch)
	}
	if vouchers[1].Seq != 2 {
		t.Fatalf("the second voucher is entry %d of the log, want 2", vouchers[1].Seq)
	}
	buyer := browserless(t)
	devSignIn(t, v, buyer, "demo-buyer")
	resp, body := get(t, buyer, v.URL+"/console/vouchers/"+vouchers[1].Id+"/verify")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-signature="true" data-position="true"`) {
		t.Errorf("the second voucher's verification = %d:\n%s", resp.StatusCode, body)
	}
	mustContain(t, "the verified content", body, "11000.00 CNY", vouchers[0].Hash, "智慧物流科技有限公司")
	// The seller reads it too (a voucher is the buyer's, the seller's and the supervisors').
	other := browserless(t)
	devSignIn(t, v, other, "demo-operator")
	operatorsView, _ := get(t, other, v.URL+"/console/vouchers/"+vouchers[1].Id)
	if operatorsView.StatusCode != http.StatusOK {
		t.Errorf("the seller opening the voucher = %d, want 200 (a voucher is the buyer's and the seller's)", operatorsView.StatusCode)
	}
}
