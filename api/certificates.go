package api

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
)

// Certificates is what the API needs of registration: applications reviewed by the data bureau
// (D2) or issued by the finance bureau with the data bureau's concurrence (D5), and the change,
// correction and cancellation registrations after issue. Certificate and Certificates take no
// caller: a certificate is the credential shown to others for external use (D5), so any
// authenticated caller may read it, and its status is public.
type Certificates interface {
	Apply(ctx context.Context, caller datavenue.Caller, in certificates.ApplyInput) (certificates.Application, error)
	Amend(ctx context.Context, caller datavenue.Caller, id string, in certificates.AmendInput) (certificates.Application, error)
	Concur(ctx context.Context, caller datavenue.Caller, id string, in certificates.ConcurInput) (certificates.Application, error)
	Review(ctx context.Context, caller datavenue.Caller, id string, in certificates.ReviewInput) (certificates.Application, *certificates.Certificate, error)
	Correct(ctx context.Context, caller datavenue.Caller, id string, in certificates.CorrectInput) (certificates.Certificate, error)
	Cancel(ctx context.Context, caller datavenue.Caller, id string, in certificates.CancelInput) (certificates.Certificate, error)
	Application(ctx context.Context, caller datavenue.Caller, id string) (certificates.Application, error)
	Applications(ctx context.Context, caller datavenue.Caller, f certificates.ApplicationFilter) ([]certificates.Application, error)
	Certificate(ctx context.Context, id string) (certificates.Certificate, error)
	Certificates(ctx context.Context, f certificates.CertificateFilter) ([]certificates.Certificate, error)
	Status(ctx context.Context, number string, version int) (certificates.StatusReport, error)
}

// ReviewResult is the outcome of a review: the application and, when every item passed, the
// certificate issued. Both are answered together because one review decides the application and,
// when it passes, issues the certificate: the reviewer needs no second read to find its number.
type ReviewResult struct {
	Application certificates.Application  `json:"application"`
	Certificate *certificates.Certificate `json:"certificate,omitempty"`
}

// certificateRoutes: applications are a workflow (apply, amend, concur, review) and each step is a
// POST action on the application; a certificate is never edited, only corrected (a new signed
// version, 201) or cancelled (the same version, now cancelled, 200).
func (h *handlers) certificateRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/certificate-applications", Operation{ID: "applyForCertificate", Tag: "certificates", Summary: "Apply for a certificate (or a change of one)",
			Description: "The holder applies for a data resource registration certificate (kind resource, reviewed by the data bureau) or a data asset certificate (kind asset, issued by the finance bureau with the data bureau's concurrence). With amends, it is a change registration of that certificate.",
			Auth:        true, Request: certificates.ApplyInput{}, Response: certificates.Application{}, Status: 201, Errors: []int{403, 409}}, h.apply},
		{"GET", "/v1/certificate-applications", Operation{ID: "listApplications", Tag: "certificates", Summary: "Certificate applications", Auth: true,
			Params: []Param{{Name: "kind", In: "query"}, {Name: "status", In: "query"}, limitParam, cursorParam}, Response: Page[certificates.Application]{}, Errors: []int{422}}, h.listApplications},
		{"GET", "/v1/certificate-applications/:id", Operation{ID: "getApplication", Tag: "certificates", Summary: "One application with every review", Auth: true,
			Params: id, Response: certificates.Application{}, Errors: []int{404}}, h.getApplication},
		{"POST", "/v1/certificate-applications/:id/amend", Operation{ID: "amendApplication", Tag: "certificates", Summary: "Amend and resubmit a rejected application", Auth: true,
			Params: id, Request: certificates.AmendInput{}, Response: certificates.Application{}, Errors: []int{403, 404, 409}}, h.amend},
		{"POST", "/v1/certificate-applications/:id/concurrence", Operation{ID: "concur", Tag: "certificates", Summary: "The data bureau's concurrence on a data asset certificate", Auth: true,
			Params: id, Request: certificates.ConcurInput{}, Response: certificates.Application{}, Errors: []int{403, 404, 409}}, h.concur},
		{"POST", "/v1/certificate-applications/:id/review", Operation{ID: "reviewApplication", Tag: "certificates", Summary: "Review an application: all items pass issues the certificate",
			Description: "A verdict (pass/fail with comment) on every review item: legality, product_info, scenario_info, security_risk for a resource certificate; source_compliance for an asset certificate. Any fail rejects the application with the reasons.",
			Auth:        true, Params: id, Request: certificates.ReviewInput{}, Response: ReviewResult{}, Errors: []int{403, 404, 409}}, h.review},
		{"GET", "/v1/certificates", Operation{ID: "listCertificates", Tag: "certificates", Summary: "Certificate versions, newest first", Auth: true,
			Params:   []Param{{Name: "asset_id", In: "query"}, {Name: "holder", In: "query"}, {Name: "number", In: "query"}, limitParam, cursorParam},
			Response: Page[certificates.Certificate]{}, Errors: []int{422}}, h.listCertificates},
		{"GET", "/v1/certificates/:id", Operation{ID: "getCertificate", Tag: "certificates", Summary: "One certificate version with its status today", Auth: true,
			Params: id, Response: certificates.Certificate{}, Errors: []int{404}}, h.getCertificate},
		{"GET", "/v1/certificates/:id/document", Operation{ID: "certificateDocument", Tag: "certificates", Summary: "The signed certificate file (JWS), verifiable offline",
			Description: "Verify with `datavenue cert verify FILE --jwks jwks.json`, or any JOSE library, against the keys at /.well-known/jwks.json.",
			Auth:        true, Params: id, ContentType: "application/jose", Errors: []int{404}}, h.certificateDocument},
		{"POST", "/v1/certificates/:id/correct", Operation{ID: "correctCertificate", Tag: "certificates", Summary: "Correct an error (更正): the issuer signs a new version",
			Auth: true, Params: id, Request: certificates.CorrectInput{}, Response: certificates.Certificate{}, Status: 201, Errors: []int{403, 404, 409}}, h.correct},
		{"POST", "/v1/certificates/:id/cancel", Operation{ID: "cancelCertificate", Tag: "certificates", Summary: "Cancel a certificate (注销), with the reason",
			Description: "By the holder or the issuing bureau. Publishes certificate.cancelled, on which listings are suspended and bidding stops.",
			Auth:        true, Params: id, Request: certificates.CancelInput{}, Response: certificates.Certificate{}, Errors: []int{403, 404, 409}}, h.cancel},
		{"GET", "/v1/public/certificates/:number/status", Operation{ID: "certificateStatus", Tag: "certificates", Summary: "Public status of a certificate number: valid, superseded, cancelled or expired",
			Params:   []Param{{Name: "number", In: "path"}, {Name: "version", In: "query", Description: "a version; default the latest", Schema: map[string]any{"type": "integer", "minimum": 1}}},
			Response: certificates.StatusReport{}, Errors: []int{404, 422}}, h.certificateStatus},
	}
}

