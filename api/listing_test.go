package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
)

// market is a venue with one government-held asset that has everything a product needs: a data
// asset certificate and a resource registration certificate covering datasets and reports, a
// scenario authorisation of the operator, a finance-bureau approval of paid use, and an
// appraisal. Each part can be left out to see the gate refuse by name.
type market struct {
	*venue
	asset     assets.Asset
	assetCert certificates.Certificate
	resCert   certificates.Certificate
	grant     certificates.Authorisation
	appraisal certificates.Appraisal
}

type without map[string]bool

const scenario = "城市交通规划客流分析"

func newMarket(t *testing.T, skip without) *market {
	t.Helper()
	v := newVenue(t)
	v.seedParties()
	m := &market{venue: v, asset: v.registerCard(transportCard())}
	holder, bureau, finance := v.as(datavenue.RoleOperator, govHolder), v.as(datavenue.RoleDataBureau, bureauOrg), v.as(datavenue.RoleFinanceBureau, financeOrg)
	scope := map[string]any{"scenarios": []string{scenario}, "product_types": []string{"dataset", "data_report", "api_service"}}
	until := today().AddDays(365).String()
	if !skip["asset_certificate"] {
		r := v.do("POST", "/v1/certificate-applications", holder, map[string]any{"kind": "asset", "asset_id": m.asset.ID, "scope": scope,
			"materials": map[string]any{"source_compliance": "来源合法"}})
		mustStatus(t, r, 201)
		app := decode[certificates.Application](t, r)
		mustStatus(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/concurrence", bureau, map[string]any{"verdict": "pass", "comment": ""}), 200)
		r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", finance, map[string]any{"items": allPass("source_compliance"), "valid_until": until})
		mustStatus(t, r, 200)
		m.assetCert = *decode[ReviewResultT](t, r).Certificate
	}
	if !skip["resource_certificate"] {
		app := resourceApplication(m.asset.ID)
		app["scope"] = scope
		r := v.do("POST", "/v1/certificate-applications", holder, app)
		mustStatus(t, r, 201)
		id := decode[certificates.Application](t, r).ID
		r = v.do("POST", "/v1/certificate-applications/"+id+"/review", bureau, map[string]any{"items": allPass(resourceItems...), "valid_until": until})
		mustStatus(t, r, 200)
		m.resCert = *decode[ReviewResultT](t, r).Certificate
	}
	if !skip["authorisation"] {
		r := v.do("POST", "/v1/authorisations", bureau, grantBody(m.asset.ID, scenario))
		mustStatus(t, r, 201)
		m.grant = decode[certificates.Authorisation](t, r)
	}
	if !skip["approval"] {
		r := v.do("POST", "/v1/approvals", holder, map[string]any{"asset_id": m.asset.ID, "purpose": "paid_use", "scenario": scenario,
			"pricing_methods": []string{"guided", "appraisal", "auction", "negotiation"}, "internal_decision_ref": "局务会〔2026〕3号"})
		mustStatus(t, r, 201)
		id := decode[certificates.Approval](t, r).ID
		mustStatus(t, v.do("POST", "/v1/approvals/"+id+"/decision", finance, map[string]any{"decision": "approve", "comment": "同意", "valid_until": until}), 200)
	}
	if !skip["appraisal"] {
		r := v.do("POST", "/v1/appraisals", v.as(datavenue.RoleAppraiser, appraiserOrg), map[string]any{"asset_id": m.asset.ID,
			"report_number": "评报〔2026〕0188", "method": "income", "value": "200000.00",
			"valuation_date": today().String(), "valid_until": until})
		mustStatus(t, r, 201)
		m.appraisal = decode[certificates.Appraisal](t, r)
	}
	return m
}

func (m *market) product(mod func(map[string]any)) map[string]any {
	p := map[string]any{
		"source_assets": []assets.ID{m.asset.ID}, "title": "公交客流小时汇总数据集", "title_en": "Hourly bus ridership",
		"description": "全市公交站点按小时汇总的刷卡客流", "description_en": "Bus ridership per stop and hour",
		"product_type": "dataset", "domain": "transport", "scenario": scenario, "keywords": []string{"公交", "客流"},
		"delivery":         map[string]any{"method": "file", "format": "CSV", "content_hash": "sha256:" + strings.Repeat("ab", 32)},
		"update_frequency": "daily", "schema": map[string]any{"stop_id": "string", "hour": "int", "riders": "int"},
		"sample":       []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}},
		"licence":      map[string]any{"duration_days": 365, "permitted_use": "交通规划研究", "onward_transfer": false},
		"use_category": "industry",
		"pricing":      map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "10500.00"},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

