package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// The holder (the transport bureau, signed in through the identity provider) registers an asset
// card in the browser: measured at cost with no cost given, it is refused with the service's
// cost_components required (G4), the values typed kept; with the costs, the card is registered at
// their sum and the API reads the same card. It then changes the card (D5): a new version with
// its reason, the old one kept. A change sent from a form made before another change is refused
// with 409 (the version edited), not saved over it; another operator can do neither. Both forms pass axe-core. Before, cards were
// registered and changed through the API only.
func TestHolderRegistersAndChangesAnAssetCardInTheBrowser(t *testing.T) {
	v := newVenue(t, idpUser{Subject: "li.ming", Name: "李明", Role: datavenue.RoleOperator, Org: venueclient.Holder.Org})
	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#who")),
		chromedp.Click(chromedp.CSS(`nav a[href="/console/manage/assets"]`)), chromedp.WaitVisible(chromedp.CSS("#asset-new")),
		chromedp.Click(chromedp.CSS("#asset-new")), chromedp.WaitVisible(chromedp.CSS("#asset-form")))
	checkAccessibility(t, tab, "new asset card")

	run(t, tab, chromedp.SetValue(chromedp.CSS("#name"), "出租车运营轨迹数据"), chromedp.SetValue(chromedp.CSS("#summary"), "全市巡游出租车GPS轨迹，按分钟汇总"),
		chromedp.Click(chromedp.CSS("#right-holding")), chromedp.Click(chromedp.CSS("#right-processing")),
		chromedp.SetValue(chromedp.CSS("#classification"), "transport"), chromedp.SetValue(chromedp.CSS("#grade"), "important"),
		chromedp.SetValue(chromedp.CSS("#source"), "出租车车载终端"), chromedp.SetValue(chromedp.CSS("#scale"), "每日约 2,000 万条"),
		chromedp.Click(chromedp.CSS("#asset-submit")), chromedp.WaitVisible(chromedp.CSS("#asset-refused")))
	refused := conditionsShown(t, tab, "#asset-refused")
	if !slices.Equal(refused, []string{"required cost_components"}) {
		t.Errorf("the refusal's conditions are %q, want cost_components required (G4)", refused)
	}
	if got := value(t, tab, chromedp.Value(chromedp.CSS("#name"))); got != "出租车运营轨迹数据" {
		t.Errorf("the refused form's name = %q, want what was typed", got)
	}
	if !value(t, tab, chromedp.Evaluate[bool](`document.querySelector("#right-processing").checked`)) {
		t.Error("the refused form lost the rights ticked")
	}
	checkAccessibility(t, tab, "new asset card refused")
	screenshot(t, tab, "operator-asset-new-refused")

	run(t, tab, chromedp.SetValue(chromedp.CSS("#cost-collection"), "120000.00"), chromedp.SetValue(chromedp.CSS("#cost-storage"), "30000.50"),
		chromedp.Click(chromedp.CSS("#asset-submit")), chromedp.WaitVisible(chromedp.CSS("#asset-done")))
	mustContain(t, "the card registered", textOf(t, tab, "#card"), "数据资源", "重要数据", "每日", "150000.50")
	loc := value(t, tab, chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(u.Path, "/console/manage/assets/")
	ctx, api := context.Background(), v.client.API()
	card, err := venueclient.Result[client.AssetCard](api.GetAssetWithResponse(ctx, id, v.client.As(venueclient.Holder)))
	if err != nil || card.Name != "出租车运营轨迹数据" || card.OriginalCost != "150000.50" || card.BookValue != "150000.50" || card.Version != 1 ||
		card.HolderId != string(venueclient.Holder.Org) || !slices.Equal(card.Rights, []string{"holding", "processing"}) || len(card.CostComponents) != 2 {
		t.Fatalf("the API reads %+v (%v), want the card as typed at 150000.50", card, err)
	}

	// A change registration: real time from now on, with its reason.
	run(t, tab, chromedp.Click(chromedp.CSS("#asset-edit")), chromedp.WaitVisible(chromedp.CSS("#asset-form")))
	if got := value(t, tab, chromedp.Value(chromedp.CSS("#cost-storage"))); got != "30000.50" {
		t.Errorf("the change form's storage cost = %q, want the card's 30000.50", got)
	}
	checkAccessibility(t, tab, "asset card change")
	// The form as it is now, kept to be sent again after the change below (a second person's stale form).
	run(t, tab, chromedp.SetValue(chromedp.CSS("#update_frequency"), "realtime"), chromedp.SetValue(chromedp.CSS("#reason"), "接入实时轨迹数据"))
	form := formValues(t, tab, "#asset-form")
	run(t, tab, chromedp.Click(chromedp.CSS("#asset-submit")), chromedp.WaitVisible(chromedp.CSS("#asset-done")))
	mustContain(t, "the change", textOf(t, tab, "#asset-done"), "变更已登记")
	mustContain(t, "the versions", textOf(t, tab, "#versions"), "接入实时轨迹数据", "实时")
	card, err = venueclient.Result[client.AssetCard](api.GetAssetWithResponse(ctx, id, v.client.As(venueclient.Holder)))
	if err != nil || card.Version != 2 || card.UpdateFrequency != "realtime" || card.OriginalCost != "150000.50" {
		t.Fatalf("after the change the API reads %+v (%v), want version 2, real time, the same cost", card, err)
	}

	// The stale form (version 1) with a new key and another reason: refused as a conflict.
	form.Set("key", "another-"+form.Get("key"))
	form.Set("reason", "更正数据规模")
	status := postFrom(t, tab, "/console/manage/assets/"+id+"/edit", form)
	if status != http.StatusConflict {
		t.Errorf("a change from a form made at version 1 answered %d, want 409", status)
	}
	if card, err = venueclient.Result[client.AssetCard](api.GetAssetWithResponse(ctx, id, v.client.As(venueclient.Holder))); err != nil || card.Version != 2 {
		t.Fatalf("after the stale change the card is at version %d (%v), want 2", card.Version, err)
	}

	// Another operator (the data operator) neither gets the change form nor changes the card.
	other := browserless(t)
	devSignIn(t, v, other, "demo-operator")
	if resp, _ := get(t, other, v.URL+"/console/manage/assets/"+id+"/edit"); resp.StatusCode == http.StatusOK {
		t.Error("another operator got the holder's card's change form")
	}
	_, body := get(t, other, v.URL+"/console/manage/assets")
	form.Set("_csrf", csrfOf(t, body))
	form.Set("key", "other-operator")
	form.Set("version", "2")
	if resp, _ := post(t, other, v.URL+"/console/manage/assets/"+id+"/edit", form); resp.StatusCode == http.StatusSeeOther {
		t.Error("another operator changed the holder's card")
	}
	if card, err = venueclient.Result[client.AssetCard](api.GetAssetWithResponse(ctx, id, v.client.As(venueclient.Holder))); err != nil || card.Version != 2 {
		t.Fatalf("after another operator's attempt the card is at version %d (%v), want 2", card.Version, err)
	}
}
