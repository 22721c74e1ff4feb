// Command matching measures the auction engine's bid throughput and latency through its Go API,
// and in the same run a baseline: redis-benchmark calling the same bid script (EVALSHA) with the
// same concurrency against the same Redis (same durability: AOF, appendfsync always). It prints
// bids/s, p50 and p99 for both and the engine's ratios to the baseline.
//
//	go run ./bench/matching -bidders 16 -bids 20000      (make bench-matching)
//
// Both runs bid into one sealed first-price auction whose bids may be revised, so that every bid
// writes (an English auction refuses most concurrent bids as too low, which would flatter it).
package main

import (
	"context"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	dvclient "github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
)

// main runs the baseline and the engine against the same Redis back to back and prints both, so the
// ratios compare like with like on whatever machine runs them (absolute figures vary with the
// disk's fsync speed; the ratios are what the README quotes). The optional HTTP run comes last.
func main() {
	url := flag.String("redis", envOr("DATAVENUE_REDIS_URL", "redis://127.0.0.1:56379/0"), "Redis URL")
	bidders := flag.Int("bidders", 16, "concurrent bidders (and redis-benchmark clients)")
	bids := flag.Int("bids", 20000, "bids per run")
	auctions := flag.Int("auctions", 4, "auctions the bids are spread over")
	venue := flag.String("http", "", "also bid through a running venue's HTTP API at this base URL (start it with DATAVENUE_RATE_PER_SECOND=0 make run)")
	keyDir := flag.String("keys", envOr("DATAVENUE_KEY_DIR", ".data/keys"), "the venue's key folder, to mint buyer tokens")
	flag.Parse()
	opts, err := redis.ParseURL(*url)
	if err != nil {
		fail(err)
	}
	// A few connections more than bidders, so the engine's own calls (opening auctions, the
	// script load) never wait for a connection during the run.
	opts.PoolSize = *bidders + 4
	client := redis.NewClient(opts)
	defer client.Close()
	ctx := context.Background()
	// A fresh prefix per run keeps the bench's keys apart from the venue's and from an earlier run
	// that failed before cleanup; cleanup deletes exactly this prefix.
	prefix := fmt.Sprintf("bench%d:", time.Now().UnixNano())
	e := matching.Engine{Redis: client, Keys: matching.Keys{Prefix: prefix}}
	// Open a minute ago, closing in an hour: bidding is open for the whole run whatever its length,
	// and nothing closes the auctions meanwhile (the bench runs no closer, and a venue's closer
	// watches only its own key prefix).
	auction := func(id string) matching.Auction {
		now := time.Now()
		return matching.Auction{ID: id, Kind: matching.SealedFirst, Operator: "org_01JBENCHOPERATOR0000000000",
			Reserve: money.MustParse("1.00"), Start: now.Add(-time.Minute), End: now.Add(time.Hour), Revisable: true}
	}

	// ids opens one set of auctions per run, so each run starts from empty auctions and neither
	// run's bids are revisions of the other's.
	ids := func(kind string) []string {
		out := make([]string, *auctions)
		for i := range out {
			out[i] = fmt.Sprintf("auc_%s%d", kind, i)
			if err := e.Open(ctx, auction(out[i])); err != nil {
				fail(err)
			}
		}
		return out
	}
	// Baseline first: redis-benchmark with the engine's own script and keys, one process per auction.
	base, err := baseline(ctx, client, opts.Addr, e, ids("baseline"), *bidders, *bids)
	if err != nil {
		fail(err)
	}
	eng := engineRun(ctx, e, ids("engine"), *bidders, *bids)
	fmt.Printf("%-32s %10s %9s %9s\n", fmt.Sprintf("run (%d bidders, %d auctions)", *bidders, *auctions), "bids/s", "p50 ms", "p99 ms")
	fmt.Printf("%-32s %10.0f %9.3f %9.3f\n", "baseline: redis-benchmark EVALSHA", base.rps, base.p50, base.p99)
	fmt.Printf("%-32s %10.0f %9.3f %9.3f\n", "engine: matching.Engine.Bid", eng.rps, eng.p50, eng.p99)
	fmt.Printf("engine / baseline: throughput %.2f, p50 %.2f, p99 %.2f\n", eng.rps/base.rps, eng.p50/base.p50, eng.p99/base.p99)
	cleanup(ctx, client, prefix)
	if *venue == "" {
		return
	}
	h, err := httpBench(*venue, *keyDir, *auctions, *bidders, *bids)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%-32s %10.0f %9.3f %9.3f\n", "http: POST /v1/auctions/{id}/bids", h.rps, h.p50, h.p99)
	fmt.Printf("http / baseline: throughput %.2f, p50 %.2f, p99 %.2f\n", h.rps/base.rps, h.p50/base.p50, h.p99/base.p99)
}

