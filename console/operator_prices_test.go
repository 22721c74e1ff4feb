package console

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
)

// The price form keeps what it does not show: a price version turned back into the input that
// makes it (pricingInputOf) parses to the same pricing, for every method, auction schedule and
// subscription plan included, so a change of one amount cannot lose the rest. The form's
// datetime-local values, read in China Standard Time, round-trip to the same instant.
func TestPricingInputOfRoundTrips(t *testing.T) {
	n := func(v int) *int { return &v }
	for name, in := range map[string]listing.PricingInput{
		"guided":    {Method: listing.MethodGuided, BasePrice: "10000.00", FloatPercent: n(10), ListPrice: "10500.00"},
		"appraisal": {Method: listing.MethodAppraisal, ListPrice: "180000.00", AppraisalID: "apr_01", ReservePercent: n(90)},
		"english":   {Method: listing.MethodAuction, AuctionKind: "english", Reserve: "9000.00", OpeningPrice: "8000.00", Increment: "100.00", Deposit: "500.00", StartAt: "2026-12-01T02:00:00Z", EndAt: "2026-12-01T10:30:00Z", AntiSnipeMinutes: n(3)},
		"sealed":    {Method: listing.MethodAuction, AuctionKind: "sealed_second", Reserve: "9000.00", StartAt: "2026-12-01T02:00:00+08:00", EndAt: "2026-12-02T02:00:00+08:00"},
		"negotiation": {Method: listing.MethodNegotiation, ListPrice: "12000.00", MinPrice: "9000.00", MaxPrice: "15000.00", ChargingUnit: "per_call",
			Subscription: &listing.SubscriptionPlanInput{BillingPeriod: "monthly", TermPeriods: 3, Renewal: true, FixedFee: "300.00", PlanMaximum: "2000.00"}},
		"free": {Method: listing.MethodFree, ChargingUnit: "per_call", Subscription: &listing.SubscriptionPlanInput{BillingPeriod: "quarterly", TermPeriods: 4, Quota: "10000"}},
	} {
		var f datavenue.Fields
		want := in.Parse(&f)
		if err := f.Err(); err != nil {
			t.Fatalf("%s: the fixture does not parse: %v", name, err)
		}
		var g datavenue.Fields
		got := pricingInputOf(want).Parse(&g)
		if err := g.Err(); err != nil {
			t.Errorf("%s: the input made from the version does not parse: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, got, want)
		}
	}
	for v, shown := range map[string]string{"2026-12-01T02:00:00Z": "2026-12-01T10:00", "2026-06-30T23:59:00+08:00": "2026-06-30T23:59"} {
		if got := localTime(v); got != shown {
			t.Errorf("%s is shown as %s, want %s (China Standard Time)", v, got, shown)
		}
		a, _ := time.Parse(time.RFC3339, v)
		b, err := time.Parse(time.RFC3339, instantOf(shown))
		if err != nil || !a.Equal(b) {
			t.Errorf("%s reads back as %s (%v)", shown, instantOf(shown), err)
		}
	}
}

// A reserve percent the form cannot read is refused by the service by its field's name, never
// taken for the default 100% without a word; an empty field is the API's omitted one.
func TestReservePercentFromTheForm(t *testing.T) {
	for v, want := range map[string]string{"": "default", "80": "80", " 80 ": "80", "80.5": "refused", "eighty": "refused"} {
		in := listing.PricingInput{Method: listing.MethodAppraisal, ListPrice: "180000.00", AppraisalID: "apr_01"}
		setInput(&in, "reserve_percent", v)
		var f datavenue.Fields
		out := in.Parse(&f)
		got := "refused"
		if f.Err() == nil {
			got = "default"
			if in.ReservePercent != nil {
				got = strconv.Itoa(*out.ReservePercent)
			}
		}
		if got != want {
			t.Errorf("reserve_percent %q: %s, want %s", v, got, want)
		}
	}
}
