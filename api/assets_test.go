package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/audit"
)

func (v *venue) registerCard(card map[string]any) assets.Asset {
	v.t.Helper()
	r := v.do("POST", "/v1/assets", v.as(datavenue.RoleOperator, govHolder), card)
	mustStatus(v.t, r, http.StatusCreated)
	return decode[assets.Asset](v.t, r)
}

func TestAssetCardCostAndNominalMeasurement(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	if a.OriginalCost.String() != "150000.75" || a.BookValue.String() != "150000.75" || a.Version != 1 || a.HolderID != govHolder {
		t.Fatalf("cost card = %+v", a)
	}
	nominal := transportCard()
	nominal["measurement_basis"] = "nominal"
	nominal["cost_components"] = []map[string]string{}
	nominal["accounting_status"] = "memorandum"
	n := v.registerCard(nominal)
	if n.BookValue.String() != "1.00" || n.OriginalCost.String() != "0.00" {
		t.Fatalf("nominal card: book %s, cost %s; want 1.00 and 0.00 (G4)", n.BookValue, n.OriginalCost)
	}
	card := decode[assets.Card](t, v.do("GET", "/v1/assets/"+string(a.ID), v.as(datavenue.RoleDataBureau, bureauOrg), nil))
	if card.Name != "公交刷卡客流数据" || card.HolderName != "市交通运输局" || card.Usage.Revenue.String() != "0.00" {
		t.Fatalf("card as read by the bureau = %+v", card)
	}
	// Money is a string in JSON, never a number.
	raw := string(v.do("GET", "/v1/assets/"+string(a.ID), v.as(datavenue.RoleAuditor, auditorOrg), nil).body)
	if !strings.Contains(raw, `"original_cost":"150000.75"`) || !strings.Contains(raw, `"amount":"120000.50"`) {
		t.Fatalf("amounts not decimal strings: %s", raw)
	}
}

func TestAssetReadAndWriteRights(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	path := "/v1/assets/" + string(a.ID)
	for _, tt := range []struct {
		name   string
		token  string
		status int
	}{
		{"holder", v.as(datavenue.RoleOperator, govHolder), 200},
		{"data bureau", v.as(datavenue.RoleDataBureau, bureauOrg), 200},
		{"finance bureau", v.as(datavenue.RoleFinanceBureau, financeOrg), 200},
		{"auditor", v.as(datavenue.RoleAuditor, auditorOrg), 200},
		{"appraiser", v.as(datavenue.RoleAppraiser, appraiserOrg), 200},
		{"another holder", v.as(datavenue.RoleOperator, stateHolder), 404},
		{"buyer", v.as(datavenue.RoleBuyer, buyerOrg), 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustStatus(t, v.do("GET", path, tt.token, nil), tt.status)
		})
	}
	change := map[string]any{"version": 1, "reason": "更正数据规模"}
	for k, val := range transportCard() {
		change[k] = val
	}
	wantProblem(t, v.do("PUT", path, v.as(datavenue.RoleOperator, stateHolder), change), 404, "asset_not_found")
	wantProblem(t, v.do("PUT", path, v.as(datavenue.RoleAuditor, auditorOrg), change), 403, "not_holder")
	wantProblem(t, v.do("PUT", path, v.as(datavenue.RoleDataBureau, bureauOrg), change), 403, "not_holder")
	// A buyer's organisation does not hold the operator role: refused at the door (the store's
	// not_a_holder check stays behind it).
	wantProblem(t, v.do("POST", "/v1/assets", v.as(datavenue.RoleOperator, buyerOrg), transportCard()), 403, "role_not_held")
	wantProblem(t, v.do("POST", "/v1/assets", v.as(datavenue.RoleAuditor, auditorOrg), transportCard()), 403, "role_not_allowed")
	wantProblem(t, v.do("GET", "/v1/assets?holder="+string(govHolder), v.as(datavenue.RoleOperator, stateHolder), nil), 403, "not_holder")
	// A holder's unfiltered ledger is its own.
	page := decode[api.Page[assets.Asset]](t, v.do("GET", "/v1/assets", v.as(datavenue.RoleOperator, stateHolder), nil))
	if len(page.Data) != 0 {
		t.Fatalf("another holder's ledger shows %d assets", len(page.Data))
	}
}

