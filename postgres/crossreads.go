package postgres

import (
	"context"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/parties"
)

// Reads one domain's store makes of another domain's data, where the domain package's store
// interface declares them (the gate reads the asset and the appraisal behind a product; the
// registry reads the organisations it certifies; settlement and matching read an organisation's
// kind). Each is a read on the owning store: the stores share one pool, so a store is converted to
// the owner's type rather than holding it.

// Asset is AssetStore.Asset, read for the certificate domain.
func (db CertificateStore) Asset(ctx context.Context, id assets.ID) (assets.Asset, error) {
	return AssetStore(db).Asset(ctx, id)
}

// OrganisationKind is PartyStore.OrganisationKind, read for the settlement domain.
func (db SettlementStore) OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error) {
	return PartyStore(db).OrganisationKind(ctx, id)
}

// OrganisationKind is PartyStore.OrganisationKind, read for the matching domain.
func (db MatchingStore) OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error) {
	return PartyStore(db).OrganisationKind(ctx, id)
}

// Appraisal is CertificateStore.Appraisal, read for the listing domain.
func (db ListingStore) Appraisal(ctx context.Context, id string) (certificates.Appraisal, error) {
	return CertificateStore(db).Appraisal(ctx, id)
}

// Organisation is PartyStore.Organisation, read for the certificate domain.
func (db CertificateStore) Organisation(ctx context.Context, id datavenue.OrgID) (parties.Organisation, error) {
	return PartyStore(db).Organisation(ctx, id)
}

// Asset is AssetStore.Asset, read for the listing domain.
func (db ListingStore) Asset(ctx context.Context, id assets.ID) (assets.Asset, error) {
	return AssetStore(db).Asset(ctx, id)
}

// Product is ListingStore.Product, read for the matching domain.
func (db MatchingStore) Product(ctx context.Context, id string) (listing.Product, error) {
	return ListingStore(db).Product(ctx, id)
}

// OrganisationKind is PartyStore.OrganisationKind, read for the certificate domain.
func (db CertificateStore) OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error) {
	return PartyStore(db).OrganisationKind(ctx, id)
}

// Appraisals is CertificateStore.Appraisals, read for the matching domain.
func (db MatchingStore) Appraisals(ctx context.Context, f certificates.GrantFilter) ([]certificates.Appraisal, error) {
	return CertificateStore(db).Appraisals(ctx, f)
}

// Caps is ListingStore.Caps, read for the matching domain.
func (db MatchingStore) Caps(ctx context.Context, productID string) ([]listing.Cap, error) {
	return ListingStore(db).Caps(ctx, productID)
}

func (db SettlementStore) OrganisationName(ctx context.Context, id datavenue.OrgID) (string, error) {
	return PartyStore(db).OrganisationName(ctx, id)
}
