package api_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/listing"
)

const seeded = 620

func newCatalogue(t *testing.T) *venue {
	t.Helper()
	v := newVenue(t)
	v.seedParties()
	if err := catalogueseed.Load(context.Background(), v.db.Pool, operatorOrg, 0, seeded); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *venue) search(query string) listing.SearchResult {
	v.t.Helper()
	r := v.do("GET", "/v1/catalogue?"+query, "", nil)
	mustStatus(v.t, r, 200)
	return decode[listing.SearchResult](v.t, r)
}

// all follows next_cursor to the end and returns every entry.
func (v *venue) all(query string) []listing.Entry {
	v.t.Helper()
	var out []listing.Entry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			v.t.Fatal("pagination does not end")
		}
		res := v.search(query + "&limit=37&facets=false&cursor=" + cursor)
		out = append(out, res.Data...)
		if res.NextCursor == "" {
			return out
		}
		cursor = res.NextCursor
	}
}

func TestCatalogueSearchChineseAndEnglish(t *testing.T) {
	v := newCatalogue(t)
	for _, tt := range []struct {
		q     string
		match func(listing.Entry) bool
	}{
		{"公交", func(e listing.Entry) bool { return strings.Contains(e.Title+e.Description, "公交") }},
		{"客流", func(e listing.Entry) bool { return strings.Contains(e.Title+e.Description, "客流") }},
		{"ridership", func(e listing.Entry) bool { return strings.Contains(strings.ToLower(e.Title+e.TitleEN), "ridership") }},
		{"Rider", func(e listing.Entry) bool { return strings.Contains(strings.ToLower(e.Title+e.TitleEN), "rider") }},
		{"医保 insurance", func(e listing.Entry) bool { return strings.Contains(e.Title+e.Description, "医保") }},
	} {
		t.Run(tt.q, func(t *testing.T) {
			res := v.search("q=" + url.QueryEscape(tt.q))
			if res.Total == 0 || len(res.Data) == 0 {
				t.Fatalf("no match for %q", tt.q)
			}
			for _, e := range res.Data {
				if !tt.match(e) {
					t.Fatalf("%q matched %q / %q", tt.q, e.Title, e.TitleEN)
				}
			}
			for i := 1; i < len(res.Data); i++ {
				if res.Data[i].Rank > res.Data[i-1].Rank {
					t.Fatalf("not by relevance: %v then %v", res.Data[i-1].Rank, res.Data[i].Rank)
				}
			}
		})
	}
	if res := v.search("q=" + url.QueryEscape("量子")); res.Total != 0 {
		t.Fatalf("量子 (in no text) matched %d", res.Total)
	}
	// Query syntax and SQL metacharacters are separators, never errors.
	for _, q := range []string{"'; DROP TABLE products; --", "a & !b | (c", `\`, "公交:*", strings.Repeat("交", 150)} {
		mustStatus(t, v.do("GET", "/v1/catalogue?q="+url.QueryEscape(q), "", nil), 200)
	}
}

func TestCatalogueFiltersFacetsAndKeysetPagination(t *testing.T) {
	v := newCatalogue(t)
	everything := v.search("")
	if everything.Total != seeded {
		t.Fatalf("total = %d, want %d", everything.Total, seeded)
	}
	sum := 0
	for _, n := range everything.Facets["product_type"] {
		sum += n
	}
	if sum != seeded {
		t.Fatalf("product_type facets sum to %d, want %d", sum, seeded)
	}
	health := v.search("domain=healthcare")
	if health.Total != everything.Facets["domain"]["healthcare"] {
		t.Fatalf("healthcare total %d, facet said %d", health.Total, everything.Facets["domain"]["healthcare"])
	}
	for _, e := range health.Data {
		if e.Domain != "healthcare" {
			t.Fatalf("domain filter let through %s", e.Domain)
		}
	}
	// Price range and ascending price order across pages, with no entry twice.
	entries := v.all("min_price=1000&max_price=200000.50&sort=price_asc&use_category=industry")
	want := v.search("min_price=1000&max_price=200000.50&use_category=industry").Total
	if len(entries) != want || want == 0 {
		t.Fatalf("paged through %d entries, total says %d", len(entries), want)
	}
	seen := map[string]bool{}
	for i, e := range entries {
		if seen[e.ID] {
			t.Fatalf("%s on two pages", e.ID)
		}
		seen[e.ID] = true
		if e.Price.String() < "" || e.UseCategory != "industry" || e.Price.Decimal().LessThan(mustDec("1000")) || e.Price.Decimal().GreaterThan(mustDec("200000.50")) {
			t.Fatalf("entry outside the filters: %+v", e)
		}
		if i > 0 && e.Price.Cmp(entries[i-1].Price) < 0 {
			t.Fatalf("not ascending by price at %d", i)
		}
	}
	// Relevance and newest orders page without repeats too.
	for _, q := range []string{"q=" + url.QueryEscape("数据"), "sort=newest&domain=transport", "sort=price_desc&pricing_method=auction"} {
		list := v.all(q)
		ids := map[string]bool{}
		for _, e := range list {
			if ids[e.ID] {
				t.Fatalf("%s: %s twice", q, e.ID)
			}
			ids[e.ID] = true
		}
		if total := v.search(q).Total; total != len(list) {
			t.Fatalf("%s: paged %d, total %d", q, len(list), total)
		}
	}
	holder := everything.Data[0].HolderIDs[0]
	for _, e := range v.search("holder=" + string(holder)).Data {
		if !slices.Contains(e.HolderIDs, holder) {
			t.Fatalf("holder filter let through %v", e.HolderIDs)
		}
	}
	for query, field := range map[string]string{
		"status=draft": "status", "sort=relevance": "sort", "limit=0": "limit", "limit=101": "limit",
		"min_price=1.001": "min_price", "domain=space": "domain", "cursor=bm9wZQ": "cursor",
		"sort=newest&cursor=" + v.search("sort=price_asc&limit=1").NextCursor: "cursor",
	} {
		r := v.do("GET", "/v1/catalogue?"+query, "", nil)
		wantProblem(t, r, 422, "validation_failed")
		if r.problem.Errors[0].Field != field {
			t.Errorf("%s: error on %s, want %s", query, r.problem.Errors[0].Field, field)
		}
	}
}

func TestDCATExport(t *testing.T) {
	v := newCatalogue(t)
	id := v.search("limit=1").Data[0].ID
	// Identifiers come from the configured public URL, never from the request (issue 11, 10).
	r := v.do("GET", "/v1/catalogue/"+id+"/dcat", "", nil, "Host", "evil.example", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http")
	mustStatus(t, r, 200)
	if strings.Contains(string(r.body), "evil.example") || !strings.Contains(string(r.body), `"https://venue.test/`) {
		t.Fatalf("the DCAT document takes its identifiers from the request: %s", r.body)
	}
	all := v.do("GET", "/v1/catalogue.jsonld", "", nil, "Host", "evil.example", "X-Forwarded-Host", "evil.example")
	if strings.Contains(string(all.body), "evil.example") {
		t.Fatalf("the DCAT catalogue takes its identifiers from the request")
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/ld+json") {
		t.Fatalf("Content-Type = %s", ct)
	}
	doc := decode[map[string]any](t, r)
	ctx, _ := doc["@context"].(map[string]any)
	if ctx["dcat"] != "http://www.w3.org/ns/dcat#" || ctx["dct"] != "http://purl.org/dc/terms/" || doc["dct:identifier"] != id {
		t.Fatalf("DCAT document = %v", doc)
	}
	if typ := doc["@type"]; typ != "dcat:Dataset" && typ != "dcat:DataService" {
		t.Fatalf("@type = %v", typ)
	}
	titles, _ := doc["dct:title"].([]any)
	if len(titles) != 2 || titles[0].(map[string]any)["@language"] != "zh" || titles[1].(map[string]any)["@language"] != "en" {
		t.Fatalf("dct:title = %v", doc["dct:title"])
	}
	if pub, _ := doc["dct:publisher"].(map[string]any); pub["foaf:name"] != "数据运营有限公司" {
		t.Fatalf("publisher = %v", doc["dct:publisher"])
	}
	page := decode[map[string]any](t, v.do("GET", "/v1/catalogue.jsonld", "", nil))
	// Datasets under dcat:dataset, API products as data services under dcat:service.
	resources := func(doc map[string]any) int {
		ds, _ := doc["dcat:dataset"].([]any)
		ss, _ := doc["dcat:service"].([]any)
		return len(ds) + len(ss)
	}
	next, _ := page["hydra:next"].(map[string]any)
	if page["@type"] != "dcat:Catalog" || resources(page) != 500 || next == nil {
		t.Fatalf("catalogue page: type %v, %d resources, next %v", page["@type"], resources(page), next)
	}
	u, _ := url.Parse(next["@id"].(string))
	rest := decode[map[string]any](t, v.do("GET", "/v1/catalogue.jsonld?"+u.RawQuery, "", nil))
	if more := resources(rest); more != seeded-500 || rest["hydra:next"] != nil {
		t.Fatalf("second page: %d datasets, next %v", more, rest["hydra:next"])
	}
}

