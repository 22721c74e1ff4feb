package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// TestUsageReportsAndTheAnnualReport: a subscription's use (a retried batch counted once) shows in
// the operator's and the buyer's usage reports per period and per product, in JSON, CSV and XLSX
// with Chinese headers; another buyer sees none of it, the book keepers all of it, an appraiser
// nothing at all; and the operator's annual report counts the year's units by product and unit.
func TestUsageReportsAndTheAnnualReport(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.negotiatedSubscription()
	now := time.Now()
	batch := []map[string]any{usage("u-1", sub, "10", now), usage("u-2", sub, "2.5", now)}
	mustStatus(t, m.reportUsage(operatorOrg, batch...), 200)
	mustStatus(t, m.reportUsage(operatorOrg, append(batch, usage("u-3", sub, "1", now))...), 200)

	report := func(token string, query string) subscriptions.UsageReport {
		t.Helper()
		r := m.do("GET", "/v1/usage-reports"+query, token, nil)
		mustStatus(t, r, 200)
		return decode[subscriptions.UsageReport](t, r)
	}
	operator, buyer := m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleBuyer, buyerOrg)
	for _, tt := range []struct {
		name, token, scope string
	}{{"operator", operator, "operator"}, {"buyer", buyer, "buyer"}, {"clerk", m.as(datavenue.RoleClerk, venueOrg), "all"}} {
		r := report(tt.token, "?product_id="+sub.ProductID)
		if r.Scope != tt.scope || len(r.ByPeriod) != 1 || len(r.ByProduct) != 1 {
			t.Fatalf("%s: %+v", tt.name, r)
		}
		l, p := r.ByPeriod[0], r.ByProduct[0]
		if l.SubscriptionID != sub.ID || l.Records != 3 || l.Quantity.String() != "13.5" || l.Unit != "per_call" || l.PeriodStart != sub.StartsOn ||
			p.Subscriptions != 1 || p.Records != 3 || p.Quantity.String() != "13.5" {
			t.Fatalf("%s: period %+v, product %+v", tt.name, l, p)
		}
	}
	if r := report(m.as(datavenue.RoleBuyer, otherOrg), ""); len(r.ByPeriod) != 0 || len(r.ByProduct) != 0 {
		t.Fatalf("another buyer sees %+v", r)
	}
	wantProblem(t, m.do("GET", "/v1/usage-reports", m.as(datavenue.RoleAppraiser, appraiserOrg), nil), 403, "role_not_allowed")
	wantProblem(t, m.do("GET", "/v1/usage-reports?year=1999", operator, nil), 422, "validation_failed")

	csv := m.do("GET", "/v1/usage-reports?format=csv", buyer, nil)
	mustStatus(t, csv, 200)
	if !bytes.HasPrefix(csv.body, []byte("\uFEFF产品编号,产品名称,订阅编号")) || !strings.Contains(string(csv.body), sub.ID+",") ||
		!strings.Contains(csv.header.Get("Content-Disposition"), "usage-report-buyer-") {
		t.Fatalf("CSV %q, %s", csv.body, csv.header.Get("Content-Disposition"))
	}
	xlsx := m.do("GET", "/v1/usage-reports?format=xlsx", operator, nil)
	mustStatus(t, xlsx, 200)
	if !bytes.HasPrefix(xlsx.body, []byte("PK")) || !bytes.Contains(xlsx.body, []byte("xl/worksheets/sheet2.xml")) {
		t.Fatalf("XLSX of %d bytes is not a two-sheet workbook", len(xlsx.body))
	}

	r := m.do("GET", "/v1/operators/"+string(operatorOrg)+"/annual-report", operator, nil)
	mustStatus(t, r, 200)
	annual := decode[settlement.AnnualReport](t, r)
	if len(annual.Usage) != 1 || annual.Usage[0].ProductID != sub.ProductID || annual.Usage[0].Records != 3 ||
		annual.Usage[0].Quantity != "13.500000" || annual.Usage[0].Unit != "per_call" || annual.Usage[0].Subscriptions != 1 {
		t.Fatalf("annual report usage = %+v", annual.Usage)
	}
	csv = m.do("GET", "/v1/operators/"+string(operatorOrg)+"/annual-report?format=csv", operator, nil)
	if mustStatus(t, csv, 200); !strings.Contains(string(csv.body), "按产品使用量,"+sub.ProductID) {
		t.Fatalf("the annual CSV has no usage line:\n%s", csv.body)
	}
}

