package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
)

// The document is what integrators generate clients from, so these tests read it as they do: as
// JSON, and through kin-openapi (a maintained OpenAPI 3.1 validator nobody here wrote), against
// the answers a real venue gives.

// TestWriteOpenAPIDocument writes the document to $DATAVENUE_OPENAPI_OUT, for outside tools
// (client generators, linters) to be run on it without a running server.
func TestWriteOpenAPIDocument(t *testing.T) {
	path := os.Getenv("DATAVENUE_OPENAPI_OUT")
	if path == "" {
		t.Skip("set DATAVENUE_OPENAPI_OUT to a file to write the document to")
	}
	if err := os.WriteFile(path, newVenue(t).do("GET", "/openapi.json", "", nil).body, 0o644); err != nil {
		t.Fatal(err)
	}
}

func openAPIDocument(t *testing.T, v *venue) (map[string]any, []byte) {
	t.Helper()
	r := v.do("GET", "/openapi.json", "", nil)
	mustStatus(t, r, 200)
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, r.body
}

// operations lists the document's operations as "METHOD path" → operation object.
func operations(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			out[strings.ToUpper(method)+" "+path] = op.(map[string]any)
		}
	}
	return out
}

// Keywords whose value is a schema, a list or a map of schemas.
var (
	schemaKeys     = []string{"items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames", "unevaluatedItems", "unevaluatedProperties"}
	schemaListKeys = []string{"allOf", "anyOf", "oneOf", "prefixItems"}
	schemaMapKeys  = []string{"properties", "patternProperties", "dependentSchemas", "$defs"}
)

// booleanSchemas lists where a schema is true or false instead of an object.
func booleanSchemas(where string, v any) []string {
	switch x := v.(type) {
	case bool:
		return []string{where}
	case map[string]any:
		var out []string
		for _, k := range schemaKeys {
			if e, ok := x[k]; ok {
				out = append(out, booleanSchemas(where+"/"+k, e)...)
			}
		}
		for _, k := range schemaListKeys {
			list, _ := x[k].([]any)
			for _, e := range list {
				out = append(out, booleanSchemas(where+"/"+k, e)...)
			}
		}
		for _, k := range schemaMapKeys {
			m, _ := x[k].(map[string]any)
			for name, e := range m {
				out = append(out, booleanSchemas(where+"/"+k+"/"+name, e)...)
			}
		}
		return out
	}
	return nil
}

// documentSchemas calls fn with every schema of the document that is not inside another one.
func documentSchemas(where string, v any, fn func(where string, schema any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch {
			case k == "schema":
				fn(where+"/schema", e)
			case where == "/components/schemas":
				fn(where+"/"+k, e)
			default:
				documentSchemas(where+"/"+k, e, fn)
			}
		}
	case []any:
		for _, e := range x {
			documentSchemas(where+"/[]", e, fn)
		}
	}
}

// publicOperations need no token (the payment callback is signed instead).
var publicOperations = []string{"health", "ready", "jwks", "openapi", "docs", "certificateStatus", "searchCatalogue",
	"catalogueProduct", "catalogueProductDCAT", "catalogueDCAT", "pricingGuidance", "paymentCallback",
	"disclosedCaps", "disclosedAuthorisations", "disclosedFees"}

// createdWithoutLocation are the 201 answers whose handlers send no Location: none since a bid,
// a deposit and an import each have a GET of their own (getBid, getDeposit, getImport).
var createdWithoutLocation []string

