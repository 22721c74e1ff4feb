package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
)

// auctionMarket publishes an English-auction product (deposit required) and opens its auction.
func auctionMarket(t *testing.T, kind string) (*market, matching.Record) {
	t.Helper()
	m := newMarket(t, nil)
	p := m.createProduct(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "auction", "auction_kind": kind, "reserve": "9000.00", "increment": "100.00",
			"deposit": "500.00", "anti_snipe_minutes": 5,
			"start_at": time.Now().Add(time.Minute).Format(time.RFC3339), "end_at": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}
		p["deny_list"] = []datavenue.OrgID{otherOrg}
	})
	mustStatus(t, m.publish(p.ID), 200)
	op := m.as(datavenue.RoleOperator, operatorOrg)
	wantProblem(t, m.do("POST", "/v1/auctions", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"product_id": p.ID}), 403, "role_not_allowed")
	r := m.do("POST", "/v1/auctions", op, map[string]any{"product_id": p.ID})
	mustStatus(t, r, 201)
	rec := decode[matching.Record](t, r)
	// Opening again returns the open auction rather than a second one.
	again := decode[matching.Record](t, m.do("POST", "/v1/auctions", op, map[string]any{"product_id": p.ID}))
	if again.ID != rec.ID || rec.Reserve.String() != "9000.00" || rec.Deposit.String() != "500.00" || rec.AntiSnipeSec != 300 {
		t.Fatalf("auction = %+v, again %s", rec, again.ID)
	}
	return m, rec
}

func (m *market) engine() matching.Engine {
	return matching.Engine{Redis: m.redis.Client, Keys: matching.Keys{Prefix: m.redis.Prefix}}
}

func TestAuctionOverTheAPI(t *testing.T) {
	m, auc := auctionMarket(t, matching.English)
	path := "/v1/auctions/" + auc.ID
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	bid := func(token, key, amount string) response {
		return m.do("POST", path+"/bids", token, map[string]any{"amount": amount}, "Idempotency-Key", key)
	}
	wantProblem(t, bid(buyer, "k0", "9000.00"), 409, matching.ErrNotStarted)
	ctx := context.Background()
	if _, err := m.engine().AdvanceClock(ctx, auc.ID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, bid(buyer, "k1", "9000.00"), 403, matching.ErrDeposit)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	wantProblem(t, m.do("POST", path+"/deposits", buyer, map[string]any{"buyer": buyerOrg, "ref": "x"}), 403, "role_not_allowed")
	mustStatus(t, m.do("POST", path+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "银行流水 2026112601"}), 201)
	r := bid(buyer, "k1", "9000.00")
	mustStatus(t, r, 201)
	first := decode[matching.BidResult](t, r)
	// The same request again (a client retry): the same bid.
	if retry := decode[matching.BidResult](t, bid(buyer, "k1", "9000.00")); retry.Seq != first.Seq {
		t.Fatalf("retry got seq %d, first %d", retry.Seq, first.Seq)
	}
	wantProblem(t, bid(m.as(datavenue.RoleBuyer, otherOrg), "k2", "9500.00"), 403, matching.ErrDenied)
	wantProblem(t, bid(m.as(datavenue.RoleBuyer, "org_01JDEM00000000000000000077"), "k2", "9500.00"), 403, "organisation_unknown")
	wantProblem(t, bid(m.as(datavenue.RoleOperator, operatorOrg), "k3", "9500.00"), 403, "role_not_allowed")
	r = bid(buyer, "k4", "9050.00")
	wantProblem(t, r, 422, matching.ErrTooLow)
	if r.problem.Errors[0].Message != "the bid must be at least 9100.00" {
		t.Fatalf("message = %q", r.problem.Errors[0].Message)
	}
	wantProblem(t, bid(buyer, "k5", "9100.001"), 422, "validation_failed")
	view := decode[matching.View](t, m.do("GET", path, buyer, nil))
	if view.Live.Bids != 1 || view.Live.High.String() != "9000.00" || view.Live.Leader != buyerOrg {
		t.Fatalf("live state = %+v", view.Live)
	}
	// Past the end the auction closes, and the record gets the outcome (the closer's OnClose).
	m.engine().AdvanceClock(ctx, auc.ID, 3*time.Hour)
	svc := matching.Service{Store: m.db.Matching(), Engine: m.engine(), Clock: datavenue.SystemClock{}}
	o, err := svc.Engine.Close(ctx, auc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Closed(ctx, auc.ID, o); err != nil {
		t.Fatal(err)
	}
	view = decode[matching.View](t, m.do("GET", path, buyer, nil))
	if view.Status != "closed" || view.Outcome == nil || view.Outcome.Winner != buyerOrg || view.Outcome.Price.String() != "9000.00" {
		t.Fatalf("record after close = %+v", view.Record)
	}
	wantProblem(t, bid(buyer, "k6", "20000.00"), 409, matching.ErrClosed)
	trail := decode[api.Page[audit.Event]](t, m.do("GET", "/v1/audit-events?resource_type=auction&resource_id="+auc.ID, m.as(datavenue.RoleAuditor, auditorOrg), nil))
	if len(trail.Data) != 2 || trail.Data[0].Action != "auction.closed" || trail.Data[1].Action != "auction.opened" {
		t.Fatalf("auction audit = %+v", trail.Data)
	}
}

