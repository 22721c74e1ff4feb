package api_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
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
