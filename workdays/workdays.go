// Package workdays counts working days of the official Chinese calendar, adjusted working days
// (调休) included, for legal deadlines (DOMAIN.md G6): statutory holidays come from
// github.com/6tail/lunar-go (maintained; it carries the State Council's schedules through 2027),
// and an override file adds or corrects days for years it lacks. A date in a year neither covers is
// an error, never a guess: the State Council publishes each year's schedule only late in the year
// before.
package workdays

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"

	"github.com/datavenue/datavenue/civil"
)

// ErrNotCovered is returned for a date in a year whose holiday schedule the calendar does not know.
var ErrNotCovered = errors.New("workdays: the official holiday schedule of this year is not known; add it to the calendar override file")

// Calendar answers whether a day is a working day.
//
// The override file wins over the built-in schedule day by day, so a correction published after the
// library's release (the State Council does amend schedules) needs no new build. A Calendar is
// read-only after New and safe for concurrent use.
type Calendar struct {
	overrides map[string]bool   // date -> working day?
	names     map[string]string // date -> the holiday's name, as the file gives it
	years     map[int]bool      // years the override file covers entirely
}

// New makes a calendar with overrides read from r (may be nil). The override file is CSV with the
// header "date,kind,name": kind is holiday (a day off) or workday (an adjusted working day), and a
// line "YYYY,year,..." declares that the file lists every holiday and adjusted working day of that
// year, so the year counts as covered. It is read as people write it: a UTF-8 BOM, spaces around a
// value and any case of a kind are accepted; anything else (a short line, a date that is not a
// date, a kind that is not one, a day named twice with two meanings) fails with its line number,
// before the venue starts: a calendar that is silently wrong moves legal deadlines.
func New(r io.Reader) (*Calendar, error) {
	c := &Calendar{overrides: map[string]bool{}, years: map[int]bool{}, names: map[string]string{}}
	if r == nil {
		return c, nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("calendar file: %w", err)
	}
	// A spreadsheet saved as "CSV UTF-8" starts with a byte-order mark, which would otherwise make the
	// header's first field "\uFEFFdate" and the first line an error. Lines starting with # are comments.
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("calendar file: %w", err)
	}
	for i, row := range rows {
		line := i + 1
		for k := range row {
			row[k] = strings.TrimSpace(row[k])
		}
		if i == 0 && len(row) > 0 && strings.EqualFold(row[0], "date") {
			continue
		}
		if len(row) == 1 && row[0] == "" {
			continue
		}
		if len(row) < 2 {
			return nil, fmt.Errorf("calendar file line %d: want date,kind,name (kind holiday, workday or year), got %q", line, strings.Join(row, ","))
		}
		kind := strings.ToLower(row[1])
		name := ""
		if len(row) > 2 {
			name = row[2]
		}
		switch kind {
		case "year":
			y, err := strconv.Atoi(row[0])
			if err != nil || y < 2000 || y > 2099 {
				return nil, fmt.Errorf("calendar file line %d: %q is not a year from 2000 to 2099", line, row[0])
			}
			c.years[y] = true
		case "holiday", "workday":
			d, err := civil.Parse(row[0])
			if err != nil {
				return nil, fmt.Errorf("calendar file line %d: %q is not a date (YYYY-MM-DD)", line, row[0])
			}
			// The same day listed twice with the same meaning is accepted (files are merged by hand); with two
			// meanings it is an error, because either choice could move a deadline.
			if was, ok := c.overrides[d.String()]; ok && was != (kind == "workday") {
				return nil, fmt.Errorf("calendar file line %d: %s is named both a holiday and a working day", line, d)
			}
			c.overrides[d.String()] = kind == "workday"
			c.names[d.String()] = name
		default:
			return nil, fmt.Errorf("calendar file line %d: kind %q is not holiday, workday or year", line, row[1])
		}
	}
	return c, nil
}