// apply starts an application; with amends it is a change registration (变更, D5): a certificate
// is never edited, the holder applies again and the change is reviewed like the first issuance.
func (h *handlers) apply(c *fiber.Ctx) error {
	return create(c, h.d.Certificates.Apply, func(a certificates.Application) string { return "/v1/certificate-applications/" + a.ID })
}

// listApplications: a holder sees its own applications (whatever holder it asks for), the bureaus
// and auditors every holder's, as the service narrows the filter.
func (h *handlers) listApplications(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]certificates.Application, error) {
		return h.d.Certificates.Applications(c.UserContext(), callerOf(c), certificates.ApplicationFilter{Kind: certificates.Kind(c.Query("kind")),
			Status: certificates.ApplicationStatus(c.Query("status")), After: after, Limit: limit})
	}, func(a certificates.Application) string { return a.ID })
}

func (h *handlers) getApplication(c *fiber.Ctx) error {
	app, err := h.d.Certificates.Application(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(app)
}

// amend resubmits a rejected application with changes; it answers 200 with the same application,
// resubmitted under its id, rather than creating another one.
func (h *handlers) amend(c *fiber.Ctx) error {
	return update(c, h.d.Certificates.Amend)
}

// concur records the data bureau's concurrence, which a data asset certificate needs before the
// finance bureau may issue it (D5: issued by the finance bureau with the data bureau).
func (h *handlers) concur(c *fiber.Ctx) error {
	return update(c, h.d.Certificates.Concur)
}

// review is written out rather than with update because the service returns two results.
func (h *handlers) review(c *fiber.Ctx) error {
	var in certificates.ReviewInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	app, cert, err := h.d.Certificates.Review(c.UserContext(), callerOf(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(ReviewResult{Application: app, Certificate: cert})
}

// listCertificates lists certificate versions: a corrected certificate keeps its number and gains a
// version, so "number" lists the whole history of one certificate.
func (h *handlers) listCertificates(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]certificates.Certificate, error) {
		return h.d.Certificates.Certificates(c.UserContext(), certificates.CertificateFilter{Holder: datavenue.OrgID(c.Query("holder")),
			AssetID: assets.ID(c.Query("asset_id")), Number: c.Query("number"), After: after, Limit: limit})
	}, func(cert certificates.Certificate) string { return cert.ID })
}

// getCertificate answers any authenticated caller (see Certificates): a buyer checks the
// certificates a product rests on before it bids.
func (h *handlers) getCertificate(c *fiber.Ctx) error {
	cert, err := h.d.Certificates.Certificate(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(cert)
}

// certificateDocument serves the JWS as stored, byte for byte, so the signature verifies offline;
// the file name carries the number and version, since corrections give one number several files.
func (h *handlers) certificateDocument(c *fiber.Ctx) error {
	cert, err := h.d.Certificates.Certificate(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/jose")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+cert.Number+"-v"+strconv.Itoa(cert.Version)+`.jws"`)
	return c.SendString(cert.Document)
}

// correct answers 201 because a correction (更正) issues a new signed version with its own id; the
// old version stays readable as superseded, so documents already handed out can still be checked.
func (h *handlers) correct(c *fiber.Ctx) error {
	return create(c, onID(c, h.d.Certificates.Correct), func(cert certificates.Certificate) string { return "/v1/certificates/" + cert.ID })
}

// cancel (注销) changes the certificate's status, so it answers 200; the service publishes the
// event on which listings resting on the certificate are suspended.
func (h *handlers) cancel(c *fiber.Ctx) error {
	return update(c, h.d.Certificates.Cancel)
}

// certificateStatus is public (no token): whoever is shown a certificate can check that it is still
// valid. A bad version is refused here, before the lookup, as a 422 naming the field.
func (h *handlers) certificateStatus(c *fiber.Ctx) error {
	version := 0
	if raw := c.Query("version"); raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 1 {
			return datavenue.Invalid("validation_failed", "invalid query parameter",
				datavenue.FieldError{Field: "version", Code: "invalid_value", Message: "version is a positive integer"})
		}
		version = v
	}
	report, err := h.d.Certificates.Status(c.UserContext(), c.Params("number"), version)
	if err != nil {
		return err
	}
	// Never cached: a cancellation must be seen at once, or a cached "valid" would let a cancelled
	// certificate go on backing trades.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(report)
}
