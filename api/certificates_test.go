package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

func today() civil.Date { return civil.Of(time.Now()) }

func resourceApplication(assetID assets.ID) map[string]any {
	return map[string]any{
		"kind": "resource", "asset_id": assetID,
		"scope": map[string]any{"scenarios": []string{"城市交通规划客流分析"}, "product_types": []string{"dataset", "data_report"}},
		"materials": map[string]any{"legality": "数据采集依据《公共交通条例》", "product_info": "按站点小时汇总的客流数据集",
			"scenario_info": "面向交通规划研究", "security_assessment": "已脱敏，无个人信息"},
	}
}

func allPass(items ...string) []map[string]string {
	var out []map[string]string
	for _, it := range items {
		out = append(out, map[string]string{"item": it, "verdict": "pass", "comment": "符合要求"})
	}
	return out
}

var resourceItems = []string{"legality", "product_info", "scenario_info", "security_risk"}

// issueResource runs a resource registration to its certificate and returns it.
func (v *venue) issueResource(assetID assets.ID) certificates.Certificate {
	v.t.Helper()
	r := v.do("POST", "/v1/certificate-applications", v.as(datavenue.RoleOperator, govHolder), resourceApplication(assetID))
	mustStatus(v.t, r, http.StatusCreated)
	app := decode[certificates.Application](v.t, r)
	r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", v.as(datavenue.RoleDataBureau, bureauOrg),
		map[string]any{"items": allPass(resourceItems...), "valid_until": today().AddDays(365).String()})
	mustStatus(v.t, r, http.StatusOK)
	res := decode[ReviewResultT](v.t, r)
	if res.Certificate == nil {
		v.t.Fatalf("no certificate issued: %s", r.body)
	}
	return *res.Certificate
}

type ReviewResultT struct {
	Application certificates.Application  `json:"application"`
	Certificate *certificates.Certificate `json:"certificate"`
}

