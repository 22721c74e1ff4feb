package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
)

// waitUntil polls cond until it holds or limit passes: the test waits for the venue's own
// background projection, which it cannot drive.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An engine event that can never be applied (a bid on an auction PostgreSQL does not have, as the
// old benchmark wrote; a price that does not decode) sits at the head of every shard. Trading goes
// on: a negotiated trade becomes an order within seconds, whatever its shard; the bad entries are
// parked, listed (bids sealed), counted in the metrics, reported by /readyz and by `datavenue
// check`; a parked entry whose cause is repaired applies on retry, once.
func TestUnappliableEntriesAreParkedAndTradingGoesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("a venue process")
	}
	v := newTestVenue(t, map[string]string{"DATAVENUE_PROJECTION_LAG_LIMIT": "2s"})
	r := venueRedis(t, v.env) // the venue's own Redis: the single one or the cluster
	ctx := context.Background()
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	for shard := 0; shard < matching.Shards; shard++ {
		if err := r.XAdd(ctx, &redis.XAddArgs{Stream: venueKeys.Events(shard), Values: []string{"type", "bid",
			"auction", fmt.Sprintf("auc_01JGHOSTAUCTION%011d", shard), "bid", "ghost", "seq", "1", "buyer", string(demoID(6)),
			"amount", "100000", "at_ms", now, "end_ms", now, "bids", "1"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.XAdd(ctx, &redis.XAddArgs{Stream: venueKeys.Events(3), Values: []string{"type", "negotiation",
		"negotiation", "neg_01JUNDECODABLE000000000000", "status", "offered", "price", "abc", "at_ms", now}}).Err(); err != nil {
		t.Fatal(err)
	}
	// Repairable: a negotiation of a buyer PostgreSQL does not know (yet).
	ghostBuyer := datavenue.OrgID("org_01JGHOSTBUYER0000000000000")
	c := &venueclient.Client{Base: v.base, HTTP: &http.Client{Timeout: 30 * time.Second}, Out: io.Discard, Minter: v.mint}
	dv := c.API()
	cert, err := c.Certify()
	if err != nil {
		t.Fatal(err)
	}
	product, err := c.Publish(cert.Asset, cert.Scenario, "停滞测试协议定价数据", client.PricingInput{Method: client.PricingInputMethodNegotiation,
		ListPrice: venueclient.Ptr("12000.00"), MinPrice: venueclient.Ptr("9000.00"), MaxPrice: venueclient.Ptr("15000.00")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.XAdd(ctx, &redis.XAddArgs{Stream: venueKeys.Events(5), Values: []string{"type", "negotiation",
		"negotiation", "neg_01JREPAIRABLE0000000000000", "product", product.Id, "buyer", string(ghostBuyer), "seller", string(demoID(5)),
		"status", "offered", "action", "offer", "actor", string(ghostBuyer), "round", "1", "price", "950000", "at_ms", now}}).Err(); err != nil {
		t.Fatal(err)
	}

	// Trades in as many shards as it takes to cover several, each behind a bad entry.
	shards := map[int]bool{}
	var negotiations []string
	for len(shards) < 4 {
		neg, err := venueclient.Result[client.NegotiationView](dv.StartNegotiationWithResponse(ctx, nil,
			client.NegotiationInput{ProductId: product.Id, Amount: "12000.00"}, c.As(venueclient.BuyerA)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dv.MoveNegotiationWithResponse(ctx, neg.Id, nil, client.MoveInput{Action: client.MoveInputActionAccept}, c.As(venueclient.Operator)); err != nil {
			t.Fatal(err)
		}
		shards[matching.Shard(neg.Id)] = true
		negotiations = append(negotiations, neg.Id)
	}
	waitUntil(t, 10*time.Second, "every accepted negotiation an order", func() bool {
		var n int
		_ = v.db.Pool.QueryRow(ctx, `SELECT count(*) FROM settlement_orders o JOIN trades t ON t.id = o.trade_id WHERE t.source_id = ANY($1)`,
			negotiations).Scan(&n)
		return n == len(negotiations)
	})

	clerk := venueclient.Clerk
	var page client.PageOfParkedEntry
	waitUntil(t, 10*time.Second, "18 entries parked", func() bool {
		page, err = venueclient.Result[client.PageOfParkedEntry](dv.ListParkedEntriesWithResponse(ctx,
			&client.ListParkedEntriesParams{Status: venueclient.Ptr("parked"), Limit: venueclient.Ptr(500)}, c.As(clerk)))
		return err == nil && len(page.Data) == 18
	})
	byEvent := map[string]client.ParkedEntry{}
	for _, e := range page.Data {
		byEvent[e.Fields["auction"]+e.Fields["negotiation"]] = e
		if e.Status != "parked" || e.Error == "" {
			t.Errorf("parked entry %d: status %q, error %q", e.Id, e.Status, e.Error)
		}
		if e.Fields["type"] == "bid" && (e.Fields["amount"] != "(sealed)" || e.Fields["buyer"] != "(sealed)") {
			t.Errorf("a parked bid shows its amount or bidder through the API: %v", e.Fields)
		}
	}
	if e := byEvent["auc_01JGHOSTAUCTION00000000007"]; e.ErrorCode != "reference_not_found" || e.Shard != 7 {
		t.Errorf("the ghost bid of shard 7: %+v", e)
	}
	if e := byEvent["neg_01JUNDECODABLE000000000000"]; e.ErrorCode != "event_undecodable" {
		t.Errorf("the undecodable negotiation: %+v", e)
	}
	for _, role := range []datavenue.Role{datavenue.RoleBuyer, datavenue.RoleOperator} {
		_, err := dv.ListParkedEntriesWithResponse(ctx, nil, c.As(venueclient.Actor{Role: role, Org: demoID(6)}))
		if p, ok := asProblem(err); !ok || p.Status != 403 {
			t.Errorf("%s lists parked entries: %v", role, err)
		}
	}

	res, err := dv.MetricsWithResponse(ctx, c.As(clerk))
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(res.Body)
	if !strings.Contains(metrics, `datavenue_projection_parked_entries{shard="3"} 2`) ||
		!strings.Contains(metrics, `datavenue_projection_parked_entries{shard="7"} 1`) ||
		!strings.Contains(metrics, `datavenue_projection_failures_total{class="permanent"} 18`) {
		t.Errorf("metrics do not show the parked entries:\n%s", grepLines(metrics, "datavenue_projection"))
	}
	var ready api.Readiness
	if err := json.Unmarshal([]byte(get(t, v.base+"/readyz")), &ready); err != nil || ready.Status != "degraded" ||
		!strings.Contains(strings.Join(ready.Degraded, ";"), "shard 3: 2 parked entries") {
		t.Errorf("/readyz with parked entries: %+v %v", ready, err)
	}
	out, err := runCmd(t, v.env, "check")
	if err == nil || !strings.Contains(out, "FAIL  projection_nothing_parked") || !strings.Contains(out, "ok    projection_keeps_up") {
		t.Errorf("check with parked entries: %v\n%s", err, out)
	}

	// The repair: the buyer is registered (as an operator would, by hand), then a clerk retries.
	repairable := byEvent["neg_01JREPAIRABLE0000000000000"]
	retry := func() (client.ParkedEntry, error) {
		return venueclient.Result[client.ParkedEntry](dv.RetryParkedEntryWithResponse(ctx, strconv.Itoa(repairable.Id), nil, c.As(clerk)))
	}
	_, err = retry()
	if p, ok := asProblem(err); !ok || p.Status != 409 || p.Code != "parked_entry_still_fails" {
		t.Fatalf("retry before the repair: %v", err)
	}
	if _, err := v.db.Parties().CreateOrganisation(datavenue.WithCaller(ctx, audit.SystemCaller), parties.Registration{ID: ghostBuyer,
		USCC: venueclient.DemoUSCC("91350100MD0000001"), Name: "补登记买方", Kind: parties.KindBuyer}); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 2; attempt++ { // the second retry changes nothing
		if e, err := retry(); err != nil || e.Status != client.ParkedEntryStatusApplied || e.Attempts != 3 {
			t.Fatalf("retry %d after the repair: %+v %v", attempt+1, e, err)
		}
	}
	var moves int
	_ = v.db.Pool.QueryRow(ctx, `SELECT count(*) FROM negotiation_moves WHERE negotiation_id = 'neg_01JREPAIRABLE0000000000000'`).Scan(&moves)
	if moves != 1 {
		t.Errorf("the repaired negotiation has %d moves, want 1", moves)
	}
	out, err = runCmd(t, v.env, "parked", "list")
	if err != nil || !strings.Contains(out, "parked: 17 entries") || !strings.Contains(out, "auc_01JGHOSTAUCTION00000000007") {
		t.Errorf("datavenue parked list: %v\n%s", err, out)
	}
	out, err = runCmd(t, v.env, "parked", "show", strconv.Itoa(byEvent["auc_01JGHOSTAUCTION00000000007"].Id))
	if err != nil || !strings.Contains(out, `"amount": "100000"`) {
		t.Errorf("datavenue parked show (whole entry): %v\n%s", err, out)
	}
	orders, err := venueclient.Result[client.PageOfOrder](dv.ListOrdersWithResponse(ctx,
		&client.ListOrdersParams{Status: venueclient.Ptr("awaiting_payment"), Limit: venueclient.Ptr(500)}, c.As(clerk)))
	if err != nil || len(orders.Data) < len(negotiations) {
		t.Errorf("orders of the trades: %d, %v", len(orders.Data), err)
	}
	t.Logf("trades in shards %v became orders behind 18 unappliable entries; 17 parked, 1 repaired and applied", shardList(shards))
}

func asProblem(err error) (*venueclient.Problem, bool) {
	var p *venueclient.Problem
	ok := err != nil && errors.As(err, &p)
	return p, ok
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func shardList(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// recordedAuction opens an auction straight in the venue's engine for a fault test, with the
// record PostgreSQL needs first (a catalogue product of operator and the auctions row), as the
// venue itself does: the engine's events then project like any others and nothing is parked.
func recordedAuction(t *testing.T, db *postgres.DB, e matching.Engine, a matching.Auction) {
	t.Helper()
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	n := int(crc32.ChecksumIEEE([]byte(a.ID)) % 100000)
	if err := catalogueseed.Load(ctx, db.Pool, a.Operator, n, n+1); err != nil {
		t.Fatal(err)
	}
	a.ProductID = catalogueseed.Product(n, a.Operator, time.Time{}).ID
	if _, err := db.Pool.Exec(ctx, `INSERT INTO auctions (id, product_id, operator_id, kind, status, starts_at, ends_at, reserve, opening,
			increment, anti_snipe_s, deposit, revisable, price_version)
		VALUES ($1, $2, $3, $4, 'open', $5, $6, $7::numeric, $7::numeric, $8::numeric, 0, 0, $9, 1)`,
		a.ID, a.ProductID, string(a.Operator), a.Kind, a.Start, a.End, a.Reserve.String(), a.Increment.String(), a.Revisable); err != nil {
		t.Fatal(err)
	}
	if err := e.Open(ctx, a); err != nil {
		t.Fatal(err)
	}
}
