package certificates

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/parties"
)

// SignFunc signs a certificate version; the store calls it inside the issuing transaction, once
// the number and version are allocated.
type SignFunc func(Certificate) (kid, document string, err error)

// ApplicationFilter narrows a listing of applications.
type ApplicationFilter struct {
	Holder datavenue.OrgID
	Kind   Kind
	Status ApplicationStatus
	After  string // the last id of the previous page (newest first)
	Limit  int
}

// CertificateFilter narrows a listing of certificates.
type CertificateFilter struct {
	Holder  datavenue.OrgID
	AssetID assets.ID
	Number  string
	After   string // the last id of the previous page (newest first)
	Limit   int
}

// Store keeps applications and certificates. Every write is one transaction with its audit record;
// transitions are guarded in SQL (WHERE status = … AND revision = …), so a concurrent decision
// loses with a conflict rather than overwriting.
type Store interface {
	Asset(ctx context.Context, id assets.ID) (assets.Asset, error)
	Organisation(ctx context.Context, id datavenue.OrgID) (parties.Organisation, error)

	CreateApplication(ctx context.Context, app Application) (Application, error)
	Application(ctx context.Context, id string) (Application, error)
	Applications(ctx context.Context, f ApplicationFilter) ([]Application, error)
	AmendApplication(ctx context.Context, id string, revision, assetVersion int, in AmendInput) (Application, error)
	RecordConcurrence(ctx context.Context, id string, revision int, c Concurrence) (Application, error)
	RejectApplication(ctx context.Context, id string, revision int, reviews []Review) (Application, error)
	// IssueCertificate decides the application and issues c. With c.Number empty a new number is
	// allocated; otherwise c is the next version of that number and the current version is
	// superseded in the same transaction.
	IssueCertificate(ctx context.Context, appID string, revision int, reviews []Review, c Certificate, sign SignFunc) (Certificate, error)
	// CorrectCertificate supersedes a valid version by the one fix returns.
	CorrectCertificate(ctx context.Context, id string, fix func(old Certificate) (Certificate, error), sign SignFunc) (Certificate, error)
	// CancelCertificate cancels a valid version after check approves it, and publishes the event.
	CancelCertificate(ctx context.Context, id, reason string, check func(Certificate) error) (Certificate, error)

	Certificate(ctx context.Context, id string) (Certificate, error)
	CertificateVersion(ctx context.Context, number string, version int) (Certificate, int, error) // version 0: the latest; also returns the latest version number
	Certificates(ctx context.Context, f CertificateFilter) ([]Certificate, error)
}

// Service runs registration: applications, reviews, issuing, change, correction, cancellation.
type Service struct {
	Store  Store
	Signer Signer
	Clock  datavenue.Clock
	// Published, when set, is called after a change that published an event (so it is delivered
	// at once; see Waker).
	Published func()
}

func notify(f func()) {
	if f != nil {
		f()
	}
}

var errAppNotFound = datavenue.NotFound("application_not_found", "no application with this id is visible to you")

func canReadRegistry(c datavenue.Caller, holder datavenue.OrgID) bool {
	return c.Org == holder || c.Is(datavenue.RoleDataBureau, datavenue.RoleFinanceBureau, datavenue.RoleAuditor)
}

// issuerRole is the bureau that issues (and corrects) a kind of certificate.
func issuerRole(k Kind) datavenue.Role {
	if k == KindAsset {
		return datavenue.RoleFinanceBureau
	}
	return datavenue.RoleDataBureau
}

// Apply submits an application for the caller's own asset.
func (s Service) Apply(ctx context.Context, caller datavenue.Caller, in ApplyInput) (Application, error) {
	// Who may comes before what is sent: a caller without the right learns nothing of the rules.
	if !caller.Is(datavenue.RoleOperator) {
		return Application{}, datavenue.Forbidden("role_not_allowed", "a holder applies for registration with the operator role")
	}
	var f datavenue.Fields
	if in.Kind != KindResource && in.Kind != KindAsset {
		f.Add("kind", "invalid_value", "kind is resource (数据资源登记证书) or asset (数据资产证书)")
	}
	in.Scope.validate(&f, "scope")
	in.Materials.validate(&f, in.Kind)
	if err := f.Err(); err != nil {
		return Application{}, err
	}
	a, err := s.Store.Asset(ctx, in.AssetID)
	if err != nil || !assets.CanRead(caller, a.HolderID) {
		return Application{}, datavenue.Invalid("asset_not_found", "the asset does not exist or is not yours",
			datavenue.FieldError{Field: "asset_id", Code: "not_found", Message: "no such asset of yours"})
	}
	if !assets.IsHolder(caller, a.HolderID) {
		return Application{}, datavenue.Forbidden("not_holder", "only the asset's holder applies for its certificates")
	}
	if in.Kind == KindAsset && a.Category != "data_asset" {
		return Application{}, datavenue.Invalid("not_a_data_asset", "a data asset certificate needs an asset card of category data_asset (D3)")
	}
	if in.Amends != "" {
		old, err := s.Store.Certificate(ctx, in.Amends)
		if err != nil || old.AssetID != a.ID || old.Kind != in.Kind {
			return Application{}, datavenue.Invalid("amends_mismatch", "amends must name a certificate of the same kind for this asset")
		}
		if st := old.StatusOn(civil.Of(s.Clock.Now())); st != StatusValid {
			return Application{}, datavenue.Conflict("certificate_not_valid", "only a valid certificate can be changed; this one is "+string(st))
		}
	}
	return s.Store.CreateApplication(ctx, Application{
		ID: datavenue.NewID("cap"), Kind: in.Kind, AssetID: a.ID, AssetVersion: a.Version, HolderID: a.HolderID,
		Amends: in.Amends, Revision: 1, Status: AppSubmitted, Scope: in.Scope, Materials: in.Materials,
	})
}

