package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
)

// The fault suite stops and starts the shared local PostgreSQL and Redis under a running venue, so
// it runs alone, after the rest of the tests: `make faults` (and `make test`, which runs a short
// version of it last). Without DATAVENUE_FAULTS=1 these tests skip.
func faultsEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv("DATAVENUE_FAULTS") != "1" {
		t.Skip("the fault suite runs alone: make faults (DATAVENUE_FAULTS=1)")
	}
}

// faultRounds is how many fault rounds each test injects (DATAVENUE_FAULT_ROUNDS; 1 in make test).
func faultRounds() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("DATAVENUE_FAULT_ROUNDS"), &n); err != nil || n < 1 {
		return 1
	}
	return n
}

// services runs scripts/services.sh with args (pg-stop, pg-start, redis-stop, redis-start).
func services(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("../../scripts/services.sh", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("services.sh %v: %v\n%s", args, err, out)
	}
}

// faultVenue is a real venue process on a fresh database with the demo organisations.
type faultVenue struct {
	*venueProcess
	db    *postgres.DB
	env   map[string]string
	keys  *auth.Keyring
	mint  auth.Minter
	base  string
	http  *http.Client
	stats *faultStats
}

// faultStats counts what a fault test tried and what came back.
type faultStats struct {
	requests, acknowledged, unavailable, retried, internal atomic.Int64
}

func (s *faultStats) String() string {
	return fmt.Sprintf("%d requests, %d acknowledged, %d answered 503, %d retried, %d answered 500",
		s.requests.Load(), s.acknowledged.Load(), s.unavailable.Load(), s.retried.Load(), s.internal.Load())
}

func newFaultVenue(t *testing.T, extra ...map[string]string) *faultVenue {
	t.Helper()
	var env map[string]string
	if len(extra) > 0 {
		env = extra[0]
	}
	f := newTestVenue(t, env)
	// Whatever happens to the test, the services run again after it (this runs first among its
	// cleanups, before its database is dropped): the rest of the suite needs them.
	t.Cleanup(func() {
		for _, s := range []string{"pg-start", "redis-start"} {
			_ = exec.Command("../../scripts/services.sh", s).Run()
		}
	})
	return f
}

// send makes one request; a 500 is counted (and fails the test at its end), a 503 must be
// problem+json. err is set when no answer came.
func (f *faultVenue) send(who venueclient.Actor, method, path, key string, body []byte, headers ...string) (int, []byte, error) {
	f.stats.requests.Add(1)
	req, _ := http.NewRequest(method, f.base+path, bytes.NewReader(body))
	tok, _ := f.mint.Mint("fault", who.Role, who.Org, time.Hour)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil && len(headers) == 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable:
		f.stats.internal.Add(1)
		f.t.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, data)
	case resp.StatusCode == http.StatusServiceUnavailable:
		f.stats.unavailable.Add(1)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") || resp.Header.Get("Retry-After") == "" {
			f.t.Errorf("a 503 without problem+json or Retry-After: %s %s", resp.Header.Get("Content-Type"), data)
		}
	}
	return resp.StatusCode, data, nil
}

// retry sends the same request (same Idempotency-Key) until it gets a definite answer: anything
// but no answer or 503. Bounded: a minute.
func (f *faultVenue) retry(who venueclient.Actor, method, path, key string, body []byte) (int, []byte) {
	deadline := time.Now().Add(time.Minute)
	for {
		status, data, err := f.send(who, method, path, key, body)
		// A request cut off mid-way may leave its key claimed until the claim's lease ends: the
		// venue says so (409 idempotency_in_progress) and the client retries, as documented.
		inProgress := status == http.StatusConflict && strings.Contains(string(data), "idempotency_in_progress")
		if err == nil && status != http.StatusServiceUnavailable && !inProgress {
			return status, data
		}
		if time.Now().After(deadline) {
			f.t.Errorf("%s %s: no definite answer within a minute (last %d %v)", method, path, status, err)
			return status, data
		}
		f.stats.retried.Add(1)
		time.Sleep(50 * time.Millisecond) // back-off before the retry; nothing is ordered by it
	}
}

