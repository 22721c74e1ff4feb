package certificates

import (
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
)

// ApplicationStatus is where an application for a certificate stands.
// An application is never deleted or reopened once decided: an issued one points at its
// certificate, and a rejected one is amended in place (a new revision), so the review history of
// every certificate stays with the application that produced it.
type ApplicationStatus string

// The states of an application: submitted → issued, or submitted → rejected → (amended) submitted.
const (
	AppSubmitted ApplicationStatus = "submitted"
	AppRejected  ApplicationStatus = "rejected"
	AppIssued    ApplicationStatus = "issued"
)

// Review items. A resource registration is reviewed on the four items of D2; an asset certificate
// on the data-source compliance review of D5.
const (
	ItemLegality         = "legality"          // 合法合规性
	ItemProductInfo      = "product_info"      // 产品和服务信息
	ItemScenarioInfo     = "scenario_info"     // 应用场景信息
	ItemSecurityRisk     = "security_risk"     // 数据安全风险评估
	ItemSourceCompliance = "source_compliance" // 数据来源合规审查
)

// ReviewItems lists the items a reviewer must give a verdict on for a kind of certificate.
// The list is the reviewer's checklist: Review refuses a decision that skips or repeats an item,
// so no certificate is issued on a partial review.
func ReviewItems(k Kind) []string {
	if k == KindAsset {
		return []string{ItemSourceCompliance}
	}
	return []string{ItemLegality, ItemProductInfo, ItemScenarioInfo, ItemSecurityRisk}
}

// Materials are the holder's statements for review, one per item (or a reference to a document).
// The fields are plain text (or a document reference) rather than uploads: the venue records what
// the holder stated and the reviewer decided on; the documents themselves stay with the bureaus.
type Materials struct {
	Legality           string `json:"legality,omitempty" jsonschema:"maxLength=4000"`
	ProductInfo        string `json:"product_info,omitempty" jsonschema:"maxLength=4000"`
	ScenarioInfo       string `json:"scenario_info,omitempty" jsonschema:"maxLength=4000"`
	SecurityAssessment string `json:"security_assessment,omitempty" jsonschema:"maxLength=4000"`
	SourceCompliance   string `json:"source_compliance,omitempty" jsonschema:"maxLength=4000"`
}

// validate requires exactly the materials of the kind's review items (D2's four, or D5's source
// compliance), each 1 to 4000 characters; the others may be sent but are not required.
func (m Materials) validate(f *datavenue.Fields, k Kind) {
	need := map[string]string{"materials.legality": m.Legality, "materials.product_info": m.ProductInfo,
		"materials.scenario_info": m.ScenarioInfo, "materials.security_assessment": m.SecurityAssessment}
	if k == KindAsset {
		need = map[string]string{"materials.source_compliance": m.SourceCompliance}
	}
	for field, v := range need {
		assets.Text(f, field, v, 1, 4000)
	}
}

// Concurrence is the data bureau's opinion on a data asset certificate (D5).
// It exists only on asset-certificate applications: the finance bureau issues a data asset
// certificate together with the data bureau (D5/G3), so the data bureau's verdict is recorded
// first and Review refuses to issue without a "pass".
type Concurrence struct {
	Verdict string          `json:"verdict"`
	Comment string          `json:"comment"`
	Org     datavenue.OrgID `json:"org"`
	By      string          `json:"by"`
	At      time.Time       `json:"at"`
}

// Review is a reviewer's verdict on one item of one revision.
// Reviews are kept per revision: after a rejection and an amendment the new revision is reviewed
// afresh, and the failed items of the earlier one remain as the record of why it was rejected.
type Review struct {
	Revision    int             `json:"revision"`
	Item        string          `json:"item"`
	Verdict     string          `json:"verdict"`
	Comment     string          `json:"comment"`
	ReviewerOrg datavenue.OrgID `json:"reviewer_org"`
	Reviewer    string          `json:"reviewer"`
	ReviewedAt  time.Time       `json:"reviewed_at"`
}

// Application is a holder's application for a certificate, or for a change of one.
// AssetVersion pins the asset card version the application was made on (and amended against), so
// the certificate states which version of the card was reviewed; a later change to the card does
// not silently change what was certified. Revision counts submissions (1, then +1 per amendment)
// and guards every decision against a concurrent one (the store checks it under a row lock).
type Application struct {
	ID            string            `json:"id"`
	Kind          Kind              `json:"kind"`
	AssetID       assets.ID         `json:"asset_id"`
	AssetVersion  int               `json:"asset_version"`
	HolderID      datavenue.OrgID   `json:"holder_id"`
	Amends        string            `json:"amends,omitempty"`
	Revision      int               `json:"revision"`
	Status        ApplicationStatus `json:"status"`
	Scope         Scope             `json:"scope"`
	Materials     Materials         `json:"materials"`
	Concurrence   *Concurrence      `json:"concurrence,omitempty"`
	CertificateID string            `json:"certificate_id,omitempty"`
	SubmittedAt   time.Time         `json:"submitted_at"`
	DecidedAt     *time.Time        `json:"decided_at,omitempty"`
	Reviews       []Review          `json:"reviews"`
}

// ApplyInput is what a holder submits.
// With Amends set it is a change registration (变更登记, D5) of that certificate: the certificate
// issued for it keeps the old number with the next version and supersedes the old one.
type ApplyInput struct {
	Kind      Kind      `json:"kind" jsonschema:"enum=resource,enum=asset"`
	AssetID   assets.ID `json:"asset_id"`
	Amends    string    `json:"amends,omitempty" jsonschema:"description=id of the certificate this application changes (变更登记)"`
	Scope     Scope     `json:"scope"`
	Materials Materials `json:"materials"`
}

// AmendInput is a rejected application's corrected scope and materials.
type AmendInput struct {
	Scope     Scope     `json:"scope"`
	Materials Materials `json:"materials"`
}

// ItemVerdict is a reviewer's verdict on one item.
type ItemVerdict struct {
	Item    string `json:"item"`
	Verdict string `json:"verdict" jsonschema:"enum=pass,enum=fail"`
	Comment string `json:"comment" jsonschema:"maxLength=2000"`
}

// ReviewInput is a reviewer's decision: a verdict on every item and, for the certificate issued
// when all pass, its validity period.
// Dates are CST civil dates (YYYY-MM-DD, package civil), as legal validity is counted in China
// Standard Time; ValidFrom defaults to today.
type ReviewInput struct {
	Items      []ItemVerdict `json:"items"`
	ValidFrom  string        `json:"valid_from,omitempty" jsonschema:"format=date,description=default: today"`
	ValidUntil string        `json:"valid_until" jsonschema:"format=date"`
}

// ConcurInput is the data bureau's concurrence on a data asset certificate.
type ConcurInput struct {
	Verdict string `json:"verdict" jsonschema:"enum=pass,enum=fail"`
	Comment string `json:"comment" jsonschema:"maxLength=2000"`
}

// CorrectInput fixes an error in a certificate: the corrected scope and validity, and why.
// A correction (更正登记, D5) fixes the record without a new review: it is a new signed version of
// the same number, and the reason is kept on it for the audit trail.
type CorrectInput struct {
	Scope      Scope  `json:"scope"`
	ValidUntil string `json:"valid_until" jsonschema:"format=date"`
	Reason     string `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}

// CancelInput cancels a certificate (注销), e.g. because the data was destroyed or lost.
type CancelInput struct {
	Reason string `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}
