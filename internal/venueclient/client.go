// Package venueclient drives a running venue over its public HTTP API, as an integrator would:
// the demo, the mixed load, the benchmarks and the process-level tests share it, so each walks the
// same certification and publishing steps. Every request is a method of the generated client
// (package client, made by oapi-codegen from the published OpenAPI document); this package only
// adds what an integrator adds around it: who the request is sent as, an Idempotency-Key and
// retries, and error answers as Go errors.
package venueclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/client"
)

// The 20-digit zero padding makes it as long as a real id ("org_" and 26 characters).
// DemoID is the id of the n-th seeded demo organisation (`datavenue seed`): stable, so seeding
// twice finds the same rows and printed tokens stay valid.
func DemoID(n int) datavenue.OrgID { return datavenue.OrgID(fmt.Sprintf("org_01JDEM%020d", n)) }

// Client drives a running venue through its public HTTP API only, as an integrator would.
// Tokens are minted with the venue's development keys: the demo plays the identity provider of
// every demo user (a production venue trusts an external one instead).
// Base is the venue's URL without a trailing slash; Out receives the numbered narration (Say,
// Note; io.Discard for the load and the benchmarks); Step and Calls count steps printed and
// HTTP requests sent (retries included), for the demo's summary. One Client may be used by many
// goroutines at once (the mixed load does): only Calls is written by every request, under calls.
type Client struct {
	Base   string
	HTTP   *http.Client
	Minter auth.Minter
	Out    io.Writer
	Step   int
	Calls  int
	Secret []byte // the payment callback secret, when the venue has one
	// Metering is the venue's metering secret, when it has one: the demo signs usage batches as
	// the operator's gateway would (with the secret derived for the operator).
	Metering []byte

	once  sync.Once
	api   *client.ClientWithResponses
	err   error
	calls sync.Mutex
}

// API is the generated client, sending through c (see Do): pass As(who) to each call.
func (c *Client) API() *client.ClientWithResponses {
	c.once.Do(func() {
		c.api, c.err = client.NewClientWithResponses(c.Base, client.WithHTTPClient(doer{c}))
	})
	if c.err != nil {
		panic("venueclient: base URL " + c.Base + ": " + c.err.Error()) // a flag's value, checked by url.Parse
	}
	return c.api
}

// It keeps the problem+json body (RFC 9457) whole, so a caller can branch on the stable Code
// (errors.As) instead of on the message text.
// Problem is an error answer of the venue.
type Problem struct{ client.Problem }

// Error puts the status and code first and then each field error of a validation problem, so a
// failed demo step says which rule refused it without a second look at the venue's logs.
func (p *Problem) Error() string {
	msg := fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
	if p.Errors != nil {
		for _, f := range *p.Errors {
			msg += fmt.Sprintf("; %s: %s", f.Field, f.Message)
		}
	}
	return msg
}

// Actor is who a request is sent as: a role acting for an organisation (none: no token).
type Actor struct {
	Role datavenue.Role
	Org  datavenue.OrgID
}

// As authenticates a generated client's request as who, with a token minted for it (none for
// Public).
// A token is minted per request, valid an hour: a long load never holds an expired one, and the
// subject ("demo-<role>") marks the venue's audit records as the demo's. Minting is local (the
// venue's development key), so it costs no round trip.
func (c *Client) As(who Actor) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if who.Role == "" {
			return nil
		}
		tok, err := c.Minter.Mint("demo-"+string(who.Role), who.Role, who.Org, time.Hour)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

// doer is the generated client's HTTP client. A state change without an Idempotency-Key gets
// one, so a request that got no answer is retried under the same key and happens once; an
// answer of 300 or more is returned as a *Problem error (its body read), so callers read only
// successful answers.
type doer struct{ c *Client }