func TestOpenAPIDocumentShape(t *testing.T) {
	doc, _ := openAPIDocument(t, newVenue(t))
	var bad []string
	documentSchemas("", doc, func(where string, s any) { bad = append(bad, booleanSchemas(where, s)...) })
	if len(bad) > 0 {
		t.Errorf("boolean schemas (generators refuse them) at %v", bad)
	}
	if servers, _ := doc["servers"].([]any); len(servers) == 0 {
		t.Error("the document names no server")
	}
	var located []string
	for key, op := range operations(doc) {
		id := op["operationId"].(string)
		security, ok := op["security"].([]any)
		switch {
		case !ok:
			t.Errorf("%s (%s): no security requirement; public operations say security: []", key, id)
		case slices.Contains(publicOperations, id) && len(security) != 0:
			t.Errorf("%s (%s) is public, but its security is %v", key, id, security)
		case !slices.Contains(publicOperations, id) && len(security) == 0:
			t.Errorf("%s (%s) needs a token, but its security is empty", key, id)
		}
		responses := op["responses"].(map[string]any)
		if created, ok := responses["201"].(map[string]any); ok {
			headers, _ := created["headers"].(map[string]any)
			if _, has := headers["Location"]; has {
				located = append(located, id)
			} else if !slices.Contains(createdWithoutLocation, id) {
				t.Errorf("%s (%s): 201 without a Location header", key, id)
			}
		}
		if len(security) != 0 {
			wantStatuses(t, key, responses, "401", "403", "429", "503")
		}
		if body, ok := op["requestBody"].(map[string]any); ok && body["content"].(map[string]any)["application/json"] != nil {
			wantStatuses(t, key, responses, "400", "413", "415", "422")
			if _, ok := body["content"].(map[string]any)["application/json"].(map[string]any)["example"]; !ok {
				t.Errorf("%s: a JSON request body without an example", key)
			}
		}
		for status, resp := range responses {
			checkResponse(t, key+" "+status, doc, resp.(map[string]any))
		}
	}
	if len(located) < 10 {
		t.Errorf("only %d operations document a Location on 201: %v", len(located), located)
	}
	wantAt(t, doc, `"X-Datavenue-Signature"`, "paths", "/v1/payments/callback", "post", "parameters")
	wantAt(t, doc, `"#/components/schemas/Readiness"`, "paths", "/readyz", "get", "responses", "503", "content", "application/json", "schema", "$ref")
	wantAt(t, doc, `"text/csv"`, "paths", "/v1/reconciliation/imports", "post", "requestBody", "content")
	// A stream of JSON lines is described as text (validators such as Prism read a body whole); the
	// description names the line's schema.
	wantAt(t, doc, `"string"`, "paths", "/v1/reconciliation/imports", "post", "responses", "200", "content", "application/x-ndjson", "schema", "type")
	wantAt(t, doc, `"text/csv"`, "paths", "/v1/reports/settlement", "get", "responses", "200", "content")
}

// wantAt fails unless the JSON of the value at keys in doc contains want: the answers that the
// route table cannot describe (they are added by operation id, which a rename would lose).
func wantAt(t *testing.T, doc map[string]any, want string, keys ...string) {
	t.Helper()
	var v any = doc
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	if got := string(must(json.Marshal(v))); !strings.Contains(got, want) {
		t.Errorf("%s: %s, want %s in it", strings.Join(keys, "/"), clip([]byte(got)), want)
	}
}

func wantStatuses(t *testing.T, key string, responses map[string]any, statuses ...string) {
	t.Helper()
	for _, s := range statuses {
		if _, ok := responses[s]; !ok {
			t.Errorf("%s: no %s response", key, s)
		}
	}
}

// checkResponse: every answer has X-Request-Id, a 429 or 503 Retry-After, and a JSON body with
// properties names its schema (a component, or an array of one) so that generated clients get
// named types.
func checkResponse(t *testing.T, where string, doc map[string]any, resp map[string]any) {
	t.Helper()
	if ref, ok := resp["$ref"].(string); ok {
		resp = doc["components"].(map[string]any)["responses"].(map[string]any)[strings.TrimPrefix(ref, "#/components/responses/")].(map[string]any)
	}
	headers, _ := resp["headers"].(map[string]any)
	if headers["X-Request-Id"] == nil {
		t.Errorf("%s: no X-Request-Id header", where)
	}
	if (strings.HasSuffix(where, " 429") || strings.HasSuffix(where, " 503")) && headers["Retry-After"] == nil {
		t.Errorf("%s: no Retry-After header", where)
	}
	content, _ := resp["content"].(map[string]any)
	for media, m := range content {
		if !strings.HasSuffix(media, "json") || strings.HasSuffix(media, "+json") && media != "application/problem+json" {
			continue
		}
		schema := m.(map[string]any)["schema"].(map[string]any)
		if items, ok := schema["items"].(map[string]any); ok && schema["type"] == "array" {
			schema = items
		}
		if _, ok := schema["properties"]; ok {
			t.Errorf("%s %s: an inline schema, not a named component: %v", where, media, schema)
		}
	}
}

