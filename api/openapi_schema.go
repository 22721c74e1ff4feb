package api

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/invopop/jsonschema"
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// schemaSet turns the route table's Go types into OpenAPI 3.1 schemas. Every struct type becomes
// one named component referenced by $ref, so that generated clients get named types rather than
// anonymous structs, and a type used by many operations is described once. The types whose JSON
// is not what their Go shape says (money, dates) are mapped here, in the document builder, so the
// domain packages stay free of schema code.
//
// Names are settled only once every type is known (gather, then name), because a bare Go name is
// used unless two packages both have it: then both are qualified by their package.
type schemaSet struct {
	reflector *jsonschema.Reflector
	keys      map[reflect.Type]string // type → provisional key, used in $refs until named
	types     map[string]reflect.Type
	defs      map[string]any    // key → schema
	names     map[string]string // key → component name, once named
}

// defsPrefix starts the reflector's $refs; componentPrefix the document's.
const (
	defsPrefix      = "#/$defs/"
	componentPrefix = "#/components/schemas/"
)

func newSchemaSet() *schemaSet {
	s := &schemaSet{keys: map[reflect.Type]string{}, types: map[string]reflect.Type{}, defs: map[string]any{}}
	s.reflector = &jsonschema.Reflector{
		Anonymous: true,
		// Struct schemas leave additionalProperties out: false is a boolean schema some
		// generators refuse, and a response may gain fields without breaking clients. Request
		// bodies are still strict (an unknown field is 422 unknown_field); requestBody says so.
		AllowAdditionalProperties: true,
		Mapper:                    mapType,
		Namer:                     s.key,
	}
	return s
}

// key gives each named type a provisional key without the characters of a package path, so that
// $refs stay valid JSON pointers until the components are named.
func (s *schemaSet) key(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	k, ok := s.keys[t]
	if !ok {
		k = fmt.Sprintf("t%04d", len(s.keys))
		s.keys[t], s.types[k] = k, t
	}
	return k
}

// mapType describes the types whose JSON differs from their Go shape.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeOf(money.Yuan{}):
		// money.Yuan writes exactly two places (StringFixed(2)). Requests may also send fewer
		// places but no sign: an amount that follows this pattern and is not negative is accepted.
		return &jsonschema.Schema{Type: "string", Pattern: `^-?[0-9]+\.[0-9]{2}$`, Examples: []any{"9000.00"}}
	case reflect.TypeOf(civil.Date{}):
		// A plain YYYY-MM-DD with no zone: legal deadlines are civil dates in China Standard
		// Time, and a date-time would invite clients to convert them to their own zone.
		return &jsonschema.Schema{Type: "string", Format: "date"}
	case reflect.TypeOf(time.Time{}):
		return &jsonschema.Schema{Type: "string", Format: "date-time"}
	case reflect.TypeOf(decimal.Decimal{}):
		// shopspring writes the shortest form ("-1234.5"); ledger amounts are in whole fen.
		return &jsonschema.Schema{Type: "string", Pattern: `^-?[0-9]+(\.[0-9]{1,2})?$`, Examples: []any{"-1234.50"}}
	case reflect.TypeOf(json.RawMessage{}):
		// Passed through as sent (a product's data schema and sample, an audit record's detail):
		// the reflector would call it an array of bytes, which is not what the JSON holds.
		return &jsonschema.Schema{} // any JSON value; normalised to {} below
	}
	// map[string]any is free data: an object with any properties, written out explicitly so that
	// generators make it a plain map rather than a type of their own.
	if t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.Interface {
		return &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{}}
	}
	return nil
}

// gather reflects v's type, adding the struct types it reaches to the set.
func (s *schemaSet) gather(v any) { s.reflect(v) }

// reflect returns v's schema with $refs to provisional keys and keeps every definition it reached;
// a type reached again from another route keeps its first schema (the same type, the same schema).
func (s *schemaSet) reflect(v any) any {
	root := s.reflector.Reflect(v)
	defs := root.Definitions
	root.Definitions, root.Version = nil, ""
	for k, d := range defs {
		if _, ok := s.defs[k]; !ok {
			s.defs[k] = s.nullable(s.types[k], normalise(toJSON(d)))
		}
	}
	return normalise(toJSON(root))
}

// schema is v's schema, with $refs to the named components; call after name.
func (s *schemaSet) schema(v any) any { return s.rename(s.reflect(v)) }

