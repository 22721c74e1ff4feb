package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
)

// seededYear is a year of trading on the venue: two paid products (one whose cap was lowered in
// the year), a free public-welfare one, paid orders at several prices (one of last year, one
// cancelled), a free order, the operator's maximums for last year and this one, and its costs.
type seededYear struct {
	*market
	year       int
	a, b, free listing.Product
}

// fixtureOrder writes a trade and its order as the settlement would leave them paid (or
// cancelled), with the holder's and the operator's shares: the figures to the fen are the test's,
// not an auction's. Orders paid through the whole settlement path are tested elsewhere
// (TestAllowedRevenueBoundary); here the year's arithmetic is.
func (s *seededYear) fixtureOrder(n int, p listing.Product, price, operatorShare string, received civil.Date, cancelled bool) {
	s.t.Helper()
	ctx := context.Background()
	trade, order := fmt.Sprintf("trd_01JDISCLOSURE%013d", n), fmt.Sprintf("ord_01JDISCLOSURE%013d", n)
	at := received.Start().Add(10 * time.Hour)
	if _, err := s.db.Pool.Exec(ctx, `INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method,
		price_version, traded_at) VALUES ($1, 'negotiation', $1, $2, $3, $4, $5::numeric, 'guided', 1, $6)`,
		trade, p.ID, buyerOrg, operatorOrg, price, at); err != nil {
		s.t.Fatal(err)
	}
	var err error
	if cancelled {
		_, err = s.db.Pool.Exec(ctx, `INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied,
			amount_due, status, payment_due, cancelled_at, cancel_reason) VALUES ($1, $2, $3, $4, $5, $6::numeric, 0, $6::numeric, 'cancelled', $7, $8, 'unpaid')`,
			order, trade, p.ID, buyerOrg, operatorOrg, price, received.Time(), at)
	} else {
		_, err = s.db.Pool.Exec(ctx, `INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied,
			amount_due, status, payment_due, payment_ref, paid_at, paid_via, received_on) VALUES ($1, $2, $3, $4, $5, $6::numeric, 0, $6::numeric,
			'paid', $7, $1, $8, 'clerk', $7)`, order, trade, p.ID, buyerOrg, operatorOrg, price, received.Time(), at)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.db.Pool.Exec(ctx, `INSERT INTO settlement_shares (order_id, party_id, role, amount, account) VALUES
		($1, $2, 'operator', $3::numeric, 'payable:' || $2), ($1, $4, 'holder', $5::numeric - $3::numeric, 'payable:' || $4)`,
		order, operatorOrg, operatorShare, govHolder, price); err != nil {
		s.t.Fatal(err)
	}
}

func seedYear(t *testing.T) *seededYear {
	t.Helper()
	m := newMarket(t, nil)
	s := &seededYear{market: m, year: today().Time().Year()}
	y := s.year
	jan1, dec31 := civil.MustParse(fmt.Sprintf("%d-01-01", y)), civil.MustParse(fmt.Sprintf("%d-12-31", y))
	inYear := func(from civil.Date) func(map[string]any) {
		return func(b map[string]any) { b["valid_from"], b["valid_until"] = from.String(), dec31.String() }
	}
	titled := func(title string) func(map[string]any) { return func(p map[string]any) { p["title"] = title } }
	// A: capped at 11,000.00 from 1 January, lowered to 10,800.00 from today.
	s.a = m.createProductUncapped(titled("公交客流A"))
	m.fileCap(s.a.ID, "11000.00", inYear(jan1))
	mustStatus(t, m.publish(s.a.ID), 200)
	m.fileCap(s.a.ID, "10800.00", func(b map[string]any) {
		inYear(today())(b)
		b["pricing_doc_number"] = ""
	})
	// B: a cap of last year (not disclosed this year), then 20,000.00 for this year.
	s.b = m.createProductUncapped(titled("公交客流B"))
	m.fileCap(s.b.ID, "15000.00", func(b map[string]any) {
		b["valid_from"], b["valid_until"] = fmt.Sprintf("%d-01-01", y-1), fmt.Sprintf("%d-12-31", y-1)
	})
	m.fileCap(s.b.ID, "20000.00", inYear(jan1))
	mustStatus(t, m.publish(s.b.ID), 200)
	s.free = m.publishFree()
	mustStatus(t, m.do("POST", "/v1/products/"+s.free.ID+"/free-orders", m.as(datavenue.RoleBuyer, buyerOrg), nil, "Idempotency-Key", "free-y"), 201)

	s.fixtureOrder(1, s.a, "10000.00", "5000.00", jan1, false)
	s.fixtureOrder(2, s.a, "10500.00", "5250.00", today(), false)
	s.fixtureOrder(3, s.a, "9999.99", "4999.99", jan1.AddDays(-1), false) // last year
	s.fixtureOrder(4, s.a, "10400.00", "5200.00", today(), true)          // cancelled: never charged
	s.fixtureOrder(5, s.b, "12345.67", "6172.84", jan1, false)
	s.fixtureOrder(6, s.b, "10000.01", "5000.01", today(), false)
	s.fixtureOrder(7, s.b, "10000.00", "5000.00", today(), false)

	// Last year's maximum of 1,000.00 was passed by 3,999.99: deducted from this year's 25,000.00.
	m.setMaximum(y-1, "1000.00")
	m.setMaximum(y, "25000.00")
	op := m.as(datavenue.RoleOperator, operatorOrg)
	path := "/v1/operators/" + string(operatorOrg) + "/costs"
	for i, c := range []map[string]any{
		{"year": y, "category": "labour", "amount": "8000.00", "note": "初报"},
		{"year": y, "category": "labour", "amount": "9000.50", "note": "人员 3 名"},
		{"year": y, "category": "compute", "amount": "3000.25", "note": "=SUM(A1)"},
	} {
		mustStatus(t, m.do("POST", path, op, c, "Idempotency-Key", "cost-"+strconv.Itoa(i)), 201)
	}
	return s
}

// getAs reads a path with a token ("" for none) and an Accept header.
func (s *seededYear) getAs(path, token, accept string) response {
	s.t.Helper()
	r := s.do("GET", path, token, nil, "Accept", accept)
	mustStatus(s.t, r, 200)
	return r
}

func parseCSV(t *testing.T, r response, filename string) [][]string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="`+filename+`"` {
		t.Fatalf("Content-Disposition = %q, want %s", cd, filename)
	}
	if !bytes.HasPrefix(r.body, []byte("\uFEFF")) {
		t.Fatal("the CSV has no byte-order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func parseXLSX(t *testing.T, r response, filename string) map[string][][]string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="`+filename+`"` {
		t.Fatalf("Content-Disposition = %q, want %s", cd, filename)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = rows
	}
	return out
}

