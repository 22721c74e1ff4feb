package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// The bureaus' review queue: registration applications (the data bureau reviews data resource
// certificates on the four items of D2, the finance bureau data asset certificates on source
// compliance, D5), each opened with the holder's materials beside the asset card they describe and
// a verdict with its reason per item; all items passing issues the certificate, any failing
// rejects the application for the holder to amend. The review is the certificates service's (the
// API's reviewApplication): the console only lays the documents side by side.

type reviewsData struct {
	Kind   certificates.Kind // the kind the caller's bureau reviews ("" for a reader of every queue)
	Status string
	Rows   []certificates.Application
	Next   string
}

// reviews is the queue of applications waiting for review (or decided ones, by status), of the
// kind the caller's bureau reviews.
func (c *Console) reviews(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := reviewsData{Status: ctx.Query("status", string(certificates.AppSubmitted))}
	for _, k := range []certificates.Kind{certificates.KindResource, certificates.KindAsset} {
		if certificates.IssuerRole(k) == s.Caller.Role {
			d.Kind = k
		}
	}
	list, err := c.d.Certificates.Applications(ctx.UserContext(), s.Caller, certificates.ApplicationFilter{Kind: d.Kind,
		Status: certificates.ApplicationStatus(d.Status), After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Rows = list
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/reviews?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "reviews", l.T("reviews.title"), d)
}

type reviewData struct {
	A         certificates.Application
	Asset     assets.Card
	Items     []reviewItem
	CanReview bool
	CSRF      string
	Until     string // the validity offered for the certificate: a year
	Done      string
	Problem   string
}

// reviewItem is one review item with the material the holder gave for it, and the verdict given
// (or being given again after a refusal).
type reviewItem struct {
	Item, Material  string
	Verdict, Reason string
	Past            []certificates.Review // earlier revisions' verdicts on it
}

// material is what the holder stated for a review item.
func material(m certificates.Materials, item string) string {
	switch item {
	case certificates.ItemLegality:
		return m.Legality
	case certificates.ItemProductInfo:
		return m.ProductInfo
	case certificates.ItemScenarioInfo:
		return m.ScenarioInfo
	case certificates.ItemSecurityRisk:
		return m.SecurityAssessment
	case certificates.ItemSourceCompliance:
		return m.SourceCompliance
	}
	return ""
}

// review is an application with the asset card beside it and the review form.
func (c *Console) review(ctx *fiber.Ctx) error {
	return c.renderReview(ctx, ctx.Query("done"), "", nil)
}

func (c *Console) renderReview(ctx *fiber.Ctx, done, problem string, given map[string][2]string) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	a, err := c.d.Certificates.Application(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	card, err := c.d.Assets.Card(cx, s.Caller, a.AssetID)
	if err != nil {
		return err
	}
	d := reviewData{A: a, Asset: card, CSRF: s.CSRF, Done: done, Problem: problem,
		CanReview: allowed("decide", s.Caller.Role) && certificates.IssuerRole(a.Kind) == s.Caller.Role && a.Status == certificates.AppSubmitted,
		Until:     civil.Of(c.now()).AddDays(365).String()}
	for _, it := range certificates.ReviewItems(a.Kind) {
		ri := reviewItem{Item: it, Material: material(a.Materials, it), Verdict: given[it][0], Reason: given[it][1]}
		for _, r := range a.Reviews {
			if r.Item == it {
				ri.Past = append(ri.Past, r)
			}
		}
		d.Items = append(d.Items, ri)
	}
	return c.render(ctx, "review", fmt.Sprintf(l.T("review.title"), l.Code("cert.kind", string(a.Kind))), d)
}

// decide records the bureau's verdicts through the certificates service (the API's
// reviewApplication; the store audits it). A refusal (a failed item without its reason, an
// application no longer open) is shown above the form, the verdicts given kept in it.
func (c *Console) decide(ctx *fiber.Ctx) error {
	s, id := sessionOf(ctx), ctx.Params("id")
	a, err := c.d.Certificates.Application(ctx.UserContext(), s.Caller, id)
	if err != nil {
		return err
	}
	in := certificates.ReviewInput{ValidUntil: ctx.FormValue("valid_until")}
	given := map[string][2]string{}
	for _, it := range certificates.ReviewItems(a.Kind) {
		v, reason := ctx.FormValue("verdict-"+it), strings.TrimSpace(ctx.FormValue("reason-"+it))
		given[it] = [2]string{v, reason}
		in.Items = append(in.Items, certificates.ItemVerdict{Item: it, Verdict: v, Comment: reason})
	}
	_, cert, err := c.d.Certificates.Review(ctx.UserContext(), s.Caller, id, in)
	if err != nil {
		var de *datavenue.Error
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict || !asError(err, &de) {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderReview(ctx, "", problemText(de), given)
	}
	done := "rejected"
	if cert != nil {
		done = "issued"
	}
	return ctx.Redirect(Prefix+"/reviews/"+id+"?done="+done, fiber.StatusSeeOther)
}
