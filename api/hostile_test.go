package api_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/listing"
)

// hostileTexts are strings that break naive code: SQL and LIKE metacharacters, quotes and
// escapes, control characters, Unicode that reorders, joins, combines or needs four bytes, text
// that only looks like an amount or a date, and markup.
var hostileTexts = []string{
	`'; DROP TABLE assets; --`,
	`" OR 1=1 --`,
	`100% _match_ \ \\ ' ''`,
	`$1 $$ $body$ ::text`,
	"tab\tnew\nline\rreturn",
	"NUL\x00inside",
	"bell\x07escape\x1b[31mred",
	"\u202eRTL override\u202c",
	"zero\u200bwidth\u200djoiner\ufeffbom",
	"e\u0301\u0301\u0301 combining",
	"𠮷野家 𝕏 🀄️ 👩‍👩‍👧‍👦",
	"\ufffd replacement",
	"公交'客流\"数据",
	"1e308", "-0", "2026-02-30",
	"<script>alert(1)</script>",
	"=cmd|' /C calc'!A0",
	strings.Repeat("长", 200),
	strings.Repeat("长", 20001), // over every text field's limit: refused
}

// Every hostile string, in every text field of an asset card and a product and in search, is either
// stored and returned exactly, or refused with 422 naming the field; never a 500, and search
// always answers.
func TestHostileTextInTextFieldsAndSearch(t *testing.T) {
	m := newMarket(t, nil)
	holder, op := m.as(datavenue.RoleOperator, govHolder), m.as(datavenue.RoleOperator, operatorOrg)
	stored, refused := 0, 0
	for _, text := range hostileTexts {
		for _, field := range []string{"name", "summary", "source", "scale"} {
			card := transportCard()
			card[field] = text
			r := m.do("POST", "/v1/assets", holder, card)
			if utf8.RuneCountInString(text) > 20000 && r.status != 422 {
				t.Errorf("asset %s of %d runes: %d, want 422", field, utf8.RuneCountInString(text), r.status)
			}
			switch r.status {
			case 201:
				a := decode[assets.Asset](t, r)
				got := map[string]string{"name": a.Name, "summary": a.Summary, "source": a.Source, "scale": a.Scale}[field]
				if got != text {
					t.Errorf("asset %s: stored %q, sent %q", field, got, text)
				}
				stored++
			case 422:
				if len(r.problem.Errors) == 0 || r.problem.Errors[0].Field == "" {
					t.Errorf("asset %s = %q refused without naming the field: %s", field, text, r.body)
				}
				refused++
			default:
				t.Errorf("asset %s = %q: %d %s", field, text, r.status, r.body)
			}
		}
		for _, field := range []string{"title", "description", "scenario"} {
			p := m.product(func(p map[string]any) { p[field] = text })
			r := m.do("POST", "/v1/products", op, p)
			if utf8.RuneCountInString(text) > 20000 && r.status != 422 {
				t.Errorf("product %s of %d runes: %d, want 422", field, utf8.RuneCountInString(text), r.status)
			}
			switch r.status {
			case 201:
				got := decode[listing.Product](t, r)
				if v := map[string]string{"title": got.Title, "description": got.Description, "scenario": got.Scenario}[field]; v != text {
					t.Errorf("product %s: stored %q, sent %q", field, v, text)
				}
				stored++
			case 422:
				refused++
			default:
				t.Errorf("product %s = %q: %d %s", field, text, r.status, r.body)
			}
		}
		if len(text) > 2000 {
			continue // too long for a URL: headers past the read buffer are refused (431) before the app
		}
		r := m.do("GET", "/v1/catalogue?q="+url.QueryEscape(text), "", nil)
		if r.status != 200 && r.status != 422 {
			t.Errorf("search %q: %d %s", text, r.status, r.body)
		}
		if r := m.do("GET", "/v1/catalogue?domain="+url.QueryEscape(text)+"&sort="+url.QueryEscape(text), "", nil); r.status != 422 && r.status != 200 {
			t.Errorf("search filters %q: %d %s", text, r.status, r.body)
		}
		if r := m.do("GET", "/v1/assets/"+url.PathEscape(text), holder, nil); r.status != 404 {
			t.Errorf("asset id %q: %d %s", text, r.status, r.body)
		}
	}
	// An injected string is data: the table it names is still there, and a search for it finds
	// the product that carries it (and only what matches).
	var n int
	if err := m.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM assets`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("assets after the injections: %d %v", n, err)
	}
	t.Logf("%d hostile strings × 7 text fields + search: %d stored exactly, %d refused with 422", len(hostileTexts), stored, refused)
}
