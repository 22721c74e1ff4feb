package api_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
)

// A cap filed with a future valid_from comes into force on its day under a running auction (the
// cap sweep), not before; one whose validity ends is never raised under it; and a cap taking
// effect under the leading bid stops the auction (cap_lowered).
func TestCapTakesEffectOnItsDay(t *testing.T) {
	m, auc := cappedAuction(t) // English, reserve 9,000.00, increment 100.00, capped 9,500.00 for a year
	ctx := context.Background()
	path := "/v1/auctions/" + auc.ID
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	bid := func(key, amount string) response {
		return m.do("POST", path+"/bids", buyer, map[string]any{"amount": amount}, "Idempotency-Key", key)
	}
	liveCap := func() string {
		t.Helper()
		v := decode[matching.View](t, m.do("GET", path, buyer, nil))
		if v.Live.Cap == nil {
			t.Fatal("no cap in the engine")
		}
		return v.Live.Cap.String()
	}
	mustStatus(t, bid("b1", "9100.00"), 201)
	d0 := today()
	m.fileCap(auc.ProductID, "9200.00", func(b map[string]any) {
		b["valid_from"], b["valid_until"] = d0.AddDays(3).String(), d0.AddDays(10).String()
	})
	if got := liveCap(); got != "9500.00" {
		t.Fatalf("a cap for a later day applied on filing: live cap %s, want 9500.00", got)
	}
	// One sweep, as `serve` runs it, its clock moved from day to day (noon, China Standard Time).
	w := &matching.CapSweep{Schedule: m.db.Matching()}
	sweep := func(day civil.Date) (products, stopped []string) {
		t.Helper()
		w.Service = matching.Service{Store: m.db.Matching(), Engine: m.engine(), Clock: fixedClock{day.Start().Add(12 * time.Hour)},
			Registered: &sync.Map{}, Caps: m.db.Listing()}
		p, s, err := w.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p, s
	}
	// The first run (a start) applies the cap in force to every open auction: still 9,500.00.
	if p, _ := sweep(d0.AddDays(2)); !slices.Equal(p, []string{auc.ProductID}) || liveCap() != "9500.00" {
		t.Fatalf("first sweep: products %v, live cap %s", p, liveCap())
	}
	if p, _ := sweep(d0.AddDays(2)); p != nil {
		t.Fatalf("the same day swept again: %v", p)
	}
	// The day the lower cap takes effect: lowered in the engine; one fen over refused, at it accepted.
	if p, s := sweep(d0.AddDays(3)); !slices.Equal(p, []string{auc.ProductID}) || s != nil || liveCap() != "9200.00" {
		t.Fatalf("on its day: products %v, stopped %v, live cap %s; want 9200.00", p, s, liveCap())
	}
	wantProblem(t, bid("b2", "9200.01"), 422, matching.ErrAboveCap)
	mustStatus(t, bid("b3", "9200.00"), 201)
	// Its validity ends (the 9,500.00 cap is in force again): never raised under the auction.
	if p, _ := sweep(d0.AddDays(11)); !slices.Equal(p, []string{auc.ProductID}) || liveCap() != "9200.00" {
		t.Fatalf("after the lower cap ended: products %v, live cap %s; want 9200.00 kept", p, liveCap())
	}
	// A cap under the leading bid (9,200.00) taking effect stops the auction, recorded cap_lowered.
	m.fileCap(auc.ProductID, "9000.00", func(b map[string]any) {
		b["valid_from"], b["valid_until"] = d0.AddDays(13).String(), d0.AddDays(20).String()
	})
	if p, _ := sweep(d0.AddDays(12)); len(p) != 0 {
		t.Fatalf("nothing changed on day 12, swept %v", p)
	}
	if _, s := sweep(d0.AddDays(14)); !slices.Equal(s, []string{auc.ID}) {
		t.Fatalf("a day late (13 missed): stopped %v, want [%s]", s, auc.ID)
	}
	v := decode[matching.View](t, m.do("GET", path, buyer, nil))
	if v.Live.Status != matching.AuctionStopped || v.Record.StopReason != matching.StopCapLowered {
		t.Fatalf("after the cap took effect under the leading bid: live %s, record %s %q", v.Live.Status, v.Record.Status, v.Record.StopReason)
	}
}