// sameTable checks an exported table against the wanted headers and rows, CSV and workbook alike
// (the workbook drops trailing empty cells of a row).
func sameTable(t *testing.T, what string, got [][]string, headers []string, rows [][]string) {
	t.Helper()
	want := append([][]string{headers}, rows...)
	trim := func(rs [][]string) [][]string {
		out := make([][]string, len(rs))
		for i, r := range rs {
			for len(r) > 0 && r[len(r)-1] == "" {
				r = r[:len(r)-1]
			}
			out[i] = r
		}
		return out
	}
	if w, g := trim(want), trim(got); !reflect.DeepEqual(w, g) {
		t.Errorf("%s:\n got %q\nwant %q", what, g, w)
	}
}

// The public disclosure of a seeded year (N6), to the fen, as JSON, CSV and XLSX, without a token.
func TestDisclosureOfASeededYear(t *testing.T) {
	s := seedYear(t)
	y, ys := s.year, strconv.Itoa(s.year)
	bureau := "市数据管理局"

	// Caps: A's two versions (the lowered one in force), B's of this year; B's of last year is not
	// this year's.
	r := s.getAs("/v1/disclosure/caps?year="+ys, "", "")
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=60" || r.header.Get("ETag") == "" {
		t.Fatalf("Cache-Control %q, ETag %q", cc, r.header.Get("ETag"))
	}
	if again := s.do("GET", "/v1/disclosure/caps?year="+ys, "", nil, "If-None-Match", r.header.Get("ETag")); again.status != 304 {
		t.Fatalf("If-None-Match: %d, want 304", again.status)
	}
	caps := decode[listing.CapDisclosure](t, r)
	type capRow struct {
		title, amount, doc string
		version            int
		inForce            bool
	}
	var gotCaps []capRow
	for _, c := range caps.Caps {
		gotCaps = append(gotCaps, capRow{c.Title, c.Amount.String(), c.PricingDocNumber, c.Version, c.InForce})
	}
	wantCaps := []capRow{{"公交客流A", "11000.00", "发改价格〔2025〕65号", 1, false}, {"公交客流A", "10800.00", "", 2, true},
		{"公交客流B", "20000.00", "发改价格〔2025〕65号", 2, true}}
	if caps.Year != y || caps.AsOf != today() || !slices.Equal(gotCaps, wantCaps) {
		t.Fatalf("caps %d as of %s: %+v, want %+v", caps.Year, caps.AsOf, gotCaps, wantCaps)
	}
	capHeaders := []string{"产品编号", "产品名称", "运营机构", "收费单位", "版本", "上限收费标准（元）", "批准文号", "价格主管部门文号", "有效期起", "有效期止", "是否现行"}
	jan1, dec31 := ys+"-01-01", ys+"-12-31"
	capRows := [][]string{
		{s.a.ID, "公交客流A", "数据运营有限公司", "按产品（一次性）", "1", "11000.00", "数据局批复〔2026〕12号", "发改价格〔2025〕65号", jan1, dec31, "否"},
		{s.a.ID, "公交客流A", "数据运营有限公司", "按产品（一次性）", "2", "10800.00", "数据局批复〔2026〕12号", "", today().String(), dec31, "是"},
		{s.b.ID, "公交客流B", "数据运营有限公司", "按产品（一次性）", "2", "20000.00", "数据局批复〔2026〕12号", "发改价格〔2025〕65号", jan1, dec31, "是"},
	}
	sameTable(t, "caps CSV", parseCSV(t, s.getAs("/v1/disclosure/caps?year="+ys, "", "text/csv"), "disclosure-caps-"+ys+".csv"), capHeaders, capRows)
	r = s.getAs("/v1/disclosure/caps?format=xlsx&year="+ys, "", "")
	book := parseXLSX(t, r, "disclosure-caps-"+ys+".xlsx")
	sameTable(t, "caps XLSX", book["上限收费标准"], capHeaders, capRows)
	numericCell(t, r, "上限收费标准", "F2")

	// Authorisations: A and B rest on the industry authorisation, the free product on the
	// public-welfare one; both granted by the data bureau.
	auths := decode[listing.AuthorisationDisclosure](t, s.getAs("/v1/disclosure/authorisations", "", ""))
	var purposes []string
	for _, a := range auths.Authorisations {
		if a.AuthorisedBy != bureauOrg || a.AuthorisedName != bureau || a.OperatorID != operatorOrg || a.AssetID != string(s.asset.ID) {
			t.Errorf("authorisation %+v", a)
		}
		purposes = append(purposes, a.Title+":"+a.Purpose)
	}
	if want := []string{"公交客流A:industry", "公交客流B:industry", "公交客流小时汇总数据集:public_welfare"}; auths.Year != y || !slices.Equal(purposes, want) {
		t.Fatalf("authorisations %d: %v, want %v", auths.Year, purposes, want)
	}
	authCSV := parseCSV(t, s.getAs("/v1/disclosure/authorisations?format=csv", "", ""), "disclosure-authorisations-"+ys+".csv")
	if len(authCSV) != 4 || !slices.Equal(authCSV[0], []string{"产品编号", "产品名称", "运营机构", "授权编号", "授权主体", "数据资源", "应用场景", "授权范围",
		"授权条件", "使用用途", "有效期起", "有效期止", "状态"}) || authCSV[1][4] != bureau || authCSV[3][9] != "公益事业" || authCSV[1][9] != "产业发展、行业发展" {
		t.Fatalf("authorisations CSV = %q", authCSV)
	}
	if book := parseXLSX(t, s.getAs("/v1/disclosure/authorisations", "", mediaXLSXType), "disclosure-authorisations-"+ys+".xlsx"); !reflect.DeepEqual(book["授权信息"], authCSV) {
		t.Errorf("authorisations XLSX %q differs from the CSV %q", book["授权信息"], authCSV)
	}

	// Fees: paid orders of the year by the day their money was received, last year's and the
	// cancelled one left out; the free use counted apart.
	fees := decode[listing.FeeDisclosure](t, s.getAs("/v1/disclosure/fees?year="+ys, "", "application/json"))
	feeHeaders := []string{"产品编号", "产品名称", "运营机构", "产品类型", "使用用途", "定价方式", "收费单位", "挂牌价（元）", "实际收费笔数",
		"实际收费最低价（元）", "实际收费最高价（元）", "实际收费平均价（元）", "实际收费合计（元）", "免费使用次数"}
	feeRows := [][]string{
		{s.a.ID, "公交客流A", "数据运营有限公司", "dataset", "产业发展、行业发展", "guided", "按产品（一次性）", "10500.00", "2", "10000.00", "10500.00", "10250.00", "20500.00", "0"},
		{s.b.ID, "公交客流B", "数据运营有限公司", "dataset", "产业发展、行业发展", "guided", "按产品（一次性）", "10500.00", "3", "10000.00", "12345.67", "10781.89", "32345.68", "0"},
		{s.free.ID, "公交客流小时汇总数据集", "数据运营有限公司", "dataset", "公益事业", "free", "按产品（一次性）", "0.00", "0", "", "", "", "0.00", "1"},
	}
	if fees.Year != y || len(fees.Products) != 3 || fees.Products[1].Average == nil || fees.Products[1].Average.String() != "10781.89" ||
		fees.Products[2].Min != nil || fees.Products[2].FreeUses != 1 {
		t.Fatalf("fees = %+v", fees)
	}
	sameTable(t, "fees from JSON", feeTable(fees), feeHeaders, feeRows)
	sameTable(t, "fees CSV", parseCSV(t, s.getAs("/v1/disclosure/fees?format=csv&year="+ys, "", ""), "disclosure-fees-"+ys+".csv"), feeHeaders, feeRows)
	r = s.getAs("/v1/disclosure/fees?format=xlsx&year="+ys, "", "")
	book = parseXLSX(t, r, "disclosure-fees-"+ys+".xlsx")
	sameTable(t, "fees XLSX", book["产品和服务及实际收费"], feeHeaders, feeRows)
	numericCell(t, r, "产品和服务及实际收费", "L3")

	// A product on the market last year and delisted before this one (its dates moved back): in
	// last year's list, not this year's.
	gone := s.createProduct(func(p map[string]any) { p["title"] = "公交客流C" })
	mustStatus(t, s.publish(gone.ID), 200)
	mustStatus(t, s.do("POST", "/v1/products/"+gone.ID+"/delist", s.as(datavenue.RoleOperator, operatorOrg), map[string]any{"reason": "停止供应"}), 200)
	if _, err := s.db.Pool.Exec(context.Background(), `UPDATE products SET published_at = make_date($2, 3, 1), updated_at = make_date($2, 9, 1)
		WHERE id = $1`, gone.ID, y-1); err != nil {
		t.Fatal(err)
	}
	if now := decode[listing.FeeDisclosure](t, s.getAs("/v1/disclosure/fees?year="+ys, "", "")); len(now.Products) != 3 {
		t.Fatalf("this year lists %d products, want 3 (not the one delisted last year)", len(now.Products))
	}
	// Last year: the order received then, and the product delisted then.
	last := decode[listing.FeeDisclosure](t, s.getAs("/v1/disclosure/fees?year="+strconv.Itoa(y-1), "", ""))
	if len(last.Products) != 2 || last.Products[0].Trades != 1 || last.Products[0].Total.String() != "9999.99" || last.Products[1].ProductID != gone.ID ||
		last.Products[1].Trades != 0 || last.AsOf.String() != strconv.Itoa(y-1)+"-12-31" {
		t.Fatalf("last year's fees = %+v", last)
	}
	wantProblem(t, s.do("GET", "/v1/disclosure/fees?year=1999", "", nil), 422, "validation_failed")
	wantProblem(t, s.do("GET", "/v1/disclosure/fees?format=pdf", "", nil), 422, "validation_failed")
	wantProblem(t, s.do("GET", "/v1/disclosure/fees", "", nil, "Accept", "application/pdf"), 406, "not_acceptable")
	// With a token too: public for everyone, and then not cached.
	if r := s.getAs("/v1/disclosure/caps", s.as(datavenue.RoleBuyer, buyerOrg), ""); r.header.Get("Cache-Control") == "public, max-age=60" {
		t.Error("an answer to a request with a token is cacheable")
	}
}

const mediaXLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// numericCell checks that a workbook's cell is a number (an amount Excel can sum), not text.
func numericCell(t *testing.T, r response, sheet, cell string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if typ, err := f.GetCellType(sheet, cell); err != nil || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) {
		t.Errorf("%s!%s is of type %v (%v), want a number", sheet, cell, typ, err)
	}
	if style, _ := f.GetCellStyle(sheet, cell); style == 0 {
		t.Errorf("%s!%s has no number format", sheet, cell)
	}
}

func feeTable(d listing.FeeDisclosure) [][]string {
	t := d.Table()
	return append([][]string{t.Headers()}, t.Rows...)
}

// The operator's annual report of the seeded year, to the fen, in every format, and who may read it.
func TestAnnualReportOfASeededYear(t *testing.T) {
	s := seedYear(t)
	y, ys := s.year, strconv.Itoa(s.year)
	path := "/v1/operators/" + string(operatorOrg) + "/annual-report?year=" + ys
	rep := decode[settlement.AnnualReport](t, s.getAs(path, s.as(datavenue.RoleOperator, operatorOrg), ""))
	a := rep.Allowed
	if rep.Year != y || rep.OperatorName != "数据运营有限公司" || rep.Trades != 5 || rep.FreeUses != 1 || rep.Turnover.String() != "52845.68" ||
		rep.Revenue.String() != "26422.85" || rep.TotalCost.String() != "12000.75" || rep.Result != "14422.10" {
		t.Fatalf("report = %+v", rep)
	}
	if a.Allowed.String() != "25000.00" || a.Deducted.String() != "3999.99" || a.Effective.String() != "21000.01" || a.Earned.String() != rep.Revenue.String() ||
		a.Excess.String() != "5422.84" || a.Status != settlement.RevenueExceeded {
		t.Fatalf("against the maximum: %+v", a)
	}
	type line struct {
		key, revenue, turnover string
		trades, free           int
	}
	lines := func(ls []settlement.AnnualLine) []line {
		var out []line
		for _, l := range ls {
			out = append(out, line{l.Label, l.Revenue.String(), l.Turnover.String(), l.Trades, l.FreeUses})
		}
		return out
	}
	if got, want := lines(rep.ByProduct), []line{{"公交客流A", "10250.00", "20500.00", 2, 0}, {"公交客流B", "16172.85", "32345.68", 3, 0},
		{"公交客流小时汇总数据集", "0.00", "0.00", 0, 1}}; !slices.Equal(got, want) {
		t.Errorf("by product = %v, want %v", got, want)
	}
	if got, want := lines(rep.ByPurpose), []line{{"产业发展、行业发展", "26422.85", "52845.68", 5, 0}, {"公益事业", "0.00", "0.00", 0, 1}}; !slices.Equal(got, want) {
		t.Errorf("by purpose = %v, want %v", got, want)
	}
	if len(rep.Costs) != 2 || rep.Costs[0].Category != "compute" || rep.Costs[1].Amount.String() != "9000.50" || rep.Costs[1].Version != 2 {
		t.Errorf("costs = %+v", rep.Costs)
	}

	// CSV: one table, its first column the section; the formula-looking note is defused.
	rows := parseCSV(t, s.getAs(path+"&format=csv", s.as(datavenue.RoleFinanceBureau, financeOrg), ""), "annual-report-"+string(operatorOrg)+"-"+ys+".csv")
	wantHead := []string{"报表", "编号", "名称", "使用用途", "收费交易笔数", "免费使用次数", "交易金额（元）", "运营收入（元）", "金额（元）", "说明"}
	find := func(section, key string) []string {
		for _, r := range rows[1:] {
			if r[0] == section && r[1] == key {
				return r
			}
		}
		t.Fatalf("no %s/%s row in %q", section, key, rows)
		return nil
	}
	if !slices.Equal(rows[0], wantHead) || !slices.Equal(find("概况", "total")[4:8], []string{"5", "1", "52845.68", "26422.85"}) ||
		find("概况", "effective")[8] != "21000.01" || find("概况", "excess")[8] != "5422.84" || find("概况", "result")[8] != "14422.10" ||
		find("按产品收入", s.b.ID)[7] != "16172.85" || find("按用途收入", "public_welfare")[5] != "1" ||
		find("运营成本", "compute")[9] != "'=SUM(A1)" || find("运营成本", "labour")[8] != "9000.50" {
		t.Errorf("report CSV = %q", rows)
	}
	// XLSX: a sheet per part.
	book := parseXLSX(t, s.getAs(path, s.as(datavenue.RoleAuditor, auditorOrg), mediaXLSXType), "annual-report-"+string(operatorOrg)+"-"+ys+".xlsx")
	summary := map[string]string{}
	for _, r := range book["年度运营概况"][1:] {
		summary[r[0]] = r[1]
	}
	if summary["运营收入（元）"] != "26422.85" || summary["超收金额（元）"] != "5422.84" || summary["收费交易笔数"] != "5" || summary["收支结余（元）"] != "14422.10" {
		t.Errorf("summary sheet = %v", summary)
	}
	byPurpose := book["按用途收入"]
	if !slices.Equal(byPurpose[0], []string{"使用用途代码", "名称", "使用用途", "收费交易笔数", "免费使用次数", "交易金额（元）", "运营收入（元）"}) ||
		!slices.Equal(byPurpose[1], []string{"industry", "产业发展、行业发展", "产业发展、行业发展", "5", "0", "52845.68", "26422.85"}) {
		t.Errorf("purpose sheet = %q", byPurpose)
	}
	if costs := book["运营成本"]; len(costs) != 3 || costs[2][2] != "9000.50" || costs[1][3] != "=SUM(A1)" {
		t.Errorf("cost sheet = %q", costs)
	}

	// Who may read: the operator, the bureaus, the auditors; a buyer or another operator is told
	// there is no such operator. Costs: only the operator records its own.
	for _, who := range []string{s.as(datavenue.RoleBuyer, buyerOrg), s.as(datavenue.RoleOperator, stateHolder)} {
		wantProblem(t, s.do("GET", path, who, nil), 404, "organisation_not_found")
		wantProblem(t, s.do("GET", "/v1/operators/"+string(operatorOrg)+"/costs", who, nil), 404, "organisation_not_found")
	}
	if r := s.do("GET", path, "", nil); r.status != 401 {
		t.Errorf("without a token: %d, want 401", r.status)
	}
	costs := "/v1/operators/" + string(operatorOrg) + "/costs"
	body := map[string]any{"year": y, "category": "storage", "amount": "1.00"}
	wantProblem(t, s.do("POST", costs, s.as(datavenue.RoleFinanceBureau, financeOrg), body), 403, "role_not_allowed")
	wantProblem(t, s.do("POST", costs, s.as(datavenue.RoleOperator, stateHolder), body), 403, "role_not_allowed")
	wantProblem(t, s.do("POST", costs, s.as(datavenue.RoleOperator, operatorOrg), map[string]any{"year": y, "category": "fun", "amount": "-1"}), 422, "validation_failed")
	// Idempotent by key: the retry answers the first recording.
	op := s.as(datavenue.RoleOperator, operatorOrg)
	first := decode[settlement.OperatingCost](t, s.do("POST", costs, op, body, "Idempotency-Key", "st-1"))
	if again := decode[settlement.OperatingCost](t, s.do("POST", costs, op, body, "Idempotency-Key", "st-1")); again.ID != first.ID {
		t.Errorf("retry recorded %s, want %s", again.ID, first.ID)
	}
	list := decode[[]settlement.OperatingCost](t, s.getAs(costs+"?year="+ys, s.as(datavenue.RoleDataBureau, bureauOrg), ""))
	var audited int
	s.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'operating_cost.recorded' AND resource_id = $1`, operatorOrg).Scan(&audited)
	if len(list) != 4 || audited != 4 {
		t.Errorf("%d cost versions, %d audited; want 4 and 4", len(list), audited)
	}
	if _, err := s.db.Pool.Exec(context.Background(), `UPDATE operating_costs SET amount = 0`); err == nil {
		t.Error("a recorded cost was updated")
	}
}