func TestAssetChangesAreVersionedNeverOverwritten(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	holder := v.as(datavenue.RoleOperator, govHolder)
	change := map[string]any{"version": 1, "reason": "补充处理成本"}
	for k, val := range transportCard() {
		change[k] = val
	}
	change["cost_components"] = []map[string]string{{"stage": "collection", "amount": "120000.50"}, {"stage": "processing", "amount": "40000.00"}}
	r := v.do("PUT", "/v1/assets/"+string(a.ID), holder, change)
	mustStatus(t, r, 200)
	if got := decode[assets.Asset](t, r); got.Version != 2 || got.OriginalCost.String() != "160000.50" {
		t.Fatalf("after change: version %d cost %s", got.Version, got.OriginalCost)
	}
	// The same edit of version 1 again is stale.
	wantProblem(t, v.do("PUT", "/v1/assets/"+string(a.ID), holder, change), 409, "version_conflict")
	versions := decode[[]assets.Version](t, v.do("GET", "/v1/assets/"+string(a.ID)+"/versions", holder, nil))
	if len(versions) != 2 || versions[0].Snapshot.OriginalCost.String() != "150000.75" ||
		versions[1].ChangeReason != "补充处理成本" || versions[1].ChangedBy != "user-operator" {
		t.Fatalf("versions = %+v", versions)
	}
	events, _ := v.db.Audit().Events(context.Background(), audit.Filter{ResourceID: string(a.ID)})
	if len(events) != 2 || events[0].Action != "asset.changed" || events[1].Action != "asset.registered" {
		t.Fatalf("audit = %+v", events)
	}
	if _, err := v.db.Pool.Exec(context.Background(), `UPDATE asset_versions SET change_reason = 'x'`); err == nil {
		t.Fatal("asset_versions accepted an UPDATE")
	}
}

func TestAssetValidation(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	holder := v.as(datavenue.RoleOperator, govHolder)
	for _, tt := range []struct {
		name  string
		mod   func(map[string]any)
		field string
	}{
		{"amount with three decimals", func(m map[string]any) {
			m["cost_components"] = []map[string]string{{"stage": "collection", "amount": "1.005"}}
		}, "cost_components[0].amount"},
		{"amount as negative", func(m map[string]any) {
			m["cost_components"] = []map[string]string{{"stage": "collection", "amount": "-5"}}
		}, "cost_components[0].amount"},
		{"cost basis without costs", func(m map[string]any) { m["cost_components"] = []map[string]string{} }, "cost_components"},
		{"shared data without its source unit", func(m map[string]any) { m["acquisition_mode"] = "shared" }, "shared_from"},
		{"unknown right", func(m map[string]any) { m["rights"] = []string{"owning"} }, "rights"},
		{"unknown grade", func(m map[string]any) { m["grade"] = "secret" }, "grade"},
		{"empty name", func(m map[string]any) { m["name"] = "  " }, "name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			card := transportCard()
			tt.mod(card)
			r := v.do("POST", "/v1/assets", holder, card)
			wantProblem(t, r, 422, "validation_failed")
			found := false
			for _, f := range r.problem.Errors {
				found = found || f.Field == tt.field
			}
			if !found {
				t.Fatalf("errors %+v lack field %s", r.problem.Errors, tt.field)
			}
		})
	}
}

