package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/idempotency"
)

// Header names the middleware reads and writes, and the keys of the values it leaves in the
// request's locals for later handlers and for the access log.
const (
	headerRequestID      = "X-Request-Id"
	headerIdempotencyKey = "Idempotency-Key"
	localRequestID       = "request_id"
	localCaller          = "caller"
	localRoute           = "route"
	localQuiet           = "quiet" // set by handlers whose caller must not be logged (a sealed bidder)
)

// requestID is the venue's id of the request ("" before withRequestID ran).
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// withRequestID gives every request the venue's own id (X-Request-Id on the response, request_id
// in problems, logs and audit records). A client's own X-Request-Id, when it is a sane token, is
// kept beside it (client_request_id in logs and audit records, X-Client-Request-Id on the
// response) but never used as the venue's: two clients could send the same one.
func withRequestID(c *fiber.Ctx) error {
	id := datavenue.NewID("req")
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	ctx := datavenue.WithRequestID(c.UserContext(), id)
	if client := c.Get(headerRequestID); saneID(client) {
		c.Set("X-Client-Request-Id", client)
		ctx = datavenue.WithClientRequestID(ctx, client)
	}
	c.SetUserContext(ctx)
	return c.Next()
}

// saneID accepts a client's request id only as a short token of safe characters: it is echoed in a
// response header and written into logs and audit records, where a newline or a control
// character could forge a line, and a long one could bloat every record.
func saneID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// securityHeaders: no response is sniffed into another type; an answer to a request that carried
// a token is never stored by a cache (it may hold what only that caller may see); an HTML page
// runs no script, loads nothing from elsewhere and is never framed (clickjacking).
//
// The headers are set after the handlers ran, since they depend on what the answer turned out to
// be (its media type, whether the handler set its own Cache-Control).
func securityHeaders(c *fiber.Ctx) error {
	err := c.Next()
	c.Set("X-Content-Type-Options", "nosniff")
	if len(c.Request().Header.Peek(fiber.HeaderAuthorization)) > 0 && len(c.Response().Header.Peek(fiber.HeaderCacheControl)) == 0 {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	// An HTML page gets a policy that allows nothing but inline styles (the docs), unless it set
	// its own (the console's, which loads its own scripts and posts its own forms).
	if strings.HasPrefix(string(c.Response().Header.ContentType()), "text/html") && len(c.Response().Header.Peek(fiber.HeaderContentSecurityPolicy)) == 0 {
		c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	}
	return err
}

// recoverPanics turns a panic into an internal error (answered 500 with no internals) and logs it
// with the request id and stack.
func recoverPanics(logger *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				logger.Error("panic", "request_id", requestID(c), "method", c.Method(), "path", c.Path(),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = datavenue.Internal(fmt.Errorf("panic: %v", r))
			}
		}()
		return c.Next()
	}
}

// metrics are the HTTP metrics, labelled by route template (never the raw path, which would let
// clients create unbounded label values) and status.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics registers the HTTP metrics. The buckets run from 1 ms to 5 s, finer at the low end
// where most answers fall; slower ones (long imports, the docs' first build) land in +Inf.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "datavenue_http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "datavenue_http_request_duration_seconds", Help: "HTTP request latency by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe writes the access log line and the metrics. It runs the error handler itself so both
// see the status the client gets.
func observe(logger *slog.Logger, m *metrics, onError fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := onError(c, err); herr != nil {
				return herr
			}
		}
		// The label is the route template, or "unmatched" for a path no route has (set by New's
		// catch-all), so scanning random paths cannot create label values without bound.
		route, _ := c.Locals(localRoute).(string)
		if route == "" {
			route = c.Route().Path
		}
		status := c.Response().StatusCode()
		elapsed := time.Since(start)
		m.requests.WithLabelValues(c.Method(), route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(c.Method(), route).Observe(elapsed.Seconds())
		attrs := []any{"request_id", requestID(c), "method", c.Method(), "route", route,
			"status", status, "duration_ms", float64(elapsed.Microseconds()) / 1000}
		if client := datavenue.ClientRequestIDFrom(c.UserContext()); client != "" {
			attrs = append(attrs, "client_request_id", client)
		}
		// Who called is logged (organisation and role, never the token) unless the handler asked
		// for quiet: a sealed bid's bidder must not be readable from the access log.
		if caller, ok := c.Locals(localCaller).(datavenue.Caller); ok && c.Locals(localQuiet) == nil {
			attrs = append(attrs, "org", caller.Org, "role", caller.Role)
		}
		logger.Info("request", attrs...)
		return nil
	}
}

