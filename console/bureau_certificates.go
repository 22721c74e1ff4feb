package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
)

// The bureaus' certificates (D3, D9): every version issued, newest first, and a certificate's page
// with the two changes its issuer makes after issuing it: a correction (更正: a new version signed
// with the scope or the end date fixed, the old one superseded and kept) and a cancellation (注销,
// with its reason: listings built on the asset are suspended through the certificate.cancelled
// event). Both are the certificates service's Correct and Cancel (the API's correctCertificate and
// cancelCertificate), which decide who may; the page offers the forms to the issuing bureau only.

func init() {
	for page, ops := range map[string][]string{
		"certs":       {"listCertificates", "getCertificate"},
		"correctcert": {"correctCertificate"},
		"cancelcert":  {"cancelCertificate"},
	} {
		pageOps[page] = ops
	}
	pageNames = append(pageNames, "bureau-certs", "bureau-cert")
}

// mountBureauCertificates adds the certificates' routes under the console's group.
func (c *Console) mountBureauCertificates(g fiber.Router) {
	g.Get("/certificates", c.session(true), c.page("certs"), c.asIssuer, c.bureauCertificates)
	g.Get("/certificates/:id", c.session(true), c.page("certs"), c.asIssuer, c.bureauCertificate)
	g.Post("/certificates/:id/:action", c.session(true), c.csrf, c.page("certs"), c.asIssuer, c.certificateAction)
}

// asIssuer keeps the pages to the two issuing bureaus (the policy lets others read certificates:
// the product pages show them).
func (c *Console) asIssuer(ctx *fiber.Ctx) error {
	if r := sessionOf(ctx).Caller.Role; r != datavenue.RoleDataBureau && r != datavenue.RoleFinanceBureau {
		return datavenue.Forbidden("role_not_allowed", "these are the issuing bureaus' pages")
	}
	return ctx.Next()
}

type certsData struct {
	Rows []certificates.Certificate
	Next string
}

func (c *Console) bureauCertificates(ctx *fiber.Ctx) error {
	l := lang(ctx)
	list, err := c.d.Certificates.Certificates(ctx.UserContext(), certificates.CertificateFilter{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d := certsData{Rows: list}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/certificates?cursor=%s", Prefix, list[len(list)-1].ID)
	}
	return c.render(ctx, "bureau-certs", l.T("certs.title"), d)
}

type certData struct {
	C             certificates.Certificate
	Types         []string // the product types a scope may name
	Scenarios     string   // the scope's scenarios, one a line, for the correction form
	Issuer        bool     // the caller's bureau issued it: the forms are offered
	Open          bool     // valid or not yet valid: it may still be corrected or cancelled
	CSRF          string
	Key, Key2     string // the correction's and the cancellation's form keys (once)
	Done, Problem string
	Given         form
}

func (c *Console) bureauCertificate(ctx *fiber.Ctx) error {
	return c.renderCertificate(ctx, ctx.Query("done"), "", nil)
}

func (c *Console) renderCertificate(ctx *fiber.Ctx, done, problem string, given form) error {
	l, s := lang(ctx), sessionOf(ctx)
	cert, err := c.d.Certificates.Certificate(ctx.UserContext(), ctx.Params("id"))
	if err != nil {
		return err
	}
	d := certData{C: cert, Types: certificates.ProductTypes, Scenarios: strings.Join(cert.Scope.Scenarios, "\n"), CSRF: s.CSRF,
		Key: randomToken(), Key2: randomToken(), Done: done, Problem: problem, Given: given,
		Issuer: certificates.IssuerRole(cert.Kind) == s.Caller.Role,
		Open:   cert.Status == certificates.StatusValid || cert.Status == certificates.StatusNotYetValid}
	return c.render(ctx, "bureau-cert", l.T("cert.title"), d)
}

// certificateAction corrects or cancels a certificate, once per form key; a refusal is shown
// above the forms, what was given kept.
func (c *Console) certificateAction(ctx *fiber.Ctx) error {
	id, action := ctx.Params("id"), ctx.Params("action")
	page := map[string]string{"correct": "correctcert", "cancel": "cancelcert"}[action]
	if page == "" {
		return fiber.ErrNotFound
	}
	if !allowed(page, sessionOf(ctx).Caller.Role) {
		return datavenue.Forbidden("role_not_allowed", "the role may not "+action+" certificates")
	}
	f := formOf(ctx, "scenarios", "valid_until", "reason")
	types := postedAll(ctx, "product_types")
	return c.once(ctx, func() error {
		s, cx := sessionOf(ctx), ctx.UserContext()
		next, err := id, error(nil)
		if action == "correct" {
			var scenarios []string
			for _, line := range strings.Split(f["scenarios"], "\n") {
				if line = strings.TrimSpace(line); line != "" {
					scenarios = append(scenarios, line)
				}
			}
			var corrected certificates.Certificate
			corrected, err = c.d.Certificates.Correct(cx, s.Caller, id, certificates.CorrectInput{
				Scope: certificates.Scope{Scenarios: scenarios, ProductTypes: types}, ValidUntil: f["valid_until"], Reason: f["reason"]})
			next = corrected.ID // the new version's page (unused on a refusal)
		} else {
			_, err = c.d.Certificates.Cancel(cx, s.Caller, id, certificates.CancelInput{Reason: f["reason"]})
		}
		return decided(ctx, err, Prefix+"/certificates/"+next+"?done="+action, func(problem string) error { return c.renderCertificate(ctx, "", problem, f) })
	})
}
