package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/idempotency"
)

// The bureaus' other queues, beside the registration reviews (bureau.go): the data bureau's
// concurrence on data asset certificate applications (D5/G3), the finance bureau's decisions on
// paid-use and disposal approvals (D10), the data bureau's scenario authorisations under way
// (assessed, revoked: D9) and the price caps it files (N4). Each queue lists what waits, each item
// is opened with its documents beside the asset card (or the product) they concern, and the
// decision, with its reason, goes through the very service the API's operation calls (which
// checks who may decide and when, and records the audit event in the same transaction).

// bureauPages are the queues' templates: each is parsed with the layout and the asset card
// (bureau-card.html) they share.
var bureauPages = []string{"bureau-concurrences", "bureau-concurrence", "bureau-approvals", "bureau-approval",
	"bureau-grants", "bureau-grant", "bureau-grant-new", "bureau-caps", "bureau-cap"}

func parseBureauPages(out map[string]*template.Template) {
	for _, name := range bureauPages {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html",
			"templates/bureau-card.html", "templates/"+name+".html"))
	}
}

// cardView is an asset card as the queues show it beside their documents: the card, the version
// the item was made against (0: not recorded), and the certificates issued for the asset.
type cardView struct {
	L       Lang
	C       assets.Card
	Applied int
	Certs   []certificates.Certificate
	Hidden  bool // the caller may not read the card (an operator authorised on another's asset)
}

// card reads the asset card and its certificates as the caller may see them.
func (c *Console) card(ctx *fiber.Ctx, id assets.ID, applied int) (cardView, error) {
	s, cx := sessionOf(ctx), ctx.UserContext()
	card, err := c.d.Assets.Card(cx, s.Caller, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound {
		// The item is the caller's to read, the card may not be (the policy's getAsset): the page
		// says so rather than hiding the item too.
		return cardView{L: lang(ctx), Hidden: true}, nil
	}
	if err != nil {
		return cardView{}, err
	}
	certs, err := c.d.Certificates.Certificates(cx, certificates.CertificateFilter{AssetID: id, Limit: 20})
	if err != nil {
		return cardView{}, err
	}
	return cardView{L: lang(ctx), C: card, Applied: applied, Certs: certs}, nil
}

// decided answers a decision's form: on success the page it lands on (303); a refusal the person
// can act on, the form's page again with it (422, rerender); anything else, the error.
func decided(ctx *fiber.Ctx, err error, landing string, rerender func(problem string) error) error {
	if err == nil {
		return ctx.Redirect(landing, fiber.StatusSeeOther)
	}
	problem, err := decisionRefused(err)
	if err != nil {
		return err
	}
	ctx.Status(fiber.StatusUnprocessableEntity)
	return rerender(problem)
}

// postedAll is every value posted under name (a group of checkboxes).
func postedAll(ctx *fiber.Ctx, name string) []string {
	var values []string
	ctx.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == name {
			values = append(values, string(v))
		}
	})
	return values
}

// decisionRefused turns a refusal of a decision the person can act on (invalid input, a state
// that moved on) into the text shown above the form; any other error is returned as it is.
func decisionRefused(err error) (string, error) {
	var de *datavenue.Error
	if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict || !asError(err, &de) {
		return "", err
	}
	return problemText(de), nil
}

// form is what a decision form sent back, kept to show again with a refusal.
type form map[string]string

func formOf(ctx *fiber.Ctx, names ...string) form {
	f := form{}
	for _, n := range names {
		f[n] = strings.TrimSpace(ctx.FormValue(n))
	}
	return f
}

type concurrencesData struct {
	Rows []certificates.Application
	Next string
}

