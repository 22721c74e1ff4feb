package api

import (
	"cmp"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/datavenue/datavenue"
)

// Operation is what the OpenAPI document says about a route. It sits beside the handler in the
// route table, so a route cannot be added without its description; request and response schemas
// are reflected from the same Go types the handler encodes (invopop/jsonschema), so they cannot
// drift from the code.
type Operation struct {
	ID          string
	Summary     string
	Description string
	Tag         string
	Auth        bool // needs a bearer token; state-changing ones also take Idempotency-Key
	Params      []Param
	Request     any    // body type, nil for none
	Response    any    // success body type, nil for none
	Status      int    // success status; 200 when zero
	ContentType string // success media type; application/json when empty
	Errors      []int  // error statuses this route can answer besides the common ones
	// SelfIdempotent routes make Idempotency-Key part of the change itself (the engine stores the
	// key's reply atomically with the bid), so the PostgreSQL key store is skipped: it would add a
	// round trip and, after a crash, hold retries back for its lease.
	SelfIdempotent bool
	// Unkept are top-level fields of the answer that the idempotency store keeps blank: a secret
	// shown once (a webhook's signing secret) is not copied into another table and its backups. A
	// retried request's answer then says the secret was shown to the first request.
	Unkept []string
	// LargeBody routes (statement imports) accept bodies up to Deps.LargeBodyLimit; every other
	// route keeps to Deps.BodyLimit.
	LargeBody bool
	// Unmetered routes spend no rate-limit budget (the liveness probe). Every other public route
	// spends the organisation's when a valid token is sent, the client address's otherwise;
	// authenticated routes spend the organisation's, and a refused token the address's.
	Unmetered bool
}

// Param is a path, query or header parameter.
type Param struct {
	Name        string
	In          string // "path", "query" or "header"
	Description string
	Required    bool
	Schema      map[string]any
}

