package api

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
)

func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// docsPage renders the route table as a page a person can read without any JavaScript or network
// access (venue operators may run it air-gapped); the machine-readable twin is /openapi.json.
var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
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
<li>Every state-changing request accepts <code>Idempotency-Key</code>: a retry with the same key and body gets the original response; the same key with another body gets 422 <code>idempotency_key_reused</code>.</li>
<li>Money is a decimal string in yuan (<code>"1234.50"</code>) next to <code>"currency": "CNY"</code>; times are RFC 3339.</li>
<li>Lists take <code>limit</code> and <code>cursor</code> and return <code>next_cursor</code> while more pages exist.</li>
</ul>
{{range .Groups}}<h2>{{.Tag}}</h2>{{range .Ops}}
<div class="op" id="{{.ID}}"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code> {{if .Auth}}<span class="lock">(bearer token)</span>{{end}}
<div><b>{{.Summary}}</b>. {{.Description}}</div>
{{if .Request}}<div>Request body:</div><pre>{{.Request}}</pre>{{end}}
{{if .Response}}<div>{{.Status}} response:</div><pre>{{.Response}}</pre>{{else}}<div>{{.Status}} response.</div>{{end}}
</div>{{end}}{{end}}
</body></html>`))

type docsOp struct {
	ID, Method, Path, Summary, Description, Request, Response, Status string
	Auth                                                              bool
}

type docsGroup struct {
	Tag string
	Ops []docsOp
}

func renderDocs(routes []Route, version string) []byte {
	byTag := map[string][]docsOp{}
	for _, r := range routes {
		status := r.Op.Status
		if status == 0 {
			status = http.StatusOK
		}
		op := docsOp{ID: r.Op.ID, Method: r.Method, Path: openAPIPath(r.Path), Summary: r.Op.Summary,
			Description: r.Op.Description, Auth: r.Op.Auth, Status: http.StatusText(status)}
		if r.Op.Request != nil {
			b, _ := jsonMarshal(schemaOf(r.Op.Request))
			op.Request = string(b)
		}
		if r.Op.Response != nil {
			b, _ := jsonMarshal(schemaOf(r.Op.Response))
			op.Response = string(b)
		}
		byTag[r.Op.Tag] = append(byTag[r.Op.Tag], op)
	}
	var groups []docsGroup
	for tag, ops := range byTag {
		groups = append(groups, docsGroup{Tag: tag, Ops: ops})
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Tag < groups[j].Tag })
	var buf bytes.Buffer
	_ = docsPage.Execute(&buf, map[string]any{"Version": version, "Groups": groups})
	return buf.Bytes()
}
