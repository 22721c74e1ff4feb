package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// browserless is an HTTP client with a cookie jar that does not follow redirects, so that each
// step of a sign-in can be checked.
func browserless(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	return m[1]
}

func TestSessionCookieAndHeaders(t *testing.T) {
	v := newVenue(t)
	c := browserless(t)
	resp, body := get(t, c, v.URL+"/console/catalogue")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
		t.Fatalf("an anonymous catalogue = %d to %q, want 303 to /console/signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = get(t, c, v.URL+"/console/signin")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page = %d: %s", resp.StatusCode, body)
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"dv_console=", "HttpOnly", "SameSite=Lax", "path=/console"} {
		if !strings.Contains(strings.ToLower(cookie), strings.ToLower(want)) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(strings.ToLower(cookie), "secure") {
		t.Errorf("Set-Cookie %q is Secure on a venue served over plain HTTP", cookie)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q, want the console's own (scripts from itself, nothing unsafe)", csp)
	}
	for _, id := range demoIdentities() {
		if !strings.Contains(body, `value="`+id.Subject+`"`) {
			t.Errorf("the development sign-in does not list %s", id.Subject)
		}
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	v := newVenue(t)
	c := browserless(t)
	_, body := get(t, c, v.URL+"/console/signin")
	token := csrfOf(t, body)
	for _, form := range []url.Values{{"identity": {"demo-buyer"}}, {"identity": {"demo-buyer"}, "_csrf": {token + "x"}}} {
		resp, _ := post(t, c, v.URL+"/console/signin/dev", form)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("sign-in with _csrf %q = %d, want 403", form.Get("_csrf"), resp.StatusCode)
		}
	}
	before := cookieValue(t, c, v.URL)
	resp, _ := post(t, c, v.URL+"/console/signin/dev", url.Values{"identity": {"demo-buyer"}, "_csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/catalogue" {
		t.Fatalf("sign-in = %d to %q, want 303 to the catalogue", resp.StatusCode, resp.Header.Get("Location"))
	}
	if after := cookieValue(t, c, v.URL); after == before || after == "" {
		t.Fatal("signing in kept the session id it had before (session fixation)")
	}
	resp, body = get(t, c, v.URL+"/console/catalogue")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "智慧物流科技有限公司") {
		t.Fatalf("catalogue after sign-in = %d, lacks the buyer's organisation:\n%s", resp.StatusCode, body)
	}
	// The signed-in session has a token of its own: the sign-in page's no longer signs out.
	if resp, _ := post(t, c, v.URL+"/console/signout", url.Values{"_csrf": {token}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out with the anonymous session's token = %d, want 403", resp.StatusCode)
	}
	resp, _ = post(t, c, v.URL+"/console/signout", url.Values{"_csrf": {csrfOf(t, body)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out = %d, want 303", resp.StatusCode)
	}
	if cookieValue(t, c, v.URL) != "" {
		t.Error("after sign-out the browser still holds the session cookie")
	}
	if resp, _ := get(t, c, v.URL+"/console/catalogue"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("catalogue after sign-out = %d, want 303 to the sign-in", resp.StatusCode)
	}
}

func cookieValue(t *testing.T, c *http.Client, base string) string {
	u, _ := url.Parse(base + "/console/")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "dv_console" {
			return k.Value
		}
	}
	return ""
}

// oidcSignIn walks the authorization code flow without a browser, as the user subject.
func oidcSignIn(t *testing.T, v *venue, c *http.Client, subject string) (*http.Response, string) {
	t.Helper()
	resp, body := get(t, c, v.URL+"/console/signin/oidc")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("OIDC start = %d: %s", resp.StatusCode, body)
	}
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(authz.String(), v.idp.URL+"/authorize?") {
		t.Fatalf("OIDC start sent the browser to %s", authz)
	}
	if resp, body := get(t, c, authz.String()); resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize page = %d: %s", resp.StatusCode, body)
	}
	form := authz.Query()
	form.Set("user", subject)
	resp, _ = post(t, c, v.idp.URL+"/authorize", form)
	return get(t, c, resp.Header.Get("Location"))
}

func TestOIDCSignInUnderTheRoleGate(t *testing.T) {
	v := newVenue(t,
		idpUser{Subject: "zhang.wei", Name: "张伟", Role: datavenue.RoleBuyer, Org: venueclient.BuyerA.Org},
		// The provider says this user buys for the data bureau, which holds no buyer role.
		idpUser{Subject: "li.na", Name: "李娜", Role: datavenue.RoleBuyer, Org: venueclient.DataBureau.Org})
	c := browserless(t)
	resp, body := oidcSignIn(t, v, c, "zhang.wei")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/catalogue" {
		t.Fatalf("callback = %d to %q, want 303 to the catalogue: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, body := get(t, c, v.URL+"/console/catalogue"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "智慧物流科技有限公司") {
		t.Fatalf("catalogue = %d, lacks the buyer's organisation", resp.StatusCode)
	}

	other := browserless(t)
	resp, body = oidcSignIn(t, v, other, "li.na")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "role_not_held") && !strings.Contains(body, "does not hold") {
		t.Fatalf("a role the organisation does not hold: callback = %d, want 403 naming the role gate:\n%s", resp.StatusCode, body)
	}

	// A callback whose state is not this session's is refused, and a code is good only once.
	third := browserless(t)
	get(t, third, v.URL+"/console/signin")
	if resp, _ := get(t, third, v.URL+"/console/signin/callback?code=x&state=forged"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged state = %d, want 403", resp.StatusCode)
	}
}