// Documented response headers (components/headers).
const (
	hdrLocation   = "Location"
	hdrRetryAfter = "Retry-After"
	hdrReplayed   = "Idempotent-Replayed"
	hdrWWWAuth    = "WWW-Authenticate"
	mediaXLSX     = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// opExtra is what the document says of an operation beyond its route-table entry: answers that a
// handler gives besides its main one, which Operation has no field for yet.
type opExtra struct {
	headers      []Param        // request headers
	requestMedia []string       // a body that is a file, not JSON
	alsoOK       []string       // other media types of the success answer (files)
	errorBody    map[int]any    // status → body type, where it is not a Problem
	extraOK      map[int]okForm // other success statuses
}

// okForm is another success answer: its media type and body type.
type okForm struct {
	media       string
	body        any
	description string
}

// opExtras are the few operations whose answers do not fit Operation's one-body shape. A side
// table keyed by operation id keeps every ordinary route to one entry in the route table.
var opExtras = map[string]opExtra{
	// /readyz answers 503 with its checks, not a problem.
	"ready": {errorBody: map[int]any{http.StatusServiceUnavailable: Readiness{}}},
	"paymentCallback": {headers: []Param{{Name: "X-Datavenue-Signature", In: "header", Required: true,
		Description: "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under the venue's callback secret>",
		Schema:      map[string]any{"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"}}}},
	"importStatement": {requestMedia: []string{"text/csv", mediaXLSX},
		extraOK: map[int]okForm{http.StatusOK: {media: contentTypeNDJSON, body: "",
			description: "With Accept: application/x-ndjson: progress lines, one ImportProgress object (#/components/schemas/ImportProgress) each, the last done or failed"}}},
	"settlementReport": {alsoOK: []string{"text/csv", mediaXLSX}},
	"disclosedCaps":    {alsoOK: []string{"text/csv", mediaXLSX}}, "disclosedAuthorisations": {alsoOK: []string{"text/csv", mediaXLSX}},
	"disclosedFees": {alsoOK: []string{"text/csv", mediaXLSX}}, "annualReport": {alsoOK: []string{"text/csv", mediaXLSX}},
}

// staticOps answer from memory, so a dependency that is down cannot make them fail.
var staticOps = map[string]bool{"health": true, "jwks": true, "openapi": true, "docs": true}

// tagDescriptions describe the route table's tags (a tag without one is listed bare).
var tagDescriptions = map[string]string{
	"operations":     "Liveness, readiness, keys, metrics, this document, and the engine projection's parked events.",
	"identity":       "Who a bearer token says the caller is.",
	"organisations":  "The venue's parties: government units, state enterprises, bureaus, operators, buyers, appraisers.",
	"audit":          "The audit trail of every change.",
	"assets":         "Data resource and data asset cards, and the ledger (台账).",
	"certificates":   "Registration certificate applications, reviews and signed certificates.",
	"authorisations": "Scenario authorisations of an asset to an operator.",
	"approvals":      "Usage and disposal approvals.",
	"appraisals":     "Appraisal reports.",
	"products":       "Data products: drafts, the publishing gate, prices and pricing guidance.",
	"catalogue":      "The public catalogue, as JSON and as DCAT-AP.",
	"auctions":       "Auctions, bids, deposits and the live feed.",
	"negotiations":   "Price negotiations between a buyer and a seller.",
	"settlement":     "Contribution agreements, orders, payments, delivery and vouchers.",
	"reconciliation": "Treasury and bank statement imports, exceptions, reports and the trial balance.",
	"subscriptions":  "Products sold as a service: subscriptions with a term, cancellation, and the operator gateway's signed, exactly-once usage batches.",
	"disclosure":     "Public disclosure under the national pricing rules (N6): caps, authorisations and fee-charging products by year, as JSON, CSV or XLSX, without a token.",
	"webhooks":       "Signed event deliveries to an organisation's own endpoints: subscriptions, the delivery log, replay.",
}

// Document builds the OpenAPI 3.1 document of the routes. servers are the venue's base URLs
// (the configured public URL); without one the document names its own origin ("/").
//
// Every type is gathered before any operation is written: component names are settled only when
// all types are known (two packages' types of the same name are qualified), and the operations'
// $refs use the settled names. Problem is gathered first since every error response refers to it.
func Document(routes []Route, version string, servers ...string) map[string]any {
	schemas := newSchemaSet()
	schemas.gather(Problem{})
	for _, r := range routes {
		for _, v := range []any{r.Op.Request, r.Op.Response} {
			if v != nil {
				schemas.gather(v)
			}
		}
		for _, e := range opExtras[r.Op.ID].extraOK {
			schemas.gather(e.body)
		}
		for _, v := range opExtras[r.Op.ID].errorBody {
			schemas.gather(v)
		}
	}
	schemas.name()
	b := &docBuilder{schemas: schemas, components: schemas.components(), responses: map[string]any{}}
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, r := range routes {
		p := openAPIPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.Method)] = b.operation(r)
		tags[r.Op.Tag] = true
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    info(version, servers),
		"servers": serverList(servers),
		"tags":    tagList(tags),
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "EdDSA or RS256 JWT with claims role and org; keys at /.well-known/jwks.json"},
			},
			"schemas":   b.components,
			"responses": b.responses,
			"headers":   headerComponents(),
		},
	}
}

// info is the document's info object: the conventions every operation shares (problems, money,
// idempotency, request ids) are stated once here rather than repeated on each operation.
func info(version string, servers []string) map[string]any {
	return map[string]any{
		"title":   "datavenue API",
		"contact": contact(servers),
		"version": version,
		"description": "Trading venue for certified public data assets. Errors are RFC 9457 " +
			"application/problem+json with a stable `code`. Money is a decimal string in yuan " +
			"next to `\"currency\": \"CNY\"`. State-changing requests accept an `Idempotency-Key` header. " +
			"Every answer carries `X-Request-Id`, the venue's id of the request (quote it when reporting a problem); " +
			"a client's own `X-Request-Id`, when it is a token of at most 128 letters, digits, `-`, `_` or `.`, comes back as `X-Client-Request-Id`. " +
			"Human-readable documentation: /docs.",
		// No licence has been chosen for the API description; until one is, it is the venue's own
		// (an SPDX LicenseRef names a licence that is not on the SPDX list).
		"license": map[string]any{"name": "Proprietary", "identifier": "LicenseRef-datavenue-proprietary"},
	}
}

