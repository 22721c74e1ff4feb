package api

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// jsonMarshal indents the documents the venue publishes (/openapi.json, `datavenue openapi`), so
// the file checked in beside the generated client diffs line by line when a route changes.
func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// docsPage renders the route table as a page a person can read without any JavaScript or network
// access (venue operators may run it air-gapped); the machine-readable twin is /openapi.json.
// The style is inline because the page loads nothing from elsewhere: securityHeaders' policy for
// HTML allows inline styles and nothing else (no script at all).
var docsPage = template.Must(template.Must(template.New("docs").Parse(
	`{{define "schema"}}{{if .Ref}} (<a href="#schema-{{.Ref}}">{{.Ref}}</a>){{end}}{{if .Example}}, for example:<pre>{{.Example}}</pre>{{else}}.{{end}}{{end}}`)).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>datavenue API {{.Version}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
.op{margin:1rem 0;padding:.6rem .8rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4rem;font-weight:bold;font-family:monospace}
.GET{color:#0a6}.POST{color:#06c}.PUT,.PATCH{color:#b70}.DELETE{color:#c22}
code,pre{font-family:ui-monospace,monospace;background:#f6f6f6}pre{padding:.5rem;overflow:auto;font-size:.85rem}
.lock{font-size:.8rem;color:#777}
</style></head><body>
<h1>datavenue API <small>{{.Version}}</small></h1>
<p>Trading venue for certified public data assets. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
Public keys: <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>.</p>
<ul>
<li>Authenticate with <code>Authorization: Bearer &lt;JWT&gt;</code> (EdDSA or RS256; claims <code>role</code> and <code>org</code>).</li>
<li>Errors are <code>application/problem+json</code> (RFC 9457) with a stable <code>code</code>; validation errors list <code>errors[]</code> of <code>{field, code, message}</code>.</li>
<li>Every state-changing request accepts <code>Idempotency-Key</code>: a retry with the same key and body gets the original response; the same key with another body gets 422 <code>idempotency_key_reused</code>. Keys are kept for the venue's retention, two weeks by default; a retry after that runs as a new request.</li>
<li>Money is a decimal string in yuan (<code>"1234.50"</code>) next to <code>"currency": "CNY"</code>; times are RFC 3339.</li>
<li>Lists take <code>limit</code> and <code>cursor</code> and return <code>next_cursor</code> while more pages exist.</li>
</ul>
{{range .Groups}}<h2>{{.Tag}}</h2>{{range .Ops}}
<div class="op" id="{{.ID}}"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code> {{if .Auth}}<span class="lock">(bearer token)</span>{{end}}
<div><b>{{.Summary}}</b>. {{.Description}}</div>
{{if .Request.Shown}}<div>Request body{{template "schema" .Request}}</div>{{end}}
<div>{{.Status}} response{{if .Response.Shown}}{{template "schema" .Response}}{{else}}.{{end}}</div>
</div>{{end}}{{end}}
<h2 id="schemas">Schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}"><b>{{.Name}}</b><pre>{{.JSON}}</pre></div>{{end}}
</body></html>`))

// docsOp, docsGroup and docsSchema are the page's view of the document: plain strings for the
// template, which html/template escapes, so no description or example can inject markup.
type docsOp struct {
	ID, Method, Path, Summary, Description, Status string
	Auth                                           bool
	Request, Response                              docsBody
}

// docsBody is a body as the page shows it: an example, and the schema it follows.
type docsBody struct {
	Shown        bool
	Ref, Example string
}

type docsGroup struct {
	Tag string
	Ops []docsOp
}

type docsSchema struct{ Name, JSON string }

// renderDocs renders the document the routes make, so the page and /openapi.json agree. Tags and
// schemas come out of maps and are sorted, so every build of the page is the same bytes (and its
// ETag the same on every instance); within a tag the operations keep the route table's order.
func renderDocs(routes []Route, version string) []byte {
	doc := Document(routes, version)
	paths := doc["paths"].(map[string]map[string]any)
	byTag := map[string][]docsOp{}
	for _, r := range routes {
		status := r.Op.Status
		if status == 0 {
			status = http.StatusOK
		}
		op := paths[openAPIPath(r.Path)][strings.ToLower(r.Method)].(map[string]any)
		d := docsOp{ID: r.Op.ID, Method: r.Method, Path: openAPIPath(r.Path), Summary: r.Op.Summary,
			Description: r.Op.Description, Auth: r.Op.Auth, Status: http.StatusText(status)}
		if body, ok := op["requestBody"].(map[string]any); ok {
			d.Request = docsBodyOf(body)
		}
		if ok, found := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any); found {
			d.Response = docsBodyOf(ok)
		}
		byTag[r.Op.Tag] = append(byTag[r.Op.Tag], d)
	}
	var groups []docsGroup
	for tag, ops := range byTag {
		groups = append(groups, docsGroup{Tag: tag, Ops: ops})
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Tag < groups[j].Tag })
	var schemas []docsSchema
	for name, sc := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
		b, _ := jsonMarshal(sc)
		schemas = append(schemas, docsSchema{Name: name, JSON: string(b)})
	}
	sort.Slice(schemas, func(i, j int) bool { return schemas[i].Name < schemas[j].Name })
	var buf bytes.Buffer
	_ = docsPage.Execute(&buf, map[string]any{"Version": version, "Groups": groups, "Schemas": schemas})
	return buf.Bytes()
}

// docsBodyOf shows a request body or response: its JSON example and the component it follows.
func docsBodyOf(body map[string]any) docsBody {
	// Only JSON bodies are shown: a file (CSV, XLSX, JWS) has no example worth printing.
	content, _ := body["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		return docsBody{}
	}
	var out docsBody
	if sc, ok := media["schema"].(map[string]any); ok {
		out.Ref, _ = sc["$ref"].(string)
		out.Ref = strings.TrimPrefix(out.Ref, componentPrefix)
	}
	if ex, ok := media["example"]; ok {
		b, _ := jsonMarshal(ex)
		out.Example = string(b)
	}
	out.Shown = out.Ref != "" || out.Example != ""
	return out
}