// toJSON turns a reflected schema into plain maps, so that normalise, nullable and rename can
// rewrite any keyword without knowing the reflector's types.
func toJSON(sc *jsonschema.Schema) any {
	b, err := json.Marshal(sc)
	if err != nil {
		panic("openapi: " + err.Error()) // a schema of our own types: a bug, found by the tests
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// name settles every component's name: the Go name, "PageOfOrder" for a generic instance, and
// the package in front ("ListingInput") where two packages have the same name.
func (s *schemaSet) name() {
	count := map[string]int{}
	for k := range s.defs {
		if base, generic := splitGeneric(s.types[k].Name()); !generic {
			count[base]++
		}
	}
	plain := func(pkg, name string) string {
		if n, ok := componentNames[pkg+"."+name]; ok {
			return n
		}
		if count[name] > 1 {
			return exported(pkg) + name
		}
		return name
	}
	s.names = map[string]string{}
	for k := range s.defs {
		t := s.types[k]
		if base, generic := splitGeneric(t.Name()); generic {
			s.names[k] = genericName(t.Name(), plain)
		} else {
			s.names[k] = plain(path.Base(t.PkgPath()), base)
		}
	}
	s.checkUnique()
}

// componentNames name the components whose Go name says little outside its package: a generated
// client's type is named after the component, and "Record" or "View" would not say an auction.
var componentNames = map[string]string{
	"matching.Record":      "Auction",
	"matching.View":        "AuctionView",
	"matching.State":       "AuctionState",
	"matching.Outcome":     "AuctionOutcome",
	"matching.CreateInput": "OpenAuctionInput",
	"matching.Move":        "NegotiationMove",
	"matching.Bound":       "GuidanceBound",
	"audit.Event":          "AuditEvent",
	"listing.Entry":        "CatalogueEntry",
	"assets.Card":          "AssetCard",
	"assets.Version":       "AssetVersion",
	"assets.Usage":         "AssetUsage",
	"certificates.Review":  "ItemReview",
	"assets.Input":         "AssetInput",
	"listing.Input":        "ProductInput",
	"listing.Delivery":     "ProductDelivery",
	"settlement.Delivery":  "OrderDelivery",
	// Two packages have a CancelInput: the certificates' keeps the bare name the client had.
	"subscriptions.CancelInput": "SubscriptionCancelInput",
	"certificates.CancelInput":  "CancelInput",
	// and two a Subscription: the webhooks' keeps the name it had; a metered one is a MeteredSubscription.
	"webhooks.Subscription":      "Subscription",
	"subscriptions.Subscription": "MeteredSubscription",
}

// genericName names an instance of a generic type by its arguments: "PageOfOrder".
func genericName(name string, plain func(pkg, name string) string) string {
	out, _ := splitGeneric(name)
	for i, arg := range genericArgs(name) {
		if i == 0 {
			out += "Of"
		} else {
			out += "And"
		}
		out += argName(arg, plain)
	}
	return out
}

// checkUnique panics when two types end with the same component name: one would silently replace
// the other in the document. It runs whenever a document is built, so the tests catch it.
func (s *schemaSet) checkUnique() {
	seen := map[string]reflect.Type{}
	for k, n := range s.names {
		if other, ok := seen[n]; ok && other != s.types[k] {
			panic("openapi: " + other.String() + " and " + s.types[k].String() + " both named " + n)
		}
		seen[n] = s.types[k]
	}
}

// splitGeneric cuts "Page[…]" into "Page" and whether it had type arguments.
func splitGeneric(name string) (string, bool) {
	if i := strings.IndexByte(name, '['); i >= 0 {
		return name[:i], true
	}
	return name, false
}

// genericArgs lists the type arguments of "Page[a/b.C,d.E]" as written by reflect.
func genericArgs(name string) []string {
	i := strings.IndexByte(name, '[')
	inner := name[i+1 : len(name)-1]
	// Split on top-level commas only: an argument may itself be generic (Page[Pair[a.B,c.D]]).
	var args []string
	depth, start := 0, 0
	for j, r := range inner {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, inner[start:j])
				start = j + 1
			}
		}
	}
	return append(args, inner[start:])
}

