package listing_test

import (
	"slices"
	"testing"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

func day(s string) civil.Date { return civil.MustParse(s) }

// The caps a year discloses: every version valid on some day of it, the one in force on the
// disclosure's day marked; a version of another year left out.
func TestDiscloseCaps(t *testing.T) {
	c := func(id string, version int, unit, from, until string) listing.DisclosedCap {
		return listing.DisclosedCap{Title: "P", Cap: listing.Cap{ID: id, ProductID: "prd_1", ChargingUnit: unit, Version: version,
			Amount: money.MustParse("100.00"), ValidFrom: day(from), ValidUntil: day(until)}}
	}
	caps := []listing.DisclosedCap{
		c("old", 1, "one_off", "2025-01-01", "2025-12-31"),
		c("v2", 2, "one_off", "2025-06-01", "2026-12-31"),
		c("v3", 3, "one_off", "2026-07-01", "2026-12-31"), // lowered from July
		c("call", 1, "per_call", "2026-01-01", "2027-06-30"),
		c("next", 4, "one_off", "2027-01-01", "2027-12-31"),
	}
	for _, tc := range []struct {
		asOf    string
		want    []string
		inForce []string
	}{
		{"2026-03-01", []string{"v2", "v3", "call"}, []string{"v2", "call"}},
		{"2026-12-31", []string{"v2", "v3", "call"}, []string{"v3", "call"}},
	} {
		d := listing.DiscloseCaps(2026, day(tc.asOf), caps)
		var got, inForce []string
		for _, x := range d.Caps {
			got = append(got, x.ID)
			if x.InForce {
				inForce = append(inForce, x.ID)
			}
		}
		if !slices.Equal(got, tc.want) || !slices.Equal(inForce, tc.inForce) {
			t.Errorf("as of %s: caps %v in force %v; want %v, %v", tc.asOf, got, inForce, tc.want, tc.inForce)
		}
	}
}

// Actual fees: paid trades counted and averaged to the fen (half away from zero), free uses apart,
// a product without trades shows no prices, a charge of an unlisted product still counts.
func TestDiscloseFees(t *testing.T) {
	p := func(id, title string) listing.FeeProduct {
		return listing.FeeProduct{DisclosedProduct: listing.DisclosedProduct{ProductID: id, Title: title}}
	}
	ch := func(id, price string, free bool) listing.Charge {
		return listing.Charge{ProductID: id, Price: money.MustParse(price), Free: free}
	}
	d := listing.DiscloseFees(2026, day("2026-12-31"), []listing.FeeProduct{p("a", "A"), p("b", "B"), p("c", "C")}, []listing.Charge{
		ch("a", "0.01", false), ch("a", "0.02", false), // average 0.015 → 0.02
		ch("b", "10.00", false), ch("b", "10.00", false), ch("b", "10.01", false), // 10.0033… → 10.00
		ch("c", "0.00", true), ch("c", "0.00", true),
		ch("z", "5.00", false),
	})
	type row struct {
		id, min, max, avg, total string
		trades, free             int
	}
	s := func(y *money.Yuan) string {
		if y == nil {
			return "-"
		}
		return y.String()
	}
	var got []row
	for _, x := range d.Products {
		got = append(got, row{x.ProductID, s(x.Min), s(x.Max), s(x.Average), x.Total.String(), x.Trades, x.FreeUses})
	}
	want := []row{{"z", "5.00", "5.00", "5.00", "5.00", 1, 0}, {"a", "0.01", "0.02", "0.02", "0.03", 2, 0},
		{"b", "10.00", "10.01", "10.00", "30.01", 3, 0}, {"c", "-", "-", "-", "0.00", 0, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("fees = %v\nwant %v", got, want)
	}
	if tb := d.Table(); len(tb.Rows) != 4 || tb.Rows[3][9] != "" || tb.Rows[3][13] != "2" || len(tb.Headers()) != len(tb.Rows[0]) {
		t.Errorf("table = %v", tb.Rows)
	}
}

// The year a request names, and the day a year's disclosure describes.
func TestParseYearAndAsOf(t *testing.T) {
	today := day("2026-12-01")
	if y, err := listing.ParseYear("", today); err != nil || y != 2026 {
		t.Errorf("default year = %d, %v", y, err)
	}
	for _, bad := range []string{"1999", "2101", "x", "2026.5"} {
		if _, err := listing.ParseYear(bad, today); err == nil {
			t.Errorf("year %q accepted", bad)
		}
	}
	for year, want := range map[int]string{2025: "2025-12-31", 2026: "2026-12-01", 2027: "2027-01-01"} {
		if got := listing.AsOf(year, today); got.String() != want {
			t.Errorf("as of for %d = %s, want %s", year, got, want)
		}
	}
	if listing.Overlaps(day("2025-01-01"), day("2025-12-31"), 2026) || !listing.Overlaps(day("2025-01-01"), day("2026-01-01"), 2026) {
		t.Error("overlaps at the year's edge")
	}
}