// Only a request that got no answer at all is retried, at most twice more: an answer, even a 5xx,
// means the venue saw the request, and repeating it is the caller's decision. GET needs no key
// since it changes nothing; a caller's own key is kept, so a test can replay one on purpose.
func (d doer) Do(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Header.Get("Idempotency-Key") == "" {
		req.Header.Set("Idempotency-Key", datavenue.NewID("idem"))
	}
	what := req.Method + " " + req.URL.RequestURI()
	for attempt := 1; ; attempt++ {
		d.c.calls.Lock()
		d.c.Calls++
		d.c.calls.Unlock()
		resp, err := d.c.HTTP.Do(req)
		if err != nil {
			if attempt < 3 && rewind(req) {
				continue // no answer: the same request again, under the same key
			}
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if resp.StatusCode < 300 {
			return resp, nil
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		// The status of the HTTP answer wins over any in the body: a proxy's 502 page, or a body that is
		// not problem+json, still yields a Problem with the right Status and an empty Code.
		p := &Problem{client.Problem{Status: resp.StatusCode}}
		_ = json.Unmarshal(data, &p.Problem)
		p.Status = resp.StatusCode
		return nil, fmt.Errorf("%s: %w", what, p)
	}
}

// rewind makes req's body readable again for a retry; it reports whether it could.
// A body that cannot be replayed (no GetBody: a stream) is not retried, since a partial first
// attempt may have consumed it; requests built from bytes or strings always can be.
func rewind(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	req.Body = body
	return true
}

// Result is the decoded body of a generated XxxWithResponse call's successful answer (its JSON2xx
// field), as T: venueclient.Result[client.Asset](c.API().CreateAssetWithResponse(…)). An answer
// of another status is already an error (see doer); a success without the body the document
// names is one too.
func Result[T any](res any, err error) (T, error) {
	// The generated XxxWithResponse types have one JSON<status> field per documented answer, so which
	// field to read depends on the operation; reflection finds the one success field that is set rather
	// than every caller naming it (and breaking when a 200 becomes a 201).
	var zero T
	if err != nil {
		return zero, err
	}
	v := reflect.ValueOf(res).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !strings.HasPrefix(v.Type().Field(i).Name, "JSON2") || f.IsNil() {
			continue
		}
		if body, ok := f.Interface().(*T); ok {
			return *body, nil
		}
		return zero, fmt.Errorf("venueclient: %s is a %s, not a %T", v.Type().Field(i).Name, f.Type(), zero)
	}
	code := res.(interface{ StatusCode() int }).StatusCode()
	return zero, fmt.Errorf("venueclient: a %d answer without the JSON body the document names (%T)", code, res)
}

// Say prints the next numbered step.
func (c *Client) Say(format string, args ...any) {
	c.Step++
	fmt.Fprintf(c.Out, "\n%2d. %s\n", c.Step, fmt.Sprintf(format, args...))
}

// Note prints a detail of the current step.
func (c *Client) Note(format string, args ...any) {
	fmt.Fprintf(c.Out, "    %s\n", fmt.Sprintf(format, args...))
}

// WaitFor polls a condition every 250 ms up to limit: the demo waits for the venue's clock (an
// auction's end) and its background workers (closing, projection), which it cannot hurry.
func WaitFor(limit time.Duration, what string, cond func() (bool, error)) error {
	// It polls rather than subscribing because the waits are for background workers on the venue's own
	// schedule (the closer, the projection) that the public API does not announce; the error names
	// what was awaited, so a stuck worker is obvious in a test failure.
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Ptr is a pointer to v: the generated types make optional fields pointers.
func Ptr[T any](v T) *T { return &v }

// Deref is *p, or the zero value for nil.
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Date is a calendar date of the generated types.
func Date(t time.Time) openapi_types.Date { return openapi_types.Date{Time: t} }

// The numbers are fixed by `datavenue seed`, which creates these organisations with these roles;
// DemoID(4) is the collector and processor in the demo's revenue agreement (see Publish).
// The demo's parties: the seeded organisations (`datavenue seed`), plus a third buyer it registers.
var (
	DataBureau    = Actor{datavenue.RoleDataBureau, DemoID(1)}
	FinanceBureau = Actor{datavenue.RoleFinanceBureau, DemoID(2)}
	Holder        = Actor{datavenue.RoleOperator, DemoID(3)} // the transport bureau, holder of the data
	Operator      = Actor{datavenue.RoleOperator, DemoID(5)}
	BuyerA        = Actor{datavenue.RoleBuyer, DemoID(6)}
	BuyerB        = Actor{datavenue.RoleBuyer, DemoID(7)}
	Appraiser     = Actor{datavenue.RoleAppraiser, DemoID(8)}
	Clerk         = Actor{datavenue.RoleClerk, DemoID(9)}
	Auditor       = Actor{datavenue.RoleAuditor, DemoID(10)}
	Public        = Actor{}
)