func TestSealedBidsStayHiddenUntilClose(t *testing.T) {
	m, auc := auctionMarket(t, matching.SealedSecond)
	ctx := context.Background()
	m.engine().AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "r1"}), 201)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "12345.67"}), 201)
	for _, line := range strings.Split(m.logs.String(), "\n") {
		if strings.Contains(line, "12345.67") || (strings.Contains(line, `/bids"`) && strings.Contains(line, string(buyerOrg))) {
			t.Fatalf("a log line names the sealed bidder or amount: %s", line)
		}
	}
	// Another bidder learns nothing of the first bid from its own answers, right or wrong.
	if _, err := m.db.Parties().CreateOrganisation(datavenue.WithCaller(ctx, audit.SystemCaller), parties.Registration{ID: secondBuyer,
		USCC: uscc(t, 11), Name: "港口物流", Kind: parties.KindBuyer}); err != nil {
		t.Fatal(err)
	}
	second := m.as(datavenue.RoleBuyer, secondBuyer)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": secondBuyer, "ref": "r2"}), 201)
	answers := []response{
		m.do("POST", "/v1/auctions/"+auc.ID+"/bids", second, map[string]any{"amount": "1.00"}), // below the reserve
		m.do("POST", "/v1/auctions/"+auc.ID+"/bids", second, map[string]any{"amount": "12345.66"}),
		m.do("POST", "/v1/auctions/"+auc.ID+"/bids", second, map[string]any{"amount": "12345.68"}), // a second sealed bid
		m.do("GET", "/v1/products/"+auc.ProductID+"/guidance", second, nil),
		m.do("GET", "/metrics", m.as(datavenue.RoleAuditor, auditorOrg), nil),
	}
	// The projection has copied the bid to PostgreSQL meanwhile: it must not show from there either.
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: m.engine().Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	answers = append(answers, m.do("GET", "/v1/audit-events?resource_type=auction&resource_id="+auc.ID, m.as(datavenue.RoleAuditor, auditorOrg), nil))
	// The whole trail names the buyer (it registered, a clerk took its deposit) but no bid amount.
	if trail := m.do("GET", "/v1/audit-events?limit=200", m.as(datavenue.RoleAuditor, auditorOrg), nil); strings.Contains(string(trail.body), "12345.6") {
		t.Fatalf("the audit trail shows a sealed amount: %s", trail.body)
	}
	for i, r := range answers {
		if body := string(r.body); strings.Contains(body, "12345.67") || strings.Contains(body, string(buyerOrg)) {
			t.Fatalf("answer %d (%d) reveals the sealed bid or its bidder: %s", i, r.status, body)
		}
	}
	for _, who := range []string{m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleAuditor, auditorOrg), second} {
		r := m.do("GET", "/v1/auctions/"+auc.ID, who, nil)
		if body := string(r.body); strings.Contains(body, "12345.67") || strings.Contains(body, `"leader"`) || strings.Contains(body, `"high"`) {
			t.Fatalf("a sealed amount or bidder leaks: %s", body)
		}
		wantProblem(t, m.do("GET", "/v1/auctions/"+auc.ID+"/bids", who, nil), 403, "sealed_until_close")
	}
	m.engine().AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := m.engine().Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	history := decode[[]matching.HistoryEntry](t, m.do("GET", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleAuditor, auditorOrg), nil))
	if len(history) < 2 || history[0].Amount.String() != "12345.67" {
		t.Fatalf("revealed history = %+v", history)
	}
	// After the close the whole list goes to the bidders, the operator and the supervisors; any
	// other caller sees the outcome on the auction, not who bid what (issue 11, finding 11).
	for _, who := range []string{second, m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg),
		m.as(datavenue.RoleClerk, venueOrg), m.as(datavenue.RoleDataBureau, bureauOrg)} {
		mustStatus(t, m.do("GET", "/v1/auctions/"+auc.ID+"/bids", who, nil), 200)
	}
	for _, who := range []string{m.as(datavenue.RoleBuyer, otherOrg), m.as(datavenue.RoleOperator, govHolder), m.as(datavenue.RoleAppraiser, appraiserOrg)} {
		wantProblem(t, m.do("GET", "/v1/auctions/"+auc.ID+"/bids", who, nil), 403, "bids_not_yours")
	}
	view := decode[matching.View](t, m.do("GET", "/v1/auctions/"+auc.ID, m.as(datavenue.RoleBuyer, otherOrg), nil))
	if view.Live.Outcome == nil || view.Live.Outcome.Result != "won" || !view.Live.Outcome.Price.Decimal().IsPositive() {
		t.Fatalf("the outcome to a non-bidder: %+v", view.Live.Outcome)
	}
}

