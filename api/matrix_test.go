package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// accessTable is who may reach each operation: the roles that may, and whether a caller of that
// role from another organisation than the resource's may too. "own" lists the roles allowed when
// acting for the organisation the resource belongs to (its holder, operator, buyer, appraiser…);
// "other" those allowed when acting for an unrelated organisation. Anything not listed must be
// refused: 401 without a token, 403 or 404 (a resource that is not yours is not there) with one.
// A request that is reachable may still be refused for its content (422) or state (409); what the
// table guards is who gets that far.
var accessTable = map[string]struct{ own, other string }{
	// operations: public
	"health": {"* -", "* -"}, "ready": {"* -", "* -"}, "metrics": {"clerk auditor", "clerk auditor"}, "jwks": {"* -", "* -"},
	"openapi": {"* -", "* -"}, "docs": {"* -", "* -"},
	"me": {"*", "*"},
	// organisations and the audit trail (every role reads what its own organisation did; auditors all)
	"registerOrganisation": {"data_bureau finance_bureau", "data_bureau finance_bureau"},
	"listOrganisations":    {"*", "*"}, "getOrganisation": {"*", "*"}, "listAuditEvents": {"*", "*"},
	// asset cards: the holder's organisation, the bureaus, auditors and appraisers read; the holder
	// (operator role) registers and changes
	"registerAsset": {"operator", "operator"}, "listAssets": {"*", "*"},
	"getAsset":      {"*", "data_bureau finance_bureau auditor appraiser"},
	"assetVersions": {"*", "data_bureau finance_bureau auditor appraiser"},
	"changeAsset":   {"operator", ""}, "ledgerCSV": {"*", "*"}, "ledgerXLSX": {"*", "*"},
	// registration: the holder applies; the data bureau reviews resource applications (the finance
	// bureau asset ones, with the data bureau concurring); certificates are public documents
	"applyForCertificate": {"operator", "operator"}, "listApplications": {"*", "*"},
	"getApplication":   {"*", "data_bureau finance_bureau auditor"},
	"amendApplication": {"operator", ""}, "concur": {"data_bureau", "data_bureau"},
	"reviewApplication": {"data_bureau", "data_bureau"},
	"listCertificates":  {"*", "*"}, "getCertificate": {"*", "*"}, "certificateDocument": {"*", "*"},
	"correctCertificate": {"data_bureau", "data_bureau"}, "cancelCertificate": {"data_bureau operator", "data_bureau"},
	"certificateStatus": {"* -", "* -"},
	// scenario authorisations (data bureau), approvals (finance bureau), appraisals (appraisers)
	"grantAuthorisation": {"data_bureau", "data_bureau"}, "listAuthorisations": {"*", "*"},
	"getAuthorisation":    {"*", "data_bureau finance_bureau auditor"},
	"narrowAuthorisation": {"data_bureau", "data_bureau"}, "revokeAuthorisation": {"data_bureau", "data_bureau"},
	"assessAuthorisation": {"data_bureau", "data_bureau"},
	"submitApproval":      {"operator", "operator"}, "listApprovals": {"*", "*"},
	"getApproval": {"*", "data_bureau finance_bureau auditor"}, "decideApproval": {"finance_bureau", "finance_bureau"},
	"recordAppraisal": {"appraiser", "appraiser"}, "listAppraisals": {"*", "*"},
	"getAppraisal": {"*", "data_bureau finance_bureau auditor"},
	// listing: the operator manages its products; the bureaus suspend, reinstate, delist and set
	// guided prices; the catalogue is public
	"createProduct": {"operator", "operator"}, "listProducts": {"*", "*"}, "getProduct": {"*", "*"},
	"editProduct": {"operator", ""}, "submitProduct": {"operator", ""}, "publishProduct": {"operator", ""},
	"suspendProduct":   {"operator data_bureau finance_bureau", "data_bureau finance_bureau"},
	"reinstateProduct": {"operator data_bureau finance_bureau", "data_bureau finance_bureau"},
	"delistProduct":    {"operator data_bureau finance_bureau", "data_bureau finance_bureau"},
	"changePrice":      {"operator data_bureau finance_bureau", "data_bureau finance_bureau"},
	"priceHistory":     {"*", "*"},
	"searchCatalogue":  {"* -", "* -"}, "catalogueProduct": {"* -", "* -"}, "catalogueProductDCAT": {"* -", "* -"},
	"catalogueDCAT": {"* -", "* -"}, "pricingGuidance": {"* -", "* -"},
	// matching: the operator opens its auctions; buyers bid and negotiate; clerks record deposits;
	// a negotiation is seen by its parties' organisations and auditors
	"openAuction": {"operator", ""}, "getAuction": {"*", "*"}, "listAuctions": {"*", "*"}, "placeBid": {"buyer", "buyer"},
	"bidHistory": {"*", "*"}, "recordDeposit": {"clerk", "clerk"}, "auctionFeed": {"*", "*"},
	"startNegotiation": {"buyer", "buyer"}, "moveNegotiation": {"buyer", ""}, "getNegotiation": {"*", "auditor"},
	// settlement: orders are seen by the buyer's and seller's organisations and the supervisors
	"setAgreement": {"operator", ""}, "getAgreement": {"*", "data_bureau finance_bureau clerk auditor"}, "listOrders": {"*", "*"},
	"getOrder":        {"*", "data_bureau finance_bureau clerk auditor"},
	"recordPayment":   {"clerk", "clerk"},
	"paymentCallback": {"", ""}, // no token: the provider's HMAC signature, absent here (401)
	"listObligations": {"data_bureau finance_bureau clerk auditor", "data_bureau finance_bureau clerk auditor"},
	"recordDelivery":  {"operator", ""}, "confirmDelivery": {"buyer", ""},
	"getVoucher":       {"*", "data_bureau finance_bureau clerk auditor"},
	"voucherDocument":  {"*", "data_bureau finance_bureau clerk auditor"},
	"importStatement":  {"clerk", "clerk"},
	"listExceptions":   {"data_bureau finance_bureau clerk auditor", "data_bureau finance_bureau clerk auditor"},
	"resolveException": {"clerk", "clerk"},
	"settlementReport": {"data_bureau finance_bureau clerk auditor", "data_bureau finance_bureau clerk auditor"},
	"trialBalance":     {"data_bureau finance_bureau clerk auditor", "data_bureau finance_bureau clerk auditor"},
	// the projection's parked engine events: the venue's clerks handle them, auditors read
	"listParkedEntries": {"clerk auditor", "clerk auditor"}, "getParkedEntry": {"clerk auditor", "clerk auditor"},
	"retryParkedEntry": {"clerk", "clerk"},
}