// Amend resubmits a rejected application with corrected scope and materials, against the asset
// card's current version.
func (s Service) Amend(ctx context.Context, caller datavenue.Caller, id string, in AmendInput) (Application, error) {
	app, err := s.readApplication(ctx, caller, id)
	if err != nil {
		return Application{}, err
	}
	if !assets.IsHolder(caller, app.HolderID) {
		return Application{}, datavenue.Forbidden("not_holder", "only the holder amends its application")
	}
	var f datavenue.Fields
	in.Scope.validate(&f, "scope")
	in.Materials.validate(&f, app.Kind)
	if err := f.Err(); err != nil {
		return Application{}, err
	}
	if app.Status != AppRejected {
		return Application{}, datavenue.Conflict("application_not_rejected", "only a rejected application is amended and resubmitted")
	}
	a, err := s.Store.Asset(ctx, app.AssetID)
	if err != nil {
		return Application{}, err
	}
	return s.Store.AmendApplication(ctx, id, app.Revision, a.Version, in)
}

// Concur records the data bureau's concurrence on a data asset certificate application.
func (s Service) Concur(ctx context.Context, caller datavenue.Caller, id string, in ConcurInput) (Application, error) {
	if !caller.Is(datavenue.RoleDataBureau) {
		return Application{}, datavenue.Forbidden("role_not_allowed", "the data bureau gives the concurrence")
	}
	var f datavenue.Fields
	checkVerdict(&f, "verdict", in.Verdict)
	assets.Text(&f, "comment", in.Comment, 0, 2000)
	if err := f.Err(); err != nil {
		return Application{}, err
	}
	app, err := s.readApplication(ctx, caller, id)
	if err != nil {
		return Application{}, err
	}
	if app.Kind != KindAsset {
		return Application{}, datavenue.Conflict("concurrence_not_applicable", "only a data asset certificate needs the data bureau's concurrence")
	}
	if app.Status != AppSubmitted || app.Concurrence != nil {
		return Application{}, datavenue.Conflict("application_not_open", "the application is not waiting for a concurrence")
	}
	return s.Store.RecordConcurrence(ctx, id, app.Revision, Concurrence{
		Verdict: in.Verdict, Comment: in.Comment, Org: caller.Org, By: caller.Subject, At: s.Clock.Now()})
}

func checkVerdict(f *datavenue.Fields, field, v string) {
	if v != "pass" && v != "fail" {
		f.Add(field, "invalid_value", "a verdict is pass or fail")
	}
}

// Review records a verdict on every review item. All pass: the certificate is issued and signed;
// any fails: the application is rejected with the reasons, and the holder may amend it.
func (s Service) Review(ctx context.Context, caller datavenue.Caller, id string, in ReviewInput) (Application, *Certificate, error) {
	app, err := s.readApplication(ctx, caller, id)
	if err != nil {
		return Application{}, nil, err
	}
	if !caller.Is(issuerRole(app.Kind)) {
		return Application{}, nil, datavenue.Forbidden("role_not_allowed", "a "+string(app.Kind)+" certificate is reviewed and issued by the "+string(issuerRole(app.Kind)))
	}
	reviews, allPass, err := s.verdicts(caller, app, in.Items)
	if err != nil {
		return Application{}, nil, err
	}
	if app.Status != AppSubmitted {
		return Application{}, nil, datavenue.Conflict("application_not_open", "the application is not waiting for review")
	}
	if !allPass {
		app, err = s.Store.RejectApplication(ctx, id, app.Revision, reviews)
		return app, nil, err
	}
	if app.Kind == KindAsset && (app.Concurrence == nil || app.Concurrence.Verdict != "pass") {
		return Application{}, nil, datavenue.Conflict("concurrence_missing", "a data asset certificate is issued with the data bureau's concurrence (D5); it is missing or negative")
	}
	from, until, err := s.validity(in.ValidFrom, in.ValidUntil)
	if err != nil {
		return Application{}, nil, err
	}
	cert, err := s.draft(ctx, caller, app, from, until)
	if err != nil {
		return Application{}, nil, err
	}
	issued, err := s.Store.IssueCertificate(ctx, id, app.Revision, reviews, cert, s.Signer.Sign)
	if err != nil {
		return Application{}, nil, err
	}
	app, err = s.Store.Application(ctx, id)
	return app, &issued, err
}