// argName names a type argument: "[]a/b.C" is "CList", "a/b.C" is C (qualified if ambiguous).
func argName(arg string, plain func(pkg, name string) string) string {
	if rest, ok := strings.CutPrefix(arg, "[]"); ok {
		return argName(rest, plain) + "List"
	}
	last := arg[strings.LastIndexByte(arg, '/')+1:]
	pkg, name, ok := strings.Cut(last, ".")
	if !ok {
		return exported(last)
	}
	base, _ := splitGeneric(name)
	return plain(pkg, base)
}

// exported capitalises a package name used as a prefix ("listing" → "Listing").
func exported(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// components are the named schemas, with $refs between them renamed.
func (s *schemaSet) components() map[string]any {
	out := map[string]any{}
	for k, d := range s.defs {
		out[s.names[k]] = s.rename(d)
	}
	return out
}

// rename rewrites the reflector's $refs to the components' names.
func (s *schemaSet) rename(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if ref, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(ref, defsPrefix) {
				name, named := s.names[strings.TrimPrefix(ref, defsPrefix)]
				if !named {
					panic("openapi: a type reached after the components were named: gather it in Document")
				}
				e = componentPrefix + name
			}
			out[k] = s.rename(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.rename(e)
		}
		return out
	}
	return v
}

// Keywords whose value is a schema, a list of schemas or a map of them (JSON Schema 2020-12).
var (
	schemaKeywords     = []string{"items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"}
	schemaListKeywords = []string{"allOf", "anyOf", "oneOf", "prefixItems"}
	schemaMapKeywords  = []string{"properties", "patternProperties", "dependentSchemas", "$defs"}
)

// normalise replaces boolean schemas, which JSON Schema allows but some generators refuse, with
// their object forms: true is {} and false is {"not": {}}.
func normalise(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return map[string]any{}
		}
		return map[string]any{"not": map[string]any{}}
	case map[string]any:
		for _, k := range schemaKeywords {
			if e, ok := x[k]; ok {
				x[k] = normalise(e)
			}
		}
		for _, k := range schemaListKeywords {
			if list, ok := x[k].([]any); ok {
				for i, e := range list {
					list[i] = normalise(e)
				}
			}
		}
		for _, k := range schemaMapKeywords {
			if m, ok := x[k].(map[string]any); ok {
				for name, e := range m {
					m[name] = normalise(e)
				}
			}
		}
	}
	return v
}

// nullable marks the properties that the venue writes as null: pointer fields without omitempty
// (an obligation's due_date while it is pending). A nil slice or map, and the zero civil.Date,
// would be null too, but the domain types never leave them so in an answer: documenting them
// nullable would turn every list into a pointer in generated clients. The response tests
// (TestResponsesFollowTheOpenAPIDocument) check every answer for undocumented nulls.
func (s *schemaSet) nullable(t reflect.Type, schema any) any {
	obj, ok := schema.(map[string]any)
	if !ok || t == nil || t.Kind() != reflect.Struct {
		return schema
	}
	props, _ := obj["properties"].(map[string]any)
	for _, name := range nullFields(t) {
		if p, ok := props[name].(map[string]any); ok {
			props[name] = orNull(p)
		}
	}
	return schema
}

