package subscriptions_test

import (
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/subscriptions"
)

// Use inside a suspension is refused whenever it is reported: during it, or late, after the
// product was reinstated. The span's start is in it (delivery had to stop at that instant), its
// lifting is not; a revoked authorisation says so; the current suspension needs no span.
func TestUseDuringAPastSuspensionIsRefused(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	lifted, revokedLifted := at(5), at(9)
	spans := []listing.SuspensionSpan{
		{From: at(2), Until: &lifted, By: "operator", Reason: "网关维护"},
		{From: at(7), Until: &revokedLifted, By: "automatic", Reason: "authorisation.revoked grt_1"},
		{From: at(12), By: "bureau", Reason: "检查"},
	}
	for _, c := range []struct {
		used time.Time
		want string
	}{
		{at(1), ""},
		{at(2), subscriptions.ReasonSuspended},
		{at(4), subscriptions.ReasonSuspended},
		{at(5), ""},
		{at(5).Add(-time.Microsecond), subscriptions.ReasonSuspended},
		{at(8), subscriptions.ReasonRevoked},
		{at(9), ""},
		{at(12), subscriptions.ReasonSuspended},
		{at(20), subscriptions.ReasonSuspended},
	} {
		if got := subscriptions.SuspensionRefusal(spans, c.used); got != c.want {
			t.Errorf("use at %s: refusal %q, want %q", c.used.Format(time.TimeOnly), got, c.want)
		}
	}

	// Through Judge: a product published again, a late record dated in its past suspension.
	s := sub("2026-03-01", listing.PeriodMonthly, 3, false)
	standing := map[string]*subscriptions.Standing{s.ID: {Sub: s, ProductStatus: listing.StatusPublished, Spans: spans[:1]}}
	rec := func(id string, used time.Time) subscriptions.RecordInput {
		return subscriptions.RecordInput{RecordID: id, SubscriptionID: s.ID, Unit: "per_call", Quantity: "1", UsedAt: used.Format(time.RFC3339Nano)}
	}
	j := subscriptions.Judge(datavenue.OrgID("org_s"), []subscriptions.RecordInput{rec("in", at(3)), rec("after", at(6))}, standing, nil, at(23))
	if j.Verdicts[0].Reason != subscriptions.ReasonSuspended || j.Verdicts[1].Status != subscriptions.Accepted || len(j.Accept) != 1 {
		t.Fatalf("after reinstatement: %+v", j.Verdicts)
	}
}
