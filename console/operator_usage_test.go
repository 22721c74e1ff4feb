package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The operator reads the metered use of its subscriptions: a product sold as a service (a price
// per call under its caps), a buyer's accepted offer making a subscription, and a signed batch of
// three records from the operator's gateway; the usage page shows the product's 12.50 calls in 3
// records and the subscription's period, in Chinese and in English, and its two files download.
func TestOperatorReadsUsageInTheBrowser(t *testing.T) {
	v := newVenue(t)
	// A negotiated per-call subscription with a signed batch of three records (12.5 calls).
	_, sub := v.meteredSubscription(t, "公交客流实时查询接口（按次计费订阅）")

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
