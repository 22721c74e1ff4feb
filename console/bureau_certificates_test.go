package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/datavenue/datavenue/audit"
)

// The data bureau corrects the resource certificate it issued (a new version, the old one
// superseded and linked to it) and cancels the corrected version with its reason, each form once
// however often it is sent; the finance bureau sees the data bureau's certificates without their
// forms, and a buyer is refused the pages.
func TestBureauCorrectsAndCancelsACertificate(t *testing.T) {
	v := newVenue(t)
	if _, err := v.client.Certify(); err != nil {
		t.Fatalf("certify: %v", err)
	}
	bureau := browserless(t)
	devSignIn(t, v, bureau, "demo-data_bureau")
	resp, body := get(t, bureau, v.URL+"/console/certificates")
	rows := regexp.MustCompile(`id="cert-(crt_[0-9A-Z]+)" data-status="valid"`).FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(rows) != 2 || !strings.Contains(body, `href="/console/certificates" aria-current="page"`) {
		t.Fatalf("the bureau's certificates = %d with %d valid, or not current in the menu", resp.StatusCode, len(rows))
	}
	// Of the two (the resource certificate and the asset certificate), the data bureau issued one.
	var page, form string
	for _, r := range rows {
		if _, b := get(t, bureau, v.URL+"/console/certificates/"+r[1]); strings.Contains(b, `id="correct-form"`) {
			page, form = v.URL+"/console/certificates/"+r[1], b
		}
	}
	if page == "" {
		t.Fatal("no certificate offers the data bureau its correction form")
	}
	until := regexp.MustCompile(`name="valid_until" required value="([0-9-]+)"`).FindStringSubmatch(form)
	correction := url.Values{"_csrf": {csrfOf(t, form)}, "key": {keyOf(t, form, "correct-form")}, "scenarios": {"公交线网优化\n客流预测"},
		"product_types": {"dataset", "data_report"}, "valid_until": {until[1]}, "reason": {"授权场景表述有误"}}
	var next string
	for range 2 {
		resp, _ := post(t, bureau, page+"/correct", correction)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=correct") || (next != "" && loc != next) {
			t.Fatalf("the correction = %d to %q (first: %q)", resp.StatusCode, loc, next)
		}
		next = loc
	}
	_, body = get(t, bureau, v.URL+next)
	mustContain(t, "the corrected version", body, " v2</dd>", "公交线网优化<br>客流预测<br>", "授权场景表述有误", `data-status="valid"`)
	_, body = get(t, bureau, page)
	mustContain(t, "the superseded version", body, `data-status="superseded"`, `id="cert-successor"`)
	if strings.Contains(body, `id="correct-form"`) {
		t.Error("a superseded version still offers the correction")
	}

	corrected := v.URL + strings.TrimSuffix(next, "?done=correct")
	// Both pages pass axe-core in a real browser, the forms shown.
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-data_bureau", "#who")
	run(t, tab, chromedp.Navigate(v.URL+"/console/certificates"), chromedp.WaitVisible(chromedp.CSS("#certificates")))
	checkAccessibility(t, tab, "certificates issued")
	run(t, tab, chromedp.Navigate(corrected), chromedp.WaitVisible(chromedp.CSS("#cancel-form")))
	checkAccessibility(t, tab, "a certificate")

	_, body = get(t, bureau, corrected)
	cancel := url.Values{"_csrf": {csrfOf(t, body)}, "key": {keyOf(t, body, "cancel-form")}, "reason": {""}}
	if resp, _ := post(t, bureau, corrected+"/cancel", cancel); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a cancellation without a reason = %d, want 422", resp.StatusCode)
	}
	cancel.Set("reason", "源数据已销毁")
	for range 2 {
		if resp, _ := post(t, bureau, corrected+"/cancel", cancel); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?done=cancel") {
			t.Fatalf("the cancellation = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_, body = get(t, bureau, corrected)
	mustContain(t, "the cancelled version", body, `data-status="cancelled"`, "源数据已销毁")
	events, err := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "certificate", ResourceID: strings.TrimPrefix(corrected, v.URL+"/console/certificates/")})
	if err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for _, e := range events {
		if strings.Contains(e.Action, "cancel") {
			cancelled++
		}
	}
	if cancelled != 1 {
		t.Fatalf("audit of the corrected version: %d cancellations, want 1 (%+v)", cancelled, events)
	}

	finance := browserless(t)
	devSignIn(t, v, finance, "demo-finance_bureau")
	if _, body := get(t, finance, page); strings.Contains(body, `id="correct-form"`) || strings.Contains(body, `id="cancel-form"`) {
		t.Error("the finance bureau is offered the forms of the data bureau's certificate")
	}
	buyer := browserless(t)
	devSignIn(t, v, buyer, "demo-buyer")
	if resp, _ := get(t, buyer, v.URL+"/console/certificates"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a buyer opening the certificates = %d, want 403", resp.StatusCode)
	}
}
