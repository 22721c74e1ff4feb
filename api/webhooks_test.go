package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// These tests play integrators: a receiver verifies each delivery's signature as the README
// says, and the worker is driven with RunOnce under a clock the test moves (no sleeps).

// worldClock is the time of both the worker and the receivers: the real time moved ahead.
type worldClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *worldClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

func (c *worldClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// receiver is an integrator's endpoint. answer decides the status of each request (nil: 204);
// a delivery is recorded when its signature verifies and the answer is 2xx, or when keep says
// the receiver processed it before failing (which makes the retry a duplicate).
type receiver struct {
	t        *testing.T
	clock    *worldClock
	secret   string
	mu       sync.Mutex
	got      []webhooks.Envelope
	bad      int
	requests int
	answer   func(n int, e webhooks.Envelope) (status int, keep bool)
	ln       net.Listener
	srv      *http.Server
	addr     string
}

func newReceiver(t *testing.T, clock *worldClock) *receiver {
	t.Helper()
	r := &receiver{t: t, clock: clock}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.start(ln)
	t.Cleanup(func() { r.down() })
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hooks" }

func (r *receiver) start(ln net.Listener) {
	r.ln, r.srv = ln, &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
}

// down closes the listener: connections are refused until up.
func (r *receiver) down() {
	if r.srv != nil {
		_ = r.srv.Close()
		r.srv = nil
	}
}

// up listens again on the same address.
func (r *receiver) up() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.start(ln)
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var e webhooks.Envelope
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err := webhooks.Verify([]byte(r.secret), body, req.Header.Get(webhooks.SignatureHeader), r.clock.Now(), webhooks.Tolerance); err != nil ||
		json.Unmarshal(body, &e) != nil || req.Header.Get("Datavenue-Event-Id") != e.ID {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status, keep := http.StatusNoContent, true
	if r.answer != nil {
		status, keep = r.answer(r.requests, e)
	}
	if keep || status/100 == 2 {
		r.got = append(r.got, e)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	w.WriteHeader(status)
}

func (r *receiver) received() []webhooks.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad > 0 {
		r.t.Errorf("%d deliveries to %s did not verify", r.bad, r.addr)
	}
	return slices.Clone(r.got)
}

func types(es []webhooks.Envelope) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

// inOrderPerResource fails unless every event arrived after every earlier event of its
// resource (duplicates allowed).
func inOrderPerResource(t *testing.T, es []webhooks.Envelope) {
	t.Helper()
	seen := map[string]map[int64]bool{}
	all := map[string][]int64{}
	for _, e := range es {
		all[e.Resource.Type+":"+e.Resource.ID] = append(all[e.Resource.Type+":"+e.Resource.ID], e.Sequence)
	}
	for _, e := range es {
		key := e.Resource.Type + ":" + e.Resource.ID
		if seen[key] == nil {
			seen[key] = map[int64]bool{}
		}
		for _, s := range all[key] {
			if s < e.Sequence && !seen[key][s] {
				t.Errorf("%s %s (sequence %d) arrived before sequence %d of the same resource", e.Type, key, e.Sequence, s)
			}
		}
		seen[key][e.Sequence] = true
	}
}

// webhookMarket is a won English auction's market with subscriptions made (by subscribe) before
// the auction closes: buyerOrg wins, secondBuyer loses, operatorOrg sells, govHolder holds.
func webhookMarket(t *testing.T, subscribe func(m *market)) (*market, settlement.Order) {
	t.Helper()
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	if _, err := m.db.Parties().CreateOrganisation(datavenue.WithCaller(ctx, audit.SystemCaller), parties.Registration{ID: secondBuyer,
		USCC: uscc(t, 11), Name: "港口物流", Kind: parties.KindBuyer}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, m.do("PUT", "/v1/products/"+auc.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)
	subscribe(m)
	e := m.engine()
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	for _, b := range []datavenue.OrgID{buyerOrg, secondBuyer} {
		mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": b, "ref": "dep-" + string(b)}), 201)
	}
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, secondBuyer), map[string]any{"amount": "9000.00"}), 201)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "9100.00"}), 201)
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	orders := decode[api.Page[settlement.Order]](t, m.do("GET", "/v1/orders", clerk, nil))
	if len(orders.Data) != 1 {
		t.Fatalf("orders = %+v", orders.Data)
	}
	return m, orders.Data[0]
}

