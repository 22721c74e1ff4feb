// Package workdays counts working days of the official Chinese calendar, adjusted working days
// (调休) included, for legal deadlines (DOMAIN.md G6): statutory holidays come from
// github.com/6tail/lunar-go (maintained; it carries the State Council's schedules through 2027),
// and an override file adds or corrects days for years it lacks. A date in a year neither covers is
// an error, never a guess: the State Council publishes each year's schedule only late in the year
// before.
package workdays

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"

	"github.com/datavenue/datavenue/civil"
)

// ErrNotCovered is returned for a date in a year whose holiday schedule the calendar does not know.
var ErrNotCovered = errors.New("workdays: the official holiday schedule of this year is not known; add it to the calendar override file")

// Calendar answers whether a day is a working day.
type Calendar struct {
	overrides map[string]bool // date -> working day?
	years     map[int]bool    // years the override file covers entirely
}

// New makes a calendar with overrides read from r (may be nil). The override file is CSV with the
// header "date,kind,name": kind is holiday (a day off) or workday (an adjusted working day), and a
// line "YYYY,year,..." declares that the file lists every holiday and adjusted working day of that
// year, so the year counts as covered.
func New(r io.Reader) (*Calendar, error) {
	c := &Calendar{overrides: map[string]bool{}, years: map[int]bool{}}
	if r == nil {
		return c, nil
	}
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("calendar overrides: %w", err)
	}
	for i, row := range rows {
		if i == 0 && len(row) > 0 && row[0] == "date" {
			continue
		}
		if len(row) < 2 {
			return nil, fmt.Errorf("calendar overrides line %d: want date,kind,name", i+1)
		}
		switch strings.TrimSpace(row[1]) {
		case "year":
			var y int
			if _, err := fmt.Sscanf(row[0], "%d", &y); err != nil {
				return nil, fmt.Errorf("calendar overrides line %d: %q is not a year", i+1, row[0])
			}
			c.years[y] = true
		case "holiday", "workday":
			if _, err := civil.Parse(row[0]); err != nil {
				return nil, fmt.Errorf("calendar overrides line %d: %w", i+1, err)
			}
			c.overrides[row[0]] = row[1] == "workday"
		default:
			return nil, fmt.Errorf("calendar overrides line %d: kind is holiday, workday or year", i+1)
		}
	}
	return c, nil
}

func (c *Calendar) covered(year int) bool {
	return c.years[year] || HolidayUtil.GetHolidaysByYear(year).Len() > 0
}

// IsWorkday reports whether d is a working day.
func (c *Calendar) IsWorkday(d civil.Date) (bool, error) {
	t := d.Time()
	if !c.covered(t.Year()) {
		return false, fmt.Errorf("%w (%d)", ErrNotCovered, t.Year())
	}
	if w, ok := c.overrides[d.String()]; ok {
		return w, nil
	}
	if h := HolidayUtil.GetHoliday(d.String()); h != nil {
		return h.IsWork(), nil
	}
	return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday, nil
}

// AddWorkdays is the deadline of a period of n working days that starts with the event on day
// from. As the Civil Code counts periods (Art. 201), the day of the event is not counted: counting
// starts the next day, and the deadline is the n-th working day. (Art. 203's rule, that a period
// ending on a holiday ends on the next working day, is met by construction.)
func (c *Calendar) AddWorkdays(from civil.Date, n int) (civil.Date, error) {
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
	first := time.Date(t.Year(), time.Month(q*3+4), 1, 0, 0, 0, 0, time.UTC) // first day of the next quarter
	return civil.FromTime(first).AddDays(-1)
}