func TestBroadQueriesAreEstimatedAndStillPage(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	const n = listing.ExactMatches + 300
	if err := catalogueseed.Load(context.Background(), v.db.Pool, operatorOrg, 0, n); err != nil {
		t.Fatal(err)
	}
	// Every synthetic description contains 数据: the query matches everything.
	for _, sort := range []string{"newest", "relevance", "price_asc"} {
		res := v.search("q=" + url.QueryEscape("数据") + "&sort=" + sort)
		if res.TotalExact || res.Total <= listing.ExactMatches || len(res.Facets["domain"]) == 0 || len(res.Data) != 20 {
			t.Fatalf("%s: exact %v, total %d, %d domains, %d entries", sort, res.TotalExact, res.Total, len(res.Facets["domain"]), len(res.Data))
		}
		next := v.search("q=" + url.QueryEscape("数据") + "&sort=" + sort + "&cursor=" + res.NextCursor)
		for _, e := range next.Data {
			if slices.ContainsFunc(res.Data, func(o listing.Entry) bool { return o.ID == e.ID }) {
				t.Fatalf("%s: %s on pages 1 and 2", sort, e.ID)
			}
		}
	}
	// A narrow query on the same catalogue is still exact.
	if res := v.search("q=" + url.QueryEscape("公交客流") + "&domain=transport"); !res.TotalExact {
		t.Fatalf("narrow query not exact: total %d", res.Total)
	}
}

