// Package assets is the register of data resources and data assets (DOMAIN.md D1–D4, G1, G2, G4):
// the asset card with its basic, financial and usage information, every version of it, and the
// holder's ledger (台账) exported as CSV and XLSX. Holders (government units and state enterprises)
// act through the operator role for their own organisation; bureaus and auditors read all.
package assets

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// ID identifies an asset: "ast_" and a ULID.
// The type keeps an asset id from being passed where a product or certificate id is expected.
type ID string

// The closed vocabularies of a card. Each list is also a CHECK constraint in the database.
// The values are stable API codes (English, snake_case); the Chinese terms a finance clerk reads
// are the export's labels (export.go). Adding a value takes a migration for its CHECK as well.
var (
	Categories        = []string{"data_resource", "data_asset"}        // D3: a resource becomes an asset when it meets the asset test
	Rights            = []string{"holding", "processing", "operating"} // 持有权, 加工使用权, 产品经营权
	Grades            = []string{"general", "important", "core"}       // data-security grading: 一般, 重要, 核心
	UpdateFrequencies = []string{"realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "static"}
	AcquisitionModes  = []string{"self_built", "purchased", "shared", "donated", "other"}
	CostStages        = []string{"production", "collection", "processing", "storage", "circulation", "other"}
	MeasurementBases  = []string{"cost", "nominal"}                    // G4: nominal = 1 yuan
	AccountingStates  = []string{"not_booked", "memorandum", "booked"} // 未入账, 备查簿登记, 已入账
)

// NominalAmount is what an asset whose cost cannot be measured reliably is booked at (G4).
var NominalAmount = money.MustParse("1.00")

// CostComponent is one part of an asset's original cost.
// The stages are D16/G6's stages of input (production, collection, processing, circulation, plus
// storage and other), kept apart as the card's financial information; a revenue agreement on the
// cost basis (settlement) states its parties' costs itself and does not read them from here.
type CostComponent struct {
	Stage  string     `json:"stage"`
	Amount money.Yuan `json:"amount"`
}

// Asset is a card's current version.
// OriginalCost is the sum of CostComponents; BookValue is what the card is carried at: the original
// cost when measured at cost, the nominal 1.00 yuan otherwise (G4: never an inflated value).
// HolderName is joined in when the card is read, not stored on it. Amounts are yuan, two places.
type Asset struct {
	ID               ID              `json:"id"`
	HolderID         datavenue.OrgID `json:"holder_id"`
	HolderName       string          `json:"holder_name"`
	Version          int             `json:"version"`
	Category         string          `json:"category"`
	Name             string          `json:"name"`
	Summary          string          `json:"summary"`
	Rights           []string        `json:"rights"`
	Classification   string          `json:"classification"`
	Grade            string          `json:"grade"`
	Source           string          `json:"source"`
	SharedFrom       datavenue.OrgID `json:"shared_from,omitempty"`
	SharedConsentRef string          `json:"shared_consent_ref,omitempty"`
	Scale            string          `json:"scale"`
	UpdateFrequency  string          `json:"update_frequency"`
	AcquisitionMode  string          `json:"acquisition_mode"`
	CostComponents   []CostComponent `json:"cost_components"`
	OriginalCost     money.Yuan      `json:"original_cost"`
	MeasurementBasis string          `json:"measurement_basis"`
	BookValue        money.Yuan      `json:"book_value"`
	AccountingStatus string          `json:"accounting_status"`
	Currency         string          `json:"currency"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

// Input is what a holder submits to register or change a card. Amounts are decimal strings.
// Amounts arrive as strings and are parsed with money.Parse so no float ever holds a yuan value
// (the JSON schema's pattern allows at most 15 integer digits and 2 decimals).
type Input struct {
	Category         string          `json:"category" jsonschema:"enum=data_resource,enum=data_asset"`
	Name             string          `json:"name" jsonschema:"minLength=1,maxLength=200"`
	Summary          string          `json:"summary" jsonschema:"maxLength=2000"`
	Rights           []string        `json:"rights" jsonschema:"minItems=1"`
	Classification   string          `json:"classification" jsonschema:"description=分类 e.g. transport"`
	Grade            string          `json:"grade" jsonschema:"enum=general,enum=important,enum=core"`
	Source           string          `json:"source"`
	SharedFrom       datavenue.OrgID `json:"shared_from,omitempty" jsonschema:"description=the unit the data came from through government sharing"`
	SharedConsentRef string          `json:"shared_consent_ref,omitempty" jsonschema:"description=that unit's consent record (G5)"`
	Scale            string          `json:"scale"`
	UpdateFrequency  string          `json:"update_frequency"`
	AcquisitionMode  string          `json:"acquisition_mode"`
	CostComponents   []CostInput     `json:"cost_components"`
	MeasurementBasis string          `json:"measurement_basis" jsonschema:"enum=cost,enum=nominal"`
	AccountingStatus string          `json:"accounting_status" jsonschema:"enum=not_booked,enum=memorandum,enum=booked"`
}

// CostInput is a cost component as submitted.
type CostInput struct {
	Stage  string `json:"stage"`
	Amount string `json:"amount" jsonschema:"pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
}

// Validate checks every field and returns the card fields it implies (costs parsed and summed,
// book value by measurement basis).
// All field errors are gathered and returned together (one 422 with an errors array) rather than
// the first only, so a form can mark every bad field at once. HolderID, ID and Version are left
// for the caller: Validate knows only what the holder sent.
func (in Input) Validate() (Asset, error) {
	var f datavenue.Fields
	a := Asset{Category: in.Category, Name: strings.TrimSpace(in.Name), Summary: in.Summary, Rights: in.Rights,
		Classification: strings.TrimSpace(in.Classification), Grade: in.Grade, Source: strings.TrimSpace(in.Source),
		SharedFrom: in.SharedFrom, SharedConsentRef: in.SharedConsentRef, Scale: in.Scale,
		UpdateFrequency: in.UpdateFrequency, AcquisitionMode: in.AcquisitionMode,
		MeasurementBasis: in.MeasurementBasis, AccountingStatus: in.AccountingStatus, Currency: "CNY"}
	enum(&f, "category", a.Category, Categories)
	enum(&f, "grade", a.Grade, Grades)
	enum(&f, "update_frequency", a.UpdateFrequency, UpdateFrequencies)
	enum(&f, "acquisition_mode", a.AcquisitionMode, AcquisitionModes)
	enum(&f, "measurement_basis", a.MeasurementBasis, MeasurementBases)
	enum(&f, "accounting_status", a.AccountingStatus, AccountingStates)
	Text(&f, "name", a.Name, 1, 200)
	Text(&f, "summary", a.Summary, 0, 2000)
	Text(&f, "classification", a.Classification, 1, 100)
	Text(&f, "source", a.Source, 1, 500)
	Text(&f, "scale", a.Scale, 0, 200)
	Text(&f, "shared_consent_ref", a.SharedConsentRef, 0, 200)
	if len(a.Rights) == 0 {
		f.Add("rights", "required", "name at least one right held: holding, processing, operating")
	}
	for _, r := range a.Rights {
		if !slices.Contains(Rights, r) {
			f.Add("rights", "invalid_value", "rights are holding, processing and operating")
			break
		}
	}
	// G5: data obtained from another unit through government sharing needs that unit's consent before
	// it is operated, so shared data must name its source unit. The consent record itself may follow
	// later (it is checked when the asset is authorised, not when it is registered).
	if (a.AcquisitionMode == "shared") != (a.SharedFrom != "") {
		f.Add("shared_from", "shared_source", "data acquired through government sharing names the unit it came from, and only such data does")
	}
	if a.SharedConsentRef != "" && a.SharedFrom == "" {
		f.Add("shared_consent_ref", "not_applicable", "a consent record applies to shared data only")
	}
	// The original cost is summed in decimal (money.Yuan), exactly; a bad amount is reported and left
	// out of the sum, which is then unused since Validate fails.
	a.OriginalCost = money.Zero
	for i, c := range in.CostComponents {
		amount, err := money.Parse(c.Amount)
		if err != nil {
			f.Add(fieldIndex("cost_components", i, "amount"), "invalid_amount", err.Error())
			continue
		}
		if !slices.Contains(CostStages, c.Stage) {
			f.Add(fieldIndex("cost_components", i, "stage"), "invalid_value", "stage is one of production, collection, processing, storage, circulation, other")
		}
		a.CostComponents = append(a.CostComponents, CostComponent{Stage: c.Stage, Amount: amount})
		a.OriginalCost = a.OriginalCost.Add(amount)
	}
	// An empty JSON array rather than null, so clients always get a list.
	if a.CostComponents == nil {
		a.CostComponents = []CostComponent{}
	}
	// G4: cost is the default basis; where it cannot be measured reliably, the asset is booked at the
	// nominal amount until it can, whatever cost components were given.
	switch a.MeasurementBasis {
	case "cost":
		if len(in.CostComponents) == 0 {
			f.Add("cost_components", "required", "measurement at cost needs the cost components; use nominal where cost is not reliably measurable (G4)")
		}
		a.BookValue = a.OriginalCost
	case "nominal":
		a.BookValue = NominalAmount
	}
	return a, f.Err()
}

// fieldIndex names an element's field in the JSON path form the errors array uses:
// cost_components[2].amount.
func fieldIndex(field string, i int, sub string) string {
	return field + "[" + strconv.Itoa(i) + "]." + sub
}

// enum adds a field error when v is not one of set; the message lists the allowed values.
func enum(f *datavenue.Fields, field, v string, set []string) {
	if !slices.Contains(set, v) {
		f.Add(field, "invalid_value", field+" must be one of "+strings.Join(set, ", "))
	}
}

// Text checks a free-text field's length in characters and rejects NUL and invalid UTF-8.
// Length counts characters (runes), not bytes, so a 200-character Chinese name (600 bytes) fits
// a 200 limit. NUL is refused because PostgreSQL text cannot store it: it would be a 500 later.
// Other packages use it for their own free-text fields, so every field is checked the same way.
func Text(f *datavenue.Fields, field, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		f.Add(field, "invalid_text", field+" must be valid UTF-8 without NUL characters")
	case n < min && min == 1:
		f.Add(field, "required", field+" is required")
	case n < min || n > max:
		f.Add(field, "invalid_length", field+" must have "+strconv.Itoa(min)+" to "+strconv.Itoa(max)+" characters")
	}
}