// contact points at the human-readable documentation, where the venue's address is known.
func contact(servers []string) map[string]any {
	c := map[string]any{"name": "datavenue venue operator"}
	if len(servers) > 0 && strings.Contains(servers[0], "://") {
		c["url"] = strings.TrimSuffix(servers[0], "/") + "/docs"
	}
	return c
}

// serverList names the venue's base URLs; without a configured one, "/" makes a client resolve
// the paths against wherever it fetched the document from.
func serverList(urls []string) []map[string]any {
	if len(urls) == 0 {
		urls = []string{"/"}
	}
	var out []map[string]any
	for _, u := range urls {
		out = append(out, map[string]any{"url": u, "description": "this venue"})
	}
	return out
}

// tagList lists the tags the routes use, sorted so the document is the same bytes on every build.
func tagList(tags map[string]bool) []map[string]string {
	var out []map[string]string
	for t := range tags {
		tag := map[string]string{"name": t}
		if d := tagDescriptions[t]; d != "" {
			tag["description"] = d
		}
		out = append(out, tag)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"] < out[j]["name"] })
	return out
}

// openAPIPath writes a Fiber template (":id") as an OpenAPI path template ("{id}").
func openAPIPath(fiberPath string) string {
	parts := strings.Split(fiberPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + strings.TrimPrefix(p, ":") + "}"
		}
	}
	return strings.Join(parts, "/")
}

// docBuilder builds the operations of one document, adding the shared responses they use.
type docBuilder struct {
	schemas    *schemaSet
	components map[string]any
	responses  map[string]any
}

// operation writes one operation. A public one says security: [] explicitly, so generators and
// linters know it takes no token rather than guessing; an authenticated write documents the
// Idempotency-Key header (the middleware accepts it on every such route).
func (b *docBuilder) operation(r Route) map[string]any {
	op := map[string]any{"operationId": r.Op.ID, "summary": r.Op.Summary, "tags": []string{r.Op.Tag}}
	if r.Op.Description != "" {
		op["description"] = r.Op.Description
	}
	extra := opExtras[r.Op.ID]
	params := append(append([]Param{}, r.Op.Params...), extra.headers...)
	if r.Op.Auth {
		op["security"] = []map[string][]string{{"bearer": {}}}
		if r.Method != http.MethodGet {
			params = append(params, Param{Name: headerIdempotencyKey, In: "header",
				Description: "Makes the request safe to retry: a retry with the same key and body gets the original response. " +
					"The venue keeps a key for its retention, two weeks by default; a retry after that runs as a new request.",
				Schema: map[string]any{"type": "string", "minLength": 1, "maxLength": 255}})
		}
	} else {
		op["security"] = []map[string][]string{} // public: no token needed
	}
	if len(params) > 0 {
		op["parameters"] = parameterObjects(params)
	}
	if body := b.requestBody(r.Op, extra); body != nil {
		op["requestBody"] = body
	}
	op["responses"] = b.responsesOf(r, extra)
	return op
}