// ready polls /readyz until it answers want (bounded).
func (f *faultVenue) ready(want int) {
	f.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := f.http.Get(f.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("/readyz never answered %d", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkInvariants runs `datavenue check` on the venue's database.
func (f *faultVenue) checkInvariants() {
	f.t.Helper()
	if out, err := runCmd(f.t, f.env, "check"); err != nil || !strings.Contains(out, "0 broken") {
		f.t.Fatalf("check: %v\n%s", err, out)
	}
}

var assetCard = []byte(`{"category":"data_asset","name":"公交刷卡客流数据","summary":"全市公交线路刷卡客流","rights":["holding"],
	"classification":"transport","grade":"general","source":"公交IC卡系统","scale":"每日约300万条","update_frequency":"daily",
	"acquisition_mode":"self_built","cost_components":[{"stage":"collection","amount":"100.00"}],"measurement_basis":"cost","accounting_status":"booked"}`)

// PostgreSQL stopped and started under a write load: /readyz says so, requests fail with 503
// problem+json (never 500), the venue recovers by itself, and every acknowledged write is there.
func TestFaultPostgresRestartUnderLoad(t *testing.T) {
	faultsEnabled(t)
	f := newFaultVenue(t)
	holder := venueclient.Actor{Role: datavenue.RoleOperator, Org: demoID(3)}
	var (
		mu     sync.Mutex
		acked  = map[string]string{} // idempotency key → asset id
		stop   atomic.Bool
		n      atomic.Int64
		wg     sync.WaitGroup
		gotAck = make(chan struct{}, 1)
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				key := fmt.Sprintf("asset-%d", n.Add(1))
				status, data := f.retry(holder, "POST", "/v1/assets", key, assetCard)
				if status != http.StatusCreated {
					t.Errorf("asset %s: %d %s", key, status, data)
					return
				}
				var a struct{ ID string }
				_ = json.Unmarshal(data, &a)
				mu.Lock()
				acked[key] = a.ID
				mu.Unlock()
				f.stats.acknowledged.Add(1)
				select {
				case gotAck <- struct{}{}:
				default:
				}
			}
		}()
	}
	for round := 0; round < faultRounds(); round++ {
		<-gotAck
		services(t, "pg-stop")
		f.ready(http.StatusServiceUnavailable)
		status, data, err := f.send(holder, "GET", "/v1/assets", "", nil)
		if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(string(data), "database_unavailable") {
			t.Fatalf("a read with the database down: %d %s %v", status, data, err)
		}
		services(t, "pg-start")
		f.ready(http.StatusOK)
		for range 2 { // acknowledgements after the recovery, without restarting the venue
			<-gotAck
		}
	}
	stop.Store(true)
	wg.Wait()

	ids := make([]string, 0, len(acked))
	for _, id := range acked {
		ids = append(ids, id)
	}
	var present int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM assets WHERE id = ANY($1)`, ids).Scan(&present); err != nil {
		t.Fatal(err)
	}
	if present != len(acked) {
		t.Fatalf("%d of %d acknowledged assets are in the database", present, len(acked))
	}
	// A retry of an acknowledged request answers the same asset, and nothing is made twice.
	for key, id := range acked {
		status, data := f.retry(holder, "POST", "/v1/assets", key, assetCard)
		if status != http.StatusCreated || !strings.Contains(string(data), id) {
			t.Fatalf("replaying %s: %d %s, want %s", key, status, data, id)
		}
		break
	}
	var total int
	f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM assets`).Scan(&total)
	if total != len(acked) {
		t.Fatalf("%d assets stored for %d acknowledged requests", total, len(acked))
	}
	f.checkInvariants()
	t.Logf("PostgreSQL stopped and started %d times under load: %s; %d assets acknowledged, all present, none twice", faultRounds(), f.stats, len(acked))
}

