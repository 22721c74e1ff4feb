package console

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
)

// Every message a template or the Go code names is in the catalogue, in both languages, and every
// code value the pages translate (roles, domains, product types, uses, pricing methods) has its
// name: a page never shows a message id or a blank.
func TestCatalogueHasEveryMessage(t *testing.T) {
	for id, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %s lacks a language: %q", id, m)
		}
	}
	named := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	used := map[string]bool{}
	_ = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, _ := fs.ReadFile(templateFS, path)
		for _, m := range named.FindAllSubmatch(raw, -1) {
			used[string(m[1])] = true
		}
		return nil
	})
	if len(used) < 30 {
		t.Fatalf("found only %d message ids in the templates: the scan is broken", len(used))
	}
	for id := range used {
		if _, ok := messages[id]; !ok {
			t.Errorf("a template names message %q, which is not in the catalogue", id)
		}
	}
	codes := map[string][]string{"domain": listing.Domains, "type": listing.ProductTypes, "use": listing.UseCategories,
		"method": {listing.MethodGuided, listing.MethodAppraisal, listing.MethodAuction, listing.MethodNegotiation, listing.MethodFree}}
	codes["outcome"] = settlement.ReceiptOutcomes
	codes["exception.kind"] = append(slices.Clone(settlement.ReceiptOutcomes[1:]), "unit_mismatch", "missing")
	codes["obligation.kind"] = []string{"treasury_remittance", "finance_filing", "supervisor_filing"}
	codes["account"] = []string{settlement.Clearing, settlement.DepositsHeld, settlement.Payable, settlement.DueToTreasury, settlement.Remitted,
		settlement.VenueFees, settlement.PaidOut}
	codes["status"] = []string{settlement.ObligationDue, settlement.ObligationRemitted, settlement.ObligationFiled}
	codes["gate"] = []string{listing.CondRawData, listing.CondAssetUnknown, listing.CondAssetCertificate, listing.CondResourceCertificate,
		listing.CondAuthorisation, listing.CondApproval, listing.CondAppraisal, listing.CondBelowAppraisalReserve, listing.CondOutsideBand,
		listing.CondEligibilityConflict, listing.CondAuctionSchedulePassed, listing.CondFreeNeedsPublicUse, listing.CondFreeUsePriced,
		listing.CondPurposeMismatch, listing.CondCapMissing, listing.CondAboveCap}
	codes["status"] = append(codes["status"], listing.StatusDraft, listing.StatusSubmitted, listing.StatusPublished, listing.StatusSuspended, listing.StatusDelisted)
	codes["item"] = append(certificates.ReviewItems(certificates.KindResource), certificates.ReviewItems(certificates.KindAsset)...)
	codes["app.status"] = []string{string(certificates.AppSubmitted), string(certificates.AppRejected), string(certificates.AppIssued)}
	codes["verdict"] = []string{"pass", "fail"}
	codes["resource"] = auditResources
	for _, r := range datavenue.Roles {
		codes["role"] = append(codes["role"], string(r))
	}
	for kind, values := range codes {
		for _, v := range values {
			if _, ok := messages[kind+"."+v]; !ok {
				t.Errorf("no name for %s %q in the catalogue", kind, v)
			}
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	for in, want := range map[string]Lang{"zh": Chinese, "zh-CN": Chinese, "EN": English, "en-GB": English, "fr": "", "": ""} {
		if got := parseLang(in); got != want {
			t.Errorf("parseLang(%q) = %q, want %q", in, got, want)
		}
	}
	if Chinese.T("signin.title") != "登录" || English.T("signin.title") != "Sign in" {
		t.Error("the sign-in title is not translated")
	}
}