// concurrences is the data bureau's queue of data asset certificate applications waiting for a
// review (the finance bureau's), each marked with whether the data bureau concurred yet: the
// finance bureau cannot issue before it has (D5/G3).
func (c *Console) concurrences(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	list, err := c.d.Certificates.Applications(ctx.UserContext(), s.Caller, certificates.ApplicationFilter{Kind: certificates.KindAsset,
		Status: certificates.AppSubmitted, After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d := concurrencesData{Rows: list}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/concurrences?cursor=%s", Prefix, list[len(list)-1].ID)
	}
	return c.render(ctx, "bureau-concurrences", l.T("concur.queue"), d)
}

type concurrenceData struct {
	Key     string // the form's idempotency key (once)
	A       certificates.Application
	Card    cardView
	CanAct  bool
	CSRF    string
	Done    string
	Problem string
	Given   form
}

// concurrence is an application with its materials (source compliance) beside the asset card,
// and the concurrence form while none is recorded.
func (c *Console) concurrence(ctx *fiber.Ctx) error {
	return c.renderConcurrence(ctx, ctx.Query("done"), "", nil)
}

func (c *Console) renderConcurrence(ctx *fiber.Ctx, done, problem string, given form) error {
	l, s := lang(ctx), sessionOf(ctx)
	a, err := c.d.Certificates.Application(ctx.UserContext(), s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	if a.Kind != certificates.KindAsset {
		return fiber.ErrNotFound
	}
	d := concurrenceData{Key: randomToken(), A: a, CSRF: s.CSRF, Done: done, Problem: problem, Given: given,
		CanAct: allowed("concur", s.Caller.Role) && a.Status == certificates.AppSubmitted && a.Concurrence == nil}
	if d.Card, err = c.card(ctx, a.AssetID, a.AssetVersion); err != nil {
		return err
	}
	return c.render(ctx, "bureau-concurrence", l.T("concur.title"), d)
}

// concur records the data bureau's concurrence through the certificates service (the API's
// concur).
func (c *Console) concur(ctx *fiber.Ctx) error {
	id := ctx.Params("id")
	f := formOf(ctx, "verdict", "comment")
	return c.once(ctx, func() error { return c.recordConcurrence(ctx, id, f) })
}

func (c *Console) recordConcurrence(ctx *fiber.Ctx, id string, f form) error {
	s := sessionOf(ctx)
	_, err := c.d.Certificates.Concur(ctx.UserContext(), s.Caller, id, certificates.ConcurInput{Verdict: f["verdict"], Comment: f["comment"]})
	return decided(ctx, err, Prefix+"/concurrences/"+id+"?done="+f["verdict"], func(problem string) error { return c.renderConcurrence(ctx, "", problem, f) })
}

// onceLease is how long a decision form's key stays claimed while its decision runs.
const onceLease = time.Minute

// once runs a form's POST at most once per form (the bureaus' decisions, the operator's changes): each form carries a random key
// (formKey), claimed in the venue's idempotency store (the API's, scoped to the person), so a
// form sent twice (a double click, a reload of the POST) records one decision, and the second
// answer is the first one's redirect. Only a decision taken (run answered 303) completes the key;
// a refusal releases it, so the form can be corrected and sent again.
func (c *Console) once(ctx *fiber.Ctx, run func() error) error {
	key, s := ctx.FormValue("key"), sessionOf(ctx)
	if key == "" || c.d.Idempotency == nil {
		return run()
	}
	if !idempotency.ValidKey(key) {
		return datavenue.Invalid("validation_failed", "the form's key is not valid; reload the page")
	}
	scope := "console|" + s.Caller.Issuer + "|" + string(s.Caller.Org) + "|" + s.Caller.Subject
	fp := c.d.Fingerprints.Form(ctx.Method(), ctx.Path(), func(field func(name, value []byte)) {
		ctx.Request().PostArgs().VisitAll(func(k, v []byte) {
			if string(k) != "_csrf" {
				field(k, v)
			}
		})
	})
	cx := ctx.UserContext()
	claim, err := c.d.Idempotency.Claim(cx, scope, key, fp, onceLease)
	if err != nil {
		return err
	}
	switch claim.State {
	case idempotency.Replay:
		return ctx.Redirect(claim.Response.Location, fiber.StatusSeeOther)
	case idempotency.InProgress:
		return datavenue.Conflict("request_in_progress", "this form is being sent already: wait for its answer")
	case idempotency.Mismatch:
		return datavenue.Conflict("idempotency_key_reused", "this form was sent before with other values: reload the page")
	}
	err = run()
	if err == nil && ctx.Response().StatusCode() == fiber.StatusSeeOther {
		// The change is made: a key that cannot be completed must not turn it into an error page
		// (the person would send the form again, and once the lease lapsed it would run twice).
		// Logged and answered, as the API's idempotency layer does.
		if cerr := c.d.Idempotency.Complete(cx, scope, key, idempotency.Response{Status: fiber.StatusSeeOther,
			Location: string(ctx.Response().Header.Peek(fiber.HeaderLocation))}); cerr != nil {
			c.o.Logger.WarnContext(cx, "console: complete a form's key", "error", cerr.Error())
		}
		return nil
	}
	if rerr := c.d.Idempotency.Release(cx, scope, key); rerr != nil {
		c.o.Logger.WarnContext(cx, "console: release a form's key", "error", rerr.Error())
	}
	return err
}