// TokenVerifier checks a bearer token and names the caller.
type TokenVerifier interface {
	Verify(token string) (datavenue.Caller, error)
}

// RoleChecker refuses a caller whose organisation does not hold the token's role, or is unknown.
type RoleChecker interface {
	Check(ctx context.Context, caller datavenue.Caller) error
}

// authenticate requires a valid bearer token whose organisation holds its role (when roles is
// set), and puts the caller in the request context.
func authenticate(v TokenVerifier, roles RoleChecker) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// A missing header and a malformed one get different codes: the first is a client that
		// forgot to authenticate, the second one that built the header wrong. The scheme is
		// case-insensitive (RFC 9110 section 11.1).
		header := c.Get(fiber.HeaderAuthorization)
		scheme, token, ok := strings.Cut(header, " ")
		if header == "" {
			return datavenue.Unauthorized("token_missing", "send a bearer token in the Authorization header")
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return datavenue.Unauthorized("token_malformed", "the Authorization header must be \"Bearer <token>\"")
		}
		caller, err := v.Verify(strings.TrimSpace(token))
		if err != nil {
			return err
		}
		// A valid signature is not enough: the role in the token must be one the venue has granted
		// its organisation: a token naming the clerk role for a buyer's organisation is refused, even
		// when a trusted issuer signed it.
		if roles != nil {
			if err := roles.Check(c.UserContext(), caller); err != nil {
				return err
			}
		}
		c.Locals(localCaller, caller)
		c.SetUserContext(datavenue.WithCaller(c.UserContext(), caller))
		return c.Next()
	}
}

// limit spends one request of the caller's organisation's budget; over it, 429 with Retry-After.
// If the limiter itself fails (Redis down) the request goes through: refusing all trading because
// the limiter is down would turn a small outage into a total one.
func limit(rl RateLimiter, logger *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return spend(c, rl, logger, string(callerOf(c).Org))
	}
}

// limitRefused makes a request whose token authenticate refuses spend its address's budget, so
// that guessing tokens, or sending expired ones in a loop, is limited like anonymous traffic.
// (It runs before authenticate and looks at what came back: the caller is set only on success.)
func limitRefused(rl RateLimiter, logger *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if err == nil || c.Locals(localCaller) != nil {
			return err // authenticated (what failed later is not the token's doing)
		}
		if k := datavenue.KindOf(err); k != datavenue.KindUnauthorized && k != datavenue.KindForbidden {
			return err
		}
		if lerr := Spend(c, rl, logger, "ip:"+c.IP(), "refused requests from your address"); lerr != nil {
			return lerr
		}
		return err
	}
}

// limitPublic limits a public route (the catalogue, guidance, certificate status, the documents): a caller who
// sends a valid token spends its organisation's budget, anyone else the budget of its IP address.
// An invalid token is not refused here (the route is public) but counts as no token.
func limitPublic(rl RateLimiter, v TokenVerifier, logger *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := "ip:" + c.IP()
		if scheme, token, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
			if caller, err := v.Verify(strings.TrimSpace(token)); err == nil {
				key = string(caller.Org)
			}
		}
		return spend(c, rl, logger, key)
	}
}

// spend takes one request from key's budget and, within it, goes on to the route.
func spend(c *fiber.Ctx, rl RateLimiter, logger *slog.Logger, key string) error {
	if err := Spend(c, rl, logger, key, "requests from your organisation (or, without a token, your address)"); err != nil {
		return err
	}
	return c.Next()
}

// Spend takes one request from key's budget: nil within it, or when the limiter itself fails
// (logged: refusing everything because Redis is down would turn a small outage into a total
// one); over it, the 429 problem, with Retry-After set, saying "too many <what>". The API's
// limits and the console's spend through it.
func Spend(c *fiber.Ctx, rl RateLimiter, logger *slog.Logger, key, what string) error {
	ok, retry, err := rl.Allow(c.UserContext(), key)
	if err != nil {
		logger.WarnContext(c.UserContext(), "rate limiter unavailable; request let through", "request_id", requestID(c), "error", err.Error())
		return nil
	}
	// Retry-After takes whole seconds; rounding up means a client that waits as told is not
	// refused again for being a fraction of a second early.
	if !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		return &datavenue.Error{Kind: datavenue.KindRateLimited, Code: "rate_limited",
			Message: "too many " + what + "; retry after the time in Retry-After"}
	}
	return nil
}

