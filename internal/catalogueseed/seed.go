// Package catalogueseed makes synthetic published products, deterministically, and loads many of
// them fast (COPY into a staging table, then one INSERT … SELECT that computes the search vector
// in SQL from the same index terms the venue computes). Catalogue tests and the search benchmark
// use it; it writes only the products table (no gate facts), which is all searching reads.
package catalogueseed

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// vocabulary is a domain's words in Chinese and English. Titles, descriptions and keywords are
// built from them, so a search for one word has matches in a predictable part of the catalogue.
type vocabulary struct {
	zh, en []string
}

// byDomain gives each catalogue domain eight words per language; a product takes two of them per
// language, so a word of a domain turns up in roughly a fifth to a quarter of that domain's
// products: searches neither match nearly every row nor almost none.
var byDomain = map[string]vocabulary{
	"transport":                  {[]string{"公交", "地铁", "客流", "出行", "路网", "拥堵", "停车", "出租车"}, []string{"bus", "metro", "ridership", "mobility", "road", "congestion", "parking", "taxi"}},
	"healthcare":                 {[]string{"医疗", "门诊", "医保", "药品", "疾病", "健康", "病床", "体检"}, []string{"medical", "outpatient", "insurance", "drug", "disease", "health", "hospital", "checkup"}},
	"geospatial":                 {[]string{"地理", "遥感", "影像", "地形", "测绘", "国土", "空间", "地址"}, []string{"geographic", "remote", "imagery", "terrain", "survey", "land", "spatial", "address"}},
	"social_security_employment": {[]string{"社保", "就业", "养老", "失业", "参保", "工资", "招聘", "技能"}, []string{"pension", "employment", "retirement", "unemployment", "insured", "wage", "hiring", "skills"}},
	"enterprise_credit":          {[]string{"企业", "信用", "征信", "纳税", "经营", "登记", "风险", "评级"}, []string{"enterprise", "credit", "rating", "tax", "operations", "registry", "risk", "score"}},
	"education_technology":       {[]string{"教育", "学校", "学籍", "科研", "专利", "课程", "师资", "招生"}, []string{"education", "school", "student", "research", "patent", "course", "teacher", "admission"}},
	"culture":                    {[]string{"文化", "旅游", "景区", "演出", "文物", "图书", "游客", "非遗"}, []string{"culture", "tourism", "scenic", "performance", "heritage", "library", "visitor", "craft"}},
	"inclusive_finance":          {[]string{"普惠", "金融", "贷款", "小微", "融资", "担保", "保险", "支付"}, []string{"inclusive", "finance", "loan", "smallbiz", "financing", "guarantee", "insurance", "payment"}},
}

// The lists repeat some values ("dataset", "industry") to weight the draw: most products are
// datasets and most uses are paid industry use, as on a real venue.
var (
	domains   = []string{"transport", "healthcare", "geospatial", "social_security_employment", "enterprise_credit", "education_technology", "culture", "inclusive_finance"}
	districts = []string{"鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区", "全市"}
	nouns     = []string{"数据集", "分析报告", "接口服务", "统计", "指数", "模型"}
	types     = []string{"dataset", "data_report", "api_service", "dataset", "model", "sandbox_access", "published_data"}
	methods   = []string{"guided", "appraisal", "auction", "negotiation", "free"}
	uses      = []string{"industry", "industry", "public_governance", "public_welfare"}
)

// Product returns synthetic product number i (the same i always gives the same product).
func Product(i int, operator datavenue.OrgID, publishedAt time.Time) listing.Product {
	// Each product has its own PCG stream seeded by i, so product i does not depend on how many
	// products were made before it: Load can fill a table in independent ranges (from..to), tests can
	// rebuild the product they expect with Product(i, …), and a rerun produces the same catalogue.
	r := rand.New(rand.NewPCG(uint64(i), 42))
	domain := domains[r.IntN(len(domains))]
	v := byDomain[domain]
	zh1, zh2 := v.zh[r.IntN(len(v.zh))], v.zh[r.IntN(len(v.zh))]
	en1, en2 := v.en[r.IntN(len(v.en))], v.en[r.IntN(len(v.en))]
	use := uses[r.IntN(len(uses))]
	method := methods[r.IntN(len(methods))]
	// Industry use is paid (N1/G7), so it never gets the free method. The reverse is not enforced:
	// a free-use product may carry a price, since these rows skip the publication gate
	// (listing/gate.go) and only searching reads them.
	if use == "industry" && method == "free" {
		method = "negotiation"
	}
	// Prices are drawn as a yuan decimal string (100.00 to 500 099.99) and parsed, never through a
	// float. An auction has a reserve and no list price, as the listing rules require.
	price := fmt.Sprintf("%d.%02d", 100+r.IntN(500000), r.IntN(100))
	pricing := listing.Pricing{Method: method, Currency: "CNY"}
	if method != "free" {
		pricing.ListPrice = ptr(money.MustParse(price))
		if method == "auction" {
			pricing.Reserve, pricing.ListPrice = pricing.ListPrice, nil
		}
	}
	// The id is zero-padded to the length of a ULID-based id ("prd_" + 26), so ids sort by i.
	return listing.Product{
		ID:            fmt.Sprintf("prd_%026d", i),
		OperatorID:    operator,
		HolderIDs:     []datavenue.OrgID{datavenue.OrgID(fmt.Sprintf("org_01JDEMHOLDER%014d", r.IntN(50)))},
		Title:         districts[r.IntN(len(districts))] + zh1 + zh2 + nouns[r.IntN(len(nouns))],
		TitleEN:       strings.ToUpper(en1[:1]) + en1[1:] + " " + en2 + " data",
		Description:   fmt.Sprintf("%s%s数据，按日更新，覆盖%s，编号%d。", zh1, zh2, districts[r.IntN(len(districts))], i),
		DescriptionEN: fmt.Sprintf("%s and %s records, updated daily, item %d.", en1, en2, i),
		ProductType:   types[r.IntN(len(types))], Domain: domain, Scenario: "场景" + zh1, Keywords: []string{zh1, en1},
		Delivery:        listing.Delivery{Method: "api", Format: "JSON"},
		UpdateFrequency: "daily", Schema: []byte(`{"id":"string"}`), Sample: []byte(`[]`),
		Licence:     listing.Licence{DurationDays: 365, PermittedUse: "研究"},
		UseCategory: use, Pricing: pricing, PriceVersion: 1, AllowList: []datavenue.OrgID{}, DenyList: []datavenue.OrgID{},
		Status: listing.StatusPublished, Version: 1, PublishedAt: &publishedAt,
	}
}

