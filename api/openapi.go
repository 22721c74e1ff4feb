package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/shopspring/decimal"
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
	// LargeBody routes (statement imports) accept bodies up to Deps.LargeBodyLimit; every other
	// route keeps to Deps.BodyLimit.
	LargeBody bool
	// Unmetered routes spend no rate-limit budget (the liveness probe). Every other public route
	// spends the organisation's when a valid token is sent, the client address's otherwise;
	// authenticated routes spend the organisation's, and a refused token the address's.
	Unmetered bool
}

// Param is a path or query parameter.
type Param struct {
	Name        string
	In          string // "path" or "query"
	Description string
	Required    bool
	Schema      map[string]any
}

var reflector = &jsonschema.Reflector{
	Anonymous:      true,
	DoNotReference: true,
	Mapper: func(t reflect.Type) *jsonschema.Schema {
		if t == reflect.TypeOf(decimal.Decimal{}) {
			return &jsonschema.Schema{Type: "string", Pattern: `^-?[0-9]+(\.[0-9]{1,2})?$`,
				Description: "an amount in yuan as a decimal string, e.g. \"1234.50\""}
		}
		if t == reflect.TypeOf(json.RawMessage{}) {
			return &jsonschema.Schema{}
		}
		return nil
	},
}

func schemaOf(v any) any {
	s := reflector.Reflect(v)
	s.Version = ""
	return s
}

// Document builds the OpenAPI 3.1 document of the routes.
func Document(routes []Route, version string) map[string]any {
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, r := range routes {
		p := openAPIPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.Method)] = operationObject(r)
		tags[r.Op.Tag] = true
	}
	var tagList []map[string]string
	for t := range tags {
		tagList = append(tagList, map[string]string{"name": t})
	}
	sort.Slice(tagList, func(i, j int) bool { return tagList[i]["name"] < tagList[j]["name"] })
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "datavenue API",
			"version": version,
			"description": "Trading venue for certified public data assets. Errors are RFC 9457 " +
				"application/problem+json with a stable `code`. Money is a decimal string in yuan " +
				"next to `\"currency\": \"CNY\"`. State-changing requests accept an `Idempotency-Key` header.",
		},
		"tags":  tagList,
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "EdDSA or RS256 JWT with claims role and org; keys at /.well-known/jwks.json"},
			},
			"schemas": map[string]any{"Problem": schemaOf(Problem{})},
		},
	}
}

func openAPIPath(fiberPath string) string {
	parts := strings.Split(fiberPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + strings.TrimPrefix(p, ":") + "}"
		}
	}
	return strings.Join(parts, "/")
}

func operationObject(r Route) map[string]any {
	op := map[string]any{"operationId": r.Op.ID, "summary": r.Op.Summary, "tags": []string{r.Op.Tag}}
	if r.Op.Description != "" {
		op["description"] = r.Op.Description
	}
	var params []map[string]any
	for _, p := range r.Op.Params {
		schema := p.Schema
		if schema == nil {
			schema = map[string]any{"type": "string"}
		}
		params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path",
			"description": p.Description, "schema": schema})
	}
	errs := append([]int{}, r.Op.Errors...)
	if r.Op.Auth {
		op["security"] = []map[string][]string{{"bearer": {}}}
		errs = append(errs, http.StatusUnauthorized, http.StatusTooManyRequests)
		if r.Method != http.MethodGet {
			params = append(params, map[string]any{"name": headerIdempotencyKey, "in": "header", "required": false,
				"description": "Makes the request safe to retry: a retry with the same key and body gets the original response.",
				"schema":      map[string]any{"type": "string", "minLength": 1, "maxLength": 255}})
			errs = append(errs, http.StatusConflict, http.StatusUnprocessableEntity)
		}
	}
	if params != nil {
		op["parameters"] = params
	}
	if r.Op.Request != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": schemaOf(r.Op.Request)}}}
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	op["responses"] = responses(r.Op, errs)
	return op
}

func responses(o Operation, errs []int) map[string]any {
	status, ctype := o.Status, o.ContentType
	if status == 0 {
		status = http.StatusOK
	}
	if ctype == "" {
		ctype = "application/json"
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if o.Response != nil {
		ok["content"] = map[string]any{ctype: map[string]any{"schema": schemaOf(o.Response)}}
	} else if o.ContentType != "" {
		ok["content"] = map[string]any{ctype: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	out := map[string]any{strconv.Itoa(status): ok}
	errs = append(errs, http.StatusInternalServerError)
	for _, s := range errs {
		out[strconv.Itoa(s)] = map[string]any{"description": http.StatusText(s), "content": map[string]any{
			problemContentType: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
	}
	return out
}
