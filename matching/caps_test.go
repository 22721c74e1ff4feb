package matching_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
)

// TestBidAtTheCapAndOneFenOver: the engine holds the price cap (N4) at the moment of the bid, for
// English and sealed auctions: exactly the cap is accepted, one fen over it is refused above_cap.
func TestBidAtTheCapAndOneFenOver(t *testing.T) { backends(t, testBidAtTheCapAndOneFenOver) }

func testBidAtTheCapAndOneFenOver(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	for _, kind := range []string{matching.English, matching.SealedFirst} {
		id := "auc_cap_" + kind
		open(t, e, matching.Auction{ID: id, Kind: kind, Operator: operator, Reserve: yuan("1000.00"), Increment: yuan("10.00"),
			Cap: yuan("5000.00")})
		if _, err := e.Bid(ctx, id, "over", buyers[0], yuan("5000.01")); matching.CodeOf(err) != matching.ErrAboveCap {
			t.Fatalf("%s: one fen over the cap: got %v, want %s", kind, err, matching.ErrAboveCap)
		}
		if _, err := e.Bid(ctx, id, "at", buyers[1], yuan("5000.00")); err != nil {
			t.Fatalf("%s: a bid exactly at the cap: %v", kind, err)
		}
		st, err := e.State(ctx, id)
		if err != nil || st.Cap == nil || st.Cap.String() != "5000.00" {
			t.Fatalf("%s: state's cap: %+v %v", kind, st.Cap, err)
		}
		e.AdvanceClock(ctx, id, 2*time.Hour)
		if o, err := e.Close(ctx, id); err != nil || o.Result != "won" || o.Price.String() != "5000.00" {
			t.Fatalf("%s: close at the cap: %+v %v", kind, o, err)
		}
	}
}

// TestLoweredCapUnderARunningAuction: a lower cap taking effect is lowered into the engine: from
// then on bids above it are refused; an auction whose leading bid is already above it is stopped
// (cap_lowered) rather than cleared above the cap, and so is one the closer reaches first.
func TestLoweredCapUnderARunningAuction(t *testing.T) {
	backends(t, testLoweredCapUnderARunningAuction)
}

func testLoweredCapUnderARunningAuction(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	bid := func(id, bidID string, buyer datavenue.OrgID, amount string) error {
		_, err := e.Bid(ctx, id, bidID, buyer, yuan(amount))
		return err
	}
	// The leading bid is under the new cap: the auction runs on under it.
	open(t, e, matching.Auction{ID: "auc_low1", Kind: matching.English, Operator: operator, Reserve: yuan("100.00"),
		Increment: yuan("10.00"), Cap: yuan("5000.00")})
	if err := bid("auc_low1", "a", buyers[0], "2000.00"); err != nil {
		t.Fatal(err)
	}
	if stopped, err := e.LowerCap(ctx, "auc_low1", yuan("3000.00")); err != nil || stopped {
		t.Fatalf("lower under the leading bid's: stopped %v, %v", stopped, err)
	}
	if err := bid("auc_low1", "b", buyers[1], "3000.01"); matching.CodeOf(err) != matching.ErrAboveCap {
		t.Fatalf("a bid over the lowered cap: got %v, want %s", err, matching.ErrAboveCap)
	}
	if err := bid("auc_low1", "c", buyers[1], "3000.00"); err != nil {
		t.Fatalf("a bid at the lowered cap: %v", err)
	}
	// A cap is never raised under a running auction.
	if stopped, err := e.LowerCap(ctx, "auc_low1", yuan("9000.00")); err != nil || stopped {
		t.Fatalf("a higher cap: stopped %v, %v", stopped, err)
	}
	if st, _ := e.State(ctx, "auc_low1"); st.Cap.String() != "3000.00" {
		t.Fatalf("cap after a higher one: %s, want 3000.00", st.Cap)
	}

	// The leading bid is above the new cap: stopped at once, reason cap_lowered.
	for _, kind := range []string{matching.English, matching.SealedSecond} {
		id := "auc_low_" + kind
		open(t, e, matching.Auction{ID: id, Kind: kind, Operator: operator, Reserve: yuan("100.00"), Increment: yuan("10.00"),
			Cap: yuan("5000.00")})
		if err := bid(id, "a", buyers[0], "4000.00"); err != nil {
			t.Fatal(err)
		}
		stopped, err := e.LowerCap(ctx, id, yuan("3500.00"))
		if err != nil || !stopped {
			t.Fatalf("%s: lower under the leading bid: stopped %v, %v", kind, stopped, err)
		}
		st, _ := e.State(ctx, id)
		if st.Status != matching.AuctionStopped || st.Outcome.Winner != "" || !st.Outcome.Price.IsZero() {
			t.Fatalf("%s: after the lowered cap: %+v %+v", kind, st, st.Outcome)
		}
		if err := bid(id, "b", buyers[1], "3000.00"); matching.CodeOf(err) != matching.ErrStopped {
			t.Fatalf("%s: bid after the stop: %v", kind, err)
		}
	}
}