func TestCancellationStopsBidding(t *testing.T) {
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	m.engine().AdvanceClock(ctx, auc.ID, 2*time.Minute)
	mustStatus(t, m.do("POST", "/v1/certificates/"+m.assetCert.ID+"/cancel", m.as(datavenue.RoleOperator, govHolder), map[string]any{"reason": "数据灭失"}), 200)
	svc := matching.Service{Store: m.db.Matching(), Engine: m.engine(), Clock: datavenue.SystemClock{}}
	d := certificates.Dispatcher{Log: m.db.Certificates(), Consumers: []certificates.Consumer{
		listing.Suspender{Store: m.db.Listing(), Clock: datavenue.SystemClock{}}, matching.Stopper{Service: svc}}}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	view := decode[matching.View](t, m.do("GET", "/v1/auctions/"+auc.ID, m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if view.Status != "stopped" || view.Live.Status != "stopped" || view.StopReason == "" {
		t.Fatalf("after cancellation: record %s (%s), live %s", view.Status, view.StopReason, view.Live.Status)
	}
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	wantProblem(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "r"}), 409, matching.ErrClosed)
}

func TestProjectionCopiesEngineEventsOnce(t *testing.T) {
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	e := m.engine()
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	for _, b := range []datavenue.OrgID{buyerOrg, stateHolder} {
		mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": b, "ref": "r-" + string(b)}), 201)
	}
	// stateHolder is not a party to this product (the holder is govHolder): it may bid.
	for i, bid := range []struct {
		buyer  datavenue.OrgID
		amount string
	}{{buyerOrg, "9000.00"}, {stateHolder, "9100.00"}, {buyerOrg, "9300.00"}} {
		mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, bid.buyer), map[string]any{"amount": bid.amount},
			"Idempotency-Key", "p"+string(rune('0'+i))), 201)
	}
	// A projector that read entries and died before acknowledging them.
	group := "pg"
	for shard := 0; shard < matching.Shards; shard++ {
		m.redis.Client.XGroupCreateMkStream(ctx, e.Keys.Events(shard), group, "0")
		m.redis.Client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "dead", Streams: []string{e.Keys.Events(shard), ">"}, Count: 2, Block: -1})
	}
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	p := matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "live", ReclaimAfter: 0}
	n, err := p.RunOnce(ctx)
	if err != nil || n < 7 { // open, 2 deposits, 3 bids, close
		t.Fatalf("first pass applied %d (%v)", n, err)
	}
	if n, _ := p.RunOnce(ctx); n != 0 {
		t.Fatalf("second pass applied %d more", n)
	}
	// Acknowledged entries are trimmed from the streams; none is left behind.
	left := int64(0)
	for shard := 0; shard < matching.Shards; shard++ {
		n, _ := m.redis.Client.XLen(ctx, e.Keys.Events(shard)).Result()
		left += n
	}
	if left != 0 {
		t.Fatalf("%d entries left in the streams after projection", left)
	}
	// Redelivery of an entry (as after a crash between commit and ack) changes nothing.
	var first string
	if err := m.db.Pool.QueryRow(ctx, `SELECT stream || ' ' || event_id FROM projected_events ORDER BY applied_at LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	stream, id, _ := strings.Cut(first, " ")
	late, err := matching.DecodeEvent(stream, id, map[string]any{"type": "bid", "auction": auc.ID, "bid": "x", "seq": "99",
		"buyer": string(buyerOrg), "amount": "100", "at_ms": "1", "end_ms": "1", "bids": "9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.db.Matching().ApplyEvent(ctx, late); err != nil {
		t.Fatal(err)
	}
	var bids int
	var status, winner, price string
	m.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM auction_bids WHERE auction_id = $1), status, winner_id, price::text
		FROM auctions WHERE id = $1`, auc.ID).Scan(&bids, &status, &winner, &price)
	if bids != 3 || status != "closed" || winner != string(buyerOrg) || price != "9300.00" {
		t.Fatalf("projected: %d bids, %s, winner %s at %s", bids, status, winner, price)
	}
	rows, _ := m.db.Pool.Query(ctx, `SELECT buyer_id, outcome FROM auction_deposits WHERE auction_id = $1 ORDER BY buyer_id`, auc.ID)
	deposits := map[string]string{}
	for rows.Next() {
		var b, o string
		rows.Scan(&b, &o)
		deposits[b] = o
	}
	if deposits[string(buyerOrg)] != "apply" || deposits[string(stateHolder)] != "release" {
		t.Fatalf("deposits = %v", deposits)
	}
}

