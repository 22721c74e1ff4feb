package listing

import (
	"fmt"
	"slices"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// Facts are what the gate needs to know about a product's world: per source asset, the asset,
// its holder's kind, its certificates, the operator's authorisations on it and its approvals; and
// the appraisal an appraisal-priced product names. The store gathers them in the transaction that
// changes the product's status, share-locking what they rest on; keeping them apart from the decision makes the gate a pure
// function, tested without a database and re-run unchanged when a certificate or grant changes.
type Facts struct {
	Assets       map[assets.ID]AssetFacts
	Appraisal    *certificates.Appraisal
	OperatorKind string
	Caps         []Cap // every cap version filed for the product
}

// AssetFacts are the facts about one source asset.
type AssetFacts struct {
	Asset          assets.Asset
	HolderKind     string
	Certificates   []certificates.Certificate
	Authorisations []certificates.Authorisation // the operator's, on this asset
	Approvals      []certificates.Approval
}

// The gate's condition codes. A refusal lists every unmet one, each on the field it concerns. They
// are part of the API (the errors[] codes of a 422 publish_gate_failed), so they never change once
// published; a client or the console maps them to the step the operator has to take.
const (
	CondRawData               = "raw_data_not_tradable"
	CondAssetUnknown          = "asset_unknown"
	CondAssetCertificate      = "asset_certificate_missing"
	CondResourceCertificate   = "resource_certificate_missing"
	CondAuthorisation         = "authorisation_missing"
	CondApproval              = "approval_missing"
	CondAppraisal             = "appraisal_missing"
	CondBelowAppraisalReserve = "price_below_appraisal_reserve"
	CondOutsideBand           = "price_outside_band"
	CondEligibilityConflict   = "eligibility_inconsistent"
	CondAuctionSchedulePassed = "auction_schedule_passed"
	CondFreeNeedsPublicUse    = "industry_use_must_be_paid"
	CondFreeUsePriced         = "free_use_must_be_free"
	CondPurposeMismatch       = "purpose_not_authorised"
	CondCapMissing            = "price_cap_missing"
	CondAboveCap              = "price_above_cap"
)

// Evaluate checks every publishing condition of p at an instant and returns the unmet ones (none:
// the product may be published). It is pure: the store gathers Facts, this decides.
func Evaluate(p Product, facts Facts, now time.Time) []datavenue.FieldError {
	// Every condition is checked, none stops the others: an operator learns everything to fix in
	// one answer. Validity is judged on today's civil date in CST, as certificates, grants and
	// approvals are valid from and until dates.
	today := civil.Of(now)
	var unmet []datavenue.FieldError
	add := func(field, code, msg string) {
		unmet = append(unmet, datavenue.FieldError{Field: field, Code: code, Message: msg})
	}
	// Checks on the product alone come first: they do not depend on any record, so they are
	// reported even when the source assets are unknown.
	if p.ProductType == "raw_data" {
		add("product_type", CondRawData, "unpublished raw data does not enter market trading directly (D15); offer a derived product, a service or published data")
	}
	if p.UseCategory == "industry" && p.Pricing.Method == MethodFree {
		add("pricing.method", CondFreeNeedsPublicUse, "industry use is paid (G7)")
	}
	if FreeUse(p.UseCategory) && p.Pricing.Method != MethodFree {
		add("pricing.method", CondFreeUsePriced, p.UseCategory+" use is free (N1): its pricing method is free, with no auction, negotiation or price")
	}
	for i, id := range p.SourceAssets {
		field := fmt.Sprintf("source_assets[%d]", i)
		af, ok := facts.Assets[id]
		if !ok {
			add(field, CondAssetUnknown, "no asset "+string(id))
			continue
		}
		unmet = append(unmet, evaluateAsset(p, af, field, today)...)
	}
	unmet = append(unmet, evaluatePrice(p, facts, today)...)
	unmet = append(unmet, evaluateCap(p, facts, today)...)
	unmet = append(unmet, evaluateEligibility(p)...)
	return unmet
}

// EvaluateSchedule is the condition checked only when a product goes on the market (submit,
// publish), not when a published product is re-checked or a suspended one reinstated: a running
// auction has, by definition, started.
func EvaluateSchedule(p Product, now time.Time) []datavenue.FieldError {
	if p.Pricing.Method == MethodAuction && p.Pricing.StartAt != nil && p.Pricing.StartAt.Before(now) {
		return []datavenue.FieldError{{Field: "pricing.start_at", Code: CondAuctionSchedulePassed,
			Message: "the auction's start has passed; set a new schedule"}}
	}
	return nil
}

// evaluateAsset checks one source asset: its asset certificate (D5), its resource registration
// when someone other than its holder operates it (D2), the operator's scenario authorisation and
// its purpose (D9, N1), and for a government unit's paid use the finance bureau's approval (D10).
func evaluateAsset(p Product, af AssetFacts, field string, today civil.Date) []datavenue.FieldError {
	var unmet []datavenue.FieldError
	add := func(code, msg string) {
		unmet = append(unmet, datavenue.FieldError{Field: field, Code: code, Message: msg})
	}
	name := string(af.Asset.ID) + " (" + af.Asset.Name + ")"
	if !hasCertificate(af.Certificates, certificates.KindAsset, p.ProductType, today) {
		add(CondAssetCertificate, name+" has no valid data asset certificate whose scope covers "+p.ProductType+" (D5)")
	}
	// Operated by someone other than the holder: the asset is in authorised operation and needs
	// its resource registration certificate too (D2).
	if p.OperatorID != af.Asset.HolderID && !hasCertificate(af.Certificates, certificates.KindResource, p.ProductType, today) {
		add(CondResourceCertificate, name+" is in authorised operation and has no valid data resource registration certificate covering "+p.ProductType+" (D2)")
	}
	authorised := slices.ContainsFunc(af.Authorisations, func(a certificates.Authorisation) bool {
		return a.OperatorID == p.OperatorID && a.Scenario == p.Scenario && a.ActiveOn(today) && slices.Contains(a.ProductTypes, p.ProductType)
	})
	// The purpose comes from the authorisation (N1): a product serves the one purpose its scenario
	// was authorised for; another purpose needs another authorisation.
	forPurpose := slices.ContainsFunc(af.Authorisations, func(a certificates.Authorisation) bool {
		return a.OperatorID == p.OperatorID && a.Scenario == p.Scenario && a.ActiveOn(today) && slices.Contains(a.ProductTypes, p.ProductType) &&
			a.Purpose == p.UseCategory
	})
	if !authorised {
		unmet = append(unmet, datavenue.FieldError{Field: "scenario", Code: CondAuthorisation,
			Message: "no active scenario authorisation of " + string(p.OperatorID) + " for \"" + p.Scenario + "\" covering " + p.ProductType + " on " + name + " (D9)"})
	} else if !forPurpose {
		unmet = append(unmet, datavenue.FieldError{Field: "use_category", Code: CondPurposeMismatch,
			Message: "the scenario authorisation on " + name + " is not for " + p.UseCategory + " use: another purpose needs a new authorisation (N1)"})
	}
	// Free use offers nothing for profit, so it needs no paid-use approval; every other method
	// does, and the approval must cover the method (an approval for a negotiated sale does not
	// cover an auction).
	if af.HolderKind == "government_unit" && p.Pricing.Method != MethodFree {
		approved := slices.ContainsFunc(af.Approvals, func(a certificates.Approval) bool {
			return a.Route == "finance_bureau" && a.Covers(p.Pricing.Method, today)
		})
		if !approved {
			unmet = append(unmet, datavenue.FieldError{Field: "pricing.method", Code: CondApproval,
				Message: name + " belongs to a government unit: paid use needs a valid finance-bureau approval covering " + p.Pricing.Method + " pricing (D10)"})
		}
	}
	return unmet
}

// hasCertificate: a certificate of the kind, valid today (not cancelled, superseded or expired),
// whose scope covers the product type (a certificate is issued for the uses it was reviewed for).
func hasCertificate(certs []certificates.Certificate, kind certificates.Kind, productType string, today civil.Date) bool {
	return slices.ContainsFunc(certs, func(c certificates.Certificate) bool {
		return c.Kind == kind && c.StatusOn(today) == certificates.StatusValid && c.Scope.Covers(productType)
	})
}

// evaluatePrice checks the price against its method's rule (D14): a guided price inside its band;
// an appraisal-based price backed by a valid appraisal of one of the product's own source assets
// (not any appraisal on the venue) and not below the reserve derived from it.
func evaluatePrice(p Product, facts Facts, today civil.Date) []datavenue.FieldError {
	var unmet []datavenue.FieldError
	pr := p.Pricing
	switch pr.Method {
	case MethodGuided:
		if pr.ListPrice != nil && pr.BandLow != nil && (pr.ListPrice.Cmp(*pr.BandLow) < 0 || pr.ListPrice.Cmp(*pr.BandHigh) > 0) {
			unmet = append(unmet, datavenue.FieldError{Field: "pricing.list_price", Code: CondOutsideBand,
				Message: "the price " + pr.ListPrice.String() + " is outside the guided band " + pr.BandLow.String() + "–" + pr.BandHigh.String()})
		}
	case MethodAppraisal:
		a := facts.Appraisal
		if a == nil || !slices.Contains(p.SourceAssets, a.AssetID) || !a.ValidOn(today) {
			unmet = append(unmet, datavenue.FieldError{Field: "pricing.appraisal_id", Code: CondAppraisal,
				Message: "appraisal-based pricing needs a valid appraisal of a source asset (D7, D14)"})
		} else if pr.ListPrice != nil && pr.ReservePercent != nil {
			reserve := AppraisalReserve(a.Value, *pr.ReservePercent)
			if pr.ListPrice.Cmp(reserve) < 0 {
				unmet = append(unmet, datavenue.FieldError{Field: "pricing.list_price", Code: CondBelowAppraisalReserve,
					Message: "the price " + pr.ListPrice.String() + " is below the appraisal-based reserve " + reserve.String()})
			}
		}
	}
	return unmet
}

// evaluateEligibility refuses allow lists that contradict themselves: an organisation both allowed
// and denied, or the product's operator or a holder allowed to buy it (a sale to oneself would be
// revenue from nobody, G8: paid use must not fake revenue).
func evaluateEligibility(p Product) []datavenue.FieldError {
	var unmet []datavenue.FieldError
	add := func(field, msg string) {
		unmet = append(unmet, datavenue.FieldError{Field: field, Code: CondEligibilityConflict, Message: msg})
	}
	for _, org := range p.AllowList {
		if slices.Contains(p.DenyList, org) {
			add("allow_list", string(org)+" is on both the allow and the deny list")
		}
		if org == p.OperatorID || slices.Contains(p.HolderIDs, org) {
			add("allow_list", string(org)+" operates or holds this product and cannot buy it")
		}
	}
	return unmet
}

// GateError is the refusal of a publishing step: every unmet condition, each with its code. It is a
// 422 (the product's content does not meet the rules) rather than a 409: the product is in the
// right status for the step, and fixing its fields is what lets it through.
func GateError(unmet []datavenue.FieldError) error {
	return datavenue.Invalid("publish_gate_failed",
		fmt.Sprintf("the product cannot be published: %d condition(s) not met", len(unmet)), unmet...)
}
