package matching_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
)

var (
	operator = datavenue.OrgID("org_01JDEM00000000000000000005")
	holder   = datavenue.OrgID("org_01JDEM00000000000000000003")
	buyers   = []datavenue.OrgID{"org_01JDEMBUYER0000000000000A", "org_01JDEMBUYER0000000000000B", "org_01JDEMBUYER0000000000000C", "org_01JDEMBUYER0000000000000D"}
)

func newEngine(t testing.TB) matching.Engine {
	r := testenv.NewRedis(t)
	return matching.Engine{Redis: r.Client, Keys: matching.Keys{Prefix: r.Prefix}}
}

func newClusterEngine(t testing.TB) matching.Engine {
	c := testenv.NewRedisCluster(t)
	return matching.Engine{Redis: c.Client, Keys: matching.Keys{Prefix: c.Prefix}}
}

// backends runs a test against a single Redis and against the 3-master cluster: the scripts must
// run unchanged on both.
func backends(t *testing.T, test func(t *testing.T, e matching.Engine)) {
	t.Run("redis", func(t *testing.T) { test(t, newEngine(t)) })
	t.Run("cluster", func(t *testing.T) { test(t, newClusterEngine(t)) })
}

func yuan(s string) money.Yuan { return money.MustParse(s) }

// open opens an auction on the engine and returns a model of it on the same frozen clock.
func open(t testing.TB, e matching.Engine, a matching.Auction) *matching.Model {
	t.Helper()
	ctx := context.Background()
	now, err := e.Redis.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	now = now.Truncate(time.Millisecond)
	a.Start, a.End = now.Add(-time.Minute), now.Add(time.Hour)
	if err := e.Open(ctx, a); err != nil {
		t.Fatal(err)
	}
	frozen, err := e.AdvanceClock(ctx, a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return matching.NewModel(a, frozen)
}

func TestEnglishAuctionWithAntiSniping(t *testing.T) { backends(t, testEnglishAuctionWithAntiSniping) }

func testEnglishAuctionWithAntiSniping(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	m := open(t, e, matching.Auction{ID: "auc_en1", Kind: matching.English, Operator: operator, Holders: []datavenue.OrgID{holder},
		Reserve: yuan("1000.00"), Increment: yuan("50.00"), AntiSnipe: 5 * time.Minute})
	if _, err := e.Bid(ctx, "auc_en1", "b1", buyers[0], yuan("999.99")); matching.CodeOf(err) != matching.ErrTooLow {
		t.Fatalf("below reserve: %v", err)
	}
	r, err := e.Bid(ctx, "auc_en1", "b1", buyers[0], yuan("1000.00"))
	if err != nil || r.Seq != 1 {
		t.Fatalf("first bid: %+v %v", r, err)
	}
	if _, err := e.Bid(ctx, "auc_en1", "b2", buyers[1], yuan("1049.99")); matching.CodeOf(err) != matching.ErrTooLow {
		t.Fatalf("under the increment: %v", err)
	}
	if _, err := e.Bid(ctx, "auc_en1", "b3", holder, yuan("5000.00")); matching.CodeOf(err) != matching.ErrParty {
		t.Fatalf("holder bidding: %v", err)
	}
	// A retry of b1 is the same bid, not a new one.
	again, err := e.Bid(ctx, "auc_en1", "b1", buyers[0], yuan("1000.00"))
	if err != nil || !again.Duplicate || again.Seq != 1 {
		t.Fatalf("retry: %+v %v", again, err)
	}
	// Three minutes before the end a bid moves the end to five minutes after it.
	if _, err := e.AdvanceClock(ctx, "auc_en1", 57*time.Minute); err != nil {
		t.Fatal(err)
	}
	m.Advance(57 * time.Minute)
	late, err := e.Bid(ctx, "auc_en1", "b4", buyers[1], yuan("1100.00"))
	if err != nil || !late.EndsAt.Equal(m.Now.Add(5*time.Minute)) {
		t.Fatalf("late bid: %+v %v; want end %s", late, err, m.Now.Add(5*time.Minute))
	}
	if _, err := e.Close(ctx, "auc_en1"); err != matching.ErrNotDue {
		t.Fatalf("close before the extended end: %v", err)
	}
	e.AdvanceClock(ctx, "auc_en1", 5*time.Minute)
	o, err := e.Close(ctx, "auc_en1")
	if err != nil || o.Result != "won" || o.Winner != buyers[1] || o.Price.String() != "1100.00" || o.Already {
		t.Fatalf("close: %+v %v", o, err)
	}
	if o2, _ := e.Close(ctx, "auc_en1"); !o2.Already || o2.Winner != buyers[1] {
		t.Fatalf("second close: %+v", o2)
	}
	if _, err := e.Bid(ctx, "auc_en1", "b5", buyers[2], yuan("2000.00")); matching.CodeOf(err) != matching.ErrClosed {
		t.Fatalf("bid after close: %v", err)
	}
	history, _ := e.History(ctx, "auc_en1")
	if len(history) != 2 || history[1].Buyer != buyers[1] {
		t.Fatalf("history = %+v", history)
	}
}

func TestSealedSecondPriceRevealsOnlyAtClose(t *testing.T) {
	backends(t, testSealedSecondPriceRevealsOnlyAtClose)
}

func testSealedSecondPriceRevealsOnlyAtClose(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	open(t, e, matching.Auction{ID: "auc_v1", Kind: matching.SealedSecond, Operator: operator, Reserve: yuan("500.00")})
	for i, amount := range []string{"800.00", "1200.00", "950.00"} {
		if _, err := e.Bid(ctx, "auc_v1", fmt.Sprint("s", i), buyers[i], yuan(amount)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Bid(ctx, "auc_v1", "s9", buyers[0], yuan("2000.00")); matching.CodeOf(err) != matching.ErrBidExists {
		t.Fatalf("second sealed bid: %v", err)
	}
	st, _ := e.State(ctx, "auc_v1")
	if st.Bids != 3 || st.High != nil || st.Leader != "" || st.Outcome != nil {
		t.Fatalf("sealed state before close reveals: %+v", st)
	}
	e.AdvanceClock(ctx, "auc_v1", 2*time.Hour)
	o, err := e.Close(ctx, "auc_v1")
	if err != nil || o.Winner != buyers[1] || o.Price.String() != "950.00" {
		t.Fatalf("Vickrey close: %+v %v (want buyer B at 950.00)", o, err)
	}
}

func TestStopEndsBiddingAtOnce(t *testing.T) { backends(t, testStopEndsBiddingAtOnce) }

func testStopEndsBiddingAtOnce(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	open(t, e, matching.Auction{ID: "auc_stop", Kind: matching.English, Operator: operator, Reserve: yuan("1.00"), Increment: yuan("1.00")})
	if _, err := e.Bid(ctx, "auc_stop", "x", buyers[0], yuan("10.00")); err != nil {
		t.Fatal(err)
	}
	o, err := e.Stop(ctx, "auc_stop", "certificate.cancelled crt_1")
	if err != nil || o.Result != "stopped" || o.Winner != "" {
		t.Fatalf("stop: %+v %v", o, err)
	}
	if _, err := e.Bid(ctx, "auc_stop", "y", buyers[1], yuan("20.00")); matching.CodeOf(err) != matching.ErrStopped {
		t.Fatalf("bid after stop: %v", err)
	}
}

// TestEngineAgreesWithModel drives random auctions, bids, deposits, clock advances and closes
// against the Lua engine and the Go model, and requires the same result for every step.
func TestEngineAgreesWithModel(t *testing.T) { backends(t, testEngineAgreesWithModel) }

func testEngineAgreesWithModel(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		id := fmt.Sprintf("auc_m%d", n)
		kind := rapid.SampledFrom([]string{matching.English, matching.SealedFirst, matching.SealedSecond}).Draw(rt, "kind")
		a := matching.Auction{ID: id, Kind: kind, Operator: operator, Holders: []datavenue.OrgID{holder},
			Reserve:         money.FromFen(int64(rapid.IntRange(100, 10000).Draw(rt, "reserve"))),
			Opening:         money.FromFen(int64(rapid.IntRange(0, 10000).Draw(rt, "opening"))),
			Increment:       money.FromFen(int64(rapid.IntRange(1, 500).Draw(rt, "increment"))),
			AntiSnipe:       time.Duration(rapid.IntRange(0, 10).Draw(rt, "snipe")) * time.Minute,
			DepositRequired: rapid.Bool().Draw(rt, "deposit"),
			Floor:           money.FromFen(int64(rapid.IntRange(0, 5000).Draw(rt, "floor"))),
			Revisable:       rapid.Bool().Draw(rt, "revisable"),
		}
		if rapid.Bool().Draw(rt, "band") {
			lo := money.FromFen(int64(rapid.IntRange(0, 8000).Draw(rt, "band_low")))
			hi := money.FromFen(lo.Fen() + int64(rapid.IntRange(0, 20000).Draw(rt, "band_width")))
			a.BandLow, a.BandHigh = &lo, &hi
		}
		if rapid.Bool().Draw(rt, "deny") {
			a.Deny = []datavenue.OrgID{buyers[3]}
		}
		m := open(t, e, a)
		parties := append(append([]datavenue.OrgID{}, buyers...), holder, operator)
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0: // clock
				d := time.Duration(rapid.IntRange(1, 40).Draw(rt, "minutes")) * time.Minute
				if _, err := e.AdvanceClock(ctx, id, d); err != nil {
					rt.Fatal(err)
				}
				m.Advance(d)
			case 1: // close
				got, gerr := e.Close(ctx, id)
				want, due := m.Close(false)
				if !due {
					if gerr != matching.ErrNotDue {
						rt.Fatalf("close before the deadline: engine %+v %v, model not due", got, gerr)
					}
					continue
				}
				if gerr != nil || got.Result != want.Result || got.Winner != want.Winner || got.Price.Cmp(want.Price) != 0 || got.Already != want.Already {
					rt.Fatalf("close: engine %+v %v, model %+v", got, gerr, want)
				}
			case 2: // deposit
				b := rapid.SampledFrom(buyers).Draw(rt, "depositor")
				gerr := e.RecordDeposit(ctx, id, b, "ref")
				if want := m.Deposit(b); (want == "") != (gerr == nil) {
					rt.Fatalf("deposit: engine %v, model %q", gerr, want)
				}
			default: // bid, sometimes a retry of an earlier bid id
				b := rapid.SampledFrom(parties).Draw(rt, "bidder")
				amount := money.FromFen(int64(rapid.IntRange(1, 30000).Draw(rt, "amount")))
				bidID := fmt.Sprintf("bid%d", rapid.IntRange(0, 3*steps).Draw(rt, "bid"))
				got, gerr := e.Bid(ctx, id, bidID, b, amount)
				want, code := m.Bid(bidID, b, amount)
				if matching.CodeOf(gerr) != code || (code == "" && gerr != nil) {
					rt.Fatalf("bid %s by %s of %s: engine %v, model %q", bidID, b, amount, gerr, code)
				}
				if code == "" && (got.Seq != want.Seq || got.Amount.Cmp(want.Amount) != 0 || !got.EndsAt.Equal(want.EndsAt) ||
					got.Bids != want.Bids || got.Duplicate != want.Duplicate) {
					rt.Fatalf("bid %s: engine %+v, model %+v", bidID, got, want)
				}
			}
		}
		// The end: close (forced past the deadline) and compare the outcome.
		e.AdvanceClock(ctx, id, 24*time.Hour)
		m.Advance(24 * time.Hour)
		got, gerr := e.Close(ctx, id)
		want, _ := m.Close(false)
		if gerr != nil || got.Result != want.Result || got.Winner != want.Winner || got.Price.Cmp(want.Price) != 0 {
			rt.Fatalf("final close: engine %+v %v, model %+v", got, gerr, want)
		}
	})
}

func TestOpeningPriceBelowReserve(t *testing.T) { backends(t, testOpeningPriceBelowReserve) }

func testOpeningPriceBelowReserve(t *testing.T, e matching.Engine) {
	ctx := context.Background()
	open(t, e, matching.Auction{ID: "auc_open1", Kind: matching.English, Operator: operator, Opening: yuan("500.00"),
		Reserve: yuan("1000.00"), Increment: yuan("10.00")})
	if _, err := e.Bid(ctx, "auc_open1", "o1", buyers[0], yuan("499.99")); matching.CodeOf(err) != matching.ErrTooLow {
		t.Fatalf("below the opening price: %v", err)
	}
	if _, err := e.Bid(ctx, "auc_open1", "o2", buyers[0], yuan("600.00")); err != nil {
		t.Fatalf("above the opening price, below the reserve: %v", err)
	}
	e.AdvanceClock(ctx, "auc_open1", 2*time.Hour)
	if o, err := e.Close(ctx, "auc_open1"); err != nil || o.Result != "no_sale" {
		t.Fatalf("high bid under the reserve: %+v %v, want no_sale", o, err)
	}
}