func (s Service) verdicts(caller datavenue.Caller, app Application, items []ItemVerdict) ([]Review, bool, error) {
	var f datavenue.Fields
	want := ReviewItems(app.Kind)
	given := map[string]bool{}
	allPass := true
	var reviews []Review
	for i, it := range items {
		field := "items[" + strconv.Itoa(i) + "]"
		if !slices.Contains(want, it.Item) || given[it.Item] {
			f.Add(field+".item", "invalid_value", "give one verdict on each of: "+strings.Join(want, ", "))
			continue
		}
		given[it.Item] = true
		checkVerdict(&f, field+".verdict", it.Verdict)
		assets.Text(&f, field+".comment", it.Comment, 0, 2000)
		if it.Verdict == "fail" && it.Comment == "" {
			f.Add(field+".comment", "required", "a failed item needs the reason, so the holder can amend")
		}
		allPass = allPass && it.Verdict == "pass"
		reviews = append(reviews, Review{Revision: app.Revision, Item: it.Item, Verdict: it.Verdict, Comment: it.Comment,
			ReviewerOrg: caller.Org, Reviewer: caller.Subject})
	}
	if len(given) != len(want) {
		f.Add("items", "incomplete", "give one verdict on each of: "+strings.Join(want, ", "))
	}
	return reviews, allPass, f.Err()
}

func (s Service) validity(fromText, untilText string) (civil.Date, civil.Date, error) {
	var f datavenue.Fields
	today := civil.Of(s.Clock.Now())
	from, err := civil.Parse(fromText)
	if fromText == "" {
		from, err = today, nil
	}
	if err != nil {
		f.Add("valid_from", "invalid_date", err.Error())
	}
	until, err := civil.Parse(untilText)
	switch {
	case err != nil:
		f.Add("valid_until", "invalid_date", err.Error())
	case until.Before(from) || until.Before(today):
		f.Add("valid_until", "invalid_period", "valid_until is on or after valid_from and today")
	case until.After(from.AddDays(10 * 366)):
		f.Add("valid_until", "invalid_period", "a validity period is at most ten years")
	}
	return from, until, f.Err()
}

// draft prepares the certificate an application yields; the store allocates number and version.
func (s Service) draft(ctx context.Context, caller datavenue.Caller, app Application, from, until civil.Date) (Certificate, error) {
	a, err := s.Store.Asset(ctx, app.AssetID)
	if err != nil {
		return Certificate{}, err
	}
	holder, err := s.Store.Organisation(ctx, app.HolderID)
	if err != nil {
		return Certificate{}, err
	}
	issuer, err := s.Store.Organisation(ctx, caller.Org)
	if err != nil {
		return Certificate{}, datavenue.Forbidden("issuer_unknown", "your organisation is not registered at the venue")
	}
	c := Certificate{
		ID: datavenue.NewID("crt"), Kind: app.Kind, Amendment: AmendOriginal, ApplicationID: app.ID,
		AssetID: app.AssetID, AssetVersion: app.AssetVersion, AssetName: a.Name, HolderID: app.HolderID,
		HolderName: holder.Name, Scope: app.Scope, IssuerOrg: caller.Org, IssuerName: issuer.Name, IssuedBy: caller.Subject,
		IssuedAt: s.Clock.Now().Truncate(time.Second), ValidFrom: from, ValidUntil: until, StoredStatus: StatusValid,
	}
	if app.Concurrence != nil {
		c.ConcurringOrg = app.Concurrence.Org
	}
	if app.Amends != "" {
		old, err := s.Store.Certificate(ctx, app.Amends)
		if err != nil {
			return Certificate{}, err
		}
		c.Number, c.Version = old.Number, old.Version+1
		c.Amendment, c.AmendmentReason = AmendChange, "change registration "+app.ID
	}
	return c, nil
}

