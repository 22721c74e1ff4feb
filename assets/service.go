package assets

import (
	"context"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
)

// It holds no rule about the card's content (Input.Validate does that) and no storage: only who
// may do what, checked before anything is written.
// Service applies who may register, change and read cards.
type Service struct {
	Store Store
}

// A caller who may not read the holder's register gets 404, not 403: a 403 would confirm that
// the id exists and belongs to someone else.
// errNotFound hides the existence of another holder's asset from callers who may not read it.
var errNotFound = datavenue.NotFound("asset_not_found", "no asset with this id is visible to you")

// CanRead reports whether caller may read the holder's register: the holder itself, the bureaus
// that review and approve, auditors, and appraisers who value assets.
// Other packages ask it too (certificates, listing, settlement), so "who reads an asset" has one
// answer across the venue. access.Overseers are the bureaus and auditors.
func CanRead(caller datavenue.Caller, holder datavenue.OrgID) bool {
	return caller.Org == holder || caller.Is(access.Overseers...) || caller.Is(datavenue.RoleAppraiser)
}

// IsHolder reports whether caller acts for holder as its operator (a holder registers and changes
// its own assets through the operator role).
func IsHolder(caller datavenue.Caller, holder datavenue.OrgID) bool {
	return caller.Is(datavenue.RoleOperator) && caller.Org == holder
}

// Register adds a card for the caller's own organisation.
// Only the operator role registers, and always for its own organisation: the holder is taken from
// the token, never from the body, so one organisation cannot create cards in another's ledger.
func (s Service) Register(ctx context.Context, caller datavenue.Caller, in Input) (Asset, error) {
	if !caller.Is(datavenue.RoleOperator) {
		return Asset{}, datavenue.Forbidden("role_not_allowed", "a holder registers its assets with the operator role")
	}
	a, err := in.Validate()
	if err != nil {
		return Asset{}, err
	}
	a.ID = ID(datavenue.NewID("ast"))
	a.HolderID = caller.Org
	a.Version = 1
	return s.Store.CreateAsset(ctx, a)
}

// Update changes the caller's own card; expected is the version the caller edited, so two holders'
// clerks cannot overwrite each other's change (409 version_conflict).
func (s Service) Update(ctx context.Context, caller datavenue.Caller, id ID, expected int, reason string, in Input) (Asset, error) {
	// The order of checks is: existence, then who (a 404 for strangers, a 403 for readers who are
	// not the holder), then the fields, and only then the store. The same who-check runs again
	// inside the store's transaction on the locked row, before the version comparison, so a stranger
	// never learns a version number and the locked row, not the earlier read, has the last word.
	// Who may comes before what is sent (the transaction below checks again, authoritatively).
	current, err := s.Store.Asset(ctx, id)
	if err != nil {
		return Asset{}, err
	}
	if !IsHolder(caller, current.HolderID) {
		if CanRead(caller, current.HolderID) {
			return Asset{}, datavenue.Forbidden("not_holder", "only the holder changes its asset card")
		}
		return Asset{}, errNotFound
	}
	// Field errors of the card and of the reason and version are reported together (one 422).
	next, err := in.Validate()
	var f datavenue.Fields
	if err != nil {
		f = datavenue.AsError(err).Fields
	}
	Text(&f, "reason", reason, 1, 500)
	if expected < 1 {
		f.Add("version", "required", "send the version you edited")
	}
	if err := f.Err(); err != nil {
		return Asset{}, err
	}
	return s.Store.UpdateAsset(ctx, id, expected, reason, func(cur *Asset) error {
		// change runs on the locked current row: identity, version and creation time are the card's,
		// not the input's, so a body cannot renumber or re-home a card; the store then bumps the version.
		if !IsHolder(caller, cur.HolderID) {
			if CanRead(caller, cur.HolderID) {
				return datavenue.Forbidden("not_holder", "only the holder changes its asset card")
			}
			return errNotFound
		}
		next.ID, next.HolderID, next.Version, next.CreatedAt = cur.ID, cur.HolderID, cur.Version, cur.CreatedAt
		*cur = next
		return nil
	})
}

// Card returns a card with usage information.
func (s Service) Card(ctx context.Context, caller datavenue.Caller, id ID) (Card, error) {
	c, err := s.Store.Card(ctx, id)
	if err != nil {
		return Card{}, err
	}
	if !CanRead(caller, c.HolderID) {
		return Card{}, errNotFound
	}
	return c, nil
}

// Versions returns every version of a card, oldest first.
func (s Service) Versions(ctx context.Context, caller datavenue.Caller, id ID) ([]Version, error) {
	a, err := s.Store.Asset(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanRead(caller, a.HolderID) {
		return nil, errNotFound
	}
	return s.Store.AssetVersions(ctx, id)
}

// Ledger lists cards. A holder sees its own; bureaus, auditors and appraisers any holder's.
func (s Service) Ledger(ctx context.Context, caller datavenue.Caller, f Filter) ([]Asset, error) {
	// A caller who may read every holder's register (CanRead with no holder) lists all of them unless
	// it filters; anyone else is narrowed to its own organisation, and asking for another holder is a
	// 403: the caller named the holder, so there is no existence to hide as with a single card.
	if f.Holder == "" && !CanRead(caller, "") {
		f.Holder = caller.Org
	}
	if f.Holder != "" && !CanRead(caller, f.Holder) {
		return nil, datavenue.Forbidden("not_holder", "a holder reads only its own ledger")
	}
	var fields datavenue.Fields
	if f.Category != "" {
		enum(&fields, "category", f.Category, Categories)
	}
	if f.Grade != "" {
		enum(&fields, "grade", f.Grade, Grades)
	}
	if f.AccountingStatus != "" {
		enum(&fields, "accounting_status", f.AccountingStatus, AccountingStates)
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	return s.Store.Assets(ctx, f)
}