// Production turns the development issuer off: then the sign-in page lists no demo identity and
// its route signs no one in, whatever identities the binary was built with.
func TestNoDevelopmentSignInWithoutTheDevelopmentIssuer(t *testing.T) {
	devIssuer = false
	v := newVenue(t)
	devIssuer = true
	c := browserless(t)
	resp, body := get(t, c, v.URL+"/console/signin")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "demo-buyer") || strings.Contains(body, "dev-signin") {
		t.Fatalf("sign-in page = %d and lists the demo identities:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `id="oidc-signin"`) {
		t.Fatalf("the sign-in page lacks the identity provider's link:\n%s", body)
	}
	if resp, _ := post(t, c, v.URL+"/console/signin/dev", url.Values{"identity": {"demo-buyer"}}); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("the development sign-in signed someone in with the development issuer off")
	}
}

// The console spends the budgets the API's limiter keeps: a signed-in person's organisation's,
// shared with its API calls (the console is no way around the organisation's limit), and before
// signing in its address's (refused sign-ins are audited and anonymous sessions written: without a
// limit a client could grow both without end). Over budget: 429 with Retry-After.
func TestConsoleSpendsTheRateBudgets(t *testing.T) {
	v := newVenueWith(t, nil, func(cfg *config.Config) { cfg.RatePerSecond, cfg.RateBurst = 1, 4 })
	c := browserless(t)
	devSignIn(t, v, c, "demo-buyer")
	refusedAt := func(c *http.Client, path string) *http.Response {
		t.Helper()
		for range 12 {
			if resp, _ := get(t, c, v.URL+path); resp.StatusCode == http.StatusTooManyRequests {
				return resp
			} else if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d before the budget ran out", path, resp.StatusCode)
			}
		}
		t.Fatalf("GET %s never refused with a budget of 4 and 1 a second", path)
		return nil
	}
	resp := refusedAt(c, "/console/catalogue")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("a refused page without Retry-After")
	}
	// The organisation's budget is the one its API calls spend: right after the console ran it out,
	// the API answers 429 before the burst of 4 a budget of its own would allow (a slow machine may
	// have refilled one or two a second meanwhile, never four at once).
	tok, err := v.client.Minter.Mint("demo-buyer", venueclient.BuyerA.Role, venueclient.BuyerA.Org, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for ; allowed < 4; allowed++ {
		req, _ := http.NewRequest(http.MethodGet, v.URL+"/v1/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		apiResp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		apiResp.Body.Close()
		if apiResp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if allowed == 4 {
		t.Fatal("the buyer's API calls had a budget of their own after its console pages spent the organisation's")
	}
	// Anyone not signed in spends its address's.
	if resp := refusedAt(browserless(t), "/console/signin"); resp.Header.Get("Retry-After") == "" {
		t.Fatal("a refused sign-in page without Retry-After")
	}
}