// Load inserts products n from..to-1 as published, through a staging table.
// It is meant for empty ranges: a product id already in the table fails the whole INSERT (nothing
// is written), so callers loading several batches give them disjoint ranges.
// One connection is held throughout because the staging table is TEMP (it belongs to the session).
// COPY carries the rows in one round trip for any count, where tens of thousands of INSERTs would
// dominate a benchmark's set-up; COPY cannot compute the search column, hence the second statement.
func Load(ctx context.Context, pool *pgxpool.Pool, operator datavenue.OrgID, from, to int) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS stage_products (id text, operator_id text, holder_ids text[],
		title text, title_en text, description text, description_en text, product_type text, domain text, scenario text,
		keywords text[], delivery jsonb, update_frequency text, data_schema jsonb, sample jsonb, licence jsonb, use_category text,
		pricing_method text, pricing jsonb, ref_price numeric, price_version int, allow_list text[], deny_list text[], status text,
		version int, published_at timestamptz, terms_a text[], terms_b text[])`); err != nil {
		return err
	}
	// The temp table outlives this call on the pooled connection (IF NOT EXISTS above reuses it), so
	// rows a previous Load staged on it are cleared first.
	if _, err := conn.Exec(ctx, `TRUNCATE stage_products`); err != nil {
		return err
	}
	// Rows are published a minute apart from 2026-01-01 UTC, product i at minute i, so that
	// "newest first" orders are deterministic and have no ties, whatever the batches were.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, 0, to-from)
	for i := from; i < to; i++ {
		p := Product(i, operator, base.Add(time.Duration(i)*time.Minute))
		// Columns in the order of cols below; delivery and licence as literal JSON matching what
		// Product sets, and the index terms split by weight (A: titles and keywords, B: descriptions).
		rows = append(rows, []any{p.ID, string(p.OperatorID), []string{string(p.HolderIDs[0])}, p.Title, p.TitleEN, p.Description,
			p.DescriptionEN, p.ProductType, p.Domain, p.Scenario, p.Keywords, `{"method":"api","format":"JSON"}`, p.UpdateFrequency,
			string(p.Schema), string(p.Sample), `{"duration_days":365,"permitted_use":"研究","onward_transfer":false}`,
			p.UseCategory, p.Pricing.Method, mustJSON(p.Pricing), p.Pricing.RefPrice().String(), 1, []string{}, []string{},
			"published", 1, *p.PublishedAt, listing.IndexTerms(append([]string{p.Title, p.TitleEN}, p.Keywords...)...),
			listing.IndexTerms(p.Description, p.DescriptionEN)})
	}
	cols := []string{"id", "operator_id", "holder_ids", "title", "title_en", "description", "description_en", "product_type", "domain",
		"scenario", "keywords", "delivery", "update_frequency", "data_schema", "sample", "licence", "use_category", "pricing_method",
		"pricing", "ref_price", "price_version", "allow_list", "deny_list", "status", "version", "published_at", "terms_a", "terms_b"}
	if _, err := conn.Conn().CopyFrom(ctx, pgx.Identifier{"stage_products"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	// The search vector is computed exactly as postgres/listing.go computes it for a product the
	// venue writes (title, English title and keywords weighted A, descriptions B, from
	// listing.IndexTerms), so ranking over seeded rows is the ranking the venue gives real ones.
	_, err = conn.Exec(ctx, `INSERT INTO products (id, operator_id, holder_ids, title, title_en, description, description_en, product_type,
			domain, scenario, keywords, delivery, update_frequency, data_schema, sample, licence, use_category, pricing_method, pricing,
			ref_price, price_version, allow_list, deny_list, status, version, published_at, search)
		SELECT id, operator_id, holder_ids, title, title_en, description, description_en, product_type, domain, scenario, keywords,
			delivery, update_frequency, data_schema, sample, licence, use_category, pricing_method, pricing, ref_price, price_version,
			allow_list, deny_list, status, version, published_at,
			setweight(array_to_tsvector(terms_a), 'A') || setweight(array_to_tsvector(terms_b), 'B')
		FROM stage_products`)
	return err
}

// ptr returns a pointer to a copy of v (for the optional money fields of listing.Pricing).
func ptr[T any](v T) *T { return &v }

// mustJSON encodes a value the seed built itself; a failure is a bug in the seed, hence panic.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