// readEvents reads SSE events from a live feed until want returns true or the stream ends.
func readEvents(t *testing.T, body *bufio.Reader, want func(event, data string) bool) {
	t.Helper()
	event := ""
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			t.Fatalf("feed ended before the expected event: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if want(event, strings.TrimPrefix(line, "data: ")) {
				return
			}
		}
	}
}

func openFeed(t *testing.T, m *market, base, auctionID, token string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/auctions/"+auctionID+"/feed", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 10 * time.Second} // bounds a test that would otherwise hang
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	readEvents(t, r, func(event, _ string) bool { return event == "ready" })
	return r
}

func TestLiveFeed(t *testing.T) {
	for _, kind := range []string{matching.English, matching.SealedFirst} {
		t.Run(kind, func(t *testing.T) {
			m, auc := auctionMarket(t, kind)
			ctx := context.Background()
			m.engine().AdvanceClock(ctx, auc.ID, 2*time.Minute)
			base := m.serve()
			buyer := m.as(datavenue.RoleBuyer, buyerOrg)
			feed := openFeed(t, m, base, auc.ID, m.as(datavenue.RoleBuyer, otherOrg))
			clerk := m.as(datavenue.RoleClerk, venueOrg)
			mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "r"}), 201)
			mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", buyer, map[string]any{"amount": "9876.54"}), 201)
			readEvents(t, feed, func(event, data string) bool {
				if event != "bid" {
					return false
				}
				revealed := strings.Contains(data, "9876.54") || strings.Contains(data, string(buyerOrg))
				if kind == matching.English && !revealed {
					t.Fatalf("English bid event lacks amount and bidder: %s", data)
				}
				if kind != matching.English && (revealed || !strings.Contains(data, `"bids":1`)) {
					t.Fatalf("sealed bid event: %s", data)
				}
				return true
			})
			m.engine().AdvanceClock(ctx, auc.ID, 3*time.Hour)
			if _, err := m.engine().Close(ctx, auc.ID); err != nil {
				t.Fatal(err)
			}
			readEvents(t, feed, func(event, data string) bool {
				if event == "close" && !strings.Contains(data, `"winner":"`+string(buyerOrg)+`"`) {
					t.Fatalf("close event: %s", data)
				}
				return event == "close"
			})
		})
	}
}