// settle pays, delivers and confirms the order, running the worker after each step.
func settle(t *testing.T, m *market, o settlement.Order, run func()) {
	t.Helper()
	run()
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", m.as(datavenue.RoleClerk, venueOrg), map[string]any{"reference": "wh-" + o.ID}), 200)
	run()
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", m.as(datavenue.RoleOperator, operatorOrg),
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("0a", 32)}), 200)
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/confirm", m.as(datavenue.RoleBuyer, buyerOrg), nil), 201)
	run()
}

// subscribeAll subscribes org's receiver to every event type, through the API as checked against
// the OpenAPI document, and gives the receiver the secret the answer carried.
func subscribeAll(t *testing.T, c checked, org datavenue.OrgID, role datavenue.Role, r *receiver) webhooks.Subscription {
	t.Helper()
	resp := c.json("POST", "/v1/webhooks/subscriptions", c.as(role, org), map[string]any{"url": r.url(), "events": webhooks.Types,
		"description": "ERP of " + string(org)}, "Idempotency-Key", "sub-"+string(org))
	mustStatus(t, resp, 201)
	s := decode[webhooks.Subscription](t, resp)
	if s.Secret == "" || resp.header.Get("Location") != "/v1/webhooks/subscriptions/"+s.ID {
		t.Fatalf("subscription %+v, Location %q", s, resp.header.Get("Location"))
	}
	r.secret = s.Secret
	return s
}

func newWorker(m *market, clock *worldClock) *webhooks.Worker {
	return &webhooks.Worker{Queue: m.db.Webhooks(), Client: webhooks.NewClient(5*time.Second, true), Clock: clock, Secrets: m.keys}
}

