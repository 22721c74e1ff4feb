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

// The override file as people write it: a BOM, padded values, any case; anything it cannot mean
// one way fails with its line (issue 17: " workday " was stored as a holiday).
func TestOverrideFileIsReadAsWritten(t *testing.T) {
	c := mustCalendar(t, "\uFEFFdate,kind,name\n2028, year ,\n2028-01-01, Holiday ,元旦\n2028-02-05,  WORKDAY ,春节调休\n# a comment\n\n")
	for day, want := range map[string]bool{"2028-01-01": false, "2028-02-05": true, "2028-02-07": true, "2028-02-06": false} {
		got, err := c.IsWorkday(civil.MustParse(day))
		if err != nil || got != want {
			t.Errorf("IsWorkday(%s) = %v, %v; want %v", day, got, err, want)
		}
	}
	if !c.Covered(2028) || c.LastCovered(2026) != 2028 || c.Covered(2029) {
		t.Errorf("coverage: 2028 %v, last from 2026 %d, 2029 %v", c.Covered(2028), c.LastCovered(2026), c.Covered(2029))
	}
	days := c.Year(2028)
	if len(days) != 2 || days[0].Name != "元旦" || days[0].Source != "file" || !days[1].Workday {
		t.Errorf("Year(2028) = %+v", days)
	}
	for file, want := range map[string]string{
		"2028-01-01\n":                               "line 1: want date,kind,name",
		"date,kind,name\n2028-13-01,holiday,x\n":     `line 2: "2028-13-01" is not a date`,
		"2028-01-01,day off,x\n":                     `line 1: kind "day off" is not holiday, workday or year`,
		"2028-01-02,holiday,x\n2028-01-02,workday,y": "line 2: 2028-01-02 is named both a holiday and a working day",
		"28,year,\n":                                 `line 1: "28" is not a year`,
	} {
		_, err := workdays.New(strings.NewReader(file))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", file, err, want)
		}
	}
}

// Built in, the schedules run to 2027; a deadline that reaches 2028 is not guessed.
func TestBuiltInCoverageEndsIn2027(t *testing.T) {
	c := mustCalendar(t, "")
	if c.LastCovered(2026) != 2027 {
		t.Fatalf("built-in coverage from 2026 ends in %d, want 2027", c.LastCovered(2026))
	}
	if _, err := c.AddWorkdays(civil.MustParse("2027-12-20"), 10); !errors.Is(err, workdays.ErrNotCovered) {
		t.Fatalf("10 working days after 2027-12-20: %v, want ErrNotCovered", err)
	}
}