func TestOpenAuctionsAreRebuiltFromPostgreSQLAfterRedisLosesThem(t *testing.T) {
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	e := m.engine()
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "r"}), 201)
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	var last matching.BidResult
	for i, amount := range []string{"9000.00", "9100.00", "9250.00"} {
		r := m.do("POST", "/v1/auctions/"+auc.ID+"/bids", buyer, map[string]any{"amount": amount}, "Idempotency-Key", fmt.Sprint("r", i))
		mustStatus(t, r, 201)
		last = decode[matching.BidResult](t, r)
	}
	proj := matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}
	if _, err := proj.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Redis loses everything of this venue.
	keys, _ := m.redis.Client.Keys(ctx, m.redis.Prefix+"*").Result()
	m.redis.Client.Del(ctx, keys...)
	wantProblem(t, m.do("GET", "/v1/auctions/"+auc.ID, buyer, nil), 404, matching.ErrNotFound)

	svc := matching.Service{Store: m.db.Matching(), Engine: e, Clock: datavenue.SystemClock{}}
	if n, err := svc.Restore(ctx, m.db.Matching()); err != nil || n != 1 {
		t.Fatalf("restore: %d, %v", n, err)
	}
	if n, _ := svc.Restore(ctx, m.db.Matching()); n != 0 {
		t.Fatalf("a second restore rebuilt %d", n)
	}
	st, err := e.State(ctx, auc.ID)
	if err != nil || st.Bids != 3 || st.High.String() != "9250.00" || st.Leader != buyerOrg || st.Status != "open" {
		t.Fatalf("restored state = %+v %v", st, err)
	}
	// A retry of an acknowledged bid is still that bid; bidding goes on from where it was,
	// with the deposit still recorded. (The rebuilt auction runs on Redis time again; the test
	// moves its clock past the start once more.)
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	r := m.do("POST", "/v1/auctions/"+auc.ID+"/bids", buyer, map[string]any{"amount": "9250.00"}, "Idempotency-Key", "r2")
	if got := decode[matching.BidResult](t, r); got.Seq != last.Seq {
		t.Fatalf("retry after restore: %+v, want seq %d", got, last.Seq)
	}
	wantProblem(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", buyer, map[string]any{"amount": "9300.00"}, "Idempotency-Key", "r3"), 422, matching.ErrTooLow)
	r = m.do("POST", "/v1/auctions/"+auc.ID+"/bids", buyer, map[string]any{"amount": "9350.00"}, "Idempotency-Key", "r4")
	mustStatus(t, r, 201)
	if got := decode[matching.BidResult](t, r); got.Seq != last.Seq+1 {
		t.Fatalf("next bid seq %d, want %d", got.Seq, last.Seq+1)
	}
}

// A live feed lasts as long as its client reads it, well past the server's write timeout (it was
// cut at 30.0 s), with keep-alives; an organisation holds a bounded number of feeds open (issue
// 11, finding 8). Here the write timeout is 1 s and the heartbeat 100 ms.
func TestLiveFeedsOutliveTheWriteTimeout(t *testing.T) {
	saved := [3]any{writeTimeout, feedHeartbeat, feedsPerOrganisation}
	writeTimeout, feedHeartbeat, feedsPerOrganisation = time.Second, 100*time.Millisecond, 2
	m, auc := auctionMarket(t, matching.English)
	writeTimeout, feedHeartbeat, feedsPerOrganisation = saved[0].(time.Duration), saved[1].(time.Duration), saved[2].(int)
	base := m.serve()
	token := m.as(datavenue.RoleBuyer, otherOrg)
	feed := openFeed(t, m, base, auc.ID, token)
	start, keepAlives := time.Now(), 0
	for time.Since(start) < 3*time.Second { // three write timeouts
		line, err := feed.ReadString('\n')
		if err != nil {
			t.Fatalf("the feed ended after %s (%d keep-alives): %v", time.Since(start).Round(time.Millisecond), keepAlives, err)
		}
		if strings.HasPrefix(line, ": keep-alive") {
			keepAlives++
		}
	}
	if keepAlives < 10 {
		t.Fatalf("%d keep-alives in 3 s", keepAlives)
	}
	second := openFeed(t, m, base, auc.ID, token)
	req, _ := http.NewRequest("GET", base+"/v1/auctions/"+auc.ID+"/feed", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third feed of one organisation: %d", resp.StatusCode)
	}
	// Another organisation has its own allowance.
	openFeed(t, m, base, auc.ID, m.as(datavenue.RoleBuyer, buyerOrg))
	_ = second
}

// GET /v1/auctions lists auctions newest first, filtered and paged; a sealed auction's bids never
// show in the list (issue 12).
func TestListAuctions(t *testing.T) {
	m, auc := auctionMarket(t, matching.SealedFirst)
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	page := decode[api.Page[matching.Record]](t, m.do("GET", "/v1/auctions?status=open&kind=sealed_first", buyer, nil))
	if len(page.Data) != 1 || page.Data[0].ID != auc.ID {
		t.Fatalf("open sealed auctions: %+v", page.Data)
	}
	if none := decode[api.Page[matching.Record]](t, m.do("GET", "/v1/auctions?status=closed", buyer, nil)); len(none.Data) != 0 {
		t.Fatalf("closed auctions: %+v", none.Data)
	}
	if byProduct := decode[api.Page[matching.Record]](t, m.do("GET", "/v1/auctions?product_id="+auc.ProductID+"&limit=1", buyer, nil)); len(byProduct.Data) != 1 || byProduct.NextCursor != "" {
		t.Fatalf("by product: %+v", byProduct)
	}
	wantProblem(t, m.do("GET", "/v1/auctions?status=won", buyer, nil), 422, "validation_failed")
	wantProblem(t, m.do("GET", "/v1/auctions", "", nil), 401, "token_missing")
}