// TestOpenAPIAmountsAndDatesAreStrings: money and dates are strings in JSON, and the document
// must say so, or generated clients decode "9000.00" into an object and fail.
func TestOpenAPIAmountsAndDatesAreStrings(t *testing.T) {
	doc, _ := openAPIDocument(t, newVenue(t))
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	money := map[string]any{"type": "string", "pattern": `^-?[0-9]+\.[0-9]{2}$`, "examples": []any{"9000.00"}}
	date := map[string]any{"type": "string", "format": "date"}
	dateOrNull := map[string]any{"type": []any{"string", "null"}, "format": "date"}
	dateTime := map[string]any{"type": "string", "format": "date-time"}
	for _, c := range []struct {
		schema, property string
		want             map[string]any
	}{
		{"Order", "price", money}, {"Order", "amount_due", money}, {"Order", "deposit_applied", money},
		{"Order", "payment_due", date}, {"Order", "traded_on", date}, {"Order", "paid_at", dateTime},
		{"Obligation", "amount", money}, {"Obligation", "event_date", date}, {"Obligation", "due_date", dateOrNull},
		{"Certificate", "valid_from", date}, {"Certificate", "valid_until", date}, {"Certificate", "issued_at", dateTime},
		{"Appraisal", "value", money}, {"Appraisal", "valuation_date", date},
		{"BidResult", "amount", money}, {"Product", "created_at", dateTime},
	} {
		s, ok := schemas[c.schema].(map[string]any)
		if !ok {
			t.Errorf("no component schema %s", c.schema)
			continue
		}
		got, _ := s["properties"].(map[string]any)[c.property].(map[string]any)
		for k, want := range c.want {
			if g, _ := json.Marshal(got[k]); string(g) != string(must(json.Marshal(want))) {
				t.Errorf("%s.%s: %s = %s, want %s", c.schema, c.property, k, g, must(json.Marshal(want)))
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// loadSpec reads the document with kin-openapi and validates it, its examples included.
func loadSpec(t *testing.T, raw []byte) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if err := spec.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("kin-openapi finds the document invalid: %v", err)
	}
	spec.Servers = nil // match request paths as they are (the document's server is its own origin)
	router, err := legacy.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	return spec, router
}

// checked sends requests to a venue and checks each answer against the document: its status,
// headers and body must be described; a request the venue accepted (2xx) must follow the
// document too, or a generated client could not send it.
type checked struct {
	*venue
	router routers.Router
}

func (c checked) send(method, path, token, contentType string, body []byte, headers ...string) response {
	c.t.Helper()
	build := func() *http.Request {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}
	resp, err := c.app.Test(build(), -1)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.body, &out.problem)
	req := build()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s %s: not in the document: %v", method, path, err)
		return out
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if out.status/100 == 2 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.t.Errorf("%s %s was accepted (%d) but does not follow the document: %v", method, path, out.status, err)
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		opts.ExcludeResponseBody = true // a file or a page: its media type is checked, not its bytes
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: out.status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(out.body)), Options: opts})
	if err != nil {
		c.t.Errorf("%s %s answered %d, which the document does not describe: %v\n%s", method, path, out.status, err, clip(out.body))
	}
	return out
}