// createProduct creates a draft and, for a paid (industry) use, has the data bureau file a generous
// price cap for it (1,000,000.00 yuan, one_off), so that it may publish (N4).
func (m *market) createProduct(mod func(map[string]any)) listing.Product {
	m.t.Helper()
	p := m.createProductUncapped(mod)
	if !listing.FreeUse(p.UseCategory) {
		m.fileCap(p.ID, "1000000.00", nil)
	}
	return p
}

// createProductUncapped creates a draft without any price cap.
func (m *market) createProductUncapped(mod func(map[string]any)) listing.Product {
	m.t.Helper()
	r := m.do("POST", "/v1/products", m.as(datavenue.RoleOperator, operatorOrg), m.product(mod))
	mustStatus(m.t, r, 201)
	return decode[listing.Product](m.t, r)
}

// fileCap has the data bureau file a cap for a product, valid for a year from today.
func (m *market) fileCap(productID, amount string, mod func(map[string]any)) listing.Cap {
	m.t.Helper()
	body := map[string]any{"amount": amount, "approval_ref": "数据局批复〔2026〕12号", "pricing_doc_number": "发改价格〔2025〕65号",
		"valid_until": today().AddDays(365).String()}
	if mod != nil {
		mod(body)
	}
	r := m.do("POST", "/v1/products/"+productID+"/caps", m.as(datavenue.RoleDataBureau, bureauOrg), body)
	mustStatus(m.t, r, 201)
	return decode[listing.Cap](m.t, r)
}

func (m *market) publish(id string) response {
	op := m.as(datavenue.RoleOperator, operatorOrg)
	if r := m.do("POST", "/v1/products/"+id+"/submit", op, nil); r.status != 200 {
		return r
	}
	return m.do("POST", "/v1/products/"+id+"/publish", op, nil)
}

func unmetCodes(r response) []string {
	var codes []string
	for _, e := range r.problem.Errors {
		codes = append(codes, e.Code)
	}
	return codes
}

func TestPublishingGateAllHold(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProduct(nil)
	if p.Status != listing.StatusDraft || len(p.HolderIDs) != 1 || p.HolderIDs[0] != govHolder {
		t.Fatalf("draft = %+v", p)
	}
	r := m.publish(p.ID)
	mustStatus(t, r, 200)
	if got := decode[listing.Product](t, r); got.Status != listing.StatusPublished || got.PublishedAt == nil {
		t.Fatalf("published = %+v", got)
	}
}

