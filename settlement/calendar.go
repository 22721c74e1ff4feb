package settlement

import (
	"context"
	"fmt"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
)

// Coverage says up to which year a calendar knows the official holiday schedule. G6 deadlines
// count working days, adjusted working days (调休) included, and those are published one year at a
// time; beyond the last covered year a due date cannot be computed, only left pending.
type Coverage interface {
	LastCovered(from int) int
}

// CalendarWarningLead is how long before its last covered year ends the venue warns that the
// calendar needs the next year's schedule (the State Council publishes it in November or December).
const CalendarWarningLead = 8 * 7 * 24 * time.Hour

// CalendarHealth is what the venue's operators must know of the calendar: the last year it
// covers, how many obligations wait for a schedule to get their due date, and warnings.
type CalendarHealth struct {
	LastCoveredYear int      `json:"last_covered_year"`
	PendingDueDates int      `json:"pending_due_dates"`
	Warnings        []string `json:"warnings,omitempty"`
}

// AssessCalendar warns when the calendar runs out within CalendarWarningLead of today, or has
// already (any obligation whose due date waits for a schedule).
func AssessCalendar(cal Coverage, today civil.Date, pending int) CalendarHealth {
	// today is a CST civil date (the legal deadlines are), and so is the end of the covered year;
	// a calendar that already ended (LastCoveredYear < year) always warns.
	year := today.Time().Year()
	h := CalendarHealth{LastCoveredYear: cal.LastCovered(year), PendingDueDates: pending}
	end := civil.FromTime(time.Date(h.LastCoveredYear, 12, 31, 0, 0, 0, 0, time.UTC))
	if h.LastCoveredYear < year || end.Time().Sub(today.Time()) <= CalendarWarningLead {
		h.Warnings = append(h.Warnings, fmt.Sprintf("calendar: the official holiday schedule is known to the end of %d; add %d to DATAVENUE_CALENDAR_FILE (check it with `datavenue calendar check %d`)",
			h.LastCoveredYear, h.LastCoveredYear+1, h.LastCoveredYear+1))
	}
	if pending > 0 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("calendar: %d obligations wait for a year's holiday schedule to get their due date", pending))
	}
	return h
}

// CalendarStore counts the obligations whose due date is pending.
type CalendarStore interface {
	CountPendingDueDates(ctx context.Context) (int, error)
}

// CalendarMonitor reads the calendar's health for /readyz and the metrics.
type CalendarMonitor struct {
	Calendar Coverage
	Store    CalendarStore
	Clock    datavenue.Clock
}

// Health assesses the calendar now.
func (m CalendarMonitor) Health(ctx context.Context) (CalendarHealth, error) {
	pending, err := m.Store.CountPendingDueDates(ctx)
	if err != nil {
		return CalendarHealth{}, err
	}
	return AssessCalendar(m.Calendar, civil.Of(m.Clock.Now()), pending), nil
}
