package api_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// setMaximum sets the operator's maximum allowed revenue for a year (finance bureau).
func (m *market) setMaximum(year int, amount string) settlement.AllowedRevenue {
	m.t.Helper()
	r := m.do("POST", "/v1/operators/"+string(operatorOrg)+"/allowed-revenue", m.as(datavenue.RoleFinanceBureau, financeOrg),
		map[string]any{"year": year, "amount": amount, "approval_ref": "财政局批复〔" + strconv.Itoa(year) + "〕3号"})
	mustStatus(m.t, r, 201)
	return decode[settlement.AllowedRevenue](m.t, r)
}

// standing reads the operator's standing for a year as the operator.
func (m *market) standing(year int) settlement.RevenueStanding {
	m.t.Helper()
	r := m.do("GET", "/v1/operators/"+string(operatorOrg)+"/allowed-revenue?year="+strconv.Itoa(year), m.as(datavenue.RoleOperator, operatorOrg), nil)
	mustStatus(m.t, r, 200)
	return decode[settlement.RevenueStanding](m.t, r)
}

// The operator's revenue against its maximum at the boundary (N4/N5): an order whose operator
// share (5,000.01) crosses a maximum of 5,000.00 settles, the excess of 0.01 is recorded and
// audited, and is deducted from next year's maximum; a maximum of exactly the revenue is
// reached, one fen more is approaching; versions are append-only and idempotent.
func TestAllowedRevenueBoundary(t *testing.T) {
	year := today().Time().Year()
	var before settlement.RevenueStanding
	m, o, _ := paidOrderAfter(t, func(m *market) {
		m.setMaximum(year, "5000.00")
		before = m.standing(year)
	})
	ctx := context.Background()
	if before.Status != settlement.RevenueWithin || before.Earned.String() != "0.00" || before.Remaining.String() != "5000.00" {
		t.Fatalf("before the payment: %+v", before)
	}
	if o.Status != settlement.OrderPaid {
		t.Fatalf("the crossing order is %s, want paid: the maximum never refuses a trade", o.Status)
	}
	check := func(s settlement.RevenueStanding, status, effective, remaining, excess, ratio string) {
		t.Helper()
		if s.Status != status || s.Earned.String() != "5000.01" || s.Effective.String() != effective || s.Remaining.String() != remaining ||
			s.Excess.String() != excess || s.Ratio == nil || *s.Ratio != ratio {
			t.Errorf("standing = %s effective %s remaining %s excess %s ratio %v; want %s %s %s %s %s",
				s.Status, s.Effective, s.Remaining, s.Excess, s.Ratio, status, effective, remaining, excess, ratio)
		}
	}
	check(m.standing(year), settlement.RevenueExceeded, "5000.00", "0.00", "0.01", "1.0000")
	var audited int
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'allowed_revenue.exceeded' AND resource_id = $1`, operatorOrg).Scan(&audited)
	if audited != 1 {
		t.Errorf("allowed_revenue.exceeded audited %d times, want 1", audited)
	}
	if got := m.metric(`datavenue_operator_revenue_yuan{operator="` + string(operatorOrg) + `"}`); got != 5000.01 {
		t.Errorf("revenue metric = %v, want 5000.01", got)
	}

	// Exactly at the maximum, then one fen under it.
	m.setMaximum(year, "5000.01")
	check(m.standing(year), settlement.RevenueReached, "5000.01", "0.00", "0.00", "1.0000")
	m.setMaximum(year, "5000.02")
	check(m.standing(year), settlement.RevenueApproaching, "5000.02", "0.01", "0.00", "1.0000")
	m.setMaximum(year, "6000.00")
	check(m.standing(year), settlement.RevenueWithin, "6000.00", "999.99", "0.00", "0.8333")

	// The excess is deducted from next year's maximum (N5).
	m.setMaximum(year, "4000.00")
	next := m.setMaximum(year+1, "3000.00")
	s := m.standing(year + 1)
	if s.Deducted.String() != "1000.01" || s.Effective.String() != "1999.99" || s.Earned.String() != "0.00" || len(s.Versions) != 1 || s.Versions[0].ID != next.ID {
		t.Errorf("next year = %+v", s)
	}
	if this := m.standing(year); len(this.Versions) != 5 || this.Versions[4].Version != 5 || this.Allowed.String() != "4000.00" {
		t.Errorf("this year's versions = %+v", this.Versions)
	}

	// Idempotent by key; validated; append-only; only a finance bureau sets it; the operator reads
	// only its own.
	path := "/v1/operators/" + string(operatorOrg) + "/allowed-revenue"
	finance := m.as(datavenue.RoleFinanceBureau, financeOrg)
	body := map[string]any{"year": year + 2, "amount": "1.00", "approval_ref": "批复"}
	first := decode[settlement.AllowedRevenue](t, m.do("POST", path, finance, body, "Idempotency-Key", "arv-1"))
	if again := decode[settlement.AllowedRevenue](t, m.do("POST", path, finance, body, "Idempotency-Key", "arv-1")); again.ID != first.ID {
		t.Errorf("retry set %s, want %s", again.ID, first.ID)
	}
	wantProblem(t, m.do("POST", path, finance, map[string]any{"year": 1999, "amount": "x", "approval_ref": ""}), 422, "validation_failed")
	wantProblem(t, m.do("POST", path, m.as(datavenue.RoleDataBureau, bureauOrg), body), 403, "role_not_allowed")
	wantProblem(t, m.do("GET", "/v1/operators/"+string(govHolder)+"/allowed-revenue", m.as(datavenue.RoleOperator, operatorOrg), nil), 404, "organisation_not_found")
	wantProblem(t, m.do("GET", path+"?year=abc", finance, nil), 422, "validation_failed")
	if _, err := m.db.Pool.Exec(ctx, `UPDATE allowed_revenues SET amount = 1`); err == nil {
		t.Error("an allowed revenue was updated")
	}
}