// Version is one kept version of a card.
// Versions are append-only: every change stores the whole card as it became, with who changed it
// and why, so the card as it stood on any date can be shown to an auditor (D4: kept current).
type Version struct {
	Version      int             `json:"version"`
	Snapshot     Asset           `json:"snapshot"`
	ChangeReason string          `json:"change_reason"`
	ChangedByOrg datavenue.OrgID `json:"changed_by_org"`
	ChangedBy    string          `json:"changed_by"`
	ChangedAt    time.Time       `json:"changed_at"`
}

// Usage is the card's usage information (the ledger's 使用情况): what was granted and traded on
// the asset.
type Usage struct {
	ValidCertificates    []string `json:"valid_certificates"`
	ActiveAuthorisations int      `json:"active_authorisations"`
	Appraisals           int      `json:"appraisals"`
	// Listings are the products on the market (published or suspended) built on the asset.
	Listings int `json:"listings"`
	// Trades are the trades made on those products, whatever became of their orders.
	Trades int `json:"trades"`
	// Revenue is the holder's shares of the paid orders of those products (cancelled ones not
	// counted): what the asset earned its holder. A product built on several of the holder's
	// assets counts on each card.
	Revenue money.Yuan `json:"revenue"`
}

// Card is an asset with its usage information.
type Card struct {
	Asset
	Usage Usage `json:"usage"`
}

// Filter narrows the ledger.
// The ledger pages by id (keyset: After, then Limit); empty strings mean no filter.
type Filter struct {
	Holder           datavenue.OrgID
	Category         string
	Grade            string
	AccountingStatus string
	After            ID
	Limit            int
}

// Store keeps the register. Writes add their audit record and version in the same transaction.
// It is declared here, by its user, and implemented in postgres/; the card's invariants (the
// version number, its history) are the store's to keep in one transaction.
type Store interface {
	CreateAsset(ctx context.Context, a Asset) (Asset, error)
	// UpdateAsset loads the card for update, checks that its version is expected, applies change,
	// and saves the result as the next version with reason.
	UpdateAsset(ctx context.Context, id ID, expected int, reason string, change func(*Asset) error) (Asset, error)
	Asset(ctx context.Context, id ID) (Asset, error)
	Card(ctx context.Context, id ID) (Card, error)
	Assets(ctx context.Context, f Filter) ([]Asset, error)
	AssetVersions(ctx context.Context, id ID) ([]Version, error)
}
