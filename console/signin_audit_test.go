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
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// sessionEvents are the console's sign-in records, oldest first, as "action subject".
func sessionEvents(t *testing.T, v *venue) []string {
	t.Helper()
	list, err := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "console_session", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].Action+" "+list[i].ActorSubject+" "+list[i].ActorRole)
	}
	return out
}

// Every sign-in (the development list, a provider), every refused sign-in and every sign-out
// leaves a record in the audit trail the API's audit events serve; a sign-out at a provider that
// offers RP-initiated logout ends the provider's session too.
func TestSignInsAndSignOutsAreAudited(t *testing.T) {
	v := newVenue(t,
		idpUser{Subject: "zhang.wei", Name: "张伟", Role: datavenue.RoleBuyer, Org: venueclient.BuyerA.Org},
		idpUser{Subject: "li.na", Name: "李娜", Role: datavenue.RoleBuyer, Org: venueclient.DataBureau.Org})

	// The development sign-in, a refused one (an identity not on the list), a sign-out.
	dev := browserless(t)
	_, token := devSignIn(t, v, dev, "demo-clerk")
	if resp, _ := post(t, dev, v.URL+"/console/signout", url.Values{"_csrf": {token}}); resp.Header.Get("Location") != "/console/signin" {
		t.Fatalf("a development sign-out went to %q, want the sign-in page (no provider session to end)", resp.Header.Get("Location"))
	}
	stranger := browserless(t)
	_, body := get(t, stranger, v.URL+"/console/signin")
	if resp, _ := post(t, stranger, v.URL+"/console/signin/dev", url.Values{"identity": {"demo-nobody"}, "_csrf": {csrfOf(t, body)}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an identity not on the list = %d, want 422", resp.StatusCode)
	}

	// A provider sign-in, and its sign-out at the provider.
	c := browserless(t)
	if resp, body := oidcSignIn(t, v, c, "zhang.wei"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("OIDC sign-in = %d: %s", resp.StatusCode, body)
	}
	_, body = get(t, c, v.URL+"/console/catalogue")
	resp, _ := post(t, c, v.URL+"/console/signout", url.Values{"_csrf": {csrfOf(t, body)}})
	to, _ := url.Parse(resp.Header.Get("Location"))
	q := to.Query()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to.String(), v.idp.URL+"/logout?") || q.Get("id_token_hint") == "" ||
		q.Get("post_logout_redirect_uri") != v.URL+"/console/signin" || q.Get("client_id") != v.idp.clientID {
		t.Fatalf("sign-out = %d to %s, want 303 to the provider's end_session_endpoint with the hint and the way back", resp.StatusCode, to)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+v.idp.URL) {
		t.Errorf("Content-Security-Policy = %q, want the provider's origin in form-action (the sign-out form redirects there)", csp)
	}
	resp, _ = get(t, c, to.String())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != v.URL+"/console/signin" {
		t.Fatalf("the provider's logout = %d to %q, want 302 back to the console's sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := v.idp.Logouts(); !slices.Equal(got, []string{"zhang.wei"}) {
		t.Errorf("the provider ended the sessions of %v, want [zhang.wei]", got)
	}
	if resp, _ := get(t, c, v.URL+"/console/catalogue"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the catalogue after sign-out = %d, want 303 to the sign-in", resp.StatusCode)
	}

	// A provider sign-in the role gate refuses, and a forged callback.
	if resp, _ := oidcSignIn(t, v, browserless(t), "li.na"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a role the organisation does not hold = %d, want 403", resp.StatusCode)
	}
	forger := browserless(t)
	get(t, forger, v.URL+"/console/signin")
	get(t, forger, v.URL+"/console/signin/callback?code=x&state=forged")

	want := []string{
		"console.signin demo-clerk clerk", "console.signout demo-clerk clerk", "console.signin_refused demo-nobody ",
		"console.signin zhang.wei buyer", "console.signout zhang.wei buyer", "console.signin_refused li.na buyer",
		"console.signin_refused anonymous ",
	}
	if got := sessionEvents(t, v); !slices.Equal(got, want) {
		t.Fatalf("the audit trail's console records:\n got %q\nwant %q", got, want)
	}
	// The refusal names its reason; a sign-in and its sign-out name the same session.
	list, _ := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "console_session", Limit: 100})
	byAction := map[string][]audit.Event{}
	for _, e := range list {
		byAction[e.Action+" "+e.ActorSubject] = append(byAction[e.Action+" "+e.ActorSubject], e)
	}
	if e := byAction["console.signin_refused li.na"]; len(e) != 1 || !strings.Contains(string(e[0].Detail), `"method": "oidc"`) || !strings.Contains(string(e[0].Detail), "role") {
		t.Errorf("the refused provider sign-in's record = %+v, want its method and the role gate's code", e)
	}
	in, out := byAction["console.signin zhang.wei"], byAction["console.signout zhang.wei"]
	if len(in) != 1 || len(out) != 1 || in[0].ResourceID != out[0].ResourceID || in[0].ActorIssuer != v.idp.URL || in[0].ActorOrg != venueclient.BuyerA.Org {
		t.Errorf("sign-in %+v and sign-out %+v: want the same session, the provider as issuer, the buyer's organisation", in, out)
	}
}

