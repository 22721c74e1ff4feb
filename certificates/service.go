package certificates

import (
	"context"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/parties"
)

// SignFunc signs a certificate version; the store calls it inside the issuing transaction, once
// the number and version are allocated.
// Signing inside the transaction means a certificate row never exists unsigned, and a failed
// signature rolls the number back; the kid is stored so the document verifies after a rotation.
type SignFunc func(Certificate) (kid, document string, err error)

// ApplicationFilter narrows a listing of applications.
// Zero values mean no filter; pages are keyset pages by id, newest first, so a page does not
// shift when new applications arrive.
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
// Asset and Organisation are read here too so that the service never imports another domain's
// store: the names copied onto a certificate come through this one interface.
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
// It enforces who may do what (the holder applies; the data bureau or the finance bureau reviews,
// by kind; the data bureau concurs on asset certificates) and the order of the steps; the store
// keeps the transitions atomic. Checks that depend on a row (its holder, kind, status, revision)
// are made again inside the store's transaction with the row locked, so no decision is taken on a
// stale read.
type Service struct {
	Store  Store
	Signer Signer
	Clock  datavenue.Clock
	// Published, when set, is called after a change that published an event (so it is delivered
	// at once; see Waker).
	Published func()
}

// notify calls an optional hook; the services are values, and a nil hook means no waking (tests).
func notify(f func()) {
	if f != nil {
		f()
	}
}

// The same answer for missing and for invisible applications, so ids cannot be probed.
var errAppNotFound = datavenue.NotFound("application_not_found", "no application with this id is visible to you")

// canReadRegistry is the holder itself or an overseer (the bureaus, auditors): who may see the
// applications and certificates of a holder that are not public.
func canReadRegistry(c datavenue.Caller, holder datavenue.OrgID) bool {
	return c.Org == holder || isOverseer(c)
}

// issuerRole is the bureau that issues (and corrects) a kind of certificate.
func issuerRole(k Kind) datavenue.Role {
	if k == KindAsset {
		return datavenue.RoleFinanceBureau
	}
	return datavenue.RoleDataBureau
}

// IssuerRole is the bureau that reviews, issues and corrects a kind of certificate (the console
// shows each bureau its own review queue by it).
func IssuerRole(k Kind) datavenue.Role { return issuerRole(k) }

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
	// The fix runs on the locked current version. A correction may also fix a certificate whose
	// validity has not begun; the start date is kept (a correction fixes, it does not re-date), and
	// validity re-checks the new end date against it and against today.
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
		// The new version keeps the number and copies the rest of the old one; what changes is the scope,
		// the end date, who signed and when, and the amendment with its reason. It has no application:
		// corrections are made by the issuer directly, not applied for.
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
	// The first check answers early with a clear refusal; the callback repeats it on the locked row.
	// The store marks the version cancelled and writes the certificate.cancelled event in the same
	// transaction (the outbox, events.go); Published then wakes the dispatcher so that listings built
	// on the asset are suspended and bidding stops without waiting for the next tick (D9).
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

// Certificate returns one certificate version with its current status. Certificates are public
// credentials: any authenticated caller may read them.
// Status is derived on read from the stored state and today's CST date, so an expiry shows the
// day after the last valid day even before the sweep has recorded it.
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
// It is the public check a relying party makes (no token needed): a given version may be
// superseded while the number stays valid, which LatestVersion lets the caller see. version 0
// means the latest. "Today" is the CST civil date, as validity periods are.
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
