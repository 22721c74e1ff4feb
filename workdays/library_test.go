package workdays

import (
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"

	"github.com/datavenue/datavenue/civil"
)

// The memoised year tables answer every day exactly as lunar-go's GetHoliday does, holidays and
// adjusted working days alike, for every year the library covers and the years around them.
func TestLibraryDaysAnswerAsTheLibrary(t *testing.T) {
	special := 0
	for d := civil.Of(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); d.Time().Year() <= 2030; d = d.AddDays(1) {
		want, isSpecial := false, false
		if h := HolidayUtil.GetHoliday(d.String()); h != nil {
			want, isSpecial = h.IsWork(), true
			special++
		}
		got, ok := libraryDays(d.Time().Year())[d.String()]
		if ok != isSpecial || got != want {
			t.Fatalf("%s: the table says (%v, listed %v), the library (%v, listed %v)", d, got, ok, want, isSpecial)
		}
	}
	if special < 500 {
		t.Fatalf("only %d holidays and adjusted days in 2000–2030: the comparison proved little", special)
	}
}