// The DCAT-AP export passes the official DCAT-AP 3.0.0 SHACL shapes (SEMIC; a copy in
// scripts/conformance/dcat-ap-3.0.0), validated by a SHACL engine nobody here wrote (scripts/conformance:
// jsonld, n3, shacl-engine on Node.js). make test installs it and sets DATAVENUE_CONFORMANCE; without
// that the test says how to run it and skips (issue 12: the export had 121 violations).
func TestDCATExportPassesTheOfficialShapes(t *testing.T) {
	if os.Getenv("DATAVENUE_CONFORMANCE") == "" {
		t.Skip("DATAVENUE_CONFORMANCE unset: run through make test (it installs scripts/conformance's packages)")
	}
	v := newCatalogue(t)
	// A data service too: it is a dcat:DataService with an endpoint, under dcat:service.
	if _, err := v.db.Pool.Exec(context.Background(), `UPDATE products SET product_type = 'api_service' WHERE id = (SELECT min(id) FROM products)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for _, path := range []string{"/v1/catalogue.jsonld", "/v1/catalogue/" + v.search("limit=1").Data[0].ID + "/dcat"} {
		r := v.do("GET", path, "", nil)
		mustStatus(t, r, 200)
		if strings.HasSuffix(path, ".jsonld") && (!strings.Contains(string(r.body), `"dcat:service"`) || !strings.Contains(string(r.body), `"dcat:endpointURL"`)) {
			t.Fatalf("the catalogue lists no data service with its endpoint")
		}
		f := filepath.Join(dir, strings.NewReplacer("/", "_").Replace(path)+".jsonld")
		if err := os.WriteFile(f, r.body, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, f := range files {
		for _, shapes := range [][]string{{"dcat-ap-SHACL.ttl"}, {"shapes.ttl", "range.ttl"}} {
			args := []string{"../scripts/conformance/validate.mjs", f}
			for _, s := range shapes {
				args = append(args, "../scripts/conformance/dcat-ap-3.0.0/"+s)
			}
			out, err := exec.Command("node", args...).CombinedOutput()
			summary := string(out)
			if i := strings.LastIndex(summary, "shacl:"); i >= 0 {
				summary = summary[i:]
			}
			if err != nil || !strings.Contains(summary, "shacl: 0 violations") {
				t.Errorf("%s against %v: %v\n%s", filepath.Base(f), shapes, err, out)
			} else {
				t.Logf("%s against %v: %s", filepath.Base(f), shapes, strings.TrimSpace(summary))
			}
		}
	}
}

// The OpenAPI document is lint-clean under Redocly's recommended rules (errors; warnings are
// printed), with Redocly's own CLI (scripts/conformance; issue 12: 14 errors before).
func TestOpenAPIDocumentPassesRedoclyLint(t *testing.T) {
	if os.Getenv("DATAVENUE_CONFORMANCE") == "" {
		t.Skip("DATAVENUE_CONFORMANCE unset: run through make test (it installs scripts/conformance's packages)")
	}
	v := newVenue(t)
	r := v.do("GET", "/openapi.json", "", nil)
	mustStatus(t, r, 200)
	f := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(f, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "../scripts/conformance/node_modules/@redocly/cli/bin/cli.js", "lint", "--extends", "recommended", "--format", "summary", f)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	t.Logf("redocly lint (recommended): %s", strings.TrimSpace(string(out)))
}