// paidOrders makes n trades with their orders (awaiting payment) straight in the database, on a
// product with a five-party agreement: the fixtures of the settlement faults.
func paidOrderFixtures(t *testing.T, db *postgres.DB, n int) []string {
	t.Helper()
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	if err := catalogueseed.Load(ctx, db.Pool, demoID(5), 0, 1); err != nil {
		t.Fatal(err)
	}
	product := catalogueseed.Product(0, demoID(5), time.Time{}).ID
	if _, err := db.Settlement().AddAgreement(datavenue.WithCaller(ctx, datavenue.Caller{Subject: "op", Role: datavenue.RoleOperator, Org: demoID(5)}),
		settlement.Agreement{ProductID: product, Basis: "ratio", Parties: []settlement.AgreementParty{
			{Party: demoID(3), Role: "holder", Ratio: "0.40"}, {Party: demoID(4), Role: "collector", Ratio: "0.25"},
			{Party: demoID(4), Role: "processor", Ratio: "0.10"}, {Party: demoID(5), Role: "operator", Ratio: "0.22"},
			{Role: "venue_fee", Ratio: "0.03"}}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		trade, order := datavenue.NewID("trd"), datavenue.NewID("ord")
		price := fmt.Sprintf("%d.%02d", 1000+i, i%100)
		if _, err := db.Pool.Exec(ctx, `INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
			VALUES ($1, 'negotiation', $2, $3, $4, $5, $6::numeric, 'negotiation', 1, now())`,
			trade, "fault-"+trade, product, string(demoID(6)), string(demoID(5)), price); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied, amount_due,
				agreement_version, status, payment_due)
			VALUES ($1, $2, $3, $4, $5, $6::numeric, 0, $6::numeric, 1, 'awaiting_payment', current_date + 7)`,
			order, trade, product, string(demoID(6)), string(demoID(5)), price); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, order)
	}
	return ids
}

// kill -9 of the venue in the middle of settlements and of a statement import, then a restart:
// every order is paid exactly once (retries with the same key and reference are the same
// payment), and the interrupted import left nothing behind.
func TestFaultKill9MidSettlementAndImport(t *testing.T) {
	faultsEnabled(t)
	f := newFaultVenue(t)
	clerk := venueclient.Actor{Role: datavenue.RoleClerk, Org: demoID(9)}
	orders := paidOrderFixtures(t, f.db, 120*faultRounds())
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		paid = make(chan int, len(orders)) // indexes of acknowledged payments
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(orders) {
					return
				}
				body := []byte(`{"reference":"BANK-` + orders[i] + `"}`)
				status, data := f.retry(clerk, "POST", "/v1/orders/"+orders[i]+"/payment", "pay-"+orders[i], body)
				if status != http.StatusOK {
					t.Errorf("payment of %s: %d %s", orders[i], status, data)
				}
				f.stats.acknowledged.Add(1)
				paid <- i
			}
		}()
	}
	kills := 0
	for round := 0; round < faultRounds(); round++ {
		for i := range paid { // a quarter into this round's orders
			if i >= round*120+30 {
				break
			}
		}
		_ = f.cmd.Process.Kill() // SIGKILL, mid-request
		_ = f.cmd.Wait()
		kills++
		f.start()
	}
	wg.Wait()
	var paidOnce, settlements int
	ctx := context.Background()
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'paid'), (SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement')
		FROM settlement_orders`).Scan(&paidOnce, &settlements); err != nil {
		t.Fatal(err)
	}
	if paidOnce != len(orders) || settlements != len(orders) {
		t.Fatalf("%d orders: %d paid, %d settlement transactions", len(orders), paidOnce, settlements)
	}

	// A large statement import killed half way: nothing of it stays; imported again, it applies.
	var csv strings.Builder
	csv.WriteString("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&csv, "K%06d,NONE%06d,某单位,1.00,%s,市级国库\n", i, i, civil.Of(time.Now()).String())
	}
	importPath := "/v1/reconciliation/imports?format=csv&period_end=" + civil.Of(time.Now()).String()
	tok, _ := f.mint.Mint("fault", clerk.Role, clerk.Org, time.Hour)
	req, _ := http.NewRequest("POST", f.base+importPath, strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"stage":"applying"`) && !strings.Contains(sc.Text(), `"done":0,`) {
			break // the import is applying rows, in its transaction
		}
	}
	_ = f.cmd.Process.Kill()
	_ = f.cmd.Wait()
	resp.Body.Close()
	kills++
	f.start()
	var imports, receipts int
	f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM statement_imports), (SELECT count(*) FROM receipts)`).Scan(&imports, &receipts)
	if imports != 0 || receipts != 0 {
		t.Fatalf("the killed import left %d imports and %d receipts", imports, receipts)
	}
	status, data := f.retry(clerk, "POST", importPath, "import-1", []byte(csv.String()))
	if status != http.StatusCreated {
		t.Fatalf("import after the restart: %d %.300s", status, data)
	}
	f.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM statement_imports), (SELECT count(*) FROM receipts)`).Scan(&imports, &receipts)
	if imports != 1 || receipts != 20000 {
		t.Fatalf("after the import: %d imports, %d receipts", imports, receipts)
	}
	f.checkInvariants()
	t.Logf("%d kill -9 of the venue mid-settlement and mid-import: %s; %d orders paid once each, the killed import left nothing", kills, f.stats, len(orders))
}

// Redis stopped and started under bidding: bids during the outage get 503 (the client retries
// with the same Idempotency-Key), and after the restart every acknowledged bid is in the engine
// and the highest one wins.
func TestFaultRedisRestartUnderBidding(t *testing.T) {
	faultsEnabled(t)
	f := newFaultVenue(t)
	r := testenv.NewRedis(t)
	e := matching.Engine{Redis: r.Client, Keys: venueKeys}
	ctx := context.Background()
	now, err := r.Client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	auctionID := "auc_01JFAULTREDIS0000000000000"
	recordedAuction(t, f.db, e, matching.Auction{ID: auctionID, Kind: matching.English, Operator: demoID(5),
		Reserve: money.MustParse("100.00"), Increment: money.MustParse("1.00"), Start: now.Add(-time.Minute), End: now.Add(time.Hour)})
	var (
		mu     sync.Mutex
		acks   []ackedBid
		next   atomic.Int64
		wg     sync.WaitGroup
		bidded = make(chan struct{}, 1000)
	)
	buyers := []datavenue.OrgID{demoID(6), demoID(7)}
	const perBuyer = 60
	for _, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < perBuyer; n++ {
				key := fmt.Sprintf("bid-%s-%d", b, n)
				body := []byte(`{"amount":"` + money.FromFen(10000+next.Add(1)*100).String() + `"}`)
				status, data := f.retry(venueclient.Actor{Role: datavenue.RoleBuyer, Org: b}, "POST", "/v1/auctions/"+auctionID+"/bids", key, body)
				if status == http.StatusCreated {
					var res matching.BidResult
					_ = json.Unmarshal(data, &res)
					mu.Lock()
					acks = append(acks, ackedBid{b, key, res})
					mu.Unlock()
					f.stats.acknowledged.Add(1)
				} else if status != http.StatusConflict && status != http.StatusUnprocessableEntity {
					t.Errorf("bid %s: %d %s", key, status, data)
				}
				select {
				case bidded <- struct{}{}:
				default:
				}
			}
		}()
	}
	for round := 0; round < faultRounds(); round++ {
		for range 20 {
			<-bidded
		}
		services(t, "redis-stop")
		f.ready(http.StatusServiceUnavailable)
		services(t, "redis-start")
		f.ready(http.StatusOK)
	}
	wg.Wait()
	if len(acks) < perBuyer/2 {
		t.Fatalf("only %d bids acknowledged", len(acks))
	}
	checkAcknowledgedBids(t, e, auctionID, acks)
	checkProjected(t, f, auctionID, len(acks))
	t.Logf("Redis stopped and started %d times under bidding: %s; %d bids acknowledged, all in the engine, the highest won", faultRounds(), f.stats, len(acks))
}

// checkProjected waits until PostgreSQL has at least the acknowledged bids of the auction (the
// projection catches up by itself), then finds nothing parked and every invariant holding.
func checkProjected(t *testing.T, f *faultVenue, auctionID string, acknowledged int) {
	t.Helper()
	var projected int
	waitUntil(t, time.Minute, "the acknowledged bids in PostgreSQL", func() bool {
		_ = f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM auction_bids WHERE auction_id = $1`, auctionID).Scan(&projected)
		return projected >= acknowledged
	})
	var parked int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM projection_parked`).Scan(&parked); err != nil || parked != 0 {
		t.Fatalf("%d entries parked by a transient outage (%v)", parked, err)
	}
	f.checkInvariants()
}

// PostgreSQL stopped while the projection has engine events to apply (bids placed in the engine
// meanwhile): the projection fails, transiently, retries with back-off, parks nothing, and once
// PostgreSQL is back applies every event.
func TestFaultPostgresStopMidProjection(t *testing.T) {
	faultsEnabled(t)
	// Metrics on their own address: they are read while PostgreSQL is down, without a token.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()
	f := newFaultVenue(t, map[string]string{"DATAVENUE_METRICS_LISTEN": metricsAddr})
	r := testenv.NewRedis(t)
	e := matching.Engine{Redis: r.Client, Keys: venueKeys}
	ctx := context.Background()
	now, err := r.Client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	auctionID := "auc_01JFAULTPROJECTION00000000"
	recordedAuction(t, f.db, e, matching.Auction{ID: auctionID, Kind: matching.SealedFirst, Operator: demoID(5), Revisable: true,
		Reserve: money.MustParse("100.00"), Start: now.Add(-time.Minute), End: now.Add(time.Hour)})
	bids := 0
	bid := func(n int) {
		for i := 0; i < n; i++ {
			bids++
			buyer := []datavenue.OrgID{demoID(6), demoID(7)}[bids%2]
			if _, err := e.Bid(ctx, auctionID, fmt.Sprintf("bid-%d", bids), buyer, money.FromFen(int64(10000+bids))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A bid over HTTP needs PostgreSQL only for what the venue caches (the buyer's registration and
	// roles): once they are read, bidding goes on through an outage.
	httpBid := func() int {
		bids++
		status, data := f.retry(venueclient.Actor{Role: datavenue.RoleBuyer, Org: demoID(6)}, "POST", "/v1/auctions/"+auctionID+"/bids",
			fmt.Sprintf("http-bid-%d", bids), []byte(`{"amount":"`+money.FromFen(int64(10000+bids)).String()+`"}`))
		if status != http.StatusCreated {
			t.Errorf("an HTTP bid: %d %s", status, data)
		}
		return status
	}
	for round := 0; round < faultRounds(); round++ {
		bid(50)
		httpBid()
		services(t, "pg-stop")
		f.ready(http.StatusServiceUnavailable)
		bid(200) // the projection has these to apply while PostgreSQL is down
		httpBid()
		waitUntil(t, 30*time.Second, "a transient projection failure", func() bool {
			resp, err := http.Get("http://" + metricsAddr + "/metrics")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			metrics, _ := io.ReadAll(resp.Body)
			return strings.Contains(string(metrics), `datavenue_projection_failures_total{class="transient"}`)
		})
		services(t, "pg-start")
		f.ready(http.StatusOK)
	}
	checkProjected(t, f, auctionID, bids)
	t.Logf("PostgreSQL stopped %d times with engine events waiting: %d bids, all projected, none parked", faultRounds(), bids)
}
