package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
)

// TestAcknowledgedBidsSurviveKill9OfTheVenue bids over HTTP from concurrent buyers, kills the
// venue process with SIGKILL in the middle, starts it again, and finds every bid acknowledged with
// 201 in the engine, with the winner the highest acknowledged bid. Bidders retry a bid whose answer
// they did not get with the same Idempotency-Key: a retry is the same bid.
func TestAcknowledgedBidsSurviveKill9OfTheVenue(t *testing.T) {
	db, dbURL := testenv.NewDBWithURL(t)
	redisEnv := venueRedisEnv(t) // the single test Redis or the cluster (see venueOnCluster)
	rdb := venueRedis(t, redisEnv)
	keyDir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	v := &venueProcess{t: t, addr: addr, env: []string{"DATAVENUE_FAULT_SERVE=1", "DATAVENUE_DATABASE_URL=" + dbURL,
		"DATAVENUE_REDIS_URL=" + redisEnv["DATAVENUE_REDIS_URL"], "DATAVENUE_REDIS_CLUSTER=" + redisEnv["DATAVENUE_REDIS_CLUSTER"],
		"DATAVENUE_LISTEN=" + addr, "DATAVENUE_KEY_DIR=" + keyDir, "DATAVENUE_RATE_PER_SECOND=0", "DATAVENUE_LOG_LEVEL=error"}}
	v.start()
	t.Cleanup(func() { _ = v.cmd.Process.Kill(); _ = v.cmd.Wait() })

	// The venue's engine keys live under venueKeys.Prefix; clean them up after.
	e := matching.Engine{Redis: rdb, Keys: venueKeys}
	t.Cleanup(func() { clearVenueKeys(rdb) })
	ctx := context.Background()
	now, _ := rdb.Time(ctx).Result()
	auctionID := "auc_01JFAULTVENUE000000000000A"
	if out, err := runCmd(t, map[string]string{"DATAVENUE_DATABASE_URL": dbURL, "DATAVENUE_KEY_DIR": t.TempDir()}, "seed"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	recordedAuction(t, db, e, matching.Auction{ID: auctionID, Kind: matching.English, Operator: "org_01JDEM00000000000000000005",
		Reserve: money.MustParse("100.00"), Increment: money.MustParse("1.00"), Start: now.Add(-time.Minute), End: now.Add(time.Hour)})
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		t.Fatal(err)
	}
	minter := auth.Minter{Keys: kr, Issuer: "urn:datavenue:dev", Audience: "datavenue", Clock: datavenue.SystemClock{}}

	var (
		mu       sync.Mutex
		ack      []ackedBid
		next     atomic.Int64
		done     atomic.Int64
		killAt   = make(chan struct{})
		killOnce sync.Once
	)
	client := &http.Client{Timeout: 5 * time.Second}
	const bidders, perBidder = 4, 40
	var wg sync.WaitGroup
	for b := 0; b < bidders; b++ { // only registered organisations may bid
		body := fmt.Sprintf("91350100MF%07d", b)
		c, _ := parties.USCCCheckChar(body)
		reg := parties.Registration{ID: datavenue.OrgID(fmt.Sprintf("org_01JFAULTBUYER%013d", b)), USCC: body + string(c),
			Name: fmt.Sprintf("买方%d", b), Kind: parties.KindBuyer}
		if _, err := db.Parties().CreateOrganisation(datavenue.WithCaller(ctx, audit.SystemCaller), reg); err != nil {
			t.Fatal(err)
		}
	}
	for b := 0; b < bidders; b++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buyer := datavenue.OrgID(fmt.Sprintf("org_01JFAULTBUYER%013d", b))
			tok, _ := minter.Mint("fault", datavenue.RoleBuyer, buyer, time.Hour)
			for n := 0; n < perBidder; n++ {
				key := fmt.Sprintf("k%d-%d", b, n)
				amount := money.FromFen(10000 + next.Add(1)*100)
				for {
					body, _ := json.Marshal(map[string]string{"amount": amount.String()})
					req, _ := http.NewRequest("POST", "http://"+addr+"/v1/auctions/"+auctionID+"/bids", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", key)
					resp, err := client.Do(req)
					if err != nil {
						time.Sleep(20 * time.Millisecond) // the venue is down: retry the same bid (back-off)
						continue
					}
					var res matching.BidResult
					_ = json.NewDecoder(resp.Body).Decode(&res)
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						mu.Lock()
						ack = append(ack, ackedBid{buyer, key, res})
						mu.Unlock()
					}
					break // 201, or a definite refusal (outbid meanwhile)
				}
				if done.Add(1) == bidders*perBidder/2 {
					killOnce.Do(func() { close(killAt) })
				}
			}
		}()
	}
	<-killAt
	if err := v.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = v.cmd.Wait()
	v.start()
	wg.Wait()

	if len(ack) < bidders*perBidder/4 {
		t.Fatalf("only %d bids acknowledged", len(ack))
	}
	o := checkAcknowledgedBids(t, e, auctionID, ack)
	t.Logf("%d bids acknowledged across a kill -9 of the venue; winner %s at %s", len(ack), o.Winner, o.Price)
}

// ackedBid is a bid the venue acknowledged with 201.
type ackedBid struct {
	buyer datavenue.OrgID
	key   string
	res   matching.BidResult
}

// checkAcknowledgedBids finds every acknowledged bid in the engine (the same bid again is a
// duplicate with its original sequence number), then closes the auction and checks that the
// highest acknowledged bid won.
func checkAcknowledgedBids(t *testing.T, e matching.Engine, auctionID string, acks []ackedBid) matching.Outcome {
	t.Helper()
	ctx := context.Background()
	var best ackedBid
	for _, a := range acks {
		got, err := e.Bid(ctx, auctionID, matching.BidID(datavenue.Caller{Subject: "fault", Issuer: "urn:datavenue:dev", Role: datavenue.RoleBuyer, Org: a.buyer}, a.key), a.buyer, a.res.Amount)
		if err != nil || !got.Duplicate || got.Seq != a.res.Seq {
			t.Fatalf("acknowledged bid %s (seq %d): %+v %v", a.key, a.res.Seq, got, err)
		}
		if a.res.Seq > best.res.Seq {
			best = a
		}
	}
	e.AdvanceClock(ctx, auctionID, 2*time.Hour)
	o, err := e.Close(ctx, auctionID)
	if err != nil || o.Winner != best.buyer || o.Price.Cmp(best.res.Amount) != 0 {
		t.Fatalf("outcome %+v %v; the highest acknowledged bid: %s by %s", o, err, best.res.Amount, best.buyer)
	}
	return o
}