// TestCloseNeverClearsAboveTheCap: whatever happens between a cap's lowering and the stop, the
// close itself refuses to clear above the cap it holds.
func TestCloseNeverClearsAboveTheCap(t *testing.T) { backends(t, testCloseNeverClearsAboveTheCap) }

func testCloseNeverClearsAboveTheCap(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	open(t, e, matching.Auction{ID: "auc_clr", Kind: matching.English, Operator: operator, Reserve: yuan("100.00"),
		Increment: yuan("10.00"), Cap: yuan("5000.00")})
	if _, err := e.Bid(ctx, "auc_clr", "a", buyers[0], yuan("4000.00")); err != nil {
		t.Fatal(err)
	}
	matching.SetEngineCap(t, e, "auc_clr", 350000) // as cap.lua leaves it, before the caller's stop
	e.AdvanceClock(ctx, "auc_clr", 2*time.Hour)
	o, err := e.Close(ctx, "auc_clr")
	if err != nil || o.Result != "stopped" || o.Winner != "" {
		t.Fatalf("close above the cap: %+v %v, want stopped", o, err)
	}
}

// TestNegotiationUnderTheCap: every offer, counter and acceptance is held to the cap in force, in
// the script: one fen over is refused above_cap, exactly the cap goes through, and an offer made
// under a higher cap cannot be accepted once a lower one is in force.
func TestNegotiationUnderTheCap(t *testing.T) { backends(t, testNegotiationUnderTheCap) }

func testNegotiationUnderTheCap(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	terms := &matching.NegotiationTerms{ProductID: "prd_cap", Operator: operator, Holders: []datavenue.OrgID{holder}, OfferTTL: time.Hour}
	cap := yuan("8000.00")
	if _, err := e.NegotiateCapped(ctx, "neg_cap1", "o0", buyers[0], matching.MoveOffer, yuan("8000.01"), cap, terms); matching.CodeOf(err) != matching.ErrAboveCap {
		t.Fatalf("opening offer one fen over: got %v, want %s", err, matching.ErrAboveCap)
	}
	if _, err := e.NegotiateCapped(ctx, "neg_cap1", "o1", buyers[0], matching.MoveOffer, yuan("7000.00"), cap, terms); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NegotiateCapped(ctx, "neg_cap1", "c1", operator, matching.MoveCounter, yuan("8000.01"), cap, nil); matching.CodeOf(err) != matching.ErrAboveCap {
		t.Fatalf("counter one fen over: got %v, want %s", err, matching.ErrAboveCap)
	}
	if _, err := e.NegotiateCapped(ctx, "neg_cap1", "c2", operator, matching.MoveCounter, yuan("8000.00"), cap, nil); err != nil {
		t.Fatalf("counter at the cap: %v", err)
	}
	// The cap is lowered to 7,500.00 before the buyer accepts 8,000.00.
	if _, err := e.NegotiateCapped(ctx, "neg_cap1", "a1", buyers[0], matching.MoveAccept, yuan("0"), yuan("7500.00"), nil); matching.CodeOf(err) != matching.ErrAboveCap {
		t.Fatalf("accepting above a lowered cap: got %v, want %s", err, matching.ErrAboveCap)
	}
	st, err := e.NegotiateCapped(ctx, "neg_cap1", "c4", buyers[0], matching.MoveCounter, yuan("7500.00"), yuan("7500.00"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The script keeps the lowest cap a move has brought: a move made without one is held to it.
	if _, err := e.Negotiate(ctx, "neg_cap1", "c5", operator, matching.MoveCounter, yuan("7500.01"), nil); matching.CodeOf(err) != matching.ErrAboveCap {
		t.Fatalf("counter over the held cap: got %v, want %s", err, matching.ErrAboveCap)
	}
	if st, err = e.NegotiateCapped(ctx, "neg_cap1", "a2", operator, matching.MoveAccept, yuan("0"), yuan("7500.00"), nil); err != nil || st.Status != "accepted" || st.Price.String() != "7500.00" {
		t.Fatalf("accept at the cap: %+v %v", st, err)
	}
}
