// Package civil holds calendar dates as the law uses them: a day in China Standard Time, written
// "YYYY-MM-DD", with no time of day. Validity periods and legal deadlines are dates, not instants.
package civil

import (
	"errors"
	"time"
)

// ChinaStandardTime is UTC+8 all year (China has no daylight saving time), fixed here so the venue
// needs no time-zone database.
var ChinaStandardTime = time.FixedZone("CST", 8*3600)

// Date is a calendar day. The zero Date is "no date".
type Date struct{ t time.Time } // midnight UTC of the day, so comparisons and arithmetic are exact

// ErrFormat is returned for text that is not a YYYY-MM-DD date.
var ErrFormat = errors.New(`a date is written YYYY-MM-DD, e.g. "2026-12-31"`)

// Parse reads "YYYY-MM-DD".
func Parse(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, ErrFormat
	}
	return Date{t}, nil
}

// MustParse is Parse for constants.
func MustParse(s string) Date {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Of returns the day that the instant t falls on in China Standard Time.
func Of(t time.Time) Date {
	y, m, d := t.In(ChinaStandardTime).Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// FromTime takes a date as PostgreSQL's driver returns it (midnight UTC).
func FromTime(t time.Time) Date {
	y, m, d := t.Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether d is "no date".
func (d Date) IsZero() bool { return d.t.IsZero() }

// String formats as YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// Time returns midnight UTC of the day, for drivers.
func (d Date) Time() time.Time { return d.t }

// Start returns the first instant of the day in China Standard Time.
func (d Date) Start() time.Time {
	return time.Date(d.t.Year(), d.t.Month(), d.t.Day(), 0, 0, 0, 0, ChinaStandardTime)
}

// AddDays returns the day n days later (or earlier for negative n).
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.t.After(o.t) }

// MarshalJSON writes "YYYY-MM-DD", or null for no date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return ErrFormat
	}
	v, err := Parse(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