// Load reads the override file at path; an empty path is a calendar of the built-in schedules.
func Load(path string) (*Calendar, error) {
	if path == "" {
		return New(nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calendar file: %w", err)
	}
	defer f.Close()
	c, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Covered reports whether the official schedule of year is known (built in, or declared whole in
// the override file).
func (c *Calendar) Covered(year int) bool { return c.covered(year) }

// LastCovered is the last year of the unbroken run of covered years that starts with from (from-1
// when from itself is not covered): deadlines can be computed up to its end.
func (c *Calendar) LastCovered(from int) int {
	y := from
	for c.covered(y) {
		y++
	}
	return y - 1
}

// Day is one day of the calendar that is not an ordinary weekday or weekend day.
type Day struct {
	Date    civil.Date
	Workday bool   // an adjusted working day (调休) rather than a holiday
	Name    string // the holiday it belongs to
	Source  string // "built-in" (lunar-go) or "file" (the override file)
}

// Year lists a year's holidays and adjusted working days, in date order, the override file
// winning over the built-in schedule.
func (c *Calendar) Year(year int) []Day {
	// Built-in days first, then the file's for the same year on top, so a date in both shows the file's
	// meaning and Source "file": what IsWorkday will actually use.
	byDate := map[string]Day{}
	for e := HolidayUtil.GetHolidaysByYear(year).Front(); e != nil; e = e.Next() {
		hd, ok := e.Value.(*HolidayUtil.Holiday)
		if !ok {
			continue
		}
		if d, err := civil.Parse(hd.GetDay()); err == nil {
			byDate[d.String()] = Day{Date: d, Workday: hd.IsWork(), Name: hd.GetName(), Source: "built-in"}
		}
	}
	for date, work := range c.overrides {
		d := civil.MustParse(date)
		if d.Time().Year() == year {
			byDate[date] = Day{Date: d, Workday: work, Name: c.names[date], Source: "file"}
		}
	}
	out := make([]Day, 0, len(byDate))
	for _, d := range byDate {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Day) int { return strings.Compare(a.Date.String(), b.Date.String()) })
	return out
}

func (c *Calendar) covered(year int) bool {
	return c.years[year] || libraryCovers(year)
}

// libraryYears memoises which years lunar-go has a schedule for: GetHolidaysByYear scans its
// whole table on every call, and a settlement asks for each day of its deadlines (a profile of
// the settlement benchmark found it a quarter of the Go time). The library's table is compiled
// in and never changes, so the answer for a year never does either.
var libraryYears sync.Map // int -> bool

// libraryDayTables memoises lunar-go's schedule of a year as a map (date -> working day?):
// HolidayUtil.GetHoliday scans the library's table on every call, which was still 4% of a
// settlement's Go time after libraryYears (a deadline asks for each of its days).
var libraryDayTables sync.Map // int -> map[string]bool

// libraryDays is the library's holidays and adjusted working days of a year, as GetHoliday
// answers them day by day (TestLibraryDaysAnswerAsTheLibrary).
func libraryDays(year int) map[string]bool {
	if days, ok := libraryDayTables.Load(year); ok {
		return days.(map[string]bool)
	}
	days := map[string]bool{}
	for e := HolidayUtil.GetHolidaysByYear(year).Front(); e != nil; e = e.Next() {
		if hd, ok := e.Value.(*HolidayUtil.Holiday); ok {
			days[hd.GetDay()] = hd.IsWork()
		}
	}
	libraryDayTables.Store(year, days)
	return days
}

func libraryCovers(year int) bool {
	if known, ok := libraryYears.Load(year); ok {
		return known.(bool)
	}
	known := HolidayUtil.GetHolidaysByYear(year).Len() > 0
	libraryYears.Store(year, known)
	return known
}

// IsWorkday reports whether d is a working day.
func (c *Calendar) IsWorkday(d civil.Date) (bool, error) {
	t := d.Time()
	if !c.covered(t.Year()) {
		return false, fmt.Errorf("%w (%d)", ErrNotCovered, t.Year())
	}
	// The order of the checks is the order of authority: the override file, then the State Council
	// schedule (a holiday, or an adjusted working day on a weekend), then the ordinary week.
	if w, ok := c.overrides[d.String()]; ok {
		return w, nil
	}
	if w, ok := libraryDays(t.Year())[d.String()]; ok {
		return w, nil
	}
	return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday, nil
}

// AddWorkdays is the deadline of a period of n working days that starts with the event on day
// from. As the Civil Code counts periods (Art. 201), the day of the event is not counted: counting
// starts the next day, and the deadline is the n-th working day. (Art. 203's rule, that a period
// ending on a holiday ends on the next working day, is met by construction.)
func (c *Calendar) AddWorkdays(from civil.Date, n int) (civil.Date, error) {
	// n <= 0 returns from itself. Each step re-checks coverage, so a period that runs into a year whose
	// schedule is not published fails with ErrNotCovered rather than counting weekends only (G6's 10
	// working days across the New Year are the usual case).
	d := from
	for counted := 0; counted < n; {
		d = d.AddDays(1)
		ok, err := c.IsWorkday(d)
		if err != nil {
			return civil.Date{}, err
		}
		if ok {
			counted++
		}
	}
	return d, nil
}

// QuarterEnd is the last day of d's quarter.
func QuarterEnd(d civil.Date) civil.Date {
	t := d.Time()
	q := (int(t.Month()) - 1) / 3
	// Month q*3+4 is 13 for the fourth quarter; time.Date normalises it to January of the next year.
	first := time.Date(t.Year(), time.Month(q*3+4), 1, 0, 0, 0, 0, time.UTC) // first day of the next quarter
	return civil.FromTime(first).AddDays(-1)
}
