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
)

// Apply submits an application for the caller's own asset.
// Only the holder, acting with the operator role, applies, and only for its own asset; a caller
// who may not read the asset learns only that no such asset of theirs exists. A data asset
// certificate needs a card of category data_asset (D3: a resource only becomes an asset when it
// is held, measurable in money and expected to bring benefit). A change registration (Amends) must
// name a currently valid certificate of the same kind and asset: an expired or cancelled one is
// not changed, it is applied for anew. The application records the card's current version.
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
// The amendment is a new revision reviewed from scratch; it is checked against the revision read
// here (the store refuses it if another amendment or decision came first) and re-pinned to the
// card's current version, since the holder may have corrected the card as well.
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
// The data bureau's concurrence (D5/G3) is recorded once per revision and must come before the
// finance bureau's review issues the certificate; a "fail" here blocks issuing until the holder
// amends (which starts a new revision needing a new concurrence).
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

// checkVerdict accepts only "pass" and "fail": a verdict is binary, a qualified pass is a fail
// with a comment.
func checkVerdict(f *datavenue.Fields, field, v string) {
	if v != "pass" && v != "fail" {
		f.Add(field, "invalid_value", "a verdict is pass or fail")
	}
}

// Review records a verdict on every review item. All pass: the certificate is issued and signed;
// any fails: the application is rejected with the reasons, and the holder may amend it.
func (s Service) Review(ctx context.Context, caller datavenue.Caller, id string, in ReviewInput) (Application, *Certificate, error) {
	// The reviewer's role depends on the kind: the data bureau for resource registration certificates
	// (D2), the finance bureau for data asset certificates (D5/G3). The verdicts are validated before
	// the status is checked, so a malformed decision is reported as such even on a closed application.
	// Issuing is one store transaction: it locks the application at the revision read here, records the
	// reviews, allocates the number (or the next version of the amended number), signs and inserts the
	// certificate and writes the audit record, so a certificate is never issued twice for one
	// application, nor half-issued. The signature is made inside that transaction (s.Signer.Sign
	// passed down) because the number it covers is only known there.
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

// verdicts turns the reviewer's items into Review rows and reports whether all passed. Every
// item of the kind needs exactly one verdict, and a fail needs a comment: the holder amends from
// the reasons, so a bare "fail" would leave nothing to act on.
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

// validity checks the requested validity period as CST civil dates: it may start in the past
// (a certificate recognising an earlier registration) but may not already have ended, and it is
// at most ten years long (10 × 366 days, so leap years never make a ten-year period too long).
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
	// The card, holder and issuer names are copied onto the certificate: it is a signed document, and
	// what it says must not change when a card or an organisation is renamed later. IssuedAt is cut to
	// the second because the signed form carries seconds (a JWS NumericDate).
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
	// A change registration keeps the number and takes the next version; the store re-reads the
	// valid version under a lock and supersedes it, so the version computed here is provisional.
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

// readApplication answers not-found both for a missing application and for one the caller may
// not read, so ids of other holders' applications cannot be probed.
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
	// Callers without registry-wide reading (canReadRegistry) are narrowed to their own holder,
	// whatever holder they filtered on.
	if !canReadRegistry(caller, "") {
		f.Holder = caller.Org
	}
	return s.Store.Applications(ctx, f)
}