func TestLedgerExports(t *testing.T) {
	v := newVenue(t)
	v.seedParties()
	a := v.registerCard(transportCard())
	formula := transportCard()
	formula["name"] = "=HYPERLINK(\"http://evil\")"
	v.registerCard(formula)
	holder := v.as(datavenue.RoleOperator, govHolder)

	csvResp := v.do("GET", "/v1/ledger.csv", holder, nil)
	mustStatus(t, csvResp, 200)
	body := string(csvResp.body)
	if !strings.HasPrefix(body, "\uFEFF资产编号,资产名称,类别,持有单位") {
		t.Fatalf("CSV header: %q", body[:80])
	}
	if !strings.Contains(body, string(a.ID)+",公交刷卡客流数据,数据资产,市交通运输局,1,") || !strings.Contains(body, ",150000.75,历史成本,150000.75,已入账,") {
		t.Fatalf("CSV row missing or wrong:\n%s", body)
	}
	if !strings.Contains(body, `'=HYPERLINK`) {
		t.Fatalf("a formula in a name was not defused:\n%s", body)
	}

	x := v.do("GET", "/v1/ledger.xlsx", holder, nil)
	mustStatus(t, x, 200)
	book, err := excelize.OpenReader(bytes.NewReader(x.body))
	if err != nil {
		t.Fatalf("XLSX does not open: %v", err)
	}
	defer book.Close()
	rows, err := book.GetRows(assets.LedgerSheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("XLSX has %d rows, want header + 2", len(rows))
	}
	headers := assets.LedgerHeaders()
	for i, h := range headers {
		if rows[0][i] != h {
			t.Fatalf("header %d = %q, want %q", i, rows[0][i], h)
		}
	}
	cell := func(col string, row int) string {
		for i, h := range headers {
			if h == col {
				name, _ := excelize.CoordinatesToCellName(i+1, row)
				v, _ := book.GetCellValue(assets.LedgerSheet, name, excelize.Options{RawCellValue: true})
				shown, _ := book.GetCellValue(assets.LedgerSheet, name)
				return v + "|" + shown
			}
		}
		t.Fatalf("no column %s", col)
		return ""
	}
	if got := cell("资产编号", 2); got != string(a.ID)+"|"+string(a.ID) {
		t.Errorf("资产编号 = %q", got)
	}
	if got := cell("原始成本（元）", 2); got != "150000.75|150,000.75" {
		t.Errorf("原始成本 raw|shown = %q, want the exact amount as a number formatted to the fen", got)
	}
	if got := cell("计量属性", 2); got != "历史成本|历史成本" {
		t.Errorf("计量属性 = %q", got)
	}
	if got := cell("分级", 2); got != "重要数据|重要数据" {
		t.Errorf("分级 = %q", got)
	}

	// A holder with more cards than the store answers in one call gets them all in the file: the
	// export reads page after page, where it once stopped at 10,000 cards without a word.
	if _, err := v.db.Pool.Exec(context.Background(), `INSERT INTO assets (id, holder_id, holder_kind, version, category, name, summary, rights,
			classification, grade, source, shared_from, shared_consent_ref, scale, update_frequency, acquisition_mode,
			cost_components, original_cost, measurement_basis, book_value, accounting_status)
		SELECT 'ast_' || lpad(n::text, 26, '0'), holder_id, holder_kind, version, category, name || ' ' || n, summary, rights,
			classification, grade, source, shared_from, shared_consent_ref, scale, update_frequency, acquisition_mode,
			cost_components, original_cost, measurement_basis, book_value, accounting_status
		FROM assets, generate_series(1, 10100) n WHERE id = $1`, string(a.ID)); err != nil {
		t.Fatal(err)
	}
	big := v.do("GET", "/v1/ledger.csv", holder, nil)
	mustStatus(t, big, 200)
	lines := strings.Count(strings.TrimRight(string(big.body), "\r\n"), "\n") + 1
	if lines != 1+2+10100 {
		t.Fatalf("the CSV of 10,102 cards has %d lines, want the header and every card (10,103)", lines)
	}
	if !strings.Contains(string(big.body), "ast_"+strings.Repeat("0", 21)+"10100,") {
		t.Fatal("the last card of the ledger is missing from the CSV")
	}
}