func TestPublishingGateNamesEachUnmetCondition(t *testing.T) {
	for _, tt := range []struct {
		name string
		skip without
		mod  func(map[string]any)
		code string
	}{
		{"raw data", nil, func(p map[string]any) { p["product_type"] = "raw_data" }, listing.CondRawData},
		{"no data asset certificate", without{"asset_certificate": true}, nil, listing.CondAssetCertificate},
		{"certificate scope does not cover the type", nil, func(p map[string]any) { p["product_type"] = "model" }, listing.CondAssetCertificate},
		{"no resource certificate under authorised operation", without{"resource_certificate": true}, nil, listing.CondResourceCertificate},
		{"no scenario authorisation", without{"authorisation": true}, nil, listing.CondAuthorisation},
		{"another scenario", nil, func(p map[string]any) { p["scenario"] = "未授权场景" }, listing.CondAuthorisation},
		{"no finance approval for a government unit's paid product", without{"approval": true}, nil, listing.CondApproval},
		{"no appraisal", without{"appraisal": true}, func(p map[string]any) {
			p["pricing"] = map[string]any{"method": "appraisal", "appraisal_id": "apr_01JNONE0000000000000000000", "list_price": "250000.00"}
		}, listing.CondAppraisal},
		{"price below the appraisal reserve", nil, nil, listing.CondBelowAppraisalReserve},
		{"price outside the guided band", nil, func(p map[string]any) {
			p["pricing"] = map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "11000.01"}
		}, listing.CondOutsideBand},
		{"buyer on both lists", nil, func(p map[string]any) {
			p["allow_list"], p["deny_list"] = []datavenue.OrgID{buyerOrg}, []datavenue.OrgID{buyerOrg}
		}, listing.CondEligibilityConflict},
		{"holder on the allow list", nil, func(p map[string]any) { p["allow_list"] = []datavenue.OrgID{govHolder} }, listing.CondEligibilityConflict},
		{"auction already started", nil, func(p map[string]any) {
			p["pricing"] = map[string]any{"method": "auction", "auction_kind": "english", "reserve": "9000.00", "increment": "100.00",
				"start_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "end_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
		}, listing.CondAuctionSchedulePassed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMarket(t, tt.skip)
			mod := tt.mod
			if tt.code == listing.CondBelowAppraisalReserve {
				mod = func(p map[string]any) {
					p["pricing"] = map[string]any{"method": "appraisal", "appraisal_id": m.appraisal.ID, "reserve_percent": 90, "list_price": "179999.99"}
				}
			}
			p := m.createProduct(mod)
			r := m.do("POST", "/v1/products/"+p.ID+"/submit", m.as(datavenue.RoleOperator, operatorOrg), nil)
			wantProblem(t, r, 422, "publish_gate_failed")
			if codes := unmetCodes(r); !slices.Contains(codes, tt.code) {
				t.Fatalf("unmet = %v, want %s among them", codes, tt.code)
			}
			if got := decode[listing.Product](t, m.do("GET", "/v1/products/"+p.ID, m.as(datavenue.RoleOperator, operatorOrg), nil)); got.Status != listing.StatusDraft {
				t.Fatalf("refused product is %s, want still draft", got.Status)
			}
		})
	}
}

func TestGateListsEveryUnmetCondition(t *testing.T) {
	m := newMarket(t, without{"asset_certificate": true, "resource_certificate": true, "authorisation": true, "approval": true, "appraisal": true})
	p := m.createProduct(func(p map[string]any) {
		p["product_type"] = "raw_data"
		p["allow_list"], p["deny_list"] = []datavenue.OrgID{buyerOrg}, []datavenue.OrgID{buyerOrg}
	})
	r := m.do("POST", "/v1/products/"+p.ID+"/submit", m.as(datavenue.RoleOperator, operatorOrg), nil)
	wantProblem(t, r, 422, "publish_gate_failed")
	codes := unmetCodes(r)
	for _, want := range []string{listing.CondRawData, listing.CondAssetCertificate, listing.CondResourceCertificate,
		listing.CondAuthorisation, listing.CondApproval, listing.CondEligibilityConflict} {
		if !slices.Contains(codes, want) {
			t.Errorf("unmet %v lacks %s", codes, want)
		}
	}
}