// result is one run's figures: bids per second over the whole run, and latency percentiles in
// milliseconds (redis-benchmark's unit).
type result struct{ rps, p50, p99 float64 }

// httpBench bids through a running venue's HTTP API into auctions it opens through that API, as
// an operator would (a certified asset, sealed revisable auctions on products of it), with buyers
// it registers through the API. It never writes into the venue's Redis keyspace or database by
// itself: bids the venue accepted are projected into PostgreSQL like any others. Afterwards it
// revokes the asset's authorisation, which stops its auctions with no sale, so the venue is left
// as it was, trading on.
func httpBench(base, keyDir string, auctions, bidders, total int) (result, error) {
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		return result{}, err
	}
	minter := auth.Minter{Keys: kr, Issuer: envOr("DATAVENUE_JWT_ISSUER", "urn:datavenue:dev"), Audience: envOr("DATAVENUE_JWT_AUDIENCE", "datavenue"), Clock: datavenue.SystemClock{}}
	c := &venueclient.Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}, Minter: minter, Out: io.Discard}
	cert, err := c.Certify()
	if err != nil {
		return result{}, fmt.Errorf("setting up through the API: %w", err)
	}
	// The auctions start a few seconds ahead, on a whole second, leaving time to publish and open
	// them all; bids are placed only once the start has passed (bid.lua refuses earlier ones).
	opens := time.Now().Add(3 * time.Second).Truncate(time.Second)
	var ids []string
	for i := 0; i < auctions; i++ {
		p, err := c.Publish(cert.Asset, cert.Scenario, fmt.Sprintf("压测密封拍卖数据%d", i), dvclient.PricingInput{Method: dvclient.PricingInputMethodAuction,
			AuctionKind: venueclient.Ptr(dvclient.PricingInputAuctionKindSealedFirst), Reserve: venueclient.Ptr("1.00"),
			StartAt: venueclient.Ptr(opens), EndAt: venueclient.Ptr(opens.Add(24 * time.Hour))})
		if err != nil {
			return result{}, err
		}
		a, err := venueclient.Result[dvclient.Auction](c.API().OpenAuctionWithResponse(context.Background(), nil,
			dvclient.OpenAuctionInput{ProductId: p.Id, Revisable: venueclient.Ptr(true)}, c.As(venueclient.Operator)))
		if err != nil {
			return result{}, err
		}
		ids = append(ids, a.Id)
	}
	buyers, err := c.Buyers(bidders, "91350100MB", "压测买方")
	if err != nil {
		return result{}, err
	}
	// Revoking the authorisation (D9: revocation stops trading under the grant) ends the bench's
	// auctions without a sale, so no settlement work is left behind on a shared venue.
	defer func() {
		_, err := c.API().RevokeAuthorisationWithResponse(context.Background(), cert.Authorisation, nil, dvclient.CancelInput{Reason: "压测结束"},
			c.As(venueclient.DataBureau))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: revoking the bench's authorisation (its auctions stay open):", err)
		}
	}()
	time.Sleep(time.Until(opens.Add(200 * time.Millisecond))) // bidding opens on the venue's clock
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: bidders, MaxConnsPerHost: bidders}}
	// Tokens are minted once, up front, so the measured latency is the venue's, not Ed25519 signing.
	tokens := make([]string, bidders)
	for b := range tokens {
		if tokens[b], err = minter.Mint("bench", datavenue.RoleBuyer, buyers[b].Org, time.Hour); err != nil {
			return result{}, err
		}
	}
	// Amounts rise with n, so a buyer's revised sealed bid is a realistic higher one. No
	// Idempotency-Key is sent, so the venue gives every POST a new bid id (matching.BidID) and none
	// is answered as a retry; only 201 Created (the bid is durable) counts as success.
	return measure(bidders, total, func(b int, n int64) error {
		body := strings.NewReader(fmt.Sprintf(`{"amount":"%s"}`, money.FromFen(1000+n)))
		req, _ := http.NewRequest("POST", c.Base+"/v1/auctions/"+ids[int(n)%len(ids)]+"/bids", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[b])
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("bid answered %s", resp.Status)
		}
		return nil
	}), nil
}