// TestUsageReportPagedItemForItem: the JSON report's period lines paged by 4 are, item for item,
// the lines of one unpaged page; every page carries the whole report's totals per product; the
// CSV export holds every line; a cursor the report did not give is 422.
func TestUsageReportPagedItemForItem(t *testing.T) {
	m := newMarket(t, nil)
	first := m.negotiatedSubscription()
	subs := []subscriptions.Subscription{first, m.subscribeAgain(first.ProductID), m.subscribeAgain(first.ProductID)}
	// Dated back to the year's start, so each has a line in each of seven monthly periods (the
	// term is three periods, so renewal is switched on).
	ctx := context.Background()
	start := civil.MustParse("2026-01-05")
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.ID)
	}
	if _, err := m.db.Pool.Exec(ctx, `UPDATE subscriptions SET starts_on = $2, started_at = $3, renewal = true WHERE id = ANY($1)`,
		ids, start.Time(), start.Start()); err != nil {
		t.Fatal(err)
	}
	operator := datavenue.Caller{Org: operatorOrg, Role: datavenue.RoleOperator}
	octx := datavenue.WithCaller(ctx, operator)
	for month := range 7 {
		day := civil.FromTime(start.Time().AddDate(0, month, 1))
		var recs []subscriptions.RecordInput
		for i, s := range subs {
			recs = append(recs, subscriptions.RecordInput{RecordID: fmt.Sprintf("m%d-s%d", month, i), SubscriptionID: s.ID, Unit: "per_call",
				Quantity: strconv.Itoa(month*10 + i + 1), UsedAt: day.Start().Add(10 * time.Hour).Format(time.RFC3339)})
		}
		res, err := subscriptions.Service{Store: m.db.Subscriptions(), Clock: fixedClock{day.Start().Add(20 * time.Hour)}}.Ingest(octx, operator, subscriptions.BatchInput{Records: recs})
		if err != nil || res.Accepted != len(recs) {
			t.Fatalf("month %d: %+v, %v", month, res.Records, err)
		}
	}
	key := func(l subscriptions.UsagePeriodLine) string {
		return l.SubscriptionID + "/" + l.PeriodStart.String() + "/" + l.Quantity.String()
	}
	for _, who := range []string{m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleAuditor, auditorOrg)} {
		whole := decode[subscriptions.UsageReport](t, m.do("GET", "/v1/usage-reports?year=2026&limit=500", who, nil))
		if len(whole.ByPeriod) != 21 || whole.NextCursor != "" || len(whole.ByProduct) != 1 || whole.ByProduct[0].Records != 21 || whole.ByProduct[0].Subscriptions != 3 {
			t.Fatalf("unpaged: %d lines, next %q, totals %+v", len(whole.ByPeriod), whole.NextCursor, whole.ByProduct)
		}
		if fmt.Sprint(whole.ByProduct) != fmt.Sprint(subscriptions.ByProduct(whole.ByPeriod)) {
			t.Fatalf("the store's totals %+v, the lines' %+v", whole.ByProduct, subscriptions.ByProduct(whole.ByPeriod))
		}
		var paged []string
		cursor, pages := "", 0
		for ; ; pages++ {
			r := m.do("GET", "/v1/usage-reports?year=2026&limit=4&cursor="+cursor, who, nil)
			mustStatus(t, r, 200)
			page := decode[subscriptions.UsageReport](t, r)
			if fmt.Sprint(page.ByProduct) != fmt.Sprint(whole.ByProduct) {
				t.Fatalf("page %d's totals %+v, the report's %+v", pages, page.ByProduct, whole.ByProduct)
			}
			paged = append(paged, idsOf(page.ByPeriod, key)...)
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if want := idsOf(whole.ByPeriod, key); !slices.Equal(paged, want) || pages != 5 {
			t.Fatalf("paged by 4 over %d pages:\n%v\nunpaged:\n%v", pages+1, paged, want)
		}
		csv := m.do("GET", "/v1/usage-reports?year=2026&limit=4&format=csv", who, nil)
		if mustStatus(t, csv, 200); strings.Count(string(csv.body), "\n") != 22 { // the header and every line
			t.Fatalf("the CSV export has %d lines, want 22:\n%s", strings.Count(string(csv.body), "\n"), csv.body)
		}
	}
	// The default page is every list's (50), and a cursor the report did not give is refused.
	if d := decode[subscriptions.UsageReport](t, m.do("GET", "/v1/usage-reports?year=2026", m.as(datavenue.RoleBuyer, buyerOrg), nil)); len(d.ByPeriod) != 21 {
		t.Fatalf("default page: %d lines", len(d.ByPeriod))
	}
	wantProblem(t, m.do("GET", "/v1/usage-reports?year=2026&cursor="+base64.RawURLEncoding.EncodeToString([]byte("nope")), m.as(datavenue.RoleBuyer, buyerOrg), nil), 422, "invalid_cursor")
}
