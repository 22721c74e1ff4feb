package console_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The operator sets its product's revenue-sharing agreement in the browser, from the product's
// page: ratios that do not add up to 1 are refused with the service's ratios_not_whole and the
// rows typed are kept; corrected, they make version 1, which the API reads back party by party.
// A second version by input cost: an amount the form cannot read is refused before the service,
// then version 2 holds the costs. Both pages pass axe-core; a buyer may not open the page.
// Another operator has no such page for the product. Before, an agreement could be set only through the API (PUT /v1/products/{id}/agreement).
func TestOperatorSetsARevenueAgreementInTheBrowser(t *testing.T) {
	v := newVenue(t, idpUser{Subject: "li.ming", Name: "李明", Role: datavenue.RoleOperator, Org: venueclient.Holder.Org})
	p := v.draftWithoutCap(t)
	holder, operator := string(venueclient.Holder.Org), string(venueclient.Operator.Org)
	tab := newTab(t, newBrowser(t))
	signInAs(t, v, tab, "demo-operator", "#who")
	run(t, tab, chromedp.Navigate(v.URL+"/console/manage/products/"+p.Id), chromedp.WaitVisible(chromedp.CSS("#agreement-edit")),
		chromedp.Click(chromedp.CSS("#agreement-edit")), chromedp.WaitVisible(chromedp.CSS("#agreement-form")))
	mustContain(t, "no agreement yet", textOf(t, tab, "#current"), "尚无收益分配协议")
	checkAccessibility(t, tab, "agreement")

	fill := func(row, party, role, ratio string) {
		run(t, tab, chromedp.SetValue(chromedp.CSS("#party-"+row), party), chromedp.SetValue(chromedp.CSS("#role-"+row), role),
			chromedp.SetValue(chromedp.CSS("#ratio-"+row), ratio))
	}
	fill("0", holder, "holder", "0.60")
	fill("1", operator, "operator", "0.30")
	fill("2", "", "venue_fee", "0.05")
	run(t, tab, chromedp.Click(chromedp.CSS("#agreement-submit")), chromedp.WaitVisible(chromedp.CSS("#agreement-refused")))
	mustContain(t, "the refusal", textOf(t, tab, "#agreement-refused"), "0.95")
	if got := conditionsShown(t, tab, "#agreement-refused"); !slices.Equal(got, []string{"ratios_not_whole parties"}) {
		t.Errorf("the refusal's conditions are %q, want ratios_not_whole on the parties", got)
	}
	if got := value(t, tab, chromedp.Value(chromedp.CSS("#ratio-0"))); got != "0.60" {
		t.Errorf("the refused form's first ratio = %q, want what was typed (0.60)", got)
	}
	if got := value(t, tab, chromedp.Value(chromedp.CSS("#party-1"))); got != operator {
		t.Errorf("the refused form's second party = %q, want %s", got, operator)
	}
	checkAccessibility(t, tab, "agreement refused")

	run(t, tab, chromedp.SetValue(chromedp.CSS("#ratio-2"), "0.10"), chromedp.Click(chromedp.CSS("#agreement-submit")),
		chromedp.WaitVisible(chromedp.CSS("#agreement-saved")))
	mustContain(t, "version 1", textOf(t, tab, "#agreement-saved"), "第 1 版")
	rows := value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#agreement-parties tbody tr")].map(r => r.dataset.role + " " + r.cells[2].textContent.trim())`))
	if len(rows) != 3 || rows[0] != "holder 0.60" || rows[1] != "operator 0.30" || rows[2] != "venue_fee 0.10" {
		t.Errorf("the agreement shown = %q, want holder 0.60, operator 0.30, venue_fee 0.10", rows)
	}
	screenshot(t, tab, "operator-agreement")
	ctx, api := context.Background(), v.client.API()
	a, err := venueclient.Result[client.Agreement](api.GetAgreementWithResponse(ctx, p.Id, v.client.As(venueclient.Operator)))
	if err != nil || a.Version != 1 || a.Basis != "ratio" || len(a.Parties) != 3 || a.Parties[0].Party == nil || *a.Parties[0].Party != holder ||
		a.Parties[0].Ratio == nil || *a.Parties[0].Ratio != "0.60" || a.Parties[2].Party != nil || a.Parties[2].Role != "venue_fee" {
		t.Fatalf("the API reads %+v (%v), want version 1 with the three parties typed", a, err)
	}

	// By input cost: an amount with three places is refused before the service, the rows kept.
	run(t, tab, chromedp.Click(chromedp.CSS("#basis-cost")),
		chromedp.SetValue(chromedp.CSS("#cost-0-production"), "8000.00"), chromedp.SetValue(chromedp.CSS("#cost-0-collection"), "2000.005"),
		chromedp.SetValue(chromedp.CSS("#cost-1-processing"), "1500.00"), chromedp.SetValue(chromedp.CSS("#cost-2-circulation"), "500.00"))
	// The browser's own check (the field's pattern) would stop the form first; the venue must
	// refuse what an older browser, or a script, sends anyway.
	value(t, tab, chromedp.Evaluate[any](`document.querySelector("#cost-0-collection").removeAttribute("pattern"); 0`))
	run(t, tab, chromedp.Click(chromedp.CSS("#agreement-submit")), chromedp.WaitVisible(chromedp.CSS("#agreement-refused")))
	mustContain(t, "the amount refused", textOf(t, tab, "#agreement-refused"), "parties[0].costs.collection")
	if got := conditionsShown(t, tab, "#agreement-refused"); !slices.Equal(got, []string{"invalid_amount parties[0].costs.collection"}) {
		t.Errorf("the refusal's conditions are %q, want the holder's collection cost's invalid_amount", got)
	}
	run(t, tab, chromedp.SetValue(chromedp.CSS("#cost-0-collection"), "2000.00"), chromedp.Click(chromedp.CSS("#agreement-submit")),
		chromedp.WaitVisible(chromedp.CSS("#agreement-saved")))
	a, err = venueclient.Result[client.Agreement](api.GetAgreementWithResponse(ctx, p.Id, v.client.As(venueclient.Operator)))
	if err != nil || a.Version != 2 || a.Basis != "cost" || len(a.Parties) != 3 || a.Parties[0].Costs == nil ||
		(*a.Parties[0].Costs)["production"] != "8000.00" || (*a.Parties[0].Costs)["collection"] != "2000.00" || a.Parties[0].Ratio != nil {
		t.Fatalf("the API reads %+v (%v), want version 2 by cost, the holder's 8000.00 and 2000.00 and no ratio", a, err)
	}
	events, err := v.db.Audit().Events(ctx, audit.Filter{ResourceID: p.Id})
	if set := countActions(events, "agreement.versioned"); err != nil || set != 2 {
		t.Errorf("audit: %d agreement versions recorded (%v), want 2", set, err)
	}

	// Another operator (the transport bureau, operating its own data) gets no page for a product
	// it does not operate: neither the parties' shares nor a form the venue would refuse.
	other := browserless(t)
	oidcSignIn(t, v, other, "li.ming")
	if resp, _ := get(t, other, v.URL+"/console/manage/agreements/"+p.Id); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another operator opening the agreement page = %d, want 404", resp.StatusCode)
	}

	buyer := browserless(t)
	devSignIn(t, v, buyer, "demo-buyer")
	if resp, _ := get(t, buyer, v.URL+"/console/manage/agreements/"+p.Id); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a buyer opening the agreement page = %d, want 403", resp.StatusCode)
	}
}
