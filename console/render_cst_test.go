package console

import (
	"testing"
	"time"
)

// Times on the pages are China Standard Time whatever zone the process reads them in: an instant
// at 23:30 UTC is the next morning at the venue.
func TestPagesShowChinaStandardTime(t *testing.T) {
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	var none *time.Time
	for _, c := range []struct{ got, want string }{
		{cstMinute(at), "2026-12-01 07:30"},
		{cstMinute(&at), "2026-12-01 07:30"},
		{cstMinute(at.In(time.FixedZone("UTC-5", -5*3600))), "2026-12-01 07:30"},
		{cstDate(at), "2026-12-01"},
		{cstMinute(none), ""},
		{cstMinute("2026-11-30T23:30:00Z"), "2026-12-01 07:30"}, // as a signed voucher carries it
		{cstMinute("not a time"), "not a time"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
