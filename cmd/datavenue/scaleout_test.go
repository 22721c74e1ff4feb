package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
)

// Three venue processes on one PostgreSQL database and one Redis Cluster, behind a round-robin
// balancer, under the mixed load plus auctions that close one after another; one process is
// killed with SIGKILL mid-run and later replaced. Every auction closes once, every payment settles
// once, every engine event is projected once and in order, sweeps and expiries happen once, the
// survivors' feeds see every bid and the close, and `datavenue check` ends clean.
//
// make test runs it for 15 s of load; make test-scaleout for longer (DATAVENUE_SCALEOUT_DURATION).
func TestScaleOutThreeVenueProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("three venue processes under load")
	}
	dur := 15 * time.Second
	if d, err := time.ParseDuration(os.Getenv("DATAVENUE_SCALEOUT_DURATION")); err == nil && d >= 10*time.Second {
		dur = d
	}
	s := newScaleOut(t, 3)
	ctx := context.Background()
	c := s.client("")
	dv := c.API()

	// Setup through the balancer: auctions with deposits that end one after another during the
	// run, and one on a second asset whose certificates will expire under it.
	cert, err := c.Certify()
	if err != nil {
		t.Fatal(err)
	}
	expiring, err := c.Certify()
	for try := 0; try < 3 && err != nil && strings.Contains(err.Error(), "report_number_taken"); try++ {
		// The client numbers appraisal reports by the second: the next second gives a new number.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		expiring, err = c.Certify()
	}
	if err != nil {
		t.Fatal(err)
	}
	buyers, err := c.Buyers(3, "91350100MD", "扩展测试买方")
	if err != nil {
		t.Fatal(err)
	}
	n := min(6+int(dur/(10*time.Second)), 18)                                        // feeds: one per auction and process, at most 20 per organisation
	opens := time.Now().Add(3*time.Second + time.Duration(n+1)*300*time.Millisecond) // after the setup below
	var auctions []string
	for i := 0; i <= n; i++ {
		asset, end := cert, opens.Add(time.Duration(i+1)*dur/time.Duration(n+1))
		if i == n { // the auction the expiry stops
			asset, end = expiring, opens.Add(time.Hour)
		}
		auctions = append(auctions, s.openAuction(c, asset, i, opens, end, buyers))
	}
	stopped := auctions[n]
	feeds := s.watch(auctions)

	// The run: the mixed load, bidders on every auction, all through the balancer.
	var load loadReport
	var loadErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		load, loadErr = runLoad(ctx, s.client(""), dur)
	}()
	acked := make([]atomic.Int64, len(auctions))
	for i, id := range auctions[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acked[i].Store(int64(s.bid(c, id, buyers)))
		}()
	}
	// Mid-run, once a third of the auctions have closed: kill -9 one process; its certificates
	// expire on the survivors; once that auction is stopped, a new process replaces the dead one.
	s.waitFor(dur+time.Minute, "a third of the auctions closed", func() bool {
		return s.count(`SELECT count(*) FROM auctions WHERE id = ANY($1) AND status <> 'open'`, auctions[:n]) >= n/3
	})
	killed := s.procs[1]
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = killed.cmd.Wait()
	killedAt := time.Now()
	t.Logf("killed process %s (kill -9) with %d of %d auctions closed", killed.addr,
		s.count(`SELECT count(*) FROM auctions WHERE id = ANY($1) AND status <> 'open'`, auctions[:n]), n)
	s.exec(`UPDATE certificates SET valid_from = least(valid_from, current_date - 3), valid_until = current_date - 2
		WHERE asset_id = $1 AND status = 'valid'`, expiring.Asset.Id)
	s.waitFor(time.Minute, "the expired asset's auction stopped", func() bool {
		return s.count(`SELECT count(*) FROM auctions WHERE id = $1 AND status = 'stopped'`, stopped) == 1
	})
	killed.start()
	t.Logf("a new process serves on %s, %s after the kill", killed.addr, time.Since(killedAt).Round(time.Millisecond))
	wg.Wait()
	if loadErr != nil {
		t.Fatal(loadErr)
	}

	// Every auction closed; its trade and order made; the engine's streams all applied.
	var open, orderless int
	var backlog int64
	s.waitFor(2*time.Minute, "every auction closed, every trade an order, nothing left to project", func() bool {
		open = s.count(`SELECT count(*) FROM auctions WHERE id = ANY($1) AND status = 'open'`, auctions)
		orderless = s.count(`SELECT count(*) FROM trades t WHERE NOT EXISTS (SELECT 1 FROM settlement_orders o WHERE o.trade_id = t.id)`)
		backlog = s.backlog()
		return open == 0 && orderless == 0 && backlog == 0
	}, func() string {
		if os.Getenv("DATAVENUE_TEST_VENUE_LOG") != "" { // the processes' goroutines, in their log
			for _, p := range s.procs {
				_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			}
		}
		activity := s.strings(`SELECT format('pid %s %s %s/%s: %s', pid, state, wait_event_type, wait_event, left(query, 100)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		return fmt.Sprintf("%d auctions open, %d trades without an order, backlog %s; processes %v; projection locks %v; sessions %v", open, orderless, s.lags(),
			s.pids(), s.strings(`SELECT format('shard %s: pid %s %s %s %s', l.objid, a.pid, a.state, a.wait_event, left(a.query, 80)) FROM pg_locks l
				JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objsubid = 2
				AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`), activity)
	})
	// Settlement across processes: each order of the auctions either paid twice at once (the clerk
	// on one process, the provider's signed callback on another), delivered and left unconfirmed
	// past the confirmation period, or left unpaid past its last day to pay.
	orders := s.strings(`SELECT o.id FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE t.source_id = ANY($1) ORDER BY o.id`, auctions)
	var paid, unpaid []string
	for i, id := range orders {
		if i%2 == 0 {
			s.payTwiceAtOnce(id)
			paid = append(paid, id)
		} else {
			unpaid = append(unpaid, id)
		}
	}
	for _, id := range paid {
		if _, err := dv.RecordDeliveryWithResponse(ctx, id, nil, client.OrderDelivery{Method: client.OrderDeliveryMethodFile,
			ContentHash: venueclient.Ptr("sha256:" + strings.Repeat("ab", 32))}, c.As(venueclient.Operator)); err != nil {
			t.Fatal(err)
		}
	}
	s.exec(`UPDATE settlement_orders SET delivered_at = delivered_at - interval '8 days' WHERE id = ANY($1)`, paid)
	s.exec(`UPDATE settlement_orders SET payment_due = current_date - 10 WHERE id = ANY($1)`, unpaid)
	s.waitFor(time.Minute, "the sweepers' work done", func() bool {
		return s.count(`SELECT count(*) FROM settlement_orders WHERE id = ANY($1) AND status = 'confirmed'`, paid) == len(paid) &&
			s.count(`SELECT count(*) FROM settlement_orders WHERE id = ANY($1) AND status = 'cancelled'`, unpaid) == len(unpaid)
	})

	s.assertOnce(auctions, stopped, expiring.Asset.Id, paid, unpaid, acked)
	s.assertFeeds(feeds, auctions, stopped, killed.addr, acked)
	if out, err := runCmd(t, s.env, "check"); err != nil || !strings.Contains(out, "0 broken") {
		t.Fatalf("check after the run: %v\n%s", err, out)
	}
	var out bytes.Buffer
	printLoad(&out, load)
	t.Logf("\n%s", out.String())
	t.Logf("requests per process: %v; %d auctions closed (%d bids), 1 stopped by expiry, %d orders paid twice at once, %d cancelled unpaid",
		s.lb.served(), n, s.count(`SELECT count(*) FROM auction_bids WHERE auction_id = ANY($1)`, auctions), len(paid), len(unpaid))
	// Requests in flight at the kill are retried on a survivor under their Idempotency-Key; none
	// may end as an error.
	if load.Errors != 0 {
		t.Errorf("%d errors under load across the kill", load.Errors)
	}
}

// scaleOut is several venue processes sharing one database and one Redis Cluster.
type scaleOut struct {
	t     *testing.T
	db    *postgres.DB
	env   map[string]string
	rdb   redis.UniversalClient
	procs []*venueProcess
	lb    *balancer
	mint  auth.Minter
}

const scaleOutSecret = "scale-out-callback-secret"

func newScaleOut(t *testing.T, n int) *scaleOut {
	t.Helper()
	db, dbURL := testenv.NewDBWithURL(t)
	keyDir := t.TempDir()
	env := map[string]string{"DATAVENUE_DATABASE_URL": dbURL, "DATAVENUE_REDIS_URL": os.Getenv("DATAVENUE_TEST_REDIS_URL"),
		"DATAVENUE_REDIS_CLUSTER": clusterSeeds(t), "DATAVENUE_KEY_DIR": keyDir, "DATAVENUE_RATE_PER_SECOND": "0",
		"DATAVENUE_LOG_LEVEL": "warn", "DATAVENUE_PUBLIC_URL": "http://venue.test", "DATAVENUE_PAYMENT_CALLBACK_SECRET": scaleOutSecret,
		// Every process sweeps and records expiries three times a second, so they race for the same rows.
		"DATAVENUE_TEST_SWEEP_EVERY": "300ms"}
	if out, err := runCmd(t, env, "seed"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	s := &scaleOut{t: t, db: db, env: env, rdb: venueRedis(t, env)}
	clearVenueKeys(s.rdb)
	t.Cleanup(func() { clearVenueKeys(s.rdb) })
	var addrs []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		v := &venueProcess{t: t, addr: addr, env: []string{"DATAVENUE_FAULT_SERVE=1"}}
		for k, val := range env {
			v.env = append(v.env, k+"="+val)
		}
		v.env = append(v.env, "DATAVENUE_LISTEN="+addr)
		v.start()
		t.Cleanup(func() { _ = v.cmd.Process.Kill(); _ = v.cmd.Wait() })
		s.procs, addrs = append(s.procs, v), append(addrs, addr)
	}
	s.lb = newBalancer(addrs)
	kr, err := auth.LoadKeyring(keyDir, false)
	if err != nil {
		t.Fatal(err)
	}
	s.mint = auth.Minter{Keys: kr, Issuer: "urn:datavenue:dev", Audience: "datavenue", Clock: datavenue.SystemClock{}}
	return s
}

// client drives the venue through the balancer (addr "") or one process.
func (s *scaleOut) client(addr string) *venueclient.Client {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: s.lb}
	base := "http://venue.lb"
	if addr != "" {
		hc, base = &http.Client{Timeout: 30 * time.Second}, "http://"+addr
	}
	return &venueclient.Client{Base: base, HTTP: hc, Out: io.Discard, Minter: s.mint, Secret: []byte(scaleOutSecret)}
}

// openAuction publishes an English auction with a deposit and no anti-sniping (it must end when
// planned) and records three buyers' deposits.
func (s *scaleOut) openAuction(c *venueclient.Client, cert venueclient.Certified, i int, opens, end time.Time, buyers []venueclient.Actor) string {
	s.t.Helper()
	ptr := venueclient.Ptr[string]
	product, err := c.Publish(cert.Asset, cert.Scenario, fmt.Sprintf("扩展测试英式拍卖%02d", i), client.PricingInput{Method: client.PricingInputMethodAuction,
		AuctionKind: venueclient.Ptr(client.PricingInputAuctionKindEnglish), Reserve: ptr("1000.00"), Increment: ptr("10.00"),
		Deposit: ptr("100.00"), AntiSnipeMinutes: venueclient.Ptr(0), StartAt: venueclient.Ptr(opens), EndAt: venueclient.Ptr(end)})
	if err != nil {
		s.t.Fatal(err)
	}
	dv := c.API()
	auc, err := venueclient.Result[client.Auction](dv.OpenAuctionWithResponse(context.Background(), nil,
		client.OpenAuctionInput{ProductId: product.Id}, c.As(venueclient.Operator)))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, b := range buyers {
		if _, err := dv.RecordDepositWithResponse(context.Background(), auc.Id, nil,
			client.DepositInput{Buyer: string(b.Org), Ref: "保证金-" + auc.Id + "-" + string(b.Org)}, c.As(venueclient.Clerk)); err != nil {
			s.t.Fatal(err)
		}
	}
	return auc.Id
}

// bid raises the auction's price by its increment, the buyers in turn, until shortly before its
// end; it returns how many bids the venue acknowledged. A refusal (not open yet, or ended) is
// retried; a bid that got no answer is retried under its key by the client.
func (s *scaleOut) bid(c *venueclient.Client, auctionID string, buyers []venueclient.Actor) int {
	dv := c.API()
	st, err := venueclient.Result[client.AuctionView](dv.GetAuctionWithResponse(context.Background(), auctionID, c.As(venueclient.Auditor)))
	if err != nil {
		s.t.Error(err)
		return 0
	}
	acked := 0
	for k := 0; time.Until(st.EndsAt) > 500*time.Millisecond; {
		amount := fmt.Sprintf("%d.00", 1000+10*k)
		_, err := venueclient.Result[client.BidResult](dv.PlaceBidWithResponse(context.Background(), auctionID, nil,
			client.BidInput{Amount: amount}, c.As(buyers[k%len(buyers)])))
		var p *venueclient.Problem
		switch {
		case err == nil:
			acked++
			k++
		case errors.As(err, &p) && p.Status < 500:
			time.Sleep(50 * time.Millisecond) // not open yet: back off, then the same bid again
		default:
			s.t.Errorf("bid on %s: %v", auctionID, err)
			return acked
		}
	}
	return acked
}

// feed is what one SSE subscription saw.
type feed struct {
	proc, auction string
	mu            sync.Mutex
	bids          map[int64]int // seq → times seen
	closes        int
	outcome       string
}

// watch subscribes to every auction's feed on every process (as the auditor) and returns the
// subscriptions, each ready (its "ready" event read) when watch returns.
func (s *scaleOut) watch(auctions []string) []*feed {
	var feeds []*feed
	for _, p := range s.procs {
		for _, id := range auctions {
			req, _ := http.NewRequest("GET", "http://"+p.addr+"/v1/auctions/"+id+"/feed", nil)
			tok, _ := s.mint.Mint("scale-out", datavenue.RoleAuditor, venueclient.Auditor.Org, 2*time.Hour)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				s.t.Fatalf("feed of %s on %s: %v %v", id, p.addr, err, resp)
			}
			s.t.Cleanup(func() { resp.Body.Close() })
			f := &feed{proc: p.addr, auction: id, bids: map[int64]int{}}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() && sc.Text() != "event: ready" {
			}
			go f.read(sc)
			feeds = append(feeds, f)
		}
	}
	return feeds
}

func (f *feed) read(sc *bufio.Scanner) {
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e matching.FeedEvent
		if json.Unmarshal([]byte(data), &e) != nil {
			continue
		}
		f.mu.Lock()
		switch e.Type {
		case "bid":
			f.bids[e.Seq]++
		case "close":
			f.closes++
			f.outcome = e.Outcome
		}
		f.mu.Unlock()
	}
}

// payTwiceAtOnce records an order's payment twice at the same moment on two processes: the clerk
// on one, the payment provider's signed callback on the other, the same bank reference.
func (s *scaleOut) payTwiceAtOnce(orderID string) {
	s.t.Helper()
	ctx := context.Background()
	clerk, provider := s.client(s.procs[0].addr), s.client(s.procs[2].addr)
	o, err := venueclient.Result[client.Order](clerk.API().GetOrderWithResponse(ctx, orderID, clerk.As(venueclient.Clerk)))
	if err != nil {
		s.t.Fatal(err)
	}
	ref := "BANK-" + orderID
	body, _ := json.Marshal(client.PaymentCallback{OrderId: orderID, Reference: ref, Amount: o.AmountDue})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, errs[0] = clerk.API().RecordPaymentWithResponse(ctx, orderID, nil, client.PaymentInput{Reference: ref}, clerk.As(venueclient.Clerk))
	}()
	go func() {
		defer wg.Done()
		_, errs[1] = provider.API().PaymentCallbackWithBodyWithResponse(ctx, &client.PaymentCallbackParams{
			XDatavenueSignature: settlement.CallbackSignature([]byte(scaleOutSecret), body, time.Now())},
			"application/json", bytes.NewReader(body), provider.As(venueclient.Public))
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil { // the same payment twice is the same payment: both succeed
			s.t.Errorf("paying %s twice at once: %v", orderID, err)
		}
	}
}

// assertOnce checks the database: everything happened exactly once.
func (s *scaleOut) assertOnce(auctions []string, stopped, expiredAsset string, paid, unpaid []string, acked []atomic.Int64) {
	t := s.t
	t.Helper()
	for i, id := range auctions {
		closes := s.count(`SELECT count(*) FROM audit_events WHERE resource_id = $1 AND action IN ('auction.closed', 'auction.stopped')`, id)
		trades := s.count(`SELECT count(*) FROM trades WHERE source_id = $1`, id)
		orders := s.count(`SELECT count(*) FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE t.source_id = $1`, id)
		won := s.count(`SELECT count(*) FROM auctions WHERE id = $1 AND outcome = 'won'`, id)
		bids := s.count(`SELECT count(*) FROM auction_bids WHERE auction_id = $1`, id)
		received := s.count(`SELECT count(*) FROM ledger_transactions WHERE kind = 'deposit_received' AND source_id = $1`, id)
		released := s.count(`SELECT count(*) FROM ledger_transactions WHERE kind = 'deposit_released' AND source_id = $1`, id)
		if closes != 1 || trades != won || orders != won || received != 3 || released != 3-won {
			t.Errorf("auction %s: %d closes audited, %d trades and %d orders for %d wins, deposits %d received and %d released; want 1, one trade and order a win, 3 and %d",
				id, closes, trades, orders, won, received, released, 3-won)
		}
		if id != stopped && (bids != int(acked[i].Load()) || won != 1) {
			t.Errorf("auction %s: %d bids projected, %d acknowledged; won %d", id, bids, acked[i].Load(), won)
		}
	}
	if n := s.count(`SELECT count(*) FROM audit_events WHERE resource_id = $1 AND action = 'auction.stopped'`, stopped); n != 1 {
		t.Errorf("the expired asset's auction: %d stops audited, want 1", n)
	}
	for _, q := range []struct{ what, sql string }{
		{"certificates of the expired asset not expired once", `SELECT count(*) FROM certificates c WHERE c.asset_id = $1 AND
			((SELECT count(*) FROM audit_events a WHERE a.resource_id = c.id AND a.action = 'certificate.expired') <> 1 OR
			 (SELECT count(*) FROM events e WHERE e.subject_id = c.id AND e.type = 'certificate.expired') <> 1)`},
	} {
		if n := s.count(q.sql, expiredAsset); n != 0 {
			t.Errorf("%d %s", n, q.what)
		}
	}
	if n := s.count(`SELECT count(*) FROM certificates WHERE asset_id = $1 AND status = 'expired'`, expiredAsset); n != 2 {
		t.Errorf("%d certificates of the expired asset expired, want 2", n)
	}
	for _, id := range paid {
		if n := s.count(`SELECT count(*) FROM ledger_transactions WHERE source_id = $1 AND kind NOT IN ('deposit_forfeited')`, id); n != 1 {
			t.Errorf("order %s paid twice at once: %d ledger transactions, want 1", id, n)
		}
		if n := s.count(`SELECT count(*) FROM vouchers WHERE order_id = $1`, id) +
			s.count(`SELECT count(*) FROM audit_events WHERE action = 'voucher.issued' AND detail->>'order_id' = $1`, id); n != 2 {
			t.Errorf("order %s auto-confirmed: %d vouchers and audit rows, want one each", id, n)
		}
	}
	for _, id := range unpaid {
		if n := s.count(`SELECT count(*) FROM audit_events WHERE action = 'order.cancelled' AND resource_id = $1`, id) +
			s.count(`SELECT count(*) FROM ledger_transactions WHERE kind = 'deposit_forfeited' AND source_id = $1`, id); n != 2 {
			t.Errorf("order %s cancelled unpaid: %d cancellations and forfeitures, want one each", id, n)
		}
	}
	for what, sql := range map[string]string{
		"entries parked":                       `SELECT count(*) FROM projection_parked`,
		"deposits held on auctions that ended": `SELECT count(*) FROM auction_deposits d JOIN auctions a ON a.id = d.auction_id WHERE a.status <> 'open' AND d.outcome = 'held'`,
		"trades without exactly one order":     `SELECT count(*) FROM trades t WHERE (SELECT count(*) FROM settlement_orders o WHERE o.trade_id = t.id) <> 1`,
		"ledger postings twice for one source": `SELECT count(*) FROM (SELECT 1 FROM ledger_transactions WHERE kind NOT LIKE 'deposit_re%'
			GROUP BY kind, source_id HAVING count(*) > 1) x`,
		"vouchers twice for an order": `SELECT count(*) FROM (SELECT 1 FROM vouchers GROUP BY order_id HAVING count(*) > 1) x`,
	} {
		if n := s.count(sql); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	if n := s.backlog(); n != 0 {
		t.Errorf("%d engine events not projected", n)
	}
}

// assertFeeds: every subscription on a process that lived through the run saw each acknowledged
// bid once and the close once.
func (s *scaleOut) assertFeeds(feeds []*feed, auctions []string, stopped, killed string, acked []atomic.Int64) {
	index := map[string]int{}
	for i, id := range auctions {
		index[id] = i
	}
	checked := 0
	for _, f := range feeds {
		if f.proc == killed {
			continue
		}
		i := index[f.auction]
		ok := func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, times := range f.bids {
				if times != 1 {
					return false
				}
			}
			return f.closes == 1 && len(f.bids) == int(acked[i].Load())
		}
		// The feed is live: it may trail the database by a moment.
		s.waitFor(10*time.Second, fmt.Sprintf("the feed of %s on %s: every bid and the close", f.auction, f.proc), ok)
		checked++
	}
	s.t.Logf("%d feeds on the survivors saw every bid once and the close once", checked)
}

// waitFor polls cond until it holds, up to limit; state, if given, says what was seen last.
func (s *scaleOut) waitFor(limit time.Duration, what string, cond func() bool, state ...func() string) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			seen := ""
			for _, f := range state {
				seen = ": " + f()
			}
			s.t.Fatalf("%s: not within %s%s", what, limit, seen)
		}
		time.Sleep(50 * time.Millisecond) // polling pace
	}
}

// pids are the venue processes' ids (their projectors' consumer names end with them).
func (s *scaleOut) pids() []int {
	var out []int
	for _, p := range s.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// lags describes the shards whose events wait for PostgreSQL.
func (s *scaleOut) lags() string {
	lags, err := matching.Lag(context.Background(), s.rdb, venueKeys, "", time.Now())
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range lags {
		if l.Entries > 0 {
			groups, _ := s.rdb.XInfoGroups(context.Background(), venueKeys.Events(l.Shard)).Result()
			pending, _ := s.rdb.XPending(context.Background(), venueKeys.Events(l.Shard), "pg").Result()
			length, _ := s.rdb.XLen(context.Background(), venueKeys.Events(l.Shard)).Result()
			out = append(out, fmt.Sprintf("shard %d: %d entries, oldest %s (stream %d long, groups %+v, pending %+v)",
				l.Shard, l.Entries, l.Oldest.Round(time.Millisecond), length, groups, pending))
		}
	}
	return fmt.Sprint(out)
}

func (s *scaleOut) count(sql string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (s *scaleOut) strings(sql string, args ...any) []string {
	s.t.Helper()
	rows, err := s.db.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func (s *scaleOut) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

// backlog is how many engine events wait in Redis for PostgreSQL, over every shard.
func (s *scaleOut) backlog() int64 {
	lags, err := matching.Lag(context.Background(), s.rdb, venueKeys, "", time.Now())
	if err != nil {
		return -1
	}
	var n int64
	for _, l := range lags {
		n += l.Entries
	}
	return n
}

// balancer stands for the load balancer in front of the venue's processes: round robin over
// those that accept connections; one that refuses a connection is left out for a second (a
// health check's job). A request that never reached a process goes to the next.
type balancer struct {
	addrs     []string
	rt        http.RoundTripper
	next      atomic.Uint64
	mu        sync.Mutex
	downUntil []time.Time
	count     []atomic.Int64
}

func newBalancer(addrs []string) *balancer {
	return &balancer{addrs: addrs, rt: &http.Transport{MaxIdleConnsPerHost: 64}, downUntil: make([]time.Time, len(addrs)),
		count: make([]atomic.Int64, len(addrs))}
}

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	lastErr := errors.New("balancer: no process is up")
	for try := 0; try < 2*len(b.addrs); try++ {
		i := int(b.next.Add(1) % uint64(len(b.addrs)))
		b.mu.Lock()
		down := time.Now().Before(b.downUntil[i])
		b.mu.Unlock()
		if down {
			continue
		}
		out := req.Clone(req.Context())
		out.URL.Host, out.Host = b.addrs[i], b.addrs[i]
		if try > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		resp, err := b.rt.RoundTrip(out)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			b.mu.Lock()
			b.downUntil[i] = time.Now().Add(time.Second)
			b.mu.Unlock()
			lastErr = err
			continue
		}
		if err == nil {
			b.count[i].Add(1)
		}
		return resp, err
	}
	return nil, lastErr
}

// served is how many requests each process answered.
func (b *balancer) served() []int64 {
	out := make([]int64, len(b.count))
	for i := range b.count {
		out[i] = b.count[i].Load()
	}
	return out
}