// nullFields lists the JSON names of t's pointer fields that can be null, following
// encoding/json's rules for embedded structs.
func nullFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, nullFields(ft)...)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if !omit && ft.Kind() == reflect.Pointer {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// orNull lets a property schema also be null, in the OpenAPI 3.1 way (a "null" type).
func orNull(p map[string]any) map[string]any {
	if enum, ok := p["enum"].([]any); ok {
		p["enum"] = append(enum, nil)
	}
	switch t := p["type"].(type) {
	case string:
		p["type"] = []any{t, "null"}
		return p
	case []any:
		for _, e := range t {
			if e == "null" {
				return p
			}
		}
		p["type"] = append(t, "null")
		return p
	}
	// A $ref (or any schema without a type) cannot take "null" beside it, so it is wrapped:
	// anyOf the schema or null. The description moves to the wrapper, where generators and
	// documentation tools look for it.
	if len(p) == 0 {
		return p // {} already allows null
	}
	out := map[string]any{"anyOf": []any{p, map[string]any{"type": "null"}}}
	if d, ok := p["description"]; ok {
		out["description"] = d
		delete(p, "description")
	}
	return out
}

// nameOf is the component name of v's type (after name).
func (s *schemaSet) nameOf(v any) string { return s.names[s.keys[reflect.TypeOf(v)]] }

// example makes a value that the schema accepts, for the operations' examples: a schema's own
// examples first, else the simplest value of its type. A pattern without an example cannot be
// satisfied that way, so a schema that requires one has no example (ok is false).
func example(schema any, components map[string]any) (any, bool) {
	return exampleOf(schema, "", components, 0)
}

// exampleOf is the example of schema, the schema of a property called name ("" for none).
func exampleOf(schema any, name string, components map[string]any, depth int) (any, bool) {
	// The depth bound stops a recursive type (a schema that refers back to itself) from looping.
	sc, ok := schema.(map[string]any)
	if !ok || depth > 8 {
		return nil, false
	}
	if ex, ok := sc["examples"].([]any); ok && len(ex) > 0 {
		return ex[0], true
	}
	if ref, ok := sc["$ref"].(string); ok {
		return exampleOf(components[strings.TrimPrefix(ref, componentPrefix)], name, components, depth+1)
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if alts, ok := sc[k].([]any); ok && len(alts) > 0 {
			return exampleOf(alts[0], name, components, depth+1)
		}
	}
	if enum, ok := sc["enum"].([]any); ok && len(enum) > 0 {
		return enum[0], true
	}
	typ := sc["type"]
	if types, ok := typ.([]any); ok && len(types) > 0 {
		typ = types[0]
	}
	switch typ {
	case "object":
		return objectExample(sc, components, depth)
	case "array":
		n := minimum(sc, "minItems")
		item, ok := exampleOf(sc["items"], "", components, depth+1)
		if !ok || n > 1 && sc["uniqueItems"] == true {
			return []any{}, n == 0
		}
		items := []any{item}
		for len(items) < n {
			items = append(items, item)
		}
		return items, true
	case "string":
		return stringExample(sc, name)
	case "integer", "number":
		if m := minimum(sc, "minimum"); m > 1 {
			return m, true
		}
		return 1, true
	case "boolean":
		return true, true
	}
	return map[string]any{}, true // {}: any value
}

// objectExample fills every property it can. A required property with no possible example makes
// the whole object exampleless: an example missing a required field would be an invalid example,
// worse than none, since clients copy examples.
func objectExample(sc map[string]any, components map[string]any, depth int) (any, bool) {
	out := map[string]any{}
	props, _ := sc["properties"].(map[string]any)
	required := map[string]bool{}
	if list, ok := sc["required"].([]any); ok {
		for _, r := range list {
			required[r.(string)] = true
		}
	}
	for name, p := range props {
		v, ok := exampleOf(p, name, components, depth+1)
		switch {
		case ok:
			out[name] = v
		case required[name]:
			return nil, false
		}
	}
	if ap, ok := sc["additionalProperties"].(map[string]any); ok && len(props) == 0 && len(ap) > 0 {
		if v, ok := exampleOf(ap, "", components, depth+1); ok {
			out["key"] = v
		}
	}
	return out, true
}

// amountName matches the names of request fields that are amounts in plain strings. Their schema
// has no pattern to satisfy, and "example" would be an invalid amount: they get a yuan amount.
var amountName = regexp.MustCompile(`(^|_)(price|amount|deposit|reserve|increment|value|floor)$`)

// stringExample gives a string its schema allows. Times carry the +08:00 offset, as the venue's
// users are in China Standard Time; a string that must match a pattern has no example unless the
// schema brings one, since a made-up value could not be guaranteed to match.
func stringExample(sc map[string]any, name string) (any, bool) {
	if amountName.MatchString(name) && sc["format"] == nil {
		return "9000.00", true // a plain amount, with or without its pattern
	}
	if _, ok := sc["pattern"]; ok {
		return nil, false
	}
	if name == "currency" {
		return "CNY", true
	}
	switch sc["format"] {
	case "date":
		return "2026-12-07", true
	case "date-time":
		return "2026-12-07T10:00:00+08:00", true
	case "uri":
		return "https://venue.example/", true
	}
	n := max(minimum(sc, "minLength"), 1)
	if m, ok := sc["maxLength"].(float64); ok && m < float64(len("example")) {
		return strings.Repeat("x", int(max(m, float64(n)))), true
	}
	return "example" + strings.Repeat("x", max(n-len("example"), 0)), true
}

// minimum reads a numeric keyword (JSON numbers decode as float64), 0 when absent.
func minimum(sc map[string]any, key string) int {
	if f, ok := sc[key].(float64); ok {
		return int(f)
	}
	return 0
}
