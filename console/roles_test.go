package console_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// devSignIn signs a browserless client in as a demo identity and returns the page it lands on.
func devSignIn(t *testing.T, v *venue, c *http.Client, subject string) (landing, token string) {
	t.Helper()
	_, body := get(t, c, v.URL+"/console/signin")
	resp, _ := post(t, c, v.URL+"/console/signin/dev", url.Values{"identity": {subject}, "_csrf": {csrfOf(t, body)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in as %s = %d", subject, resp.StatusCode)
	}
	landing = resp.Header.Get("Location")
	_, body = get(t, c, v.URL+landing)
	return landing, csrfOf(t, body)
}

// Each role lands on its own first page and reaches only the pages whose operations the access
// policy lets it call; every new form is refused without the session's CSRF token, the statement
// upload (which checks its token itself, being multipart) included.
func TestRolePagesAndTheirForms(t *testing.T) {
	v := newVenue(t)
	pages := []string{"/obligations", "/payments", "/imports/new", "/exceptions", "/ledger", "/manage/products", "/reviews", "/audit", "/integrity"}
	for _, tc := range []struct {
		subject, home string
		reaches       []string // of pages: the others answer 403
	}{
		{"demo-buyer", "/console/catalogue", []string{"/manage/products", "/reviews", "/audit"}},
		{"demo-clerk", "/console/obligations", []string{"/obligations", "/payments", "/imports/new", "/exceptions", "/ledger", "/manage/products", "/reviews", "/audit", "/integrity"}},
		{"demo-operator", "/console/manage/products", []string{"/manage/products", "/reviews", "/audit"}},
		{"demo-data_bureau", "/console/reviews", []string{"/obligations", "/exceptions", "/ledger", "/manage/products", "/reviews", "/audit"}},
		{"demo-auditor", "/console/audit", []string{"/obligations", "/exceptions", "/ledger", "/manage/products", "/reviews", "/audit", "/integrity"}},
	} {
		c := browserless(t)
		home, _ := devSignIn(t, v, c, tc.subject)
		if home != tc.home {
			t.Errorf("%s lands on %s, want %s", tc.subject, home, tc.home)
		}
		for _, p := range pages {
			want := http.StatusForbidden
			for _, r := range tc.reaches {
				if r == p {
					want = http.StatusOK
				}
			}
			for _, l := range []string{"zh", "en"} {
				resp, body := get(t, c, v.URL+"/console"+p+"?lang="+l)
				if resp.StatusCode != want {
					t.Errorf("%s opening %s = %d, want %d", tc.subject, p, resp.StatusCode, want)
				}
				if strings.Contains(body, "%!") {
					t.Errorf("%s in %s: a message formatted with the wrong arguments:\n%s", p, l, body)
				}
			}
		}
	}

	// The clerk's, operator's and bureau's forms without the token: 403, nothing done.
	clerk := browserless(t)
	_, token := devSignIn(t, v, clerk, "demo-clerk")
	if resp, _ := post(t, clerk, v.URL+"/console/exceptions/rex_nothing/resolve", url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("resolving without the token = %d, want 403", resp.StatusCode)
	}
	upload := func(csrf string) int {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		if csrf != "" {
			_ = w.WriteField("_csrf", csrf)
		}
		_ = w.WriteField("period_end", "2026-12-01")
		f, _ := w.CreateFormFile("statement", "s.csv")
		_, _ = f.Write([]byte("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nX1,,某单位,1.00,2026-12-01,市级国库\n"))
		_ = w.Close()
		resp, err := clerk.Post(v.URL+"/console/imports", w.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := upload(""); got != http.StatusForbidden {
		t.Errorf("an upload without the token = %d, want 403", got)
	}
	if got := upload(token); got != http.StatusSeeOther {
		t.Errorf("an upload with the token = %d, want 303 to its outcomes", got)
	}
	operator := browserless(t)
	devSignIn(t, v, operator, "demo-operator")
	if resp, _ := post(t, operator, v.URL+"/console/manage/products/prd_nothing/publish", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("publishing without the token = %d, want 403", resp.StatusCode)
	}
	bureau := browserless(t)
	devSignIn(t, v, bureau, "demo-data_bureau")
	resp, body := post(t, bureau, v.URL+"/console/reviews/cap_nothing", url.Values{"verdict-legality": {"pass"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "表单已过期") {
		t.Errorf("a review without the token = %d, want 403", resp.StatusCode)
	}
}