func TestProductLifecycleAndRoles(t *testing.T) {
	m := newMarket(t, nil)
	op, bureau, other := m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleDataBureau, bureauOrg), m.as(datavenue.RoleOperator, stateHolder)
	wantProblem(t, m.do("POST", "/v1/products", m.as(datavenue.RoleBuyer, buyerOrg), m.product(nil)), 403, "role_not_allowed")
	p := m.createProduct(nil)
	path := "/v1/products/" + p.ID
	// A draft is private to its operator and the supervisors.
	wantProblem(t, m.do("GET", path, m.as(datavenue.RoleBuyer, buyerOrg), nil), 404, "product_not_found")
	wantProblem(t, m.do("GET", "/v1/catalogue/"+p.ID, "", nil), 404, "product_not_found")
	wantProblem(t, m.do("POST", path+"/submit", other, nil), 404, "product_not_found")
	wantProblem(t, m.do("POST", path+"/publish", op, nil), 409, "invalid_transition")
	edit := m.product(func(p map[string]any) { p["title"] = "公交客流小时数据（修订）" })
	edit["version"] = 1
	mustStatus(t, m.do("PUT", path, op, edit), 200)
	mustStatus(t, m.publish(p.ID), 200)
	edit["version"] = 2
	wantProblem(t, m.do("PUT", path, op, edit), 409, "version_conflict")
	edit["version"] = decode[listing.Product](t, m.do("GET", path, op, nil)).Version
	wantProblem(t, m.do("PUT", path, op, edit), 409, "not_a_draft")

	// The operator suspends and reinstates its own; a bureau's suspension needs a bureau.
	mustStatus(t, m.do("POST", path+"/suspend", op, map[string]any{"reason": "数据更新中"}), 200)
	mustStatus(t, m.do("POST", path+"/reinstate", op, nil), 200)
	wantProblem(t, m.do("POST", path+"/suspend", m.as(datavenue.RoleAuditor, auditorOrg), map[string]any{"reason": "x"}), 403, "not_operator")
	r := m.do("POST", path+"/suspend", bureau, map[string]any{"reason": "接到投诉，核查中"})
	mustStatus(t, r, 200)
	if got := decode[listing.Product](t, r); got.Suspension == nil || got.Suspension.By != "bureau" {
		t.Fatalf("suspension = %+v", got.Suspension)
	}
	wantProblem(t, m.do("POST", path+"/reinstate", op, nil), 403, "suspended_by_bureau")
	mustStatus(t, m.do("POST", path+"/reinstate", bureau, nil), 200)
	mustStatus(t, m.do("POST", path+"/delist", op, map[string]any{"reason": "停止供应"}), 200)
	wantProblem(t, m.do("POST", path+"/reinstate", op, nil), 409, "invalid_transition")

	trail := decode[api.Page[audit.Event]](t, m.do("GET", "/v1/audit-events?resource_type=product&resource_id="+p.ID+"&limit=50", m.as(datavenue.RoleAuditor, auditorOrg), nil))
	actions := map[string]int{}
	for _, e := range trail.Data {
		actions[e.Action]++
	}
	for act, n := range map[string]int{"product.created": 1, "product.edited": 1, "product.submitted": 1, "product.published": 1,
		"product.suspended": 2, "product.reinstated": 2, "product.delisted": 1} {
		if actions[act] != n {
			t.Errorf("audit has %d %s, want %d (all: %v)", actions[act], act, n, actions)
		}
	}
}

func TestPriceChangesAreVersioned(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProduct(nil)
	mustStatus(t, m.publish(p.ID), 200)
	path := "/v1/products/" + p.ID
	op := m.as(datavenue.RoleOperator, operatorOrg)
	outside := map[string]any{"pricing": map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "12000.00"}, "reason": "涨价"}
	r := m.do("POST", path+"/price", op, outside)
	wantProblem(t, r, 422, "publish_gate_failed")
	if codes := unmetCodes(r); !slices.Contains(codes, listing.CondOutsideBand) {
		t.Fatalf("unmet = %v", codes)
	}
	// The bureau moves the guided band; then the operator's new price fits.
	band := map[string]any{"pricing": map[string]any{"method": "guided", "base_price": "11000.00", "float_percent": 10, "list_price": "10500.00"}, "reason": "指导价调整"}
	wantProblem(t, m.do("POST", path+"/price", op, band), 403, "band_set_by_bureau")
	mustStatus(t, m.do("POST", path+"/price", m.as(datavenue.RoleFinanceBureau, financeOrg), band), 200)
	newPrice := map[string]any{"method": "guided", "base_price": "11000.00", "float_percent": 10, "list_price": "12000.00"}
	mustStatus(t, m.do("POST", path+"/price", op, map[string]any{"pricing": newPrice, "reason": "按新指导价调整"}), 200)
	wantProblem(t, m.do("POST", path+"/price", m.as(datavenue.RoleBuyer, buyerOrg), band), 403, "not_operator")
	history := decode[[]listing.PriceVersion](t, m.do("GET", path+"/prices", op, nil))
	if len(history) != 3 || history[0].RefPrice.String() != "10500.00" || history[2].RefPrice.String() != "12000.00" ||
		history[1].ChangedByOrg != financeOrg || history[1].Reason != "指导价调整" {
		t.Fatalf("price history = %+v", history)
	}
	got := decode[listing.Product](t, m.do("GET", path, op, nil))
	if got.PriceVersion != 3 || got.Pricing.BandHigh.String() != "12100.00" || got.Pricing.BandLow.String() != "9900.00" {
		t.Fatalf("current pricing = %+v (version %d)", got.Pricing, got.PriceVersion)
	}
}

