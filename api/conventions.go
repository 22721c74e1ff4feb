package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/etag"
)

// HTTP conventions integrators' tools expect (issue 12), from Fiber's own middleware where it has
// one: CORS for a configured allow-list of origins, compressed answers, validators and caching on
// the public, cacheable documents, and 405 with Allow for a known path and another method.

// corsFor answers browsers on the listed origins (preflights included); none listed: no CORS
// headers at all, so a page on another origin cannot call the venue.
//
// The allowed headers are those a browser client needs to send (the token, idempotency key and its
// own request id); the exposed ones are those it must read (Location after a create, Retry-After
// after a 429 or 503, the replay marker, the ETag); a browser hides every other response header
// from scripts. Preflights are cached for ten minutes to spare a round trip before each write.
func corsFor(origins []string) fiber.Handler {
	return cors.New(cors.Config{
		AllowOrigins:  strings.Join(origins, ","),
		AllowMethods:  "GET,POST,PUT,DELETE,OPTIONS",
		AllowHeaders:  "Authorization,Content-Type,Accept,Idempotency-Key,X-Request-Id",
		ExposeHeaders: "Location,Retry-After,X-Request-Id,X-Client-Request-Id,Idempotent-Replayed,ETag",
		MaxAge:        600,
	})
}

// compressed compresses answers for clients that accept it (gzip, br, deflate: /openapi.json is
// 669 KB plain), except streams, which must reach the client as they are written.
func compressed() fiber.Handler {
	// Next skips compression: a compressor buffers what it is given, so an SSE event or an NDJSON
	// progress line would wait in it instead of reaching the client.
	return compress.New(compress.Config{Level: compress.LevelDefault, Next: func(c *fiber.Ctx) bool {
		return strings.HasSuffix(c.Path(), "/feed") || strings.Contains(c.Get(fiber.HeaderAccept), contentTypeNDJSON)
	}})
}

// cacheable are the public documents a cache may keep for a while, with how long. Search and a
// product's page change when an operator publishes, so a minute; the DCAT exports and the API
// documents change more rarely. Keyed by operation id, so New adds the validators per route.
var cacheable = map[string]string{
	"searchCatalogue": "public, max-age=60", "catalogueProduct": "public, max-age=60", "catalogueProductDCAT": "public, max-age=300",
	"catalogueDCAT": "public, max-age=300", "openapi": "public, max-age=300", "docs": "public, max-age=300",
	// The public disclosure (N6): a year's figures change with each payment, so a short while.
	"disclosedCaps": "public, max-age=60", "disclosedAuthorisations": "public, max-age=60", "disclosedFees": "public, max-age=60",
}

// validated gives an answer an ETag (If-None-Match then gets 304) and, asked without a token, a
// Cache-Control; with a token it stays no-store (securityHeaders).
func validated(cacheControl string) []fiber.Handler {
	// The ETag is weak: it is computed on the uncompressed body (compression wraps the route), and
	// the same tag then stands for the gzip and the plain representation, which RFC 9110 allows
	// only for a weak validator. Only a 200 is given a Cache-Control: an error must not be cached.
	return []fiber.Handler{func(c *fiber.Ctx) error {
		err := c.Next()
		if err == nil && len(c.Request().Header.Peek(fiber.HeaderAuthorization)) == 0 && c.Response().StatusCode() == http.StatusOK {
			c.Set(fiber.HeaderCacheControl, cacheControl)
		}
		return err
	}, etag.New(etag.Config{Weak: true})}
}

// methodTable knows which methods each route template answers, for 405 and Allow.
type methodTable map[string][]string // template ("/v1/orders/:id") -> methods

func (t methodTable) add(method, path string) { t[path] = append(t[path], method) }

// allowed lists the methods a concrete path answers, "" when no route has it. RFC 9110 requires
// the Allow header on a 405, and it tells a client its method is wrong rather than its path. HEAD
// is listed wherever GET is, since New mounts HEAD beside every GET. It runs only for requests no
// route matched, so the linear scan over templates costs nothing on the paths that matter.
func (t methodTable) allowed(path string) string {
	var methods []string
	for template, ms := range t {
		if matchTemplate(template, path) {
			methods = append(methods, ms...)
		}
	}
	if len(methods) == 0 {
		return ""
	}
	set := map[string]bool{}
	for _, m := range methods {
		set[m] = true
		if m == fiber.MethodGet {
			set[fiber.MethodHead] = true
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// matchTemplate matches a path against a Fiber route template with ":name" parameters.
func matchTemplate(template, path string) bool {
	ts, ps := strings.Split(strings.Trim(template, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		// A parameter matches any one non-empty segment, as Fiber's router does: "/v1/orders/"
		// does not name an order.
		if strings.HasPrefix(ts[i], ":") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}