// parameterObjects writes the parameters; a path parameter is always required (OpenAPI demands it)
// and a parameter without a schema is a string, as every query value arrives.
func parameterObjects(params []Param) []map[string]any {
	var out []map[string]any
	for _, p := range params {
		schema := p.Schema
		if schema == nil {
			schema = map[string]any{"type": "string"}
		}
		o := map[string]any{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path", "schema": schema}
		if p.Description != "" {
			o["description"] = p.Description
		}
		out = append(out, o)
	}
	return out
}

// requestBody documents a JSON body by its component and an example, or a file body (a statement)
// as a string of its media type, the OpenAPI 3.1 way to describe raw bytes.
func (b *docBuilder) requestBody(o Operation, extra opExtra) map[string]any {
	if len(extra.requestMedia) > 0 {
		content := map[string]any{}
		for _, m := range extra.requestMedia {
			content[m] = map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": m}}
		}
		return map[string]any{"required": true, "content": content}
	}
	if o.Request == nil {
		return nil
	}
	media := map[string]any{"schema": b.schemas.schema(o.Request)}
	if ex, ok := example(media["schema"], b.components); ok {
		media["example"] = ex
	}
	return map[string]any{"required": true, "content": map[string]any{"application/json": media},
		"description": "A JSON object; an unknown field is refused (422 unknown_field)."}
}

// impliedErrors are the error statuses every operation of its kind can answer, whatever its
// handler does: from the middleware (token, rate limit, body, idempotency) and the stores.
func impliedErrors(r Route) []int {
	o := r.Op
	errs := append([]int{}, o.Errors...)
	if o.Auth {
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests)
		if r.Method != http.MethodGet {
			// The Idempotency-Key: malformed (400), in flight (409), reused for another body (422).
			errs = append(errs, http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity)
		}
	} else if !o.Unmetered {
		errs = append(errs, http.StatusTooManyRequests)
	}
	if o.Request != nil {
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if o.LargeBody {
		errs = append(errs, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
	}
	for _, p := range o.Params {
		if p.In == "query" && (p.Required || p.Name == "limit" || p.Name == "cursor") {
			errs = append(errs, http.StatusUnprocessableEntity) // validation_failed
		}
	}
	// Anything that reads PostgreSQL or Redis can answer 503 while they are unreachable; every
	// operation can answer 500. Duplicates in the list are harmless: they become one map key.
	if !staticOps[o.ID] {
		errs = append(errs, http.StatusServiceUnavailable)
	}
	return append(errs, http.StatusInternalServerError)
}

// responsesOf writes the success answer and every error status the route can give. Problem answers
// are $refs to one shared response per status, so every 404 is described once and the document
// stays smaller; only answers that are not problems (/readyz's 503) are written inline.
func (b *docBuilder) responsesOf(r Route, extra opExtra) map[string]any {
	o := r.Op
	status := o.Status
	if status == 0 {
		status = http.StatusOK
	}
	out := map[string]any{strconv.Itoa(status): b.success(r, status, extra)}
	for s, form := range extra.extraOK {
		out[strconv.Itoa(s)] = map[string]any{"description": form.description, "headers": requestIDHeader(),
			"content": map[string]any{form.media: map[string]any{"schema": b.schemas.schema(form.body)}}}
	}
	for _, s := range impliedErrors(r) {
		key := strconv.Itoa(s)
		if body, ok := extra.errorBody[s]; ok {
			out[key] = map[string]any{"description": http.StatusText(s), "headers": map[string]any{
				headerRequestID: headerRef(headerRequestID), hdrRetryAfter: headerRef(hdrRetryAfter)},
				"content": map[string]any{"application/json": map[string]any{"schema": b.schemas.schema(body)}}}
			continue
		}
		out[key] = map[string]any{"$ref": "#/components/responses/" + b.problemResponse(s)}
	}
	return out
}

// success documents the main answer with its headers: Location on a 201 (where the created thing
// is read back), and Idempotent-Replayed on the writes whose answer the idempotency store may
// replay (self-idempotent routes never replay a stored answer, so they do not send it).
func (b *docBuilder) success(r Route, status int, extra opExtra) map[string]any {
	o := r.Op
	headers := requestIDHeader()
	if status == http.StatusCreated {
		headers[hdrLocation] = headerRef(hdrLocation)
	}
	if o.Auth && r.Method != http.MethodGet && !o.SelfIdempotent {
		headers[hdrReplayed] = headerRef(hdrReplayed)
	}
	ok := map[string]any{"description": http.StatusText(status), "headers": headers}
	content := map[string]any{}
	switch {
	case o.Response != nil:
		media := map[string]any{"schema": b.schemas.schema(o.Response)}
		if ex, found := example(media["schema"], b.components); found {
			media["example"] = ex
		}
		content[cmp.Or(o.ContentType, "application/json")] = media
	case o.ContentType == "" || strings.HasSuffix(o.ContentType, "+json"):
		content[cmp.Or(o.ContentType, "application/json")] = map[string]any{"schema": map[string]any{"type": "object"}}
	default:
		content[o.ContentType] = map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": o.ContentType}}
	}
	for _, m := range extra.alsoOK {
		content[m] = map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": m}}
	}
	ok["content"] = content
	return ok
}

func headerRef(name string) map[string]any {
	return map[string]any{"$ref": "#/components/headers/" + name}
}

func requestIDHeader() map[string]any {
	return map[string]any{headerRequestID: headerRef(headerRequestID)}
}

// headerComponents are the documented response headers, referenced by name from every answer.
func headerComponents() map[string]any {
	str := map[string]any{"type": "string"}
	return map[string]any{
		headerRequestID: map[string]any{"required": true, "schema": map[string]any{"type": "string", "pattern": "^req_"},
			"description": "The venue's id of the request, in its logs and audit records and in a problem's request_id.", "example": "req_01JDEM0000000000000000000A"},
		hdrLocation: map[string]any{"required": true, "schema": map[string]any{"type": "string", "format": "uri-reference"},
			"description": "The created resource.", "example": "/v1/products/prd_01JDEM0000000000000000000A"},
		hdrRetryAfter: map[string]any{"required": true, "schema": map[string]any{"type": "integer", "minimum": 0},
			"description": "Seconds to wait before retrying.", "example": 1},
		hdrReplayed: map[string]any{"schema": map[string]any{"type": "string", "enum": []string{"true"}},
			"description": "Present when this is the stored answer to an earlier request with the same Idempotency-Key."},
		hdrWWWAuth: map[string]any{"required": true, "schema": str, "description": "The bearer challenge (RFC 6750).",
			"example": `Bearer realm="datavenue", error="invalid_token"`},
	}
}

// problemExamples are a typical problem of each status, for the shared responses: a client's
// generated error types and its developers see a realistic code and detail, not a placeholder.
var problemExamples = map[int][2]string{
	http.StatusBadRequest:            {"malformed_json", "the request body is not valid JSON"},
	http.StatusUnauthorized:          {"token_missing", "send a bearer token in the Authorization header"},
	http.StatusForbidden:             {"role_not_allowed", "this role may not do that"},
	http.StatusNotFound:              {"not_found", "no such resource"},
	http.StatusConflict:              {"conflict", "the resource is not in a state that allows this"},
	http.StatusRequestEntityTooLarge: {"body_too_large", "the request body is larger than this route accepts (1048576 bytes)"},
	http.StatusUnsupportedMediaType:  {"unsupported_media_type", "the request body must be application/json"},
	http.StatusUnprocessableEntity:   {"validation_failed", "the request has invalid fields"},
	http.StatusTooManyRequests:       {"rate_limited", "too many requests; retry after the time in Retry-After"},
	http.StatusInternalServerError:   {"internal", "something went wrong on our side; quote the request id"},
	http.StatusServiceUnavailable:    {"database_unavailable", "the database is unavailable; retry later"},
}

// problemResponse adds the shared response of an error status and returns its name ("NotFound"),
// with the headers that status carries: Retry-After on 429 and 503, the bearer challenge on 401.
func (b *docBuilder) problemResponse(status int) string {
	name := strings.NewReplacer(" ", "", "-", "", "'", "").Replace(http.StatusText(status))
	if _, ok := b.responses[name]; ok {
		return name
	}
	headers := requestIDHeader()
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		headers[hdrRetryAfter] = headerRef(hdrRetryAfter)
	case http.StatusUnauthorized:
		headers[hdrWWWAuth] = headerRef(hdrWWWAuth)
	}
	ex := problemExamples[status]
	if ex[0] == "" {
		ex = [2]string{"error", http.StatusText(status)}
	}
	// The example is a Problem value, encoded as the error handler would encode it, so the
	// document's example cannot drift from the real shape of an error.
	p := Problem{Type: problemType(ex[0]), Title: http.StatusText(status), Status: status, Detail: ex[1], Code: ex[0],
		Instance: "/v1/products", RequestID: "req_01JDEM0000000000000000000A"}
	if status == http.StatusUnprocessableEntity {
		p.Errors = []datavenue.FieldError{{Field: "title", Code: "required", Message: "title is required"}}
	}
	b.responses[name] = map[string]any{"description": http.StatusText(status), "headers": headers,
		"content": map[string]any{problemContentType: map[string]any{
			"schema": map[string]any{"$ref": componentPrefix + b.schemas.nameOf(Problem{})}, "example": p}}}
	return name
}