// measure runs total calls over bidders goroutines and returns throughput and latencies.
// Bidders take call numbers from one shared counter rather than a fixed share each, so a slow
// goroutine does not stretch the run with a tail of its own. Latencies are kept per goroutine (no
// lock in the measured loop) and merged afterwards; any error stops the bench, since a rejected
// bid would be measured as a fast one and flatter the figures.
func measure(bidders, total int, call func(b int, n int64) error) result {
	var next atomic.Int64
	lat := make([][]time.Duration, bidders)
	var wg sync.WaitGroup
	start := time.Now()
	for b := 0; b < bidders; b++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(total) {
					return
				}
				t0 := time.Now()
				if err := call(b, n); err != nil {
					fail(err)
				}
				lat[b] = append(lat[b], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p int) float64 { return float64(all[(len(all)-1)*p/100].Microseconds()) / 1000 }
	return result{rps: float64(len(all)) / elapsed.Seconds(), p50: pct(50), p99: pct(99)}
}

// engineRun bids through matching.Engine.Bid, the Go API the venue's handler calls. Buyers cycle
// through 997 ids (a prime, so buyer and auction do not fall into step): most calls revise a
// buyer's sealed bid, which the revisable auction accepts, so every call writes as the baseline's do.
// Bid ids are unique per call, so none is answered as an idempotent retry.
func engineRun(ctx context.Context, e matching.Engine, auctionIDs []string, bidders, total int) result {
	return measure(bidders, total, func(_ int, n int64) error {
		buyer := datavenue.OrgID(fmt.Sprintf("org_buyer%d", n%997))
		_, err := e.Bid(ctx, auctionIDs[int(n)%len(auctionIDs)], "bid"+strconv.FormatInt(n, 10), buyer, money.FromFen(1000+n))
		return err
	})
}

// baseline runs redis-benchmark: EVALSHA of bid.lua on each auction's keys, with random bid ids,
// buyers and amounts (__rand_int__); one process per auction, the clients and requests shared out
// among them, all at once. Throughput is their sum; p50 and p99 the worst of them.
func baseline(ctx context.Context, client *redis.Client, addr string, e matching.Engine, auctionIDs []string, clients, total int) (result, error) {
	src, err := os.ReadFile("matching/scripts/bid.lua")
	if err != nil {
		return result{}, fmt.Errorf("run from the repository root: %w", err)
	}
	if err := client.ScriptLoad(ctx, string(src)).Err(); err != nil { // EVALSHA needs it loaded
		return result{}, err
	}
	sum := sha1.Sum(src)
	sha := hex.EncodeToString(sum[:])
	// redis-benchmark cannot use a URL, so the address is split; the bench assumes a Redis without a
	// password (the local one make starts).
	host, port, _ := strings.Cut(addr, ":")
	per := clients / len(auctionIDs)
	if per < 1 {
		per = 1
	}
	results := make([]result, len(auctionIDs))
	errs := make([]error, len(auctionIDs))
	var wg sync.WaitGroup
	for i, id := range auctionIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := e.Keys.BidKeys(id)
			// -r makes __rand_int__ a random number below 10^8: bid ids and buyers rarely repeat, and amounts
			// are almost always above the 1.00 reserve (100 fen), so nearly every call writes as the engine's do.
			args := []string{"-h", host, "-p", port, "-c", strconv.Itoa(per), "-n", strconv.Itoa(total / len(auctionIDs)),
				"-r", "100000000", "--csv", "EVALSHA", sha, strconv.Itoa(len(keys))}
			args = append(args, keys...)
			args = append(args, id, "bid:__rand_int__", "org_buyer__rand_int__", "__rand_int__")
			out, err := exec.Command("redis-benchmark", args...).Output()
			if err != nil {
				errs[i] = fmt.Errorf("redis-benchmark: %w", err)
				return
			}
			results[i], errs[i] = parseCSV(out)
		}()
	}
	wg.Wait()
	var agg result
	for i, r := range results {
		if errs[i] != nil {
			return result{}, errs[i]
		}
		agg.rps += r.rps
		agg.p50, agg.p99 = max(agg.p50, r.p50), max(agg.p99, r.p99)
	}
	return agg, nil
}

// parseCSV reads redis-benchmark --csv output: a header row then one row per test (here one,
// EVALSHA, with all its latency columns); columns are found by name, not position.
func parseCSV(out []byte) (result, error) {
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(rows) < 2 {
		return result{}, fmt.Errorf("redis-benchmark output: %q", out)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	f := func(name string) float64 { v, _ := strconv.ParseFloat(rows[1][col[name]], 64); return v }
	return result{rps: f("rps"), p50: f("p50_latency_ms"), p99: f("p99_latency_ms")}, nil
}

// cleanup deletes the run's keys by SCAN (not KEYS, which would block a shared Redis).
func cleanup(ctx context.Context, c *redis.Client, prefix string) {
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// fail stops the bench at the first error: partial figures would be misleading.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
