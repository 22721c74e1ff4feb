package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// A buyer signs in with the development sign-in using the keyboard only, searches the catalogue,
// narrows it with a facet, and opens a product page: its certificates, the scope it is authorised
// for and the price guidance with the cap in force; then reads it in English.
func TestBuyerJourneyInTheBrowser(t *testing.T) {
	v := newVenue(t)
	product := v.publishTransport(t, 60)
	tab := newTab(t, newBrowser(t))

	run(t, tab, chromedp.Navigate(v.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#dev-signin")))
	checkAccessibility(t, tab, "sign-in")
	screenshot(t, tab, "signin")

	// Keyboard: the first Tab reaches the skip link; the buyer's choice is selected with Space and
	// the form sent with Enter.
	run(t, tab, chromedp.KeyEvent(kb.Tab))
	if focused := value(t, tab, chromedp.Evaluate[string](`document.activeElement.className`)); focused != "skip" {
		t.Errorf("the first Tab stop is %q, want the skip link", focused)
	}
	run(t, tab, chromedp.Focus(chromedp.CSS("#identity-demo-buyer")), chromedp.KeyEvent(" "))
	if !value(t, tab, chromedp.Evaluate[bool](`document.querySelector("#identity-demo-buyer").checked`)) {
		t.Fatal("Space did not select the buyer's identity")
	}
	run(t, tab, chromedp.Focus(chromedp.CSS("#dev-submit")), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#total")))
	mustContain(t, "the signed-in user", textOf(t, tab, "#who"), "买方", "智慧物流科技有限公司")
	checkAccessibility(t, tab, "catalogue")

	// Search: the words typed, Enter; the page that answers shows them in its field.
	run(t, tab, chromedp.SendKeys(chromedp.CSS("#q"), "公交"+kb.Enter), chromedp.WaitVisible(chromedp.CSS(`input#q[value="公交"]`)))
	mustContain(t, "the results", textOf(t, tab, "#entries"), product.Title)
	screenshot(t, tab, "catalogue")

	// A facet narrows the search: every entry is then of that domain, and the facet shows chosen.
	run(t, tab, chromedp.Click(chromedp.CSS(`#facet-domain a[href*="domain=transport"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#facet-domain a.selected`)))
	metas := value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#entries .meta")].map(e => e.textContent)`))
	if len(metas) == 0 {
		t.Fatal("the transport facet shows no products")
	}
	for _, m := range metas {
		mustContain(t, "an entry under the transport facet", m, "交通出行")
	}

	// The product page.
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/products/`+product.Id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#guidance")))
	mustContain(t, "certificates", textOf(t, tab, "#certificates"), "数据资源登记证书", "数据资产登记证书", "市交通运输局")
	mustContain(t, "authorisation scope", textOf(t, tab, "#scope"), product.Scenario, "交通规划研究", "产业发展")
	mustContain(t, "price cap", textOf(t, tab, "#cap"), "1000000.00", "数据局批复〔2026〕12号")
	// The suggested range's bases in the page's language (the domain's reasons are English words).
	mustContain(t, "the suggested high", textOf(t, tab, "#suggested-high"), "现行价格上限", "数据局批复〔2026〕12号")
	mustContain(t, "asking price", textOf(t, tab, "#price"), "12000.00")
	checkAccessibility(t, tab, "product")
	screenshot(t, tab, "product")

	// English, remembered from then on.
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #guidance`)))
	mustContain(t, "the English guidance", textOf(t, tab, "#guidance"), "Price cap", "Approval", "the price cap in force")
	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/catalogue"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #total`)))
	if h := textOf(t, tab, "h1"); !strings.Contains(h, "catalogue") {
		t.Errorf("the catalogue's heading in English = %q", h)
	}
	checkAccessibility(t, tab, "catalogue (English)")
}

// A person signs in through the identity provider (the test's, over HTTP) in the browser: the
// authorization code flow with PKCE, the ID token verified with the provider's keys.
func TestOIDCSignInInTheBrowser(t *testing.T) {
	v := newVenue(t, idpUser{Subject: "wang.fang", Name: "王芳（市场部）", Role: datavenue.RoleBuyer, Org: venueclient.BuyerA.Org})
	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#total")))
	mustContain(t, "the signed-in user", textOf(t, tab, "#who"), "买方", "智慧物流科技有限公司")
	if n := v.idp.Exchanged(); n != 1 {
		t.Errorf("the provider exchanged %d codes, want 1", n)
	}
}
