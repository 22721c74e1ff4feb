package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
)

// Bids and negotiations keep their idempotency in the engine, with the rules of every other route
// (issue 11, finding 3): a key is the caller's (issuer, organisation, subject), and the same key
// with another request is 422 idempotency_key_reused, the second request not made.
func TestBidAndNegotiationKeysAreScopedAndChecked(t *testing.T) {
	m, auc := auctionMarket(t, matching.English)
	path := "/v1/auctions/" + auc.ID
	if _, err := m.engine().AdvanceClock(context.Background(), auc.ID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, m.do("POST", path+"/deposits", m.as(datavenue.RoleClerk, venueOrg), map[string]any{"buyer": buyerOrg, "ref": "r1"}), 201)
	userA := m.as(datavenue.RoleBuyer, buyerOrg)
	userB, err := m.minter.Mint("user-b", datavenue.RoleBuyer, buyerOrg, time.Hour) // a colleague in the same organisation
	if err != nil {
		t.Fatal(err)
	}
	bid := func(token, key, amount string) response {
		return m.do("POST", path+"/bids", token, map[string]any{"amount": amount}, "Idempotency-Key", key)
	}
	first := decode[matching.BidResult](t, bid(userA, "same-key", "9000.00"))
	if replay := decode[matching.BidResult](t, bid(userA, "same-key", "9000.00")); replay.Seq != first.Seq {
		t.Fatalf("the same bid again: seq %d, first %d", replay.Seq, first.Seq)
	}
	wantProblem(t, bid(userA, "same-key", "9900.00"), 422, "idempotency_key_reused")
	// The colleague's key is its own: a new bid, not the first user's.
	second := decode[matching.BidResult](t, bid(userB, "same-key", "9500.00"))
	if second.Seq == first.Seq || second.Duplicate {
		t.Fatalf("a colleague's bid under the same key: %+v (first %+v)", second, first)
	}
	if second.Bids != 2 {
		t.Fatalf("%d bids placed, want 2 (the reused key placed none)", second.Bids)
	}

	p := m.createProduct(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "10500.00"}
	})
	mustStatus(t, m.publish(p.ID), 200)
	open := func(token, key, amount string) response {
		return m.do("POST", "/v1/negotiations", token, map[string]any{"product_id": p.ID, "amount": amount}, "Idempotency-Key", key)
	}
	neg := decode[matching.NegotiationView](t, open(userA, "n-key", "9500.00"))
	if again := decode[matching.NegotiationView](t, open(userA, "n-key", "9500.00")); again.ID != neg.ID {
		t.Fatalf("the same opening again: %s, first %s", again.ID, neg.ID)
	}
	wantProblem(t, open(userA, "n-key", "9800.00"), 422, "idempotency_key_reused")
	if other := decode[matching.NegotiationView](t, open(userB, "n-key", "9600.00")); other.ID == neg.ID {
		t.Fatalf("a colleague reusing the key got the first user's negotiation %s", neg.ID)
	}
	seller := m.as(datavenue.RoleOperator, operatorOrg)
	move := func(body map[string]any) response {
		return m.do("POST", "/v1/negotiations/"+neg.ID+"/moves", seller, body, "Idempotency-Key", "m-key")
	}
	mustStatus(t, move(map[string]any{"action": "counter", "amount": "10200.00"}), 200)
	mustStatus(t, move(map[string]any{"action": "counter", "amount": "10200.00"}), 200)
	wantProblem(t, move(map[string]any{"action": "accept"}), 422, "idempotency_key_reused")
	if v := decode[matching.NegotiationView](t, m.do("GET", "/v1/negotiations/"+neg.ID, userA, nil)); v.Status != "countered" || len(v.Moves) != 2 {
		t.Fatalf("after a reused key: %s with %d moves, want countered with 2", v.Status, len(v.Moves))
	}
}