func (m *market) dispatch() {
	m.t.Helper()
	d := certificates.Dispatcher{Log: m.db.Certificates(), Consumers: []certificates.Consumer{listing.Suspender{Store: m.db.Listing(), Clock: datavenue.SystemClock{}}}}
	if _, err := d.RunOnce(context.Background()); err != nil {
		m.t.Fatal(err)
	}
}

func TestCancellationSuspendsPublishedProducts(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProduct(nil)
	mustStatus(t, m.publish(p.ID), 200)
	op := m.as(datavenue.RoleOperator, operatorOrg)

	// A correction that still covers datasets supersedes the certificate: the product stays.
	correct := map[string]any{"scope": map[string]any{"scenarios": []string{scenario}, "product_types": []string{"dataset"}},
		"valid_until": today().AddDays(200).String(), "reason": "更正适用范围"}
	r := m.do("POST", "/v1/certificates/"+m.assetCert.ID+"/correct", m.as(datavenue.RoleFinanceBureau, financeOrg), correct)
	mustStatus(t, r, 201)
	corrected := decode[certificates.Certificate](t, r)
	m.dispatch()
	if got := decode[listing.Product](t, m.do("GET", "/v1/products/"+p.ID, op, nil)); got.Status != listing.StatusPublished {
		t.Fatalf("after a covering correction the product is %s", got.Status)
	}

	// Cancelling the (corrected) data asset certificate suspends it, with the reason.
	mustStatus(t, m.do("POST", "/v1/certificates/"+corrected.ID+"/cancel", m.as(datavenue.RoleOperator, govHolder), map[string]any{"reason": "数据灭失"}), 200)
	m.dispatch()
	got := decode[listing.Product](t, m.do("GET", "/v1/products/"+p.ID, op, nil))
	if got.Status != listing.StatusSuspended || got.Suspension == nil || got.Suspension.By != "automatic" ||
		!strings.HasPrefix(got.Suspension.Reason, certificates.EventCertificateCancelled) || got.Suspension.Unmet[0].Code != listing.CondAssetCertificate {
		t.Fatalf("after cancellation: %s %+v", got.Status, got.Suspension)
	}
	// The catalogue no longer lists it; reinstating fails until a certificate holds again.
	if res := decode[listing.SearchResult](t, m.do("GET", "/v1/catalogue?q=客流", "", nil)); len(res.Data) != 0 {
		t.Fatalf("the catalogue still lists %d products", len(res.Data))
	}
	wantProblem(t, m.do("POST", "/v1/products/"+p.ID+"/reinstate", op, nil), 422, "publish_gate_failed")
	// Delivering again changes nothing (idempotent consumer).
	m.dispatch()
}

func TestRevocationSuspendsPublishedProducts(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProduct(nil)
	mustStatus(t, m.publish(p.ID), 200)
	mustStatus(t, m.do("POST", "/v1/authorisations/"+m.grant.ID+"/revoke", m.as(datavenue.RoleDataBureau, bureauOrg), map[string]any{"reason": "违规"}), 200)
	m.dispatch()
	got := decode[listing.Product](t, m.do("GET", "/v1/products/"+p.ID, m.as(datavenue.RoleOperator, operatorOrg), nil))
	if got.Status != listing.StatusSuspended || got.Suspension.Unmet[0].Code != listing.CondAuthorisation {
		t.Fatalf("after revocation: %s %+v", got.Status, got.Suspension)
	}
}

func TestEligibility(t *testing.T) {
	p := listing.Product{OperatorID: operatorOrg, HolderIDs: []datavenue.OrgID{govHolder}, DenyList: []datavenue.OrgID{otherOrg}}
	for buyer, want := range map[datavenue.OrgID]bool{buyerOrg: true, otherOrg: false, operatorOrg: false, govHolder: false} {
		if got := p.Eligible(buyer); got != want {
			t.Errorf("Eligible(%s) = %v, want %v", buyer, got, want)
		}
	}
	p.AllowList = []datavenue.OrgID{otherOrg}
	if p.Eligible(buyerOrg) {
		t.Error("a buyer not on the allow list is eligible")
	}
}
