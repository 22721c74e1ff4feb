package certificates

import (
	"context"
	"slices"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// Authorisation is a scenario authorisation (D9, G5): the data bureau grants one operator the right
// to operate one asset for one described scenario, during the pilot "one scenario, one
// authorisation".
// Purpose decides what may be sold under it: a product's use category must match (N1: a free
// purpose gives free products only), and the publication gate requires an authorisation active on
// the day that covers the product's scenario and type. Version counts changes (narrowing,
// revocation, expiry), each kept in Changes, so what the operator was allowed on any day can be shown.
type Authorisation struct {
	ID               string          `json:"id"`
	AssetID          assets.ID       `json:"asset_id"`
	HolderID         datavenue.OrgID `json:"holder_id"`
	OperatorID       datavenue.OrgID `json:"operator_id"`
	Scenario         string          `json:"scenario"`
	Purpose          string          `json:"purpose"` // public_governance, public_welfare (free), industry (paid): N1
	ProductTypes     []string        `json:"product_types"`
	Conditions       string          `json:"conditions"`
	ValidFrom        civil.Date      `json:"valid_from"`
	ValidUntil       civil.Date      `json:"valid_until"`
	Version          int             `json:"version"`
	Status           string          `json:"status"` // active, revoked, expired
	GrantedByOrg     datavenue.OrgID `json:"granted_by_org"`
	GrantedBy        string          `json:"granted_by"`
	GrantedAt        time.Time       `json:"granted_at"`
	RevokedAt        *time.Time      `json:"revoked_at,omitempty"`
	RevocationReason string          `json:"revocation_reason,omitempty"`
	Changes          []GrantChange   `json:"changes,omitempty"`
	Assessments      []Assessment    `json:"assessments,omitempty"`
}

// ActiveOn reports whether the authorisation lets its operator trade on a day.
// Both ends are inclusive CST civil days; a revoked or expired authorisation is never active,
// whatever its dates.
func (a Authorisation) ActiveOn(today civil.Date) bool {
	return a.Status == "active" && !today.Before(a.ValidFrom) && !today.After(a.ValidUntil)
}

// GrantChange is one entry of an authorisation's history.
type GrantChange struct {
	Version      int             `json:"version"`
	Change       string          `json:"change"` // granted, narrowed, revoked, expired
	ProductTypes []string        `json:"product_types"`
	ValidUntil   civil.Date      `json:"valid_until"`
	Conditions   string          `json:"conditions"`
	Reason       string          `json:"reason"`
	ChangedByOrg datavenue.OrgID `json:"changed_by_org"`
	ChangedBy    string          `json:"changed_by"`
	ChangedAt    time.Time       `json:"changed_at"`
}

// Assessment is a periodic assessment of an authorised operator (D9).
// Assessments are recorded, not enforced: an unsatisfactory result leads the data bureau to narrow
// or revoke (D9), which is what stops trading.
type Assessment struct {
	Period     string          `json:"period"`
	Result     string          `json:"result"` // satisfactory, needs_improvement, unsatisfactory
	Comment    string          `json:"comment"`
	AssessedBy datavenue.OrgID `json:"assessed_by_org"`
	AssessedAt time.Time       `json:"assessed_at"`
}

// GrantInput is the data bureau's grant.
type GrantInput struct {
	AssetID      assets.ID       `json:"asset_id"`
	OperatorID   datavenue.OrgID `json:"operator_id"`
	Scenario     string          `json:"scenario" jsonschema:"minLength=1,maxLength=500"`
	Purpose      string          `json:"purpose" jsonschema:"enum=public_governance,enum=public_welfare,enum=industry,description=the purpose of use (N1): public governance and public welfare are free; industry (and sector) development is paid. A product serves its authorisation's purpose; another purpose needs another authorisation"`
	ProductTypes []string        `json:"product_types" jsonschema:"minItems=1"`
	Conditions   string          `json:"conditions" jsonschema:"maxLength=2000"`
	ValidFrom    string          `json:"valid_from,omitempty" jsonschema:"format=date,description=default: today"`
	ValidUntil   string          `json:"valid_until" jsonschema:"format=date"`
}

// NarrowInput narrows an authorisation: fewer product types, an earlier end, added conditions.
// Narrowing can only take away (types not granted, a later end, are refused), so a grant never
// widens without a new authorisation.
type NarrowInput struct {
	ProductTypes []string `json:"product_types" jsonschema:"minItems=1"`
	ValidUntil   string   `json:"valid_until" jsonschema:"format=date"`
	Conditions   string   `json:"conditions" jsonschema:"maxLength=2000"`
	Reason       string   `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}

// AssessInput records a periodic assessment.
type AssessInput struct {
	Period  string `json:"period" jsonschema:"minLength=1,maxLength=50,description=e.g. 2026-H2"`
	Result  string `json:"result" jsonschema:"enum=satisfactory,enum=needs_improvement,enum=unsatisfactory"`
	Comment string `json:"comment" jsonschema:"maxLength=2000"`
}

// Purposes of use on a scenario authorisation (N1, G7); the same words as a product's use category.
// The same words as a product's use category so the gate can compare them directly.
var Purposes = []string{"public_governance", "public_welfare", "industry"}

// Approval is a usage or disposal approval (D10, G5): a government unit's paid use or disposal of
// a data asset is approved by the finance bureau after the unit's internal decision; a state
// enterprise records its own approval route.
// Route says who approved: finance_bureau for a government unit (D10, the only route the
// publication gate accepts for a government unit's paid product), own for a state enterprise that
// records the approval its own rules gave. Only approved or recorded approvals cover anything.
type Approval struct {
	ID                  string          `json:"id"`
	AssetID             assets.ID       `json:"asset_id"`
	HolderID            datavenue.OrgID `json:"holder_id"`
	Purpose             string          `json:"purpose"` // paid_use, disposal
	Scenario            string          `json:"scenario"`
	PricingMethods      []string        `json:"pricing_methods"`
	InternalDecisionRef string          `json:"internal_decision_ref"`
	Route               string          `json:"route"` // finance_bureau, own
	OwnApprover         string          `json:"own_approver,omitempty"`
	Status              string          `json:"status"` // submitted, approved, rejected, recorded
	DecidedByOrg        datavenue.OrgID `json:"decided_by_org,omitempty"`
	DecidedBy           string          `json:"decided_by,omitempty"`
	DecidedAt           *time.Time      `json:"decided_at,omitempty"`
	DecisionComment     string          `json:"decision_comment,omitempty"`
	// ValidFrom and ValidUntil are null until a finance bureau approves (or a state enterprise
	// records) it.
	ValidFrom   civil.Date `json:"valid_from" jsonschema:"nullable"`
	ValidUntil  civil.Date `json:"valid_until" jsonschema:"nullable"`
	SubmittedAt time.Time  `json:"submitted_at"`
}

// Covers reports whether a granted approval allows a pricing method on a day.
// Free products need no approval, so only the paid methods can be listed in one.
func (a Approval) Covers(method string, today civil.Date) bool {
	return (a.Status == "approved" || a.Status == "recorded") && slices.Contains(a.PricingMethods, method) &&
		!today.Before(a.ValidFrom) && !today.After(a.ValidUntil)
}

// PricingMethods an approval may cover: the paid pricing methods of listing.
var PricingMethods = []string{"guided", "appraisal", "auction", "negotiation"}

// ApprovalInput is what a holder submits. A state enterprise gives its own approver and validity,
// and the approval is recorded at once.
type ApprovalInput struct {
	AssetID             assets.ID `json:"asset_id"`
	Purpose             string    `json:"purpose" jsonschema:"enum=paid_use,enum=disposal"`
	Scenario            string    `json:"scenario" jsonschema:"minLength=1,maxLength=500"`
	PricingMethods      []string  `json:"pricing_methods" jsonschema:"minItems=1"`
	InternalDecisionRef string    `json:"internal_decision_ref" jsonschema:"minLength=1,maxLength=200,description=the unit's internal decision (e.g. 党组会议纪要 2026-11)"`
	OwnApprover         string    `json:"own_approver,omitempty" jsonschema:"description=state enterprises only: who approved under their own rules"`
	ValidFrom           string    `json:"valid_from,omitempty" jsonschema:"format=date"`
	ValidUntil          string    `json:"valid_until,omitempty" jsonschema:"format=date"`
}

// DecisionInput is the finance bureau's decision.
type DecisionInput struct {
	Decision   string `json:"decision" jsonschema:"enum=approve,enum=reject"`
	Comment    string `json:"comment" jsonschema:"maxLength=2000"`
	ValidFrom  string `json:"valid_from,omitempty" jsonschema:"format=date"`
	ValidUntil string `json:"valid_until,omitempty" jsonschema:"format=date"`
}

// Appraisal is a qualified appraiser's report on an asset (D7, D14); appraisal-based pricing uses
// its value while it is valid.
// Value is in yuan (decimal, never float). The appraisal is usable from its valuation date to
// its end date inclusive; an expired appraisal no longer supports an appraisal-based price.
type Appraisal struct {
	ID            string          `json:"id"`
	AssetID       assets.ID       `json:"asset_id"`
	AppraiserID   datavenue.OrgID `json:"appraiser_id"`
	ReportNumber  string          `json:"report_number"`
	Method        string          `json:"method"` // cost, income, market
	Value         money.Yuan      `json:"value"`
	Currency      string          `json:"currency"`
	ValuationDate civil.Date      `json:"valuation_date"`
	ValidUntil    civil.Date      `json:"valid_until"`
	RecordedBy    string          `json:"recorded_by"`
	RecordedAt    time.Time       `json:"recorded_at"`
}

// ValidOn reports whether the appraisal may be used for pricing on a day.
func (a Appraisal) ValidOn(today civil.Date) bool {
	return !today.Before(a.ValuationDate) && !today.After(a.ValidUntil)
}

// AppraisalInput is what an appraiser records.
type AppraisalInput struct {
	AssetID       assets.ID `json:"asset_id"`
	ReportNumber  string    `json:"report_number" jsonschema:"minLength=1,maxLength=100"`
	Method        string    `json:"method" jsonschema:"enum=cost,enum=income,enum=market"`
	Value         string    `json:"value" jsonschema:"description=appraised value in yuan, decimal string"`
	ValuationDate string    `json:"valuation_date" jsonschema:"format=date"`
	ValidUntil    string    `json:"valid_until" jsonschema:"format=date"`
}

// GrantFilter narrows listings of authorisations, approvals and appraisals.
type GrantFilter struct {
	AssetID   assets.ID
	Holder    datavenue.OrgID
	Operator  datavenue.OrgID
	Appraiser datavenue.OrgID
	// Status keeps authorisations or approvals in one status ("": any): a bureau's queue of
	// approvals waiting for its decision.
	Status string
	After  string // the last id of the previous page (newest first)
	Limit  int
}

// GrantStore keeps authorisations, approvals and appraisals. Each write is one transaction with its
// audit record (and event, where one is due).
// Asset and OrganisationKind are read through this interface so the service never imports
// another domain's store; the holder's kind decides the approval route.
type GrantStore interface {
	Asset(ctx context.Context, id assets.ID) (assets.Asset, error)
	OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error)

	CreateAuthorisation(ctx context.Context, a Authorisation, reason string) (Authorisation, error)
	Authorisation(ctx context.Context, id string) (Authorisation, error)
	Authorisations(ctx context.Context, f GrantFilter) ([]Authorisation, error)
	// ChangeAuthorisation applies change to the active authorisation under a row lock, records the
	// history entry and, for "narrowed" and "revoked", the event.
	ChangeAuthorisation(ctx context.Context, id, change, reason string, apply func(*Authorisation) error) (Authorisation, error)
	AddAssessment(ctx context.Context, id string, a Assessment) (Authorisation, error)

	CreateApproval(ctx context.Context, a Approval) (Approval, error)
	Approval(ctx context.Context, id string) (Approval, error)
	Approvals(ctx context.Context, f GrantFilter) ([]Approval, error)
	DecideApproval(ctx context.Context, id string, decide func(*Approval) error) (Approval, error)

	CreateAppraisal(ctx context.Context, a Appraisal) (Appraisal, error)
	Appraisal(ctx context.Context, id string) (Appraisal, error)
	Appraisals(ctx context.Context, f GrantFilter) ([]Appraisal, error)
}