func runWorker(t *testing.T, w *webhooks.Worker) webhooks.RunStats {
	t.Helper()
	stats, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// A trade through to its voucher, and its obligations: each organisation's receiver gets the
// events that concern it, signed, in order, and another organisation's gets none.
func TestWebhooksEndToEnd(t *testing.T) {
	clock := &worldClock{}
	recv := map[datavenue.OrgID]*receiver{}
	var c checked
	m, o := webhookMarket(t, func(m *market) {
		_, raw := openAPIDocument(t, m.venue)
		_, router := loadSpec(t, raw)
		c = checked{venue: m.venue, router: router}
		for org, role := range map[datavenue.OrgID]datavenue.Role{buyerOrg: datavenue.RoleBuyer, operatorOrg: datavenue.RoleOperator,
			govHolder: datavenue.RoleOperator, secondBuyer: datavenue.RoleBuyer, otherOrg: datavenue.RoleBuyer} {
			recv[org] = newReceiver(t, clock)
			subscribeAll(t, c, org, role, recv[org])
		}
	})
	w := newWorker(m, clock)
	settle(t, m, o, func() { runWorker(t, w) })

	// Obligations: announced due and overdue by the scan (once, however often it runs), and
	// remitted by the bulk announcement the statement import calls.
	ctx := context.Background()
	far := o.TradedOn.AddDays(365)
	for range 2 {
		if _, err := m.db.Webhooks().AnnounceObligations(ctx, far, far); err != nil {
			t.Fatal(err)
		}
	}
	// The statement that pays it off, imported twice (the second time its slip is a duplicate).
	var obligation, code, amount string
	if err := m.db.Pool.QueryRow(ctx, `SELECT id, payment_code, amount::text FROM obligations WHERE kind = 'treasury_remittance'`).Scan(&obligation, &code, &amount); err != nil {
		t.Fatal(err)
	}
	today := civil.Of(time.Now()).String()
	statement := "缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\nWH1," + code + ",市交通运输局," + amount + "," + today + ",市级国库\n"
	for range 2 {
		mustStatus(t, m.importStatement(m.as(datavenue.RoleClerk, venueOrg), "csv", "period_end="+today, []byte(statement)), 201)
	}
	var status string
	if err := m.db.Pool.QueryRow(ctx, `SELECT status FROM obligations WHERE id = $1`, obligation).Scan(&status); err != nil || status != "remitted" {
		t.Fatalf("obligation %s after the statement: %s (%v)", obligation, status, err)
	}
	runWorker(t, w)

	orderEvents := []string{webhooks.AuctionClosed, webhooks.OrderCreated, webhooks.PaymentRecorded, webhooks.VoucherIssued}
	for org, want := range map[datavenue.OrgID][]string{buyerOrg: orderEvents, operatorOrg: orderEvents, secondBuyer: {webhooks.AuctionClosed}, otherOrg: nil} {
		got := recv[org].received()
		inOrderPerResource(t, got)
		// Events of different resources (the auction, the order) may arrive in either order.
		slices.SortFunc(got, func(a, b webhooks.Envelope) int { return int(a.Sequence - b.Sequence) })
		if !slices.Equal(types(got), want) {
			t.Errorf("%s received %v, want %v", org, types(got), want)
		}
	}
	holder := recv[govHolder].received()
	inOrderPerResource(t, holder)
	slices.SortFunc(holder, func(a, b webhooks.Envelope) int { return int(a.Sequence - b.Sequence) })
	if len(holder) == 0 || holder[0].Type != webhooks.AuctionClosed {
		t.Fatalf("the holder received %v, want auction.closed first", types(holder))
	}
	counts := map[string]int{}
	for _, e := range holder[1:] {
		counts[e.Type]++
		var data struct {
			PartyID datavenue.OrgID `json:"party_id"`
			Amount  string          `json:"amount"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil || data.PartyID != govHolder || e.Resource.Type != "obligation" || !strings.Contains(data.Amount, ".") {
			t.Errorf("the holder received %s %s (%v): %s", e.Type, e.Resource.ID, err, e.Data)
		}
	}
	if counts[webhooks.ObligationDue] == 0 || counts[webhooks.ObligationDue] != counts[webhooks.ObligationOverdue] || counts[webhooks.ObligationRemitted] != 1 ||
		len(counts) != 3 {
		t.Errorf("the holder's obligation events: %v, want due and overdue once per obligation, remitted once", counts)
	}
	// The bulk announcement gives each event to the party webhooks.Recipients names.
	var orgs []string
	var party datavenue.OrgID
	if err := m.db.Pool.QueryRow(ctx, `SELECT e.orgs, o.party_id FROM webhook_events e JOIN obligations o ON o.id = e.resource_id
		WHERE e.type = 'obligation.remitted'`).Scan(&orgs, &party); err != nil {
		t.Fatal(err)
	}
	if want := webhooks.Recipients(webhooks.ObligationRemitted, webhooks.Parties{Obligated: party}); !slices.Equal(orgs, []string{string(want[0])}) || len(want) != 1 {
		t.Errorf("obligation.remitted went to %v, the rule says %v", orgs, want)
	}
	// The buyer's order events carry the order, in the envelope integrators deduplicate on.
	var data map[string]any
	buyerGot := recv[buyerOrg].received()
	slices.SortFunc(buyerGot, func(a, b webhooks.Envelope) int { return int(a.Sequence - b.Sequence) })
	_ = json.Unmarshal(buyerGot[2].Data, &data)
	if buyerGot[2].Resource != (webhooks.Resource{Type: "order", ID: o.ID}) || data["price"] != "9100.00" || data["buyer_id"] != string(buyerOrg) ||
		!datavenue.HasPrefix(buyerGot[2].ID, "evt") {
		t.Errorf("payment.recorded envelope %+v, data %v", buyerGot[2], data)
	}
	// The delivery log says what happened, and reads as the document says.
	subs := decode[api.Page[webhooks.Subscription]](t, c.json("GET", "/v1/webhooks/subscriptions", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if len(subs.Data) != 1 || subs.Data[0].Secret != "" {
		t.Fatalf("the buyer's subscriptions %+v (no secret after creation)", subs.Data)
	}
	log := decode[api.Page[webhooks.Delivery]](t, c.json("GET", "/v1/webhooks/subscriptions/"+subs.Data[0].ID+"/deliveries?status=delivered&limit=3",
		m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if len(log.Data) != 3 || log.NextCursor == "" || log.Data[0].EventType != webhooks.VoucherIssued || log.Data[0].Attempts != 1 || log.Data[0].DeliveredAt == nil {
		t.Fatalf("delivery log %+v", log)
	}
	rest := decode[api.Page[webhooks.Delivery]](t, c.json("GET", "/v1/webhooks/subscriptions/"+subs.Data[0].ID+"/deliveries?status=delivered&limit=3&cursor="+log.NextCursor,
		m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if len(rest.Data) != 1 || rest.Data[0].EventType != webhooks.AuctionClosed {
		t.Fatalf("second page %+v", rest)
	}
}

// A receiver that is down (its listener closed), then overloaded (503 with Retry-After), then
// back: every event arrives, none lost, in order per resource; a delivery it processed but
// answered 500 arrives twice (at least once), still in order.
func TestWebhooksSurviveAReceiverThatIsDown(t *testing.T) {
	clock := &worldClock{}
	var buyer, other *receiver
	m, o := webhookMarket(t, func(m *market) {
		_, raw := openAPIDocument(t, m.venue)
		_, router := loadSpec(t, raw)
		c := checked{venue: m.venue, router: router}
		buyer, other = newReceiver(t, clock), newReceiver(t, clock)
		subscribeAll(t, c, buyerOrg, datavenue.RoleBuyer, buyer)
		subscribeAll(t, c, otherOrg, datavenue.RoleBuyer, other)
		buyer.down()
	})
	w := newWorker(m, clock)
	settle(t, m, o, func() {
		if s := runWorker(t, w); s.Delivered != 0 {
			t.Errorf("delivered %d to a receiver that is down", s.Delivered)
		}
	})
	var pending int
	m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0`).Scan(&pending)
	if pending == 0 {
		t.Fatal("no delivery failed and waits for a retry")
	}
	// Back, but overloaded for three requests; then the payment is processed but answered 500.
	buyer.up()
	paymentFailedOnce := false
	buyer.answer = func(n int, e webhooks.Envelope) (int, bool) {
		switch {
		case n <= 3:
			return http.StatusServiceUnavailable, false
		case e.Type == webhooks.PaymentRecorded && !paymentFailedOnce:
			paymentFailedOnce = true
			return http.StatusInternalServerError, true
		}
		return http.StatusOK, false
	}
	deadline := 30
	for ; deadline > 0; deadline-- {
		clock.advance(time.Hour)
		runWorker(t, w)
		var left int
		m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'`).Scan(&left)
		if left == 0 {
			break
		}
	}
	if deadline == 0 {
		t.Fatal("deliveries still not delivered after 30 hours")
	}
	got := buyer.received()
	inOrderPerResource(t, got)
	ids := map[string]bool{}
	for _, e := range got {
		ids[e.ID] = true
	}
	var want []string
	rows, _ := m.db.Pool.Query(context.Background(), `SELECT e.id FROM webhook_events e JOIN webhook_deliveries d ON d.event_seq = e.seq
		JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE s.org_id = $1`, string(buyerOrg))
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		want = append(want, id)
	}
	if len(want) != 4 || len(ids) != len(want) || !paymentFailedOnce {
		t.Fatalf("received %d distinct events (%v) of %d (%v)", len(ids), types(got), len(want), want)
	}
	for _, id := range want {
		if !ids[id] {
			t.Errorf("event %s was lost", id)
		}
	}
	if n := strings.Count(strings.Join(types(got), " "), webhooks.PaymentRecorded); n != 2 {
		t.Errorf("payment.recorded arrived %d times, want twice (processed, answered 500, retried): %v", n, types(got))
	}
	if len(other.received()) != 0 {
		t.Errorf("another organisation received %v", types(other.received()))
	}
}

// A receiver that never accepts: the first event of the order is given up after the schedule,
// the later ones die with it (never delivered before it); a replay sends all three, in order.
func TestDeadWebhookDeliveryIsReplayed(t *testing.T) {
	clock := &worldClock{}
	var seller *receiver
	var c checked
	m, o := webhookMarket(t, func(m *market) {
		_, raw := openAPIDocument(t, m.venue)
		_, router := loadSpec(t, raw)
		c = checked{venue: m.venue, router: router}
		seller = newReceiver(t, clock)
		seller.answer = func(int, webhooks.Envelope) (int, bool) { return http.StatusInternalServerError, false }
		subscribeAll(t, c, operatorOrg, datavenue.RoleOperator, seller)
	})
	w := newWorker(m, clock)
	settle(t, m, o, func() { runWorker(t, w) })
	for range 40 {
		clock.advance(8 * time.Hour)
		runWorker(t, w)
	}
	op := m.as(datavenue.RoleOperator, operatorOrg)
	sub := decode[api.Page[webhooks.Subscription]](t, c.json("GET", "/v1/webhooks/subscriptions", op, nil)).Data[0]
	dead := decode[api.Page[webhooks.Delivery]](t, c.json("GET", "/v1/webhooks/subscriptions/"+sub.ID+"/deliveries?status=dead", op, nil)).Data
	byType := map[string]webhooks.Delivery{}
	for _, d := range dead {
		byType[d.EventType] = d
	}
	created, paid, voucher := byType[webhooks.OrderCreated], byType[webhooks.PaymentRecorded], byType[webhooks.VoucherIssued]
	if len(dead) != 4 || created.Attempts < 2 || created.LastStatus != 500 || !strings.HasPrefix(paid.LastError, "held back") ||
		!strings.HasPrefix(voucher.LastError, "held back") || paid.Attempts != 0 {
		t.Fatalf("dead deliveries %+v", dead)
	}
	if got := types(seller.received()); len(got) != 0 {
		t.Fatalf("the receiver kept %v", got)
	}
	// Who may replay: not an auditor, not a stranger; a pending one is not replayed twice.
	id := strconv.FormatInt(created.ID, 10)
	wantProblem(t, c.json("POST", "/v1/webhooks/deliveries/"+id+"/replay", m.as(datavenue.RoleAuditor, auditorOrg), nil), 403, "role_not_allowed")
	wantProblem(t, c.json("POST", "/v1/webhooks/deliveries/"+id+"/replay", m.as(datavenue.RoleBuyer, buyerOrg), nil), 404, "delivery_not_found")
	seller.answer = nil
	replayed := c.json("POST", "/v1/webhooks/deliveries/"+id+"/replay", op, nil, "Idempotency-Key", "replay-1")
	mustStatus(t, replayed, 200)
	if d := decode[webhooks.Delivery](t, replayed); d.Status != webhooks.Pending || d.Replays != 1 || d.Attempts != 0 {
		t.Fatalf("replayed %+v", d)
	}
	wantProblem(t, c.json("POST", "/v1/webhooks/deliveries/"+id+"/replay", op, nil), 409, "delivery_pending")
	runWorker(t, w)
	got := seller.received()
	if !slices.Equal(types(got), []string{webhooks.OrderCreated, webhooks.PaymentRecorded, webhooks.VoucherIssued}) {
		t.Fatalf("after the replay the receiver got %v", types(got))
	}
	// The auction's own event died alone; the venue's clerk replays it.
	closed := strconv.FormatInt(byType[webhooks.AuctionClosed].ID, 10)
	mustStatus(t, c.json("POST", "/v1/webhooks/deliveries/"+closed+"/replay", m.as(datavenue.RoleClerk, venueOrg), nil), 200)
	runWorker(t, w)
	if got := types(seller.received()); len(got) != 4 || got[3] != webhooks.AuctionClosed {
		t.Fatalf("after the clerk's replay: %v", got)
	}
}

// webhookVenue is a venue whose API calls are checked against its OpenAPI document, with a
// receiver on the world clock the worker signs by.
func webhookVenue(t *testing.T) (*venue, checked, *worldClock, *receiver) {
	v := newVenue(t)
	_, raw := openAPIDocument(t, v)
	_, router := loadSpec(t, raw)
	clock := &worldClock{}
	return v, checked{venue: v, router: router}, clock, newReceiver(t, clock)
}

// Subscriptions over the API: validation, who sees what, the secret once, ping, delete.
func TestWebhookSubscriptionsOverTheAPI(t *testing.T) {
	v, c, clock, r := webhookVenue(t)
	buyer := v.as(datavenue.RoleBuyer, buyerOrg)
	wantProblem(t, c.json("POST", "/v1/webhooks/subscriptions", buyer, map[string]any{"url": "ftp://x.test/", "events": []string{"order.eaten"}}), 422, "validation_failed")
	wantProblem(t, c.json("POST", "/v1/webhooks/subscriptions", v.as(datavenue.RoleAuditor, auditorOrg),
		map[string]any{"url": r.url(), "events": []string{webhooks.OrderCreated}}), 403, "role_not_allowed")
	s := subscribeAll(t, c, buyerOrg, datavenue.RoleBuyer, r)
	if got := decode[webhooks.Subscription](t, c.json("GET", "/v1/webhooks/subscriptions/"+s.ID, buyer, nil)); got.Secret != "" || got.URL != r.url() {
		t.Fatalf("read back %+v", got)
	}
	// The same request again (a client that timed out): the same subscription, and the secret is
	// not kept in the idempotency store (nor in its backups) to be shown a second time.
	retried := decode[webhooks.Subscription](t, c.json("POST", "/v1/webhooks/subscriptions", buyer, map[string]any{"url": r.url(), "events": webhooks.Types,
		"description": "ERP of " + string(buyerOrg)}, "Idempotency-Key", "sub-"+string(buyerOrg)))
	var kept int
	if err := v.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE position($1 in convert_from(body, 'UTF8')) > 0`,
		r.secret).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if retried.ID != s.ID || retried.Secret == r.secret || kept != 0 {
		t.Fatalf("replayed creation %+v (secret kept %d times)", retried, kept)
	}
	wantProblem(t, c.json("GET", "/v1/webhooks/subscriptions/"+s.ID, v.as(datavenue.RoleBuyer, otherOrg), nil), 404, "subscription_not_found")
	wantProblem(t, c.json("GET", "/v1/webhooks/subscriptions?org="+string(buyerOrg), v.as(datavenue.RoleBuyer, otherOrg), nil), 403, "role_not_allowed")
	if all := decode[api.Page[webhooks.Subscription]](t, c.json("GET", "/v1/webhooks/subscriptions", v.as(datavenue.RoleAuditor, auditorOrg), nil)); len(all.Data) != 1 {
		t.Fatalf("the auditor sees %d subscriptions", len(all.Data))
	}
	ping := c.json("POST", "/v1/webhooks/subscriptions/"+s.ID+"/ping", buyer, nil)
	mustStatus(t, ping, 201)
	d := decode[webhooks.Delivery](t, ping)
	w := &webhooks.Worker{Queue: v.db.Webhooks(), Client: webhooks.NewClient(5*time.Second, true), Clock: clock, Secrets: v.keys}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := decode[webhooks.Delivery](t, c.json("GET", "/v1/webhooks/deliveries/"+strconv.FormatInt(d.ID, 10), buyer, nil))
	if got.Status != webhooks.Delivered || len(r.received()) != 1 || r.received()[0].Type != webhooks.Ping {
		t.Fatalf("ping delivery %+v, received %v", got, types(r.received()))
	}
	wantProblem(t, c.json("GET", "/v1/webhooks/subscriptions/"+s.ID+"/deliveries?status=lost", buyer, nil), 422, "validation_failed")
	wantProblem(t, c.json("GET", "/v1/webhooks/deliveries/nope", buyer, nil), 404, "delivery_not_found")
	deleted := decode[webhooks.Subscription](t, c.json("DELETE", "/v1/webhooks/subscriptions/"+s.ID, buyer, nil, "Idempotency-Key", "del-1"))
	again := decode[webhooks.Subscription](t, c.json("DELETE", "/v1/webhooks/subscriptions/"+s.ID, buyer, nil))
	if deleted.Status != webhooks.StatusDeleted || deleted.DeletedAt == nil || again.Status != webhooks.StatusDeleted {
		t.Fatalf("deleted %+v, again %+v", deleted, again)
	}
	wantProblem(t, c.json("POST", "/v1/webhooks/subscriptions/"+s.ID+"/ping", buyer, nil), 409, "subscription_deleted")
	events, err := v.db.Audit().Events(context.Background(), audit.Filter{ResourceType: "webhook_subscription", ResourceID: s.ID})
	if err != nil || len(events) != 3 {
		t.Fatalf("audit of the subscription: %d events (%v), want subscribed, pinged, unsubscribed", len(events), err)
	}
	// A secret of the client's own choosing: the idempotency store keeps no plain SHA-256 of the
	// request (anyone with a dump could test guesses at a weak secret against it), only a keyed one.
	chosen := map[string]any{"url": r.url(), "events": []string{webhooks.OrderCreated}, "secret": "correct-horse-battery-staple"}
	mustStatus(t, c.json("POST", "/v1/webhooks/subscriptions", buyer, chosen, "Idempotency-Key", "chosen-secret"), 201)
	plain := sha256.Sum256(append([]byte("POST\x00/v1/webhooks/subscriptions\x00"), must(json.Marshal(chosen))...))
	var stored []byte
	if err := v.db.Pool.QueryRow(context.Background(), `SELECT request_hash FROM idempotency_keys WHERE key = 'chosen-secret'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored, plain[:]) {
		t.Fatal("the idempotency store keeps the plain SHA-256 of a request holding a client's secret")
	}
}