// TestAuthorisationMatrix sends every operation, as every role, acting for the resource's own
// organisation and for another one, and compares who got through with accessTable. "* -" marks a
// public operation (no token needed); "*" every role.
func TestAuthorisationMatrix(t *testing.T) {
	m, o, clerk := wonAuction(t)
	ctx := context.Background()
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "matrix-1"}), 200)
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", m.as(datavenue.RoleOperator, operatorOrg),
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("0a", 32)}), 200)
	voucher := decode[settlement.Voucher](t, m.do("POST", "/v1/orders/"+o.ID+"/confirm", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	neg := m.createProduct(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "10500.00"}
	})
	mustStatus(t, m.publish(neg.ID), 200)
	negotiation := decode[matching.NegotiationView](t, m.do("POST", "/v1/negotiations", m.as(datavenue.RoleBuyer, buyerOrg),
		map[string]any{"product_id": neg.ID, "amount": "9800.00"}))
	today := time.Now().Format("2006-01-02")
	mustStatus(t, m.importStatement(clerk, "csv", "period_end="+today, []byte("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nX1,NONE,某单位,1.00,"+today+",市级国库\n")), 201)
	exceptions := decode[api.Page[settlement.Exception]](t, m.do("GET", "/v1/reconciliation/exceptions", clerk, nil))
	apps := decode[api.Page[certificates.Application]](t, m.do("GET", "/v1/certificate-applications", m.as(datavenue.RoleDataBureau, bureauOrg), nil))
	approvals := decode[api.Page[certificates.Approval]](t, m.do("GET", "/v1/approvals", m.as(datavenue.RoleFinanceBureau, financeOrg), nil))
	if len(exceptions.Data) == 0 || len(apps.Data) == 0 || len(approvals.Data) == 0 {
		t.Fatalf("fixtures: %d exceptions, %d applications, %d approvals", len(exceptions.Data), len(apps.Data), len(approvals.Data))
	}
	var auctionID string
	m.db.Pool.QueryRow(ctx, `SELECT id FROM auctions LIMIT 1`).Scan(&auctionID)
	if err := m.db.ParkEvent(ctx, matching.ParkedEntry{Stream: "matrix", EventID: "1-0", Fields: map[string]string{"type": "bid", "auction": "auc_none"},
		Error: "reference_not_found", ErrorCode: "reference_not_found"}); err != nil {
		t.Fatal(err)
	}
	var parkedID string
	m.db.Pool.QueryRow(ctx, `SELECT id::text FROM projection_parked LIMIT 1`).Scan(&parkedID)

	// Each path's resource and the organisation it belongs to.
	type resource struct {
		id    string
		owner datavenue.OrgID
	}
	resources := map[string]resource{
		"/v1/organisations/":             {string(govHolder), govHolder},
		"/v1/assets/":                    {string(m.asset.ID), govHolder},
		"/v1/certificate-applications/":  {apps.Data[0].ID, govHolder},
		"/v1/certificates/":              {m.resCert.ID, govHolder},
		"/v1/public/certificates/":       {m.resCert.Number, govHolder},
		"/v1/authorisations/":            {m.grant.ID, govHolder},
		"/v1/approvals/":                 {approvals.Data[0].ID, govHolder},
		"/v1/appraisals/":                {m.appraisal.ID, appraiserOrg},
		"/v1/products/":                  {o.ProductID, operatorOrg},
		"/v1/catalogue/":                 {o.ProductID, operatorOrg},
		"/v1/auctions/":                  {auctionID, operatorOrg},
		"/v1/negotiations/":              {negotiation.ID, buyerOrg},
		"/v1/orders/":                    {o.ID, buyerOrg},
		"/v1/vouchers/":                  {voucher.ID, buyerOrg},
		"/v1/reconciliation/exceptions/": {exceptions.Data[0].ID, otherOrg},
		"/v1/projection/parked/":         {parkedID, otherOrg},
	}
	resp, _ := m.app.Test(httptest.NewRequest("GET", "/openapi.json", nil), -1)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	type op struct{ id, method, path string }
	var ops []op
	for path, methods := range doc.Paths {
		for method, o := range methods {
			ops = append(ops, op{o.OperationID, strings.ToUpper(method), path})
		}
	}
	// Reads first, then changes, so that a change (a cancellation, say) cannot hide a later read.
	sort.Slice(ops, func(i, j int) bool {
		if (ops[i].method == "GET") != (ops[j].method == "GET") {
			return ops[i].method == "GET"
		}
		return ops[i].id < ops[j].id
	})
	// Acting for another organisation, each role is played by an organisation that holds it and
	// is unrelated to every resource: fresh ones for the kinds that own resources, the bureaus,
	// the venue (clerks) and the supervisor for theirs.
	strangers := map[datavenue.Role]datavenue.OrgID{datavenue.RoleDataBureau: bureauOrg, datavenue.RoleFinanceBureau: financeOrg,
		datavenue.RoleClerk: venueOrg, datavenue.RoleAuditor: auditorOrg}
	for i, kind := range []parties.Kind{parties.KindBuyer, parties.KindOperator, parties.KindAppraiser} {
		o := decode[parties.Organisation](t, m.do("POST", "/v1/organisations", m.as(datavenue.RoleDataBureau, bureauOrg),
			map[string]any{"uscc": uscc(t, 900+i), "name": "无关" + string(kind), "kind": kind}))
		strangers[o.Roles[0]] = o.ID
	}
	// Operations that create something name the resource they act on in the body: send it, so
	// that the check of who may act on it is what answers.
	bodies := map[string]map[string]any{
		"openAuction":         {"product_id": o.ProductID},
		"startNegotiation":    {"product_id": neg.ID},
		"applyForCertificate": {"asset_id": m.asset.ID},
		"submitApproval":      {"asset_id": m.asset.ID},
		"grantAuthorisation":  {"asset_id": m.asset.ID},
		"recordAppraisal":     {"asset_id": m.asset.ID},
	}
	held := func(org datavenue.OrgID) []datavenue.Role {
		o, err := m.db.Organisation(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		return o.Roles
	}
	observed := map[string][2][]string{}
	owners := map[string]datavenue.OrgID{}
	requests := 0
	for _, o := range ops {
		if _, ok := accessTable[o.id]; !ok {
			t.Errorf("operation %s (%s %s) is not in the access table", o.id, o.method, o.path)
			continue
		}
		url, owner := o.path, operatorOrg
		for prefix, r := range resources {
			if strings.HasPrefix(o.path, prefix) && strings.Contains(o.path, "{") {
				url = strings.NewReplacer("{id}", r.id, "{number}", r.id).Replace(o.path)
				owner = r.owner
			}
		}
		if o.id == "recordDelivery" {
			owner = operatorOrg // the seller's side of the order
		}
		if strings.HasSuffix(o.path, "/feed") {
			continue // a stream; its access is the auction's (getAuction), checked in TestLiveFeed
		}
		var roles [2][]string
		for side := range 2 {
			for _, role := range datavenue.Roles {
				org := owner
				if side == 1 {
					org = strangers[role]
				}
				var body any
				if o.method != "GET" {
					body = map[string]any{}
					if named, ok := bodies[o.id]; ok {
						body = named
					}
				}
				r := m.do(o.method, url, m.as(role, org), body)
				requests++
				if r.status >= 500 {
					t.Errorf("%s %s as %s of %s: %d %s", o.method, url, role, org, r.status, r.body)
				}
				if !slices.Contains(held(org), role) && o.id != "paymentCallback" && !strings.HasSuffix(accessTable[o.id].own, "-") {
					// A role the organisation does not hold: refused before anything else.
					if r.status != 403 || r.problem.Code != "role_not_held" {
						t.Errorf("%s %s as %s of %s (a role it does not hold): %d %s", o.method, url, role, org, r.status, r.body)
					}
					continue
				}
				refused := r.status == 401 || r.status == 403 || r.status == 404 || strings.HasSuffix(r.problem.Code, "_not_found")
				if !refused {
					roles[side] = append(roles[side], string(role))
				}
			}
			if side == 0 {
				if anon := m.do(o.method, url, "", nil); anon.status != 401 {
					roles[0] = append(roles[0], "-")
				}
				if unknown := m.do(o.method, url, m.as(datavenue.RoleBuyer, "org_01JUNKNOWN0000000000000000"), nil); unknown.status != 401 &&
					!strings.HasSuffix(accessTable[o.id].own, "-") && o.id != "paymentCallback" && unknown.problem.Code != "organisation_unknown" {
					t.Errorf("%s %s for an unknown organisation: %d %s", o.method, url, unknown.status, unknown.body)
				}
			} else if anon := m.do(o.method, url, "", nil); anon.status != 401 {
				roles[1] = append(roles[1], "-")
			}
		}
		observed[o.id] = roles
		owners[o.id] = owner
	}
	all := func(s string) []string {
		if strings.HasPrefix(s, "*") {
			var out []string
			for _, r := range datavenue.Roles {
				out = append(out, string(r))
			}
			if strings.HasSuffix(s, "-") {
				out = append(out, "-")
			}
			return out
		}
		return strings.Fields(s)
	}
	norm := func(xs []string) string { sort.Strings(xs); return strings.Join(xs, " ") }
	for id, got := range observed {
		want := accessTable[id]
		// Acting for the resource's organisation, only the roles it holds can get through.
		var own []string
		for _, r := range all(want.own) {
			if r == "-" || slices.Contains(held(owners[id]), datavenue.Role(r)) || strings.HasSuffix(want.own, "-") {
				own = append(own, r)
			}
		}
		if norm(got[0]) != norm(own) || norm(got[1]) != norm(all(want.other)) {
			t.Errorf("%s: reached by own %q, other %q; the table says own %q, other %q", id, norm(got[0]), norm(got[1]), norm(own), norm(all(want.other)))
		}
	}
	if os.Getenv("MATRIX_PRINT") != "" {
		for id, got := range observed {
			fmt.Printf("%q: {%q, %q},\n", id, norm(got[0]), norm(got[1]))
		}
	}
	t.Logf("%d operations × %d roles × own organisation (each role it does not hold refused) / another organisation holding the role, + anonymous and an unknown organisation: %d requests",
		len(observed), len(datavenue.Roles), requests)
}
