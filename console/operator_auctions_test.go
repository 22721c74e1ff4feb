package console_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The operator opens the auction of its published English-auction product from the console (the
// terms shown are its price version's), and watches it live: a buyer's bid (through the API) moves
// the leading price on the operator's page without a reload; its auctions list the auction as open.
func TestOperatorOpensAndWatchesAnAuctionInTheBrowser(t *testing.T) {
	v := newVenueAt(t, behind(2*time.Minute))
	p := v.publishEnglishAuctionProduct(t, "公交客流小时数据（运营方拍卖）")
	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-operator")), chromedp.Click(chromedp.CSS("#dev-submit")), chromedp.WaitVisible(chromedp.CSS("#products")),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/manage/auctions"]`)), chromedp.WaitVisible(chromedp.CSS("#open-"+p.Id)))
	mustContain(t, "the product offered", textOf(t, tab, `label[for="open-`+p.Id+`"]`), "公交客流小时数据（运营方拍卖）", "英式拍卖", "9000.00", "8000.00", "100.00", "500.00")
	mustContain(t, "before any auction", textOf(t, tab, "#auctions-none"), "尚未发起拍卖")
	checkAccessibility(t, tab, "operator's auctions")
	run(t, tab, chromedp.Focus(chromedp.CSS("#open-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#live-price[data-feed="ready"]`)))
	mustContain(t, "the live view", textOf(t, tab, "#auction-status"), "进行中")
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#bid-form").length`)); n != 0 {
		t.Error("the operator is offered a bid form on its own auction")
	}
	list, err := venueclient.Result[client.PageOfAuction](v.client.API().ListAuctionsWithResponse(context.Background(), &client.ListAuctionsParams{ProductId: &p.Id},
		v.client.As(venueclient.Operator)))
	if err != nil || len(list.Data) != 1 || list.Data[0].Status != "open" {
		t.Fatalf("the product's auctions: %+v (%v), want one open", list.Data, err)
	}
	auctionID := list.Data[0].Id

	// A buyer deposits (clerk) and bids through the API; the operator's page follows the feed.
	api := v.client.API()
	if _, err := api.RecordDepositWithResponse(context.Background(), auctionID, nil, client.DepositInput{Buyer: string(venueclient.BuyerA.Org), Ref: "保证金-运营方拍卖"},
		v.client.As(venueclient.Clerk)); err != nil {
		t.Fatalf("deposit: %v", err)
	}
	if _, err := venueclient.Result[client.BidResult](api.PlaceBidWithResponse(context.Background(), auctionID, nil, client.BidInput{Amount: "8000.00"},
		v.client.As(venueclient.BuyerA))); err != nil {
		t.Fatalf("bid: %v", err)
	}
	run(t, tab, chromedp.WaitVisible(chromedp.CSS(`#live-price[data-amount="8000.00"]`)))
	screenshot(t, tab, "operator-auction-live")

	run(t, tab, chromedp.Navigate(v.URL+"/console/manage/auctions"), chromedp.WaitVisible(chromedp.CSS(`#auction-`+auctionID+`[data-status="open"]`)))
	mustContain(t, "the auctions list", textOf(t, tab, "#auction-"+auctionID), "公交客流小时数据（运营方拍卖）", "英式拍卖", "进行中", "9000.00")
	checkAccessibility(t, tab, "operator's auctions (one open)")
	screenshot(t, tab, "operator-auctions")
}

// An operator with many published products is offered every one priced by auction, page by page:
// before, the form took the first hundred of all its published products and kept the auction
// ones, so a product past the first hundred could not be auctioned from the console.
func TestOperatorIsOfferedEveryAuctionProduct(t *testing.T) {
	v := newVenueAt(t, behind(2*time.Minute))
	p := v.publishEnglishAuctionProduct(t, "公交客流小时数据（第二页的拍卖）")
	// 800 more of the operator's products, about a fifth priced by auction, all with ids before the
	// one just published (prd_000… sorts before a ULID's prd_01…).
	if err := catalogueseed.Load(context.Background(), v.db.Pool, venueclient.Operator.Org, 0, 800); err != nil {
		t.Fatal(err)
	}
	c := browserless(t)
	devSignIn(t, v, c, "demo-operator")
	_, page := get(t, c, v.URL+"/console/manage/auctions")
	offered := regexp.MustCompile(`id="open-(prd_[0-9A-Z]+)"`)
	if n := len(offered.FindAllString(page, -1)); n != 100 {
		t.Fatalf("the first page offers %d products, want 100 priced by auction", n)
	}
	next := regexp.MustCompile(`id="products-next" href="([^"]+)"`).FindStringSubmatch(page)
	if next == nil || strings.Contains(page, `id="open-`+p.Id+`"`) {
		t.Fatalf("the first page: a next page %v, the new product offered %v", next != nil, strings.Contains(page, p.Id))
	}
	seen := map[string]bool{}
	for path := next[1]; path != ""; {
		_, page = get(t, c, v.URL+html.UnescapeString(path))
		for _, m := range offered.FindAllStringSubmatch(page, -1) {
			if seen[m[1]] {
				t.Fatalf("%s offered twice", m[1])
			}
			seen[m[1]] = true
		}
		// The form posts back to the same page of products, so a refused opening shows the
		// product chosen among its neighbours.
		if !strings.Contains(page, `action="`+html.EscapeString(html.UnescapeString(path))+`"`) {
			t.Fatalf("the form of %s does not post back to it", html.UnescapeString(path))
		}
		path = ""
		if m := regexp.MustCompile(`id="products-next" href="([^"]+)"`).FindStringSubmatch(page); m != nil {
			path = m[1]
		}
	}
	if !seen[p.Id] {
		t.Fatalf("the product priced by auction was offered on no page (%d offered after the first)", len(seen))
	}
}

// publishEnglishAuctionProduct publishes a product priced by English auction, open for bids now
// (see behind) for 30 minutes, through the API, without opening its auction.
func (v *venue) publishEnglishAuctionProduct(t *testing.T, title string) client.Product {
	t.Helper()
	cert, err := v.client.Certify()
	if err != nil {
		t.Fatalf("certify: %v", err)
	}
	now, ptr := time.Now(), venueclient.Ptr[string]
	p, err := v.client.Publish(cert.Asset, cert.Scenario, title, client.PricingInput{Method: client.PricingInputMethodAuction,
		AuctionKind: venueclient.Ptr(client.PricingInputAuctionKindEnglish), Reserve: ptr("9000.00"), OpeningPrice: ptr("8000.00"),
		Increment: ptr("100.00"), Deposit: ptr("500.00"), StartAt: venueclient.Ptr(now.Add(-30 * time.Second)), EndAt: venueclient.Ptr(now.Add(30 * time.Minute))})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return p
}