func TestResourceRegistrationRejectAmendIssue(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	holder, bureau := v.as(datavenue.RoleOperator, govHolder), v.as(datavenue.RoleDataBureau, bureauOrg)
	r := v.do("POST", "/v1/certificate-applications", holder, resourceApplication(a.ID))
	mustStatus(t, r, 201)
	app := decode[certificates.Application](t, r)
	if app.Status != certificates.AppSubmitted || app.AssetVersion != 1 || app.Revision != 1 {
		t.Fatalf("application = %+v", app)
	}
	// A second open application for the same asset and kind races the first: refused.
	wantProblem(t, v.do("POST", "/v1/certificate-applications", holder, resourceApplication(a.ID)), 409, "application_open")
	// Only the data bureau reviews a resource registration.
	review := map[string]any{"items": allPass(resourceItems...), "valid_until": today().AddDays(365).String()}
	for _, who := range []string{v.as(datavenue.RoleFinanceBureau, financeOrg), holder, v.as(datavenue.RoleAuditor, auditorOrg)} {
		wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", who, review), 403, "role_not_allowed")
	}
	// Every item needs a verdict.
	partial := map[string]any{"items": allPass("legality"), "valid_until": today().AddDays(365).String()}
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", bureau, partial), 422, "validation_failed")

	failing := allPass("legality", "product_info", "scenario_info")
	failing = append(failing, map[string]string{"item": "security_risk", "verdict": "fail", "comment": "缺少数据安全风险评估报告"})
	r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", bureau, map[string]any{"items": failing, "valid_until": today().AddDays(365).String()})
	mustStatus(t, r, 200)
	res := decode[ReviewResultT](t, r)
	if res.Certificate != nil || res.Application.Status != certificates.AppRejected || len(res.Application.Reviews) != 4 {
		t.Fatalf("after a failing item: %s", r.body)
	}
	// Reviewing a rejected application again is a conflict; the holder amends instead.
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", bureau, review), 409, "application_not_open")
	amend := resourceApplication(a.ID)
	delete(amend, "kind")
	delete(amend, "asset_id")
	amend["materials"].(map[string]any)["security_assessment"] = "附第三方数据安全风险评估报告（编号 2026-088）"
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/amend", bureau, amend), 403, "not_holder")
	r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/amend", holder, amend)
	mustStatus(t, r, 200)
	if amended := decode[certificates.Application](t, r); amended.Revision != 2 || amended.Status != certificates.AppSubmitted {
		t.Fatalf("amended = %+v", amended)
	}
	r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", bureau, review)
	mustStatus(t, r, 200)
	res = decode[ReviewResultT](t, r)
	c := res.Certificate
	if c == nil || res.Application.Status != certificates.AppIssued || len(res.Application.Reviews) != 8 {
		t.Fatalf("after all pass: %s", r.body)
	}
	wantNumber := "DR-" + today().String()[:4] + "-"
	if !strings.HasPrefix(c.Number, wantNumber) || c.Version != 1 || c.Status != certificates.StatusValid ||
		c.IssuerOrg != bureauOrg || c.HolderName != "市交通运输局" || c.AssetName != "公交刷卡客流数据" || !c.Scope.Covers("dataset") {
		t.Fatalf("certificate = %+v", c)
	}
	// The signed document verifies offline with the venue's published keys.
	doc := string(v.do("GET", "/v1/certificates/"+c.ID+"/document", v.as(datavenue.RoleBuyer, buyerOrg), nil).body)
	got, err := certificates.Verify(doc, v.keys, time.Now())
	if err != nil || got.Number != c.Number || got.HolderName != "市交通运输局" || got.ValidUntil != c.ValidUntil.String() {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	status := decode[certificates.StatusReport](t, v.do("GET", "/v1/public/certificates/"+c.Number+"/status", "", nil))
	if status.Status != certificates.StatusValid || status.Version != 1 {
		t.Fatalf("public status = %+v", status)
	}
	wantProblem(t, v.do("GET", "/v1/public/certificates/DR-2026-999999/status", "", nil), 404, "certificate_not_found")
	wantProblem(t, v.do("GET", "/v1/public/certificates/"+c.Number+"/status?version=zero", "", nil), 422, "validation_failed")
}

func TestAssetCertificateNeedsDataBureauConcurrence(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	holder, finance, bureau := v.as(datavenue.RoleOperator, govHolder), v.as(datavenue.RoleFinanceBureau, financeOrg), v.as(datavenue.RoleDataBureau, bureauOrg)
	apply := map[string]any{"kind": "asset", "asset_id": a.ID,
		"scope":     map[string]any{"scenarios": []string{"交通规划"}, "product_types": []string{"dataset"}},
		"materials": map[string]any{"source_compliance": "来源为本单位业务系统，采集合法"}}
	r := v.do("POST", "/v1/certificate-applications", holder, apply)
	mustStatus(t, r, 201)
	app := decode[certificates.Application](t, r)
	review := map[string]any{"items": allPass("source_compliance"), "valid_until": today().AddDays(730).String()}
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", bureau, review), 403, "role_not_allowed")
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", finance, review), 409, "concurrence_missing")
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/concurrence", finance, map[string]any{"verdict": "pass", "comment": ""}), 403, "role_not_allowed")
	mustStatus(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/concurrence", bureau, map[string]any{"verdict": "pass", "comment": "同意"}), 200)
	wantProblem(t, v.do("POST", "/v1/certificate-applications/"+app.ID+"/concurrence", bureau, map[string]any{"verdict": "pass", "comment": "again"}), 409, "application_not_open")
	r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", finance, review)
	mustStatus(t, r, 200)
	c := decode[ReviewResultT](t, r).Certificate
	if c == nil || !strings.HasPrefix(c.Number, "DA-") || c.ConcurringOrg != bureauOrg || c.IssuerOrg != financeOrg {
		t.Fatalf("asset certificate = %s", r.body)
	}
	// A data resource (not yet an asset) gets no asset certificate (D3).
	res := transportCard()
	res["category"] = "data_resource"
	resource := v.registerCard(res)
	apply["asset_id"] = resource.ID
	wantProblem(t, v.do("POST", "/v1/certificate-applications", holder, apply), 422, "not_a_data_asset")
}

func TestChangeCorrectionCancellation(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	holder, bureau := v.as(datavenue.RoleOperator, govHolder), v.as(datavenue.RoleDataBureau, bureauOrg)
	v1 := v.issueResource(a.ID)

	// Change registration: a reviewed application that amends v1 issues v2 of the same number.
	change := resourceApplication(a.ID)
	change["amends"] = v1.ID
	change["scope"] = map[string]any{"scenarios": []string{"城市交通规划客流分析", "公交线网优化"}, "product_types": []string{"dataset", "data_report", "api_service"}}
	r := v.do("POST", "/v1/certificate-applications", holder, change)
	mustStatus(t, r, 201)
	app := decode[certificates.Application](t, r)
	r = v.do("POST", "/v1/certificate-applications/"+app.ID+"/review", bureau,
		map[string]any{"items": allPass(resourceItems...), "valid_until": today().AddDays(365).String()})
	mustStatus(t, r, 200)
	v2 := decode[ReviewResultT](t, r).Certificate
	if v2 == nil || v2.Number != v1.Number || v2.Version != 2 || v2.Amendment != certificates.AmendChange || !v2.Scope.Covers("api_service") {
		t.Fatalf("change registration = %s", r.body)
	}
	old := decode[certificates.Certificate](t, v.do("GET", "/v1/certificates/"+v1.ID, bureau, nil))
	if old.Status != certificates.StatusSuperseded || old.SupersededBy != v2.ID {
		t.Fatalf("v1 after change = %+v", old)
	}
	st := decode[certificates.StatusReport](t, v.do("GET", "/v1/public/certificates/"+v1.Number+"/status?version=1", "", nil))
	if st.Status != certificates.StatusSuperseded || st.LatestVersion != 2 {
		t.Fatalf("status of v1 = %+v", st)
	}

	// Correction by the issuing bureau: v3, history kept.
	correct := map[string]any{"scope": map[string]any{"scenarios": []string{"城市交通规划客流分析", "公交线网优化"}, "product_types": []string{"dataset", "api_service"}},
		"valid_until": today().AddDays(300).String(), "reason": "误列产品类型 data_report"}
	wantProblem(t, v.do("POST", "/v1/certificates/"+v2.ID+"/correct", holder, correct), 403, "role_not_allowed")
	wantProblem(t, v.do("POST", "/v1/certificates/"+v2.ID+"/correct", v.as(datavenue.RoleFinanceBureau, financeOrg), correct), 403, "role_not_allowed")
	r = v.do("POST", "/v1/certificates/"+v2.ID+"/correct", bureau, correct)
	mustStatus(t, r, 201)
	v3 := decode[certificates.Certificate](t, r)
	if v3.Version != 3 || v3.Amendment != certificates.AmendCorrection || v3.AmendmentReason != "误列产品类型 data_report" || v3.Scope.Covers("data_report") {
		t.Fatalf("correction = %+v", v3)
	}
	wantProblem(t, v.do("POST", "/v1/certificates/"+v2.ID+"/correct", bureau, correct), 409, "certificate_not_valid")
	history := decode[api.Page[certificates.Certificate]](t, v.do("GET", "/v1/certificates?number="+v1.Number, bureau, nil))
	if len(history.Data) != 3 {
		t.Fatalf("history has %d versions, want 3", len(history.Data))
	}

	// Cancellation (注销) by the holder, with the reason; the status says so.
	wantProblem(t, v.do("POST", "/v1/certificates/"+v3.ID+"/cancel", v.as(datavenue.RoleOperator, stateHolder), map[string]any{"reason": "x"}), 403, "role_not_allowed")
	wantProblem(t, v.do("POST", "/v1/certificates/"+v3.ID+"/cancel", holder, map[string]any{"reason": ""}), 422, "validation_failed")
	r = v.do("POST", "/v1/certificates/"+v3.ID+"/cancel", holder, map[string]any{"reason": "源数据因存储故障灭失"})
	mustStatus(t, r, 200)
	if c := decode[certificates.Certificate](t, r); c.Status != certificates.StatusCancelled || c.CancellationReason != "源数据因存储故障灭失" {
		t.Fatalf("cancelled = %+v", c)
	}
	wantProblem(t, v.do("POST", "/v1/certificates/"+v3.ID+"/cancel", holder, map[string]any{"reason": "again"}), 409, "certificate_not_valid")
	st = decode[certificates.StatusReport](t, v.do("GET", "/v1/public/certificates/"+v1.Number+"/status", "", nil))
	if st.Status != certificates.StatusCancelled || st.Reason != "源数据因存储故障灭失" || st.Version != 3 {
		t.Fatalf("status after cancellation = %+v", st)
	}

	// The outbox holds what listing and matching need, in order.
	events := v.outbox()
	want := []string{certificates.EventCertificateSuperseded, certificates.EventCertificateSuperseded, certificates.EventCertificateCancelled}
	if len(events) != len(want) {
		t.Fatalf("events = %+v", events)
	}
	for i, e := range events {
		if e.Type != want[i] || e.AssetID != string(a.ID) {
			t.Fatalf("event %d = %+v, want %s on %s", i, e, want[i], a.ID)
		}
	}
	// And the audit trail has every step.
	trail, _ := v.db.Audit().Events(context.Background(), audit.Filter{Limit: 500})
	actions := map[string]int{}
	for _, e := range trail {
		actions[e.Action]++
	}
	for _, act := range []string{"asset.registered", "certificate_application.submitted", "certificate_application.reviewed",
		"certificate.issued", "certificate.corrected", "certificate.cancelled"} {
		if actions[act] == 0 {
			t.Errorf("audit trail lacks %s (has %v)", act, actions)
		}
	}
}

// outbox reads every published event, through the same delivery path consumers use.
func (v *venue) outbox() []certificates.Event {
	v.t.Helper()
	var got []certificates.Event
	_, err := v.db.Certificates().Deliver(context.Background(), "test-reader-"+datavenue.NewID("c"), 1000, func(e certificates.Event) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		v.t.Fatal(err)
	}
	return got
}

func TestTamperedUnknownKeyAndExpiredDocumentsFail(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	c := v.issueResource(a.ID)
	doc := string(v.do("GET", "/v1/certificates/"+c.ID+"/document", v.as(datavenue.RoleAuditor, auditorOrg), nil).body)
	now := time.Now()
	if _, err := certificates.Verify(doc, v.keys, now); err != nil {
		t.Fatalf("untouched document: %v", err)
	}
	// Any one altered byte fails, wherever it is.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	for i := 0; i < len(doc); i++ {
		replacement := alphabet[(strings.IndexByte(alphabet, doc[i])+1)%len(alphabet)]
		tampered := doc[:i] + string(replacement) + doc[i+1:]
		if _, err := certificates.Verify(tampered, v.keys, now); err == nil {
			t.Fatalf("a document with byte %d changed (%q→%q) verified", i, doc[i], replacement)
		}
	}
	// Signed by a key the verifier does not know.
	stranger := newVenue(t)
	if _, err := certificates.Verify(doc, stranger.keys, now); err == nil || !strings.Contains(err.Error(), "unknown kid") {
		t.Fatalf("verify with another venue's keys: %v, want unknown kid", err)
	}
	// After its last valid day.
	if _, err := certificates.Verify(doc, v.keys, c.ValidUntil.AddDays(1).Start().Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("verify after expiry: %v", err)
	}
	// A key rotation keeps it verifiable.
	if _, err := v.keys.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := certificates.Verify(doc, v.keys, now); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// An access token is not a certificate, though the same key signs it.
	if _, err := certificates.Verify(v.as(datavenue.RoleBuyer, buyerOrg), v.keys, now); err == nil {
		t.Fatal("an access token verified as a certificate")
	}
}

func TestExpirySweepAndEventDelivery(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	c := v.issueResource(a.ID)
	ctx := context.Background()
	if n, err := v.db.Certificates().ExpireDue(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("sweep today: %d, %v; want nothing expired", n, err)
	}
	after := c.ValidUntil.AddDays(1).Start().Add(time.Hour)
	if n, err := v.db.Certificates().ExpireDue(ctx, after); err != nil || n != 1 {
		t.Fatalf("sweep after the last valid day: %d, %v; want 1", n, err)
	}
	if n, _ := v.db.Certificates().ExpireDue(ctx, after); n != 0 {
		t.Fatalf("second sweep recorded %d more", n)
	}
	st := decode[certificates.StatusReport](t, v.do("GET", "/v1/public/certificates/"+c.Number+"/status", "", nil))
	if st.Status != certificates.StatusExpired {
		t.Fatalf("status after expiry = %s", st.Status)
	}

	// A consumer gets each event once per success; a failure is retried from where it stopped.
	rec := &recordingConsumer{failOn: certificates.EventCertificateExpired}
	d := certificates.Dispatcher{Log: v.db.Certificates(), Consumers: []certificates.Consumer{rec}}
	if _, err := d.RunOnce(ctx); err == nil {
		t.Fatal("dispatch did not report the consumer's failure")
	}
	if len(rec.seen) != 0 {
		t.Fatalf("delivered %v before the failing event", rec.seen)
	}
	rec.failOn = ""
	if n, err := d.RunOnce(ctx); err != nil || n != 1 || len(rec.seen) != 1 || rec.seen[0] != certificates.EventCertificateExpired {
		t.Fatalf("retry delivered %d (%v): %v", n, err, rec.seen)
	}
	if n, _ := d.RunOnce(ctx); n != 0 {
		t.Fatalf("a third run delivered %d again", n)
	}
}

type recordingConsumer struct {
	failOn string
	seen   []string
}

func (r *recordingConsumer) Name() string { return "recorder" }

func (r *recordingConsumer) Handle(_ context.Context, e certificates.Event) error {
	if e.Type == r.failOn {
		return context.DeadlineExceeded
	}
	r.seen = append(r.seen, e.Type)
	return nil
}

// A cancellation wakes the delivery loop: its consumers see the event at once, not at the next
// tick (an hour away here).
func TestCancellationIsDeliveredAtOnce(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	c := v.issueResource(a.ID)
	wake := certificates.NewWaker()
	seen := make(chan string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go certificates.Run(ctx, time.Hour, v.db.Certificates(), certificates.Dispatcher{Log: v.db.Certificates(), Consumers: []certificates.Consumer{chanConsumer(seen)}}, wake)
	svc := certificates.Service{Store: v.db.Certificates(), Signer: certificates.Signer{Keys: v.keys, Issuer: issuer}, Clock: datavenue.SystemClock{}, Published: wake.Wake}
	holder := datavenue.Caller{Subject: "h", Role: datavenue.RoleOperator, Org: govHolder}
	if _, err := svc.Cancel(datavenue.WithCaller(ctx, holder), holder, c.ID, certificates.CancelInput{Reason: "数据灭失"}); err != nil {
		t.Fatal(err)
	}
	select {
	case typ := <-seen:
		if typ != certificates.EventCertificateCancelled {
			t.Fatalf("delivered %s", typ)
		}
	case <-time.After(10 * time.Second): // a bound on a test that would otherwise wait an hour
		t.Fatal("the cancellation was not delivered at once")
	}
}

type chanConsumer chan string

func (chanConsumer) Name() string { return "test.chan" }

func (c chanConsumer) Handle(_ context.Context, e certificates.Event) error {
	c <- e.Type
	return nil
}

// The registry's lists page by cursor: one item at a time they give what one page gives, in the
// same order, each once.
func TestRegistryListsPage(t *testing.T) {
	m := newMarket(t, nil)
	bureau := m.as(datavenue.RoleDataBureau, bureauOrg)
	for _, path := range []string{"/v1/certificate-applications", "/v1/certificates", "/v1/authorisations", "/v1/approvals", "/v1/appraisals"} {
		all := decode[api.Page[struct{ ID string }]](t, m.do("GET", path, bureau, nil))
		paged := pageThrough[struct{ ID string }](t, m, path+"?limit=1", bureau, func(x struct{ ID string }) string { return x.ID })
		if len(all.Data) == 0 || fmt.Sprint(paged) != fmt.Sprint(idsOf(all.Data, func(x struct{ ID string }) string { return x.ID })) {
			t.Errorf("%s: paged %v, all at once %v", path, paged, all.Data)
		}
	}
}
