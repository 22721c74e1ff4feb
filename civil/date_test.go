package civil_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/datavenue/datavenue/civil"
)

func TestOfUsesChinaStandardTime(t *testing.T) {
	// 2026-12-31 16:30 UTC is already 2027-01-01 in Beijing.
	if got := civil.Of(time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)).String(); got != "2027-01-01" {
		t.Fatalf("Of = %s, want 2027-01-01", got)
	}
	if got := civil.Of(time.Date(2026, 12, 31, 15, 59, 0, 0, time.UTC)).String(); got != "2026-12-31" {
		t.Fatalf("Of = %s, want 2026-12-31", got)
	}
}

func TestJSON(t *testing.T) {
	var v struct{ D civil.Date }
	if err := json.Unmarshal([]byte(`{"D":"2027-02-28"}`), &v); err != nil || v.D.AddDays(1).String() != "2027-03-01" {
		t.Fatalf("%v %v", v.D, err)
	}
	for _, bad := range []string{`{"D":"2027-02-30"}`, `{"D":"27-1-1"}`, `{"D":20270101}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	out, _ := json.Marshal(struct{ D civil.Date }{})
	if string(out) != `{"D":null}` {
		t.Fatalf("zero date = %s", out)
	}
}
