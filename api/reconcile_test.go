package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bytes"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
)

// paidOrder runs an English auction to a paid order whose government unit owes 5000.01 to its
// treasury.
func paidOrder(t *testing.T) (*market, settlement.Order, string) {
	t.Helper()
	return paidOrderAfter(t, nil)
}

// paidOrderAfter is paidOrder with before run just before the payment is recorded (nil: nothing).
func paidOrderAfter(t *testing.T, before func(m *market)) (*market, settlement.Order, string) {
	t.Helper()
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	mustStatus(t, m.do("PUT", "/v1/products/"+auc.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)
	e := m.engine()
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "d"}), 201)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "10000.02"}), 201)
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	orders := decode[api.Page[settlement.Order]](t, m.do("GET", "/v1/orders", clerk, nil))
	if before != nil {
		before(m)
	}
	r := m.do("POST", "/v1/orders/"+orders.Data[0].ID+"/payment", clerk, map[string]any{"reference": "pay-1"})
	mustStatus(t, r, 200)
	return m, decode[settlement.Order](t, r), clerk
}

func (m *market) importStatement(token, format, query string, body []byte) response {
	m.t.Helper()
	req := httptest.NewRequest("POST", "/v1/reconciliation/imports?format="+format+"&"+query, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := m.app.Test(req, -1)
	if err != nil {
		m.t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header}
	buf := new(bytes.Buffer)
	buf.ReadFrom(resp.Body)
	out.body = buf.Bytes()
	return out
}

func TestReconciliationOutcomes(t *testing.T) {
	m, order, clerk := paidOrder(t)
	ctx := context.Background()
	treasury := order.Obligations[0]
	if treasury.Kind != "treasury_remittance" || treasury.Amount.String() != "5000.01" {
		t.Fatalf("obligation = %+v", treasury)
	}
	// Two more obligations as fixtures: one that will be over-paid, one that nothing pays (missing).
	for i, amount := range []string{"100.00", "200.00"} {
		if _, err := m.db.Pool.Exec(ctx, `INSERT INTO obligations (id, order_id, kind, party_id, counterpart, amount, income_kind, event_date, due_date, status, payment_code)
			VALUES ($1, $2, 'treasury_remittance', $3, '市级国库', $4::numeric, 'one_off', $5, $6, 'due', $7)`,
			fmt.Sprintf("obl_01JFIXTURE%016d", i), order.ID, []datavenue.OrgID{stateHolder, operatorOrg}[i], amount,
			time.Now().AddDate(0, 0, -20), time.Now().AddDate(0, 0, -5), fmt.Sprintf("FIX%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	today := civil.Of(time.Now()).String()
	csvText := "\uFEFF缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n" +
		"S1," + treasury.PaymentCode + ",市交通运输局,3000.00," + today + ",市级国库\n" + // partial
		"S2," + treasury.PaymentCode + ",市交通运输局,\"2,000.01\"," + today + ",市级国库\n" + // the rest: matched
		"S1," + treasury.PaymentCode + ",市交通运输局,3000.00," + today + ",市级国库\n" + // the same slip again: duplicate
		"S3,FIX0,城市大数据集团,150.00," + today + ",市级国库\n" + // over-paid
		"S4,NOPE,某某单位,10.00," + today + ",市级国库\n" // unmatched
	wantProblem(t, m.do("GET", "/v1/reconciliation/exceptions", m.as(datavenue.RoleBuyer, buyerOrg), nil), 403, "role_not_allowed")

	// A malformed row fails the whole import, with its line number, and applies nothing.
	bad := strings.Replace(csvText, "150.00", "15O.00", 1)
	r := m.importStatement(clerk, "csv", "period_end="+today, []byte(bad))
	if r.status != 422 || !strings.Contains(string(r.body), "line 5") {
		t.Fatalf("bad import: %d %s", r.status, r.body)
	}
	var receipts int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM receipts`).Scan(&receipts)
	if receipts != 0 {
		t.Fatalf("a failed import left %d receipts", receipts)
	}

	r = m.importStatement(clerk, "csv", "name=treasury-2026-11&period_end="+today, []byte(csvText))
	if r.status != 201 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	res := decode[settlement.ImportResult](t, r)
	want := []string{"partial", "matched", "duplicate", "over_paid", "unmatched"}
	for i, rc := range res.Receipts {
		if rc.Outcome != want[i] {
			t.Fatalf("line %d: %s, want %s (all %+v)", rc.Line, rc.Outcome, want[i], res.Receipts)
		}
	}
	if len(res.Missing) != 1 || res.Missing[0] != "obl_01JFIXTURE0000000000000001" {
		t.Fatalf("missing = %v", res.Missing)
	}
	got := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+order.ID, clerk, nil))
	for _, ob := range got.Obligations {
		if ob.ID == treasury.ID && ob.Status != "remitted" {
			t.Fatalf("the fully paid obligation is %s", ob.Status)
		}
	}
	// Matched amounts moved from due-to-treasury to remitted in the ledger.
	if b, _ := m.db.Settlement().Balance(ctx, "acc_remitted:"+string(govHolder)); b.String() != "-5000.01" {
		t.Fatalf("remitted = %s", b)
	}
	if b, _ := m.db.Settlement().Balance(ctx, "acc_due_to_treasury:"+string(govHolder)); !b.IsZero() {
		t.Fatalf("due to treasury after remittance = %s", b)
	}
	// Every non-matched outcome waits in the queue; a clerk resolves one with a reason.
	queue := decode[api.Page[settlement.Exception]](t, m.do("GET", "/v1/reconciliation/exceptions?status=open", clerk, nil))
	kinds := map[string]int{}
	for _, e := range queue.Data {
		kinds[e.Kind]++
	}
	for _, k := range []string{"partial", "duplicate", "over_paid", "unmatched", "missing"} {
		if kinds[k] != 1 {
			t.Fatalf("exceptions %v, want one %s", kinds, k)
		}
	}
	// Paged two at a time, the queue is the same, in the same order, each exception once; so are
	// the obligations, one at a time in due-date order.
	if ids := pageThrough[settlement.Exception](t, m, "/v1/reconciliation/exceptions?status=open&limit=2", clerk, func(e settlement.Exception) string { return e.ID }); fmt.Sprint(ids) != fmt.Sprint(idsOf(queue.Data, func(e settlement.Exception) string { return e.ID })) {
		t.Fatalf("paged exceptions %v, all at once %v", ids, idsOf(queue.Data, func(e settlement.Exception) string { return e.ID }))
	}
	all := decode[api.Page[settlement.Obligation]](t, m.do("GET", "/v1/obligations", clerk, nil))
	if ids := pageThrough[settlement.Obligation](t, m, "/v1/obligations?limit=1", clerk, func(o settlement.Obligation) string { return o.ID }); len(all.Data) < 3 || fmt.Sprint(ids) != fmt.Sprint(idsOf(all.Data, func(o settlement.Obligation) string { return o.ID })) {
		t.Fatalf("paged obligations %v, all at once %d", ids, len(all.Data))
	}
	wantProblem(t, m.do("GET", "/v1/obligations?cursor=bm9wZQ", clerk, nil), 422, "validation_failed")
	wantProblem(t, m.do("POST", "/v1/reconciliation/exceptions/"+queue.Data[0].ID+"/resolve", clerk, map[string]any{"reason": ""}), 422, "validation_failed")
	mustStatus(t, m.do("POST", "/v1/reconciliation/exceptions/"+queue.Data[0].ID+"/resolve", clerk, map[string]any{"reason": "已与国库核实"}), 200)
	wantProblem(t, m.do("POST", "/v1/reconciliation/exceptions/"+queue.Data[0].ID+"/resolve", clerk, map[string]any{"reason": "again"}), 409, "exception_not_open")

	// The same statement in XLSX, with its own header names mapped: every slip is now a duplicate.
	f := excelize.NewFile()
	for i, h := range []string{"票号", "缴款码", "执收单位", "金额", "缴款日期"} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellValue("Sheet1", cell, h)
	}
	for i, v := range []string{"S2", treasury.PaymentCode, "市交通运输局", "2000.01", today} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		f.SetCellValue("Sheet1", cell, v)
	}
	var xlsx bytes.Buffer
	f.Write(&xlsx)
	r = m.importStatement(clerk, "xlsx", "period_end="+today+"&mapping=%7B%22slip_no%22%3A%22%E7%A5%A8%E5%8F%B7%22%7D", xlsx.Bytes())
	if r.status != 201 || !strings.Contains(string(r.body), `"outcome":"duplicate"`) {
		t.Fatalf("xlsx import: %d %s", r.status, r.body)
	}
}

func TestSettlementReport(t *testing.T) {
	m, order, clerk := paidOrder(t)
	// The asset's card counts what was listed and traded on it, and what it earned its holder.
	card := decode[assets.Card](t, m.do("GET", "/v1/assets/"+string(m.asset.ID), m.as(datavenue.RoleOperator, govHolder), nil))
	if card.Usage.Listings != 1 || card.Usage.Trades != 1 || card.Usage.Revenue.String() != "5000.01" {
		t.Fatalf("card usage = %+v", card.Usage)
	}
	today := civil.Of(time.Now()).String()
	rep := decode[settlement.Report](t, m.do("GET", "/v1/reports/settlement?from="+today+"&to="+today, clerk, nil))
	holders := map[string]string{}
	for _, l := range rep.RevenueByHolder {
		holders[l.Key] = l.Amount.String()
	}
	if holders[string(govHolder)+" holder"] != "5000.01" || holders[string(operatorOrg)+" operator"] != "5000.01" ||
		len(rep.RevenueByProduct) != 1 || rep.RevenueByProduct[0].Amount.Cmp(order.Price) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if len(rep.Remittances) != 1 || rep.Remittances[0].Key != "due" || rep.Remittances[0].Amount.String() != "5000.01" {
		t.Fatalf("remittances = %+v", rep.Remittances)
	}
	// An unknown format is refused rather than answered as JSON; a spreadsheet asked by Accept gets one.
	wantProblem(t, m.do("GET", "/v1/reports/settlement?format=pdf&from="+today+"&to="+today, clerk, nil), 422, "validation_failed")
	if r := m.do("GET", "/v1/reports/settlement?from="+today+"&to="+today, clerk, nil, "Accept", "text/csv"); r.status != 200 ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report by Accept: text/csv: %d %s", r.status, r.header.Get("Content-Type"))
	}
	csvBody := string(m.do("GET", "/v1/reports/settlement?format=csv&from="+today+"&to="+today, clerk, nil).body)
	if !strings.Contains(csvBody, "按持有方收入,"+string(govHolder)+" holder,市交通运输局,1,5000.01") {
		t.Fatalf("CSV report:\n%s", csvBody)
	}
	x := m.do("GET", "/v1/reports/settlement?format=xlsx&from="+today+"&to="+today, m.as(datavenue.RoleAuditor, auditorOrg), nil)
	book, err := excelize.OpenReader(bytes.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := book.GetCellValue("上缴情况", "D2", excelize.Options{RawCellValue: true})
	if v != "5000.01" {
		t.Fatalf("XLSX 上缴情况 D2 = %q", v)
	}
	wantProblem(t, m.do("GET", "/v1/reports/settlement?from="+today+"&to=2020-01-01", clerk, nil), 422, "validation_failed")
	wantProblem(t, m.do("GET", "/v1/reports/settlement?from="+today+"&to="+today, m.as(datavenue.RoleBuyer, buyerOrg), nil), 403, "role_not_allowed")
}

// pageThrough follows next_cursor from path (which sets a limit) to the last page and returns the
// keys of every item in order.
func pageThrough[T any](t *testing.T, m *market, path, token string, key func(T) string) []string {
	t.Helper()
	var keys []string
	cursor := ""
	for pages := 0; ; pages++ {
		url := path
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		page := decode[api.Page[T]](t, m.do("GET", url, token, nil))
		keys = append(keys, idsOf(page.Data, key)...)
		if page.NextCursor == "" {
			return keys
		}
		if pages > 100 {
			t.Fatalf("%s: no last page", path)
		}
		cursor = page.NextCursor
	}
}

func idsOf[T any](items []T, key func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, key(it))
	}
	return out
}