// Correct fixes an error in a valid certificate: its issuer signs a new version, the old one is
// superseded and kept.
func (s Service) Correct(ctx context.Context, caller datavenue.Caller, id string, in CorrectInput) (Certificate, error) {
	current, err := s.Store.Certificate(ctx, id)
	if err != nil {
		return Certificate{}, err
	}
	if !caller.Is(issuerRole(current.Kind)) { // checked again in the correction's transaction
		return Certificate{}, datavenue.Forbidden("role_not_allowed", "only the issuing bureau corrects a certificate")
	}
	var f datavenue.Fields
	in.Scope.validate(&f, "scope")
	assets.Text(&f, "reason", in.Reason, 1, 500)
	if err := f.Err(); err != nil {
		return Certificate{}, err
	}
	today := civil.Of(s.Clock.Now())
	return s.Store.CorrectCertificate(ctx, id, func(old Certificate) (Certificate, error) {
		if !caller.Is(issuerRole(old.Kind)) {
			return Certificate{}, datavenue.Forbidden("role_not_allowed", "only the issuing bureau corrects a certificate")
		}
		if st := old.StatusOn(today); st != StatusValid && st != StatusNotYetValid {
			return Certificate{}, datavenue.Conflict("certificate_not_valid", "only a valid certificate is corrected; this one is "+string(st))
		}
		_, until, err := s.validity(old.ValidFrom.String(), in.ValidUntil)
		if err != nil {
			return Certificate{}, err
		}
		next := old
		next.ID, next.Version, next.Amendment, next.AmendmentReason = datavenue.NewID("crt"), old.Version+1, AmendCorrection, in.Reason
		next.Scope, next.ValidUntil, next.IssuedBy, next.IssuedAt = in.Scope, until, caller.Subject, s.Clock.Now().Truncate(time.Second)
		next.ApplicationID, next.StoredStatus, next.SupersededBy = "", StatusValid, ""
		return next, nil
	}, s.Signer.Sign)
}

// Cancel cancels a valid certificate (注销) with a reason; the holder or the issuing bureau may.
// Listing and matching learn of it through the certificate.cancelled event.
func (s Service) Cancel(ctx context.Context, caller datavenue.Caller, id string, in CancelInput) (Certificate, error) {
	current, err := s.Store.Certificate(ctx, id)
	if err != nil {
		return Certificate{}, err
	}
	if !assets.IsHolder(caller, current.HolderID) && !caller.Is(issuerRole(current.Kind)) {
		return Certificate{}, datavenue.Forbidden("role_not_allowed", "the holder or the issuing bureau cancels a certificate")
	}
	var f datavenue.Fields
	assets.Text(&f, "reason", in.Reason, 1, 500)
	if err := f.Err(); err != nil {
		return Certificate{}, err
	}
	c, err := s.Store.CancelCertificate(ctx, id, in.Reason, func(c Certificate) error {
		if !assets.IsHolder(caller, c.HolderID) && !caller.Is(issuerRole(c.Kind)) {
			return datavenue.Forbidden("role_not_allowed", "the holder or the issuing bureau cancels a certificate")
		}
		return nil
	})
	if err == nil {
		notify(s.Published)
	}
	return c, err
}

func (s Service) readApplication(ctx context.Context, caller datavenue.Caller, id string) (Application, error) {
	app, err := s.Store.Application(ctx, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound || (err == nil && !canReadRegistry(caller, app.HolderID)) {
		return Application{}, errAppNotFound
	}
	return app, err
}

// Application returns one application with its reviews.
func (s Service) Application(ctx context.Context, caller datavenue.Caller, id string) (Application, error) {
	return s.readApplication(ctx, caller, id)
}

// Applications lists applications: a holder its own, bureaus and auditors all.
func (s Service) Applications(ctx context.Context, caller datavenue.Caller, f ApplicationFilter) ([]Application, error) {
	if !canReadRegistry(caller, "") {
		f.Holder = caller.Org
	}
	return s.Store.Applications(ctx, f)
}

// Certificate returns one certificate version with its current status. Certificates are public
// credentials: any authenticated caller may read them.
func (s Service) Certificate(ctx context.Context, id string) (Certificate, error) {
	c, err := s.Store.Certificate(ctx, id)
	c.Status = c.StatusOn(civil.Of(s.Clock.Now()))
	return c, err
}

// Certificates lists certificate versions with their current status.
func (s Service) Certificates(ctx context.Context, f CertificateFilter) ([]Certificate, error) {
	list, err := s.Store.Certificates(ctx, f)
	today := civil.Of(s.Clock.Now())
	for i := range list {
		list[i].Status = list[i].StatusOn(today)
	}
	return list, err
}

// Status answers the public question "is certificate NUMBER (version V) valid today?".
func (s Service) Status(ctx context.Context, number string, version int) (StatusReport, error) {
	c, latest, err := s.Store.CertificateVersion(ctx, number, version)
	if err != nil {
		return StatusReport{}, err
	}
	today := civil.Of(s.Clock.Now())
	r := StatusReport{Number: c.Number, Version: c.Version, LatestVersion: latest, Kind: c.Kind, Status: c.StatusOn(today),
		ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, CheckedOn: today, Reason: c.CancellationReason}
	return r, nil
}
