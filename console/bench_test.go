package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// BenchmarkCataloguePage serves the console's catalogue page (a signed-in buyer's session, the
// role gate, the search with its facets, the HTML rendered) over HTTP on the 100,000-product
// catalogue, for the query mix of BenchmarkCatalogueSearch (postgres) that the page's form can
// express. The baseline, measured in the same run on the same queries, is the API's JSON answer
// (GET /v1/catalogue): the ratio is what the page adds. Run it with
//
//	make bench-console   (go test ./console -run '^$' -bench CataloguePage -benchtime 480x)
func BenchmarkCataloguePage(b *testing.B) {
	const products = 100_000
	saved := rolesTTL
	rolesTTL = 0
	v := newVenue(b)
	rolesTTL = saved
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	start := time.Now()
	for from := 0; from < products; from += 10_000 {
		if err := catalogueseed.Load(ctx, v.db.Pool, venueclient.Operator.Org, from, from+10_000); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := v.db.Pool.Exec(ctx, `VACUUM ANALYZE products`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d products in %s", products, time.Since(start).Round(time.Millisecond))
	page := signedInClient(b, v.URL)
	mix := []url.Values{
		{"q": {"公交"}}, {"q": {"公交客流"}, "domain": {"transport"}}, {"q": {"医保"}, "sort": {"price_asc"}}, {"q": {"ridership"}},
		{"q": {"credit risk"}, "use_category": {"industry"}}, {"q": {"数据"}, "sort": {"newest"}}, {"domain": {"healthcare"}, "sort": {"price_desc"}},
		{"product_type": {"api_service"}, "pricing_method": {"auction"}}, {"q": {"遥感影像"}, "product_type": {"dataset"}}, {"q": {"tourism heritage"}},
	}
	fetch := func(c *http.Client, u string) time.Duration {
		t0 := time.Now()
		resp, err := c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s = %d", u, resp.StatusCode)
		}
		return time.Since(t0)
	}
	api := &http.Client{}
	for _, q := range mix { // warm the caches as a running venue's are warm
		fetch(page, v.URL+"/console/catalogue?"+q.Encode())
		fetch(api, v.URL+"/v1/catalogue?"+q.Encode())
	}
	var pages, answers []time.Duration
	i := 0
	b.ResetTimer()
	for b.Loop() {
		q := mix[i%len(mix)].Encode()
		pages = append(pages, fetch(page, v.URL+"/console/catalogue?"+q))
		answers = append(answers, fetch(api, v.URL+"/v1/catalogue?"+q))
		i++
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p50, p99 := percentile(pages, 50), percentile(pages, 99)
	a50, a99 := percentile(answers, 50), percentile(answers, 99)
	b.ReportMetric(ms(p50), "page-p50-ms")
	b.ReportMetric(ms(p99), "page-p99-ms")
	b.ReportMetric(ms(a99), "api-p99-ms")
	b.Logf("%d pages: p50 %.1f ms, p99 %.1f ms; the API's JSON for the same searches: p50 %.1f ms, p99 %.1f ms (page/API at p99: %.2f×)",
		len(pages), ms(p50), ms(p99), ms(a50), ms(a99), float64(p99)/float64(a99))
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

var benchCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signedInClient signs in as the demo buyer with the development sign-in and keeps the cookie.
func signedInClient(tb testing.TB, base string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/console/signin")
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		tb.Fatalf("no CSRF token on the sign-in page")
	}
	resp, err = c.PostForm(base+"/console/signin/dev", url.Values{"identity": {"demo-buyer"}, "_csrf": {string(m[1])}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/console/catalogue" {
		tb.Fatalf("sign-in ended at %s", resp.Request.URL)
	}
	return c
}
