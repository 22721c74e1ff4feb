package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/workdays"
)

// calendarCommand shows the official calendar the venue counts deadlines with, and checks the
// override file (DATAVENUE_CALENDAR_FILE) before a venue is started with it.
//
//	datavenue calendar show YEAR    every holiday and adjusted working day of YEAR, and where it comes from
//	datavenue calendar check [YEAR] the file reads cleanly; which years are covered; exit 1 if YEAR is not
func calendarCommand(cfg config.Config, args []string, stdout io.Writer) error {
	usage := errors.New("usage: datavenue calendar show YEAR | check [YEAR]")
	if len(args) == 0 || len(args) > 2 {
		return usage
	}
	// Loading the calendar is the same check serve makes at start-up, so a file that passes here is
	// one the venue will accept. Deadlines (G6's 10 working days, Civil Code Art. 201/203 counting)
	// need every holiday and adjusted working day (调休) of the years they cross.
	cal, err := workdays.Load(cfg.CalendarFile)
	if err != nil {
		return err
	}
	// Years are civil years; the current one is taken from the local clock, which is close enough for
	// a default and never used to count a deadline.
	year := time.Now().Year()
	if len(args) == 2 {
		if year, err = strconv.Atoi(args[1]); err != nil || year < 2000 || year > 2099 {
			return fmt.Errorf("calendar: %q is not a year from 2000 to 2099", args[1])
		}
	}
	source := "built-in schedules (github.com/6tail/lunar-go)"
	if cfg.CalendarFile != "" {
		source += " and " + cfg.CalendarFile
	}
	switch args[0] {
	case "show":
		if len(args) != 2 {
			return usage
		}
		// An uncovered year is an error rather than an empty list: "no holidays" would be a wrong answer
		// that deadlines counted from it would silently inherit.
		if !cal.Covered(year) {
			return fmt.Errorf("calendar: the official schedule of %d is not known (%s); add it to DATAVENUE_CALENDAR_FILE", year, source)
		}
		fmt.Fprintf(stdout, "%d, from %s:\n", year, source)
		// Each day says where it comes from (built in or the file), so an override is visible as such.
		for _, d := range cal.Year(year) {
			kind := "holiday"
			if d.Workday {
				kind = "working day (调休)"
			}
			fmt.Fprintf(stdout, "  %s %-3s %-18s %-10s %s\n", d.Date, d.Date.Time().Weekday().String()[:3], kind, d.Source, d.Name)
		}
		return nil
	case "check":
		// The covered range is reported from the current year on: the years in which deadlines still to
		// be counted can fall.
		now := time.Now().Year()
		fmt.Fprintf(stdout, "calendar: %s read cleanly; covered from %d through %d\n", source, now, cal.LastCovered(now))
		if !cal.Covered(year) {
			return fmt.Errorf("calendar: %d is not covered: deadlines that reach it wait (their obligations are recorded, due date pending) until it is added", year)
		}
		fmt.Fprintf(stdout, "calendar: %d is covered (%d holidays and adjusted working days)\n", year, len(cal.Year(year)))
		return nil
	}
	return usage
}
