package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/webhooks"
)

// accessTable is access.Policy in the form the matrix compares: for each operation, the roles
// that may reach it acting for the resource's own organisation and for another one, "*" for every
// role and a trailing "-" for no token at all.
var accessTable = func() map[string]struct{ own, other string } {
	table := map[string]struct{ own, other string }{}
	names := func(roles []datavenue.Role) string {
		if len(roles) == len(datavenue.Roles) {
			return "*"
		}
		var out []string
		for _, r := range roles {
			out = append(out, string(r))
		}
		return strings.Join(out, " ")
	}
	for op, rule := range access.Policy {
		switch {
		case rule.Public:
			table[op] = struct{ own, other string }{"* -", "* -"}
		default: // a signed operation names no role: nobody gets through without its signature
			table[op] = struct{ own, other string }{names(rule.Own), names(rule.Other)}
		}
	}
	return table
}()

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
	today := civil.Of(time.Now()).String()
	imported := m.importStatement(clerk, "csv", "period_end="+today, []byte("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nX1,NONE,某单位,1.00,"+today+",市级国库\n"))
	mustStatus(t, imported, 201)
	importID := decode[settlement.ImportResult](t, imported).ID
	exceptions := decode[api.Page[settlement.Exception]](t, m.do("GET", "/v1/reconciliation/exceptions", clerk, nil))
	apps := decode[api.Page[certificates.Application]](t, m.do("GET", "/v1/certificate-applications", m.as(datavenue.RoleDataBureau, bureauOrg), nil))
	approvals := decode[api.Page[certificates.Approval]](t, m.do("GET", "/v1/approvals", m.as(datavenue.RoleFinanceBureau, financeOrg), nil))
	if len(exceptions.Data) == 0 || len(apps.Data) == 0 || len(approvals.Data) == 0 {
		t.Fatalf("fixtures: %d exceptions, %d applications, %d approvals", len(exceptions.Data), len(apps.Data), len(approvals.Data))
	}
	var auctionID string
	m.db.Pool.QueryRow(ctx, `SELECT id FROM auctions LIMIT 1`).Scan(&auctionID)
	if err := m.db.Matching().ParkEvent(ctx, matching.ParkedEntry{Stream: "matrix", EventID: "1-0", Fields: map[string]string{"type": "bid", "auction": "auc_none"},
		Error: "reference_not_found", ErrorCode: "reference_not_found"}); err != nil {
		t.Fatal(err)
	}
	var parkedID string
	m.db.Pool.QueryRow(ctx, `SELECT id::text FROM projection_parked LIMIT 1`).Scan(&parkedID)
	subscription := decode[webhooks.Subscription](t, m.do("POST", "/v1/webhooks/subscriptions", m.as(datavenue.RoleBuyer, buyerOrg),
		map[string]any{"url": "https://erp.buyer.test/hooks", "events": []string{webhooks.OrderCreated}}))
	ping := decode[webhooks.Delivery](t, m.do("POST", "/v1/webhooks/subscriptions/"+subscription.ID+"/ping", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	metered := m.negotiatedSubscription()

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
		"/v1/operators/":                 {string(operatorOrg), operatorOrg},
		"/v1/vouchers/":                  {voucher.ID, buyerOrg},
		"/v1/reconciliation/exceptions/": {exceptions.Data[0].ID, otherOrg},
		"/v1/reconciliation/imports/":    {importID, otherOrg},
		"/v1/projection/parked/":         {parkedID, otherOrg},
		"/v1/webhooks/subscriptions/":    {subscription.ID, buyerOrg},
		"/v1/webhooks/deliveries/":       {strconv.FormatInt(ping.ID, 10), buyerOrg},
		"/v1/subscriptions/":             {metered.ID, buyerOrg},
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
		"publishRevision":     {"version": "m-1", "checksum": "sha256:" + strings.Repeat("ab", 32), "description": "the matrix's revision"},
	}
	held := func(org datavenue.OrgID) []datavenue.Role {
		o, err := m.db.Parties().Organisation(ctx, org)
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
				url = strings.NewReplacer("{id}", r.id, "{number}", r.id, "{seq}", "1", "{buyer}", string(buyerOrg)).Replace(o.path)
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
				var headers []string
				if o.id == "reportUsage" { // signed too: with the right signature, only the role decides
					raw, _ := json.Marshal(body)
					headers = []string{"X-Datavenue-Signature", settlement.CallbackSignature(subscriptions.OperatorSecret(meteringSecret, org), raw, time.Now())}
				}
				r := m.do(o.method, url, m.as(role, org), body, headers...)
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
	// The policy names both bureaus for what the bureau issuing a kind of certificate does; the
	// fixtures are resource certificates and applications, which the finance bureau does not issue.
	notTheIssuer := map[string]bool{"reviewApplication": true, "correctCertificate": true, "cancelCertificate": true}
	for id, got := range observed {
		want := accessTable[id]
		if notTheIssuer[id] {
			want.own = strings.Join(slices.DeleteFunc(strings.Fields(want.own), func(r string) bool { return r == string(datavenue.RoleFinanceBureau) }), " ")
			want.other = strings.Join(slices.DeleteFunc(strings.Fields(want.other), func(r string) bool { return r == string(datavenue.RoleFinanceBureau) }), " ")
		}
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
