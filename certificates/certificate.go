package certificates

import (
	"slices"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
)

// Kind is the kind of certificate.
// Kind decides who reviews and issues (issuerRole), what is reviewed (ReviewItems) and the
// certificate number's form.
type Kind string

// The two certificates of DOMAIN.md D2 and D5.
const (
	// KindResource is the data resource registration certificate (数据资源登记证书), issued by the data
	// bureau after reviewing legality, product, scenario and security-risk information.
	KindResource Kind = "resource"
	// KindAsset is the data asset certificate (数据资产证书), issued by the finance bureau with the
	// data bureau's concurrence after the data-source compliance review.
	KindAsset Kind = "asset"
)

// ProductTypes are what a certificate's scope (and later a product) may cover. Unpublished raw data
// is not among them: it never enters trading directly (D15).
var ProductTypes = []string{"dataset", "api_service", "data_report", "model", "sandbox_access", "privacy_computing", "published_data"}

// The publication gate (listing/gate.go) requires a valid certificate whose scope covers the
// product's type, so a certificate's product types bound what may be sold from the asset; the
// scenarios record which application scenarios the review covered (D2's scenario information).
// Scope is what a certificate covers: application scenarios and product types.
type Scope struct {
	Scenarios    []string `json:"scenarios" jsonschema:"minItems=1"`
	ProductTypes []string `json:"product_types" jsonschema:"minItems=1"`
}

// Covers reports whether the scope covers the product type.
func (s Scope) Covers(productType string) bool { return slices.Contains(s.ProductTypes, productType) }

// validate checks a scope as submitted: 1 to 20 scenarios of 1 to 500 characters, and at least
// one product type, each from ProductTypes.
func (s Scope) validate(f *datavenue.Fields, field string) {
	if len(s.Scenarios) == 0 || len(s.Scenarios) > 20 {
		f.Add(field+".scenarios", "invalid_length", "name 1 to 20 application scenarios")
	}
	for _, sc := range s.Scenarios {
		assets.Text(f, field+".scenarios", sc, 1, 500)
	}
	if len(s.ProductTypes) == 0 {
		f.Add(field+".product_types", "required", "name the product types covered")
	}
	for _, pt := range s.ProductTypes {
		if !slices.Contains(ProductTypes, pt) {
			f.Add(field+".product_types", "invalid_value", "product types are dataset, api_service, data_report, model, sandbox_access, privacy_computing, published_data (raw data never enters trading, D15)")
			break
		}
	}
}

// Status is what a certificate number's version is worth now.
// Only valid, superseded, cancelled and expired (written by the sweep) are stored; not_yet_valid,
// and expired before the sweep has run, are derived by StatusOn on the day asked.
type Status string

// The statuses a certificate can have.
const (
	StatusValid       Status = "valid"
	StatusNotYetValid Status = "not_yet_valid"
	StatusSuperseded  Status = "superseded" // a change or correction issued a newer version
	StatusCancelled   Status = "cancelled"  // 注销: e.g. the data was destroyed or lost
	StatusExpired     Status = "expired"
)

// Amendment says how a version came about (G3 dynamic registration).
type Amendment string

// The ways a certificate version is issued.
const (
	AmendOriginal   Amendment = "original"
	AmendChange     Amendment = "change"     // 变更: the asset or scope changed; reviewed like a new application
	AmendCorrection Amendment = "correction" // 更正: an error in the certificate is fixed by its issuer
)

// A certificate number has one or more versions (one per change or correction, 1 first); only the
// newest can be valid, the older ones are superseded and kept. StoredStatus is the database's
// state, Status what StatusOn derives for the day of the read. Document is the signed JWS (see
// Document), served apart from the JSON; KID names the key that signed it.
// Certificate is one version of a certificate number.
type Certificate struct {
	ID                 string          `json:"id"`
	Number             string          `json:"number"`
	Version            int             `json:"version"`
	Kind               Kind            `json:"kind"`
	Amendment          Amendment       `json:"amendment"`
	AmendmentReason    string          `json:"amendment_reason,omitempty"`
	ApplicationID      string          `json:"application_id,omitempty"`
	AssetID            assets.ID       `json:"asset_id"`
	AssetVersion       int             `json:"asset_version"`
	AssetName          string          `json:"asset_name"`
	HolderID           datavenue.OrgID `json:"holder_id"`
	HolderName         string          `json:"holder_name"`
	Scope              Scope           `json:"scope"`
	IssuerOrg          datavenue.OrgID `json:"issuer_org"`
	IssuerName         string          `json:"issuer_name"`
	IssuedBy           string          `json:"issued_by"`
	ConcurringOrg      datavenue.OrgID `json:"concurring_org,omitempty"`
	IssuedAt           time.Time       `json:"issued_at"`
	ValidFrom          civil.Date      `json:"valid_from"`
	ValidUntil         civil.Date      `json:"valid_until"`
	StoredStatus       Status          `json:"-"`
	Status             Status          `json:"status"`
	SupersededBy       string          `json:"superseded_by,omitempty"`
	CancelledAt        *time.Time      `json:"cancelled_at,omitempty"`
	CancellationReason string          `json:"cancellation_reason,omitempty"`
	KID                string          `json:"kid"`
	Document           string          `json:"-"`
}

// StatusOn is the certificate's status on a day: the stored state, unless the validity period says
// otherwise (an expiry the sweep has not yet recorded is still an expiry).
// Validity is by CST civil day, both ends included: a certificate valid until 2026-12-31 is valid
// all that day in Beijing and expired from 2027-01-01.
func (c Certificate) StatusOn(today civil.Date) Status {
	if c.StoredStatus != StatusValid {
		return c.StoredStatus
	}
	if today.After(c.ValidUntil) {
		return StatusExpired
	}
	if today.Before(c.ValidFrom) {
		return StatusNotYetValid
	}
	return StatusValid
}

// StatusReport is the public answer about a certificate number (and version).
// The public answer carries dates and status only, never the holder's application materials:
// anyone holding a copy of a certificate can check it without a token.
type StatusReport struct {
	Number        string     `json:"number"`
	Version       int        `json:"version"`
	LatestVersion int        `json:"latest_version"`
	Kind          Kind       `json:"kind"`
	Status        Status     `json:"status"`
	ValidFrom     civil.Date `json:"valid_from"`
	ValidUntil    civil.Date `json:"valid_until"`
	CheckedOn     civil.Date `json:"checked_on"`
	Reason        string     `json:"reason,omitempty"`
}