// A revoked authorisation suspends the product built on it: the operator and the holder hear of
// both (the suspension first: the suspender runs before the webhooks consumer), a buyer of the
// catalogue of neither; delivering the certificates outbox again announces nothing twice.
func TestRevocationAndSuspensionAreAnnounced(t *testing.T) {
	m := newMarket(t, nil)
	_, raw := openAPIDocument(t, m.venue)
	_, router := loadSpec(t, raw)
	c := checked{venue: m.venue, router: router}
	clock := &worldClock{}
	recv := map[datavenue.OrgID]*receiver{}
	for org, role := range map[datavenue.OrgID]datavenue.Role{operatorOrg: datavenue.RoleOperator, govHolder: datavenue.RoleOperator, buyerOrg: datavenue.RoleBuyer} {
		recv[org] = newReceiver(t, clock)
		subscribeAll(t, c, org, role, recv[org])
	}
	p := m.createProduct(nil)
	mustStatus(t, m.publish(p.ID), 200)
	mustStatus(t, m.do("POST", "/v1/authorisations/"+m.grant.ID+"/revoke", m.as(datavenue.RoleDataBureau, bureauOrg), map[string]any{"reason": "违规"}), 200)
	d := certificates.Dispatcher{Log: m.db.Certificates(), Consumers: []certificates.Consumer{listing.Suspender{Store: m.db.Listing(), Clock: datavenue.SystemClock{}},
		webhooks.CertificateEvents{Store: m.db.Webhooks()}}}
	for range 2 {
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		// A second delivery of the outbox to a new cursor announces nothing new.
		if _, err := m.db.Pool.Exec(context.Background(), `DELETE FROM event_cursors WHERE consumer = 'webhooks'`); err != nil {
			t.Fatal(err)
		}
	}
	runWorker(t, newWorker(m, clock))
	for _, org := range []datavenue.OrgID{operatorOrg, govHolder} {
		got := recv[org].received()
		slices.SortFunc(got, func(a, b webhooks.Envelope) int { return int(a.Sequence - b.Sequence) })
		if !slices.Equal(types(got), []string{webhooks.ProductSuspended, certificates.EventAuthorisationRevoked}) ||
			got[0].Resource.ID != p.ID || got[1].Resource != (webhooks.Resource{Type: "authorisation", ID: m.grant.ID}) {
			t.Errorf("%s received %+v", org, got)
		}
	}
	if got := recv[buyerOrg].received(); len(got) != 0 {
		t.Errorf("a buyer received %v", types(got))
	}
}