// callerOf is the authenticated caller, or the zero Caller on a public route: its Is checks are then
// false for every role, so a service asked by an anonymous caller refuses what needs a role.
func callerOf(c *fiber.Ctx) datavenue.Caller {
	caller, _ := c.Locals(localCaller).(datavenue.Caller)
	return caller
}

// idempotent makes state-changing requests safe to retry (see package idempotency). Only
// successful (2xx) responses are stored: a refused request changed nothing, so its key is released
// and the client may retry it, corrected or not, with the same key.
//
// unkept names top-level fields of a JSON answer stored blank (see Operation.Unkept).
func idempotent(store idempotency.Store, fingerprints idempotency.Fingerprinter, lease time.Duration, logger *slog.Logger, unkept ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get(headerIdempotencyKey)
		if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead || key == "" {
			return c.Next()
		}
		if !idempotency.ValidKey(key) {
			return datavenue.Malformed("idempotency_key_invalid", "Idempotency-Key must be 1 to 255 printable ASCII characters")
		}
		// Keys are scoped to the caller (issuer, organisation, subject): two users who pick the same
		// key never see each other's answers. The fingerprint covers method, URL and body, so the
		// same key on a different request is caught (422) instead of replaying the wrong answer.
		caller := callerOf(c)
		scope := caller.Issuer + "|" + string(caller.Org) + "|" + caller.Subject
		ctx := c.UserContext()
		claim, err := store.Claim(ctx, scope, key, fingerprints.Request(c.Method(), c.OriginalURL(), c.Body()), lease)
		if err != nil {
			return err
		}
		// A replay answers with the stored status, body and Location (a retried create must still
		// learn where its resource is) and says it is a replay; a request still running under the
		// key is a 409 to retry shortly, not a second execution.
		switch claim.State {
		case idempotency.Replay:
			c.Set("Idempotent-Replayed", "true")
			c.Set(fiber.HeaderContentType, claim.Response.ContentType)
			if claim.Response.Location != "" {
				c.Set(fiber.HeaderLocation, claim.Response.Location)
			}
			return c.Status(claim.Response.Status).Send(claim.Response.Body)
		case idempotency.Mismatch:
			return datavenue.Invalid("idempotency_key_reused", "this Idempotency-Key was used for a different request")
		case idempotency.InProgress:
			return datavenue.Conflict("idempotency_in_progress", "a request with this Idempotency-Key is still running; retry shortly")
		}
		err = c.Next()
		status := c.Response().StatusCode()
		// A streamed answer (an import's progress) is not kept: reading it here would wait for
		// the whole import; a retry runs again into the domain's own duplicate checks.
		if err != nil || status < 200 || status > 299 || c.Response().IsBodyStream() {
			if rerr := store.Release(ctx, scope, key); rerr != nil && err == nil {
				return rerr
			}
			return err
		}
		resp := idempotency.Response{Status: status, ContentType: string(c.Response().Header.ContentType()),
			Body: blankFields(c.Response().Body(), unkept), Location: string(c.Response().Header.Peek(fiber.HeaderLocation))}
		if err := store.Complete(ctx, scope, key, resp); err != nil {
			// The change itself is committed: answer with it. A retry finds the claim running
			// until the lease ends, then runs again into the domain's own uniqueness checks.
			logger.Warn("idempotency: storing the response failed", "request_id", requestID(c), "error", err.Error())
		}
		return nil
	}
}

// blankFields copies a JSON object with the named top-level string fields replaced by a note that
// the value was shown once; anything that is not such an object is copied as it is.
func blankFields(body []byte, names []string) []byte {
	if len(names) == 0 {
		return append([]byte(nil), body...)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return append([]byte(nil), body...)
	}
	for _, n := range names {
		if _, ok := obj[n]; ok {
			obj[n] = json.RawMessage(`"(shown once, to the first request)"`)
		}
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return append([]byte(nil), body...)
	}
	return out
}
