package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// An auditor reads the audit trail, narrows it to one product's events by the filters, and opens
// the integrity page: every stored invariant and the voucher chain hold on a venue that has
// certified, published and settled nothing wrong.
func TestAuditorReadsTheTrailInTheBrowser(t *testing.T) {
	v := newVenue(t)
	p := v.publishTransport(t, 0)
	tab := newTab(t, newBrowser(t))

	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-auditor")), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS("#events")))
	mustContain(t, "the trail", textOf(t, tab, "#events"), "product.published", "certificate", "organisation")
	checkAccessibility(t, tab, "audit trail")

	// The filters: the product's own events only.
	// (An option is never "visible": the page that answers is waited for by its presence.)
	run(t, tab, chromedp.SetValue(chromedp.CSS("#resource_type"), "product"), chromedp.SendKeys(chromedp.CSS("#resource_id"), p.Id),
		chromedp.Click(chromedp.CSS(`#audit-filter button`)), chromedp.WaitReady(chromedp.CSS(`#resource_type option[value="product"][selected]`)))
	resources := value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events tbody tr td:nth-child(4)")].map(e => e.textContent)`))
	if len(resources) < 3 { // created, submitted, published
		t.Fatalf("the product's trail has %d events, want its creation, submission and publication", len(resources))
	}
	for _, r := range resources {
		mustContain(t, "a filtered event", r, p.Id)
	}
	screenshot(t, tab, "auditor-trail")

	run(t, tab, chromedp.Click(chromedp.CSS(`a[href="/console/integrity"]`)), chromedp.WaitVisible(chromedp.CSS("#invariants")))
	mustContain(t, "the summary", textOf(t, tab, "#integrity-summary"), "0 条被违反")
	mustContain(t, "the voucher chain", textOf(t, tab, "#invariant-voucher_chain_intact"), "成立")
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#invariants tr.broken").length`)); n != 0 {
		t.Errorf("%d invariants broken on a clean venue", n)
	}
	checkAccessibility(t, tab, "integrity")
	screenshot(t, tab, "auditor-integrity")
}