// A subscription's signing secret is stored sealed (under a key derived from the venue's signing
// keys, bound to the subscription): the database holds nothing that signs a delivery. A
// subscription stored with a readable secret before sealing was introduced is sealed once by the
// worker (audited) and its deliveries still verify under the secret its receiver holds; a venue
// running with other keys cannot open a sealed secret and says so in the delivery's log rather
// than signing with anything else.
func TestWebhookSecretsAreKeptSealed(t *testing.T) {
	v, c, clock, r := webhookVenue(t)
	ctx := context.Background()
	buyer := v.as(datavenue.RoleBuyer, buyerOrg)
	s := subscribeAll(t, c, buyerOrg, datavenue.RoleBuyer, r)
	var readable int
	if err := v.db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_subscriptions
		WHERE secret IS NOT NULL OR position($1 in secret_sealed) > 0`, r.secret).Scan(&readable); err != nil || readable != 0 {
		t.Fatalf("%d subscriptions hold a readable secret (%v)", readable, err)
	}

	// A subscription from before: its secret readable in the row.
	legacy := newReceiver(t, clock)
	legacy.secret = "legacy-secret-made-before-sealing-0001"
	legacyID := datavenue.NewID("whs")
	if _, err := v.db.Pool.Exec(ctx, `INSERT INTO webhook_subscriptions (id, org_id, url, events, secret, status, created_by)
		VALUES ($1, $2, $3, $4, $5, 'active', 'before')`, legacyID, string(buyerOrg), legacy.url(), []string{webhooks.Ping}, legacy.secret); err != nil {
		t.Fatal(err)
	}
	w := &webhooks.Worker{Queue: v.db.Webhooks(), Client: webhooks.NewClient(5*time.Second, true), Clock: clock, Secrets: v.keys}
	if n, err := w.SealSecrets(ctx); err != nil || n != 1 {
		t.Fatalf("sealed %d readable secrets (%v), want 1", n, err)
	}
	if n, err := w.SealSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("a second start sealed %d (%v), want 0", n, err)
	}
	if err := v.db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE secret IS NOT NULL OR position($1 in secret_sealed) > 0`,
		legacy.secret).Scan(&readable); err != nil || readable != 0 {
		t.Fatalf("after sealing, %d subscriptions hold a readable secret (%v)", readable, err)
	}
	events, err := v.db.Audit().Events(ctx, audit.Filter{ResourceType: "webhook_subscription", ResourceID: legacyID})
	if err != nil || len(events) != 1 || events[0].Action != "webhook.secret_sealed" {
		t.Fatalf("audit of the sealing: %+v (%v)", events, err)
	}
	for _, id := range []string{s.ID, legacyID} {
		mustStatus(t, c.json("POST", "/v1/webhooks/subscriptions/"+id+"/ping", buyer, nil), 201)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.received()) != 1 || len(legacy.received()) != 1 || r.bad+legacy.bad != 0 {
		t.Fatalf("pings verified: %d and %d (refused %d)", len(r.received()), len(legacy.received()), r.bad+legacy.bad)
	}

	// Another venue's keys open nothing: the attempt fails, and the log says why.
	other, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	d := decode[webhooks.Delivery](t, c.json("POST", "/v1/webhooks/subscriptions/"+s.ID+"/ping", buyer, nil))
	stranger := &webhooks.Worker{Queue: v.db.Webhooks(), Client: webhooks.NewClient(5*time.Second, true), Clock: clock, Secrets: other}
	if _, err := stranger.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := decode[webhooks.Delivery](t, c.json("GET", "/v1/webhooks/deliveries/"+strconv.FormatInt(d.ID, 10), buyer, nil))
	if got.Status == webhooks.Delivered || !strings.Contains(got.LastError, "signing secret") || len(r.received()) != 1 {
		t.Fatalf("a delivery under other keys: %+v, received %d", got, len(r.received()))
	}
}