func (c checked) json(method, path, token string, body any, headers ...string) response {
	c.t.Helper()
	if body == nil {
		return c.send(method, path, token, "", nil, headers...)
	}
	return c.send(method, path, token, "application/json", must(json.Marshal(body)), headers...)
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// TestResponsesFollowTheOpenAPIDocument runs a won auction to its voucher, then reads every
// resource the way clients do, as several roles and with no token, and checks every answer (and
// every request the venue accepted) against the document with kin-openapi.
func TestResponsesFollowTheOpenAPIDocument(t *testing.T) {
	m, o, clerk := wonAuction(t)
	_, raw := openAPIDocument(t, m.venue)
	_, router := loadSpec(t, raw)
	c := checked{venue: m.venue, router: router}
	buyer, operator := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	bureau := m.as(datavenue.RoleDataBureau, bureauOrg)

	// Changes: the settlement of the order, a product, an organisation; an idempotent replay.
	mustStatus(t, c.json("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "contract-1"}), 200)
	mustStatus(t, c.json("POST", "/v1/orders/"+o.ID+"/delivery", operator,
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("0a", 32)}), 200)
	confirmed := c.json("POST", "/v1/orders/"+o.ID+"/confirm", buyer, nil)
	mustStatus(t, confirmed, 201)
	voucher := decode[settlement.Voucher](t, confirmed)
	mustStatus(t, c.json("POST", "/v1/products", operator, m.product(nil)), 201)
	reg := validRegistration("契约测试运营")
	reg["uscc"] = uscc(t, 950)
	first := c.json("POST", "/v1/organisations", bureau, reg, "Idempotency-Key", "contract-org")
	mustStatus(t, first, 201)
	if again := c.json("POST", "/v1/organisations", bureau, reg, "Idempotency-Key", "contract-org"); again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d, Idempotent-Replayed %q", again.status, again.header.Get("Idempotent-Replayed"))
	}
	today := civil.Of(time.Now()).String()
	mustStatus(t, c.send("POST", "/v1/reconciliation/imports?format=csv&period_end="+today, clerk, "text/csv",
		[]byte("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nX1,NONE,某单位,1.00,"+today+",市级国库\n")), 201)

	// Refusals: no token, malformed, wrong media type, unknown field, unknown resource.
	wantStatus(t, c.json("POST", "/v1/organisations", "", reg), 401)
	wantStatus(t, c.send("POST", "/v1/organisations", bureau, "application/json", []byte("{")), 400)
	wantStatus(t, c.send("POST", "/v1/organisations", bureau, "text/plain", []byte("x")), 415)
	wantStatus(t, c.json("POST", "/v1/organisations", bureau, map[string]any{"nope": 1}), 422)
	wantStatus(t, c.json("GET", "/v1/public/certificates/DR-0000-000000/status", "", nil), 404)
	wantStatus(t, c.json("GET", "/v1/orders?limit=0", clerk, nil), 422)

	// Reads: every GET operation, with the resources made above, as several callers.
	ids := map[string]string{
		"/v1/organisations/": string(govHolder), "/v1/assets/": string(m.asset.ID), "/v1/certificates/": m.resCert.ID,
		"/v1/public/certificates/": m.resCert.Number, "/v1/authorisations/": m.grant.ID, "/v1/appraisals/": m.appraisal.ID,
		"/v1/products/": o.ProductID, "/v1/catalogue/": o.ProductID, "/v1/orders/": o.ID, "/v1/vouchers/": voucher.ID,
	}
	callers := []string{"", clerk, buyer, operator, m.as(datavenue.RoleAuditor, auditorOrg), m.as(datavenue.RoleOperator, govHolder)}
	var paths []string
	for _, rt := range m.app.GetRoutes(true) {
		if rt.Method == "GET" && !strings.HasSuffix(rt.Path, "/feed") && !strings.HasPrefix(rt.Path, "/console") {
			paths = append(paths, rt.Path)
		}
	}
	sort.Strings(paths)
	statuses := map[int]int{}
	for _, path := range paths {
		url := path
		for prefix, id := range ids {
			if rest, ok := strings.CutPrefix(path, prefix); ok && strings.HasPrefix(rest, ":") {
				_, tail, more := strings.Cut(rest, "/")
				url = prefix + id
				if more {
					url += "/" + tail
				}
			}
		}
		url = strings.NewReplacer(":id", "unknown", ":number", "unknown").Replace(url)
		if strings.HasPrefix(url, "/v1/reports/settlement") {
			url += "?from=" + today + "&to=" + today
		}
		for _, token := range callers {
			statuses[c.send("GET", url, token, "", nil).status]++
		}
	}
	if statuses[200] < 40 || statuses[401] == 0 || statuses[403] == 0 || statuses[404] == 0 {
		t.Errorf("the reads met too few kinds of answer to test much: %v", statuses)
	}
	t.Logf("answers checked against the document by status: %v", statuses)
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d: %s", r.status, status, clip(r.body))
	}
}

// refusingLimiter is a rate limiter with no budget left.
type refusingLimiter struct{}

func (refusingLimiter) Allow(context.Context, string) (bool, time.Duration, error) {
	return false, 2 * time.Second, nil
}

// TestOpenAPIDescribesOutages: a venue whose dependency is down, or whose caller is over its
// budget, answers as the document says (503 with the checks; 429 with Retry-After).
func TestOpenAPIDescribesOutages(t *testing.T) {
	down := newVenue(t, check{Name: "postgres", Ping: func(context.Context) error { return errors.New("down") }})
	_, raw := openAPIDocument(t, down)
	_, router := loadSpec(t, raw)
	r := checked{venue: down, router: router}.send("GET", "/readyz", "", "", nil)
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("/readyz with PostgreSQL down: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	limited := newVenueWith(t, refusingLimiter{})
	c := checked{venue: limited, router: router}
	for _, path := range []string{"/v1/me", "/v1/catalogue"} {
		if r := c.send("GET", path, limited.token(datavenue.RoleBuyer, buyerOrg), "", nil); r.status != 429 || r.header.Get("Retry-After") != "2" {
			t.Errorf("%s over the budget: %d, Retry-After %q", path, r.status, r.header.Get("Retry-After"))
		}
	}
}
