package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// Problem is an RFC 9457 problem details object, the body of every error response. Code is the
// stable, machine-readable part clients switch on; Detail is for humans and may change wording.
// Instance is the request's path and RequestID the venue's id of the request, which a client
// quotes to support (it finds the log lines); Errors lists every invalid field of a 422 at once,
// so a form can mark them all instead of one per round trip.
type Problem struct {
	Type      string                 `json:"type"`
	Title     string                 `json:"title"`
	Status    int                    `json:"status"`
	Detail    string                 `json:"detail"`
	Code      string                 `json:"code"`
	Instance  string                 `json:"instance,omitempty"`
	RequestID string                 `json:"request_id,omitempty"`
	Errors    []datavenue.FieldError `json:"errors,omitempty"`
}

// problemContentType is the media type of an error body (RFC 9457 section 3).
const problemContentType = "application/problem+json"

// statusByKind is the one table that maps error kinds to HTTP statuses. Services return kinds,
// never statuses, so the domain packages know nothing of HTTP. The choices that matter:
// malformed (unparseable JSON, a bad header) is 400 while a well-formed request with invalid
// fields is 422, so a client knows whether to fix its encoding or its values; conflict (409) is a
// request that is valid but collides with the resource's state (a version changed, a scenario
// already authorised) and may succeed after re-reading; not found (404) is also the answer for
// another organisation's resource, so ids of others' orders, bids or agreements cannot be probed.
var statusByKind = map[datavenue.Kind]int{
	datavenue.KindInternal:     http.StatusInternalServerError,
	datavenue.KindMalformed:    http.StatusBadRequest,
	datavenue.KindInvalid:      http.StatusUnprocessableEntity,
	datavenue.KindUnauthorized: http.StatusUnauthorized,
	datavenue.KindForbidden:    http.StatusForbidden,
	datavenue.KindNotFound:     http.StatusNotFound,
	datavenue.KindConflict:     http.StatusConflict,
	datavenue.KindTooLarge:     http.StatusRequestEntityTooLarge,
	datavenue.KindRateLimited:  http.StatusTooManyRequests,
	datavenue.KindUnavailable:  http.StatusServiceUnavailable,
}

// fiberCodes names the errors that Fiber itself raises before a handler runs, so those answers
// carry a stable code like every other problem. A Fiber status not listed here, and any 5xx, is
// answered as an internal error (500), never passed through with an uncoded body.
var fiberCodes = map[int]string{
	http.StatusBadRequest:                  "bad_request",
	http.StatusNotFound:                    "route_not_found",
	http.StatusMethodNotAllowed:            "method_not_allowed",
	http.StatusNotAcceptable:               "not_acceptable", // an export asked for in a media type it has not
	http.StatusRequestTimeout:              "request_timeout",
	http.StatusRequestEntityTooLarge:       "body_too_large",
	http.StatusUnsupportedMediaType:        "unsupported_media_type",
	http.StatusRequestHeaderFieldsTooLarge: "headers_too_large",
	http.StatusTooManyRequests:             "rate_limited",
	http.StatusServiceUnavailable:          "unavailable",
}

// problemFor turns any error into a problem. Internal errors keep their cause out of the body.
func problemFor(err error) Problem {
	// Fiber's own errors (no route, bad method, a body it refused) carry a status but no code;
	// they are given one from fiberCodes. Everything else is the domain's *datavenue.Error, or
	// becomes an internal one (AsError), whose message is generic and whose cause is only logged.
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, ok := fiberCodes[fe.Code]
		if !ok || fe.Code >= 500 {
			// Not problemFor(datavenue.Internal(err)): the wrapper unwraps to this same Fiber
			// error, and that recursed until the stack ran out (found with a 406 before it was named).
			e := datavenue.Internal(err)
			status := statusByKind[e.Kind]
			return Problem{Status: status, Code: e.Code, Detail: e.Message, Title: http.StatusText(status), Type: problemType(e.Code)}
		}
		return Problem{Status: fe.Code, Code: code, Detail: fe.Message, Title: http.StatusText(fe.Code),
			Type: problemType(code)}
	}
	e := datavenue.AsError(err)
	status := statusByKind[e.Kind]
	return Problem{Status: status, Code: e.Code, Detail: e.Message, Title: http.StatusText(status),
		Type: problemType(e.Code), Errors: e.Fields}
}

// problemType makes the problem's "type" URI from its code. RFC 9457 allows a non-dereferenceable
// URI; a URN says so plainly, instead of a URL that would promise a page that does not exist.
func problemType(code string) string { return "urn:datavenue:problem:" + code }

// errorHandler writes every error as problem+json. It is also called by the observe middleware so
// the access log and metrics see the final status.
func errorHandler(logger *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		// Only server errors are logged here: a 4xx is the client's, already in the access log
		// with its status; logging its detail too would let clients fill the log.
		p := problemFor(err)
		p.Instance = c.Path()
		p.RequestID = requestID(c)
		if p.Status >= 500 {
			logger.Error("request failed", "request_id", p.RequestID, "method", c.Method(),
				"path", c.Path(), "status", p.Status, "code", p.Code, "error", err.Error())
		}
		// RFC 6750: a 401 for a bearer-token API names the scheme, so clients know to send one.
		if p.Status == http.StatusUnauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="datavenue", error="invalid_token"`)
		}
		if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
			// A limiter's own Retry-After (seconds until the budget refills) is kept; otherwise one
			// second, so clients back off at all instead of retrying in a tight loop.
			if c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
				c.Set(fiber.HeaderRetryAfter, "1")
			}
		}
		c.Status(p.Status)
		return c.JSON(p, problemContentType)
	}
}
