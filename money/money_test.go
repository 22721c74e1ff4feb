package money_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/datavenue/datavenue/money"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"0": "0.00", "1": "1.00", "1234.5": "1234.50", "0.01": "0.01", "999999999999999.99": "999999999999999.99"} {
		got, err := money.Parse(in)
		if err != nil || got.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.001", "1e3", "1,000", " 1", "0x10", "NaN", "1.", ".5", "１２"} {
		if _, err := money.Parse(in); !errors.Is(err, money.ErrFormat) {
			t.Errorf("Parse(%q) error = %v, want ErrFormat", in, err)
		}
	}
	if _, err := money.Parse("1234567890123456"); !errors.Is(err, money.ErrTooLarge) {
		t.Errorf("16 digits: %v, want ErrTooLarge", err)
	}
}

func TestJSONIsAString(t *testing.T) {
	var v struct{ Price money.Yuan }
	if err := json.Unmarshal([]byte(`{"Price":"12.3"}`), &v); err != nil || v.Price.String() != "12.30" {
		t.Fatalf("unmarshal string: %v %v", v.Price, err)
	}
	if err := json.Unmarshal([]byte(`{"Price":12.3}`), &v); err == nil {
		t.Fatal("a JSON number was accepted")
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"Price":"12.30"}` {
		t.Fatalf("marshal = %s", out)
	}
	// Sums are exact: 0.10 added ten times is 1.00, not 0.9999999.
	sum := money.Zero
	for i := 0; i < 10; i++ {
		sum = sum.Add(money.MustParse("0.10"))
	}
	if sum.String() != "1.00" {
		t.Fatalf("sum = %s", sum)
	}
}
