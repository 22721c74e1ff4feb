package assets

import (
	"context"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
)

// Service applies who may register, change and read cards.
type Service struct {
	Store Store
}

// errNotFound hides the existence of another holder's asset from callers who may not read it.
var errNotFound = datavenue.NotFound("asset_not_found", "no asset with this id is visible to you")

// CanRead reports whether caller may read the holder's register: the holder itself, the bureaus
// that review and approve, auditors, and appraisers who value assets.
func CanRead(caller datavenue.Caller, holder datavenue.OrgID) bool {
	return caller.Org == holder || caller.Is(access.Overseers...) || caller.Is(datavenue.RoleAppraiser)
}

// IsHolder reports whether caller acts for holder as its operator (a holder registers and changes
// its own assets through the operator role).
func IsHolder(caller datavenue.Caller, holder datavenue.OrgID) bool {
	return caller.Is(datavenue.RoleOperator) && caller.Org == holder
}

// Register adds a card for the caller's own organisation.
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
