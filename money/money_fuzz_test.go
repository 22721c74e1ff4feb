package money_test

import (
	"encoding/json"
	"testing"

	"github.com/datavenue/datavenue/money"
)

// FuzzParse: any text either parses to an amount of at most two places that prints back to the
// same value and survives JSON, or is refused with one of the package's errors; nothing panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "0.01", "1234.5", "999999999999999.99", "1e3", "-1", "1,000.00", "١٢٣", "0x10", " 1", "1.", ".5", "1.234", "NaN", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		y, err := money.Parse(s)
		if err != nil {
			if err != money.ErrFormat && err != money.ErrTooLarge {
				t.Fatalf("Parse(%q): unexpected error %v", s, err)
			}
			return
		}
		if y.Decimal().IsNegative() || y.Decimal().Exponent() < -2 {
			t.Fatalf("Parse(%q) = %s: negative or finer than a fen", s, y)
		}
		again, err := money.Parse(y.String())
		if err != nil || again.Cmp(y) != 0 {
			t.Fatalf("Parse(%q) = %s does not round-trip: %s %v", s, y, again, err)
		}
		raw, _ := json.Marshal(y)
		var back money.Yuan
		if err := json.Unmarshal(raw, &back); err != nil || back.Cmp(y) != 0 {
			t.Fatalf("JSON round trip of %s: %s %v", y, back, err)
		}
		if back.Fen() != y.Fen() || money.FromFen(y.Fen()).Cmp(y) != 0 {
			t.Fatalf("fen round trip of %s: %d", y, y.Fen())
		}
	})
}
