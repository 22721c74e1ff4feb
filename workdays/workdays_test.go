package workdays_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/workdays"
)

func mustCalendar(t *testing.T, overrides string) *workdays.Calendar {
	t.Helper()
	var c *workdays.Calendar
	var err error
	if overrides == "" {
		c, err = workdays.New(nil)
	} else {
		c, err = workdays.New(strings.NewReader(overrides))
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNationalDay2026WithAdjustedWorkingDays(t *testing.T) {
	c := mustCalendar(t, "")
	for day, want := range map[string]bool{
		"2026-09-20": true,  // Sunday, adjusted working day for National Day
		"2026-09-25": false, // Mid-Autumn Festival (Friday)
		"2026-10-01": false, "2026-10-07": false,
		"2026-10-08": true,
		"2026-10-10": true, // Saturday, adjusted working day
		"2026-10-11": false,
	} {
		got, err := c.IsWorkday(civil.MustParse(day))
		if err != nil || got != want {
			t.Errorf("IsWorkday(%s) = %v, %v; want %v", day, got, err, want)
		}
	}
	for _, tt := range []struct{ event, want string }{
		// One-off income received on the Saturday before: 09-20 counts, the holidays do not.
		{"2026-09-19", "2026-10-09"},
		// Received on 09-28: 29, 30, Oct 8, 9, 10 (Saturday, adjusted), 12–16.
		{"2026-09-28", "2026-10-16"},
	} {
		got, err := c.AddWorkdays(civil.MustParse(tt.event), 10)
		if err != nil || got.String() != tt.want {
			t.Errorf("10 working days after %s = %s, %v; want %s", tt.event, got, err, tt.want)
		}
	}
}

func TestQuarterEndInstalmentDeadline(t *testing.T) {
	c := mustCalendar(t, "")
	end := workdays.QuarterEnd(civil.MustParse("2026-08-14"))
	if end.String() != "2026-09-30" {
		t.Fatalf("quarter end = %s", end)
	}
	// Instalment income of Q3 2026: 10 working days after 09-30 are Oct 8, 9, 10, 12, 13, 14, 15, 16, 19, 20.
	got, err := c.AddWorkdays(end, 10)
	if err != nil || got.String() != "2026-10-20" {
		t.Fatalf("Q3 2026 instalment deadline = %s, %v; want 2026-10-20", got, err)
	}
	if e := workdays.QuarterEnd(civil.MustParse("2026-12-01")); e.String() != "2026-12-31" {
		t.Fatalf("Q4 end = %s", e)
	}
}

func TestUncoveredYearIsAnErrorNotAGuess(t *testing.T) {
	c := mustCalendar(t, "")
	if _, err := c.AddWorkdays(civil.MustParse("2027-12-24"), 10); !errors.Is(err, workdays.ErrNotCovered) {
		t.Fatalf("a deadline running into 2028: %v, want ErrNotCovered", err)
	}
	// The override file can declare a year and its days.
	c = mustCalendar(t, "date,kind,name\n2028,year,schedule 2028\n2028-01-03,holiday,元旦\n")
	got, err := c.AddWorkdays(civil.MustParse("2027-12-31"), 1)
	if err != nil || got.String() != "2028-01-04" {
		t.Fatalf("first working day of 2028 = %s, %v; want 2028-01-04 (01-01/02 weekend, 01-03 declared)", got, err)
	}
}
