package listing_test

import (
	"slices"
	"testing"

	"github.com/datavenue/datavenue/listing"
)

func TestIndexTermsCJKBigramsAndWords(t *testing.T) {
	got := listing.IndexTerms("公交客流 Bus-Ridership 2026")
	for _, want := range []string{"公", "交", "客", "流", "公交", "交客", "客流", "bus", "ridership", "2026"} {
		if !slices.Contains(got, want) {
			t.Errorf("IndexTerms lacks %q: %v", want, got)
		}
	}
	if slices.Contains(got, "流客") || slices.Contains(got, "Bus") {
		t.Errorf("IndexTerms has a term it should not: %v", got)
	}
}

func TestQuery(t *testing.T) {
	for q, want := range map[string]string{
		"客流":                  "'客流'",
		"公交客流":                "'公交' & '交客' & '客流'",
		"交":                   "'交'",
		"Traffic flow":        "'traffic':* & 'flow':*",
		"客流 traffic":          "'客流' & 'traffic':*",
		"'; DROP TABLE x; --": "'drop':* & 'table':* & 'x':*",
		"a & !b | c:*":        "'a':* & 'b':* & 'c':*",
		"   ":                 "",
		"!!!":                 "",
	} {
		if got := listing.Query(q); got != want {
			t.Errorf("Query(%q) = %q, want %q", q, got, want)
		}
	}
}