// A provider whose claims are its own (a list of roles, a department code) is read through the
// configured claim names and value maps, and the role gate still decides: of several mapped roles
// the one the organisation holds is taken; an unmapped unit or a role the unit does not hold is
// refused.
func TestOIDCClaimMapping(t *testing.T) {
	oidcClaims = config.OIDC{RoleClaim: "roles", OrgClaim: "dept_code",
		RoleMap: map[string]string{"data_bureau_staff": "data_bureau", "trader": "buyer"},
		OrgMap:  map[string]string{"310000-SJJ": string(venueclient.DataBureau.Org), "310000-WL": string(venueclient.BuyerA.Org)}}
	defer func() { oidcClaims = config.OIDC{} }()
	v := newVenue(t,
		// Mail access is no venue role; trader maps to buyer, which the data bureau does not hold.
		idpUser{Subject: "wang.fang", Name: "王芳", Claims: map[string]any{"roles": []string{"mail_user", "trader", "data_bureau_staff"}, "dept_code": "310000-SJJ"}},
		idpUser{Subject: "zhao.lei", Name: "赵磊", Claims: map[string]any{"roles": []string{"data_bureau_staff"}, "dept_code": "999999-XX"}},
		idpUser{Subject: "sun.li", Name: "孙丽", Claims: map[string]any{"roles": []string{"data_bureau_staff"}, "dept_code": "310000-WL"}},
		// The venue's own words are not taken when a role map is set.
		idpUser{Subject: "qian.jun", Name: "钱军", Claims: map[string]any{"roles": "data_bureau", "dept_code": "310000-SJJ"}})

	c := browserless(t)
	resp, body := oidcSignIn(t, v, c, "wang.fang")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/reviews" {
		t.Fatalf("wang.fang: callback = %d to %q, want 303 to the data bureau's queue: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, body := get(t, c, v.URL+"/console/reviews"); !strings.Contains(body, "数据管理部门") {
		t.Errorf("wang.fang is not signed in as the data bureau:\n%s", body)
	}
	for _, tc := range []struct{ subject, code string }{
		{"zhao.lei", "token_bad_claims"}, {"sun.li", "role_not_held"}, {"qian.jun", "token_bad_role"},
	} {
		resp, _ := oidcSignIn(t, v, browserless(t), tc.subject)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: callback = %d, want 403", tc.subject, resp.StatusCode)
		}
		list, _ := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "console_session", Limit: 100})
		found := false
		for _, e := range list {
			found = found || e.Action == "console.signin_refused" && e.ActorSubject == tc.subject && strings.Contains(string(e.Detail), tc.code)
		}
		if !found {
			t.Errorf("%s: no refused sign-in recorded with %s", tc.subject, tc.code)
		}
	}
}

// In a real browser the sign-out form's answer may take the person to the provider (the page's
// Content-Security-Policy lets the form redirect there) and back to the sign-in page, both
// sessions ended.
func TestSignOutAtTheProviderInTheBrowser(t *testing.T) {
	v := newVenue(t, idpUser{Subject: "wang.fang", Name: "王芳（市场部）", Role: datavenue.RoleBuyer, Org: venueclient.BuyerA.Org})
	tab := newTab(t, newBrowser(t))
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")),
		chromedp.Click(chromedp.CSS("#oidc-signin")), chromedp.WaitVisible(chromedp.CSS("#idp-submit")),
		chromedp.Click(chromedp.CSS("#idp-submit")), chromedp.WaitVisible(chromedp.CSS("#who")),
		chromedp.Click(chromedp.CSS(`form[action="/console/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")))
	if got := v.idp.Logouts(); !slices.Equal(got, []string{"wang.fang"}) {
		t.Errorf("the provider ended the sessions of %v, want [wang.fang]", got)
	}
	if loc := value(t, tab, chromedp.Location()); loc != v.URL+"/console/signin" {
		t.Errorf("after signing out the browser is at %s, want the console's sign-in page", loc)
	}
	run(t, tab, chromedp.Navigate(v.URL+"/console/catalogue"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")))
}
