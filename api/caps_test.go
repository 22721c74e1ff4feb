package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
)

// TestPublishingGateNeedsACapInForce: a product for a paid purpose does not publish without the
// authorising body's cap in force (price_cap_missing), nor with a list price or band above it
// (price_above_cap); caps are filed by a data bureau only, append-only, one version after another.
func TestPublishingGateNeedsACapInForce(t *testing.T) {
	m := newMarket(t, nil)
	op, bureau := m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleDataBureau, bureauOrg)
	p := m.createProductUncapped(nil) // guided: base 10,000.00 ± 10%, list 10,500.00
	r := m.publish(p.ID)
	wantProblem(t, r, 422, "publish_gate_failed")
	if codes := unmetCodes(r); !slices.Equal(codes, []string{listing.CondCapMissing}) {
		t.Fatalf("unmet without a cap = %v, want [%s]", codes, listing.CondCapMissing)
	}
	body := map[string]any{"amount": "10500.00", "approval_ref": "数据局批复〔2026〕12号", "valid_until": today().AddDays(30).String()}
	wantProblem(t, m.do("POST", "/v1/products/"+p.ID+"/caps", op, body), 403, "role_not_allowed")
	wantProblem(t, m.do("POST", "/v1/products/"+p.ID+"/caps", bureau, map[string]any{"amount": "0.00", "approval_ref": "x",
		"valid_until": today().String()}), 422, "validation_failed")
	// A cap in the future is not in force today.
	m.fileCap(p.ID, "20000.00", func(b map[string]any) { b["valid_from"] = today().AddDays(10).String() })
	if codes := unmetCodes(m.publish(p.ID)); !slices.Equal(codes, []string{listing.CondCapMissing}) {
		t.Fatalf("unmet with a future cap = %v", codes)
	}
	// Under the band's top (11,000.00) and the list price: both named.
	first := m.fileCap(p.ID, "10499.99", nil)
	r = m.publish(p.ID)
	wantProblem(t, r, 422, "publish_gate_failed")
	fields := []string{}
	for _, e := range r.problem.Errors {
		if e.Code != listing.CondAboveCap {
			t.Fatalf("unmet %+v, want only %s", e, listing.CondAboveCap)
		}
		fields = append(fields, e.Field)
	}
	if !slices.Equal(fields, []string{"pricing.band_high", "pricing.list_price"}) {
		t.Fatalf("fields above the cap = %v", fields)
	}
	second := m.fileCap(p.ID, "11000.00", nil)
	if first.Version != 2 || second.Version != 3 || second.ChargingUnit != listing.UnitOneOff || second.PricingDocNumber != "发改价格〔2025〕65号" {
		t.Fatalf("versions %d, %d; cap %+v", first.Version, second.Version, second)
	}
	mustStatus(t, m.publish(p.ID), 200)
	caps := decode[[]listing.Cap](t, m.do("GET", "/v1/products/"+p.ID+"/caps", m.as(datavenue.RoleAuditor, auditorOrg), nil))
	if len(caps) != 3 {
		t.Fatalf("%d cap versions, want 3", len(caps))
	}
	// A lower cap in force: the list price and band must come under it before any price change.
	m.fileCap(p.ID, "10600.00", nil)
	r = m.do("POST", "/v1/products/"+p.ID+"/price", op, map[string]any{"reason": "涨价",
		"pricing": map[string]any{"method": "guided", "base_price": "10000.00", "float_percent": 10, "list_price": "10700.00"}})
	wantProblem(t, r, 422, "publish_gate_failed")
	if codes := unmetCodes(r); !slices.Contains(codes, listing.CondAboveCap) {
		t.Fatalf("price change above the cap: %v", codes)
	}
	var audited int
	m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'price_cap.filed' AND resource_id = $1`, p.ID).Scan(&audited)
	if audited != 4 {
		t.Fatalf("%d audited filings, want 4", audited)
	}
	// Append-only: not even the venue's database user rewrites a cap.
	if _, err := m.db.Pool.Exec(context.Background(), `UPDATE price_caps SET amount = 1 WHERE product_id = $1`, p.ID); err == nil {
		t.Fatal("a cap was updated")
	}
}

// cappedAuction publishes an English auction (reserve 9,000.00, no deposit) under a 9,500.00 cap
// and opens it, its clock moved past the start.
func cappedAuction(t *testing.T) (*market, matching.Record) {
	t.Helper()
	m := newMarket(t, nil)
	p := m.createProductUncapped(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "auction", "auction_kind": "english", "reserve": "9000.00", "increment": "100.00",
			"start_at": time.Now().Add(time.Minute).Format(time.RFC3339), "end_at": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}
	})
	m.fileCap(p.ID, "9500.00", nil)
	mustStatus(t, m.publish(p.ID), 200)
	r := m.do("POST", "/v1/auctions", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"product_id": p.ID})
	mustStatus(t, r, 201)
	rec := decode[matching.Record](t, r)
	if _, err := m.engine().AdvanceClock(context.Background(), rec.ID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	return m, rec
}

// TestBidAtTheCapOverTheAPI: the cap goes into the engine when the auction opens; a bid one fen
// over it is a 422 above_cap, a bid exactly at it is accepted. Then a lower cap is filed while the
// leading bid is above it: the auction is stopped (cap_lowered), never cleared above the cap.
func TestBidAtTheCapOverTheAPI(t *testing.T) {
	m, auc := cappedAuction(t)
	path := "/v1/auctions/" + auc.ID
	buyer := m.as(datavenue.RoleBuyer, buyerOrg)
	bid := func(key, amount string) response {
		return m.do("POST", path+"/bids", buyer, map[string]any{"amount": amount}, "Idempotency-Key", key)
	}
	r := bid("k1", "9500.01")
	wantProblem(t, r, 422, matching.ErrAboveCap)
	if r.problem.Errors[0].Message != "the amount must be at most the price cap 9500.00 (上限收费标准)" {
		t.Fatalf("message = %q", r.problem.Errors[0].Message)
	}
	mustStatus(t, bid("k2", "9500.00"), 201)
	view := decode[matching.View](t, m.do("GET", path, buyer, nil))
	if view.Live.Cap == nil || view.Live.Cap.String() != "9500.00" {
		t.Fatalf("live cap = %v", view.Live.Cap)
	}
	// The bureau lowers the cap under the leading bid (9,500.00): stopped at once, and recorded.
	m.fileCap(auc.ProductID, "9400.00", nil)
	view = decode[matching.View](t, m.do("GET", path, buyer, nil))
	if view.Live.Status != matching.AuctionStopped || view.Record.StopReason != matching.StopCapLowered {
		t.Fatalf("after the lowered cap: live %s, record %s %q", view.Live.Status, view.Record.Status, view.Record.StopReason)
	}
	wantProblem(t, bid("k3", "9100.00"), 409, matching.ErrStopped)
}

// TestNegotiationUnderTheCapOverTheAPI: every offer, counter and acceptance of a negotiation is at
// or under the cap in force at the move.
func TestNegotiationUnderTheCapOverTheAPI(t *testing.T) {
	m := newMarket(t, nil)
	p := m.createProductUncapped(func(p map[string]any) {
		p["pricing"] = map[string]any{"method": "negotiation", "list_price": "9000.00"}
	})
	m.fileCap(p.ID, "9500.00", nil)
	mustStatus(t, m.publish(p.ID), 200)
	buyer, op := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	wantProblem(t, m.do("POST", "/v1/negotiations", buyer, map[string]any{"product_id": p.ID, "amount": "9500.01"}), 422, matching.ErrAboveCap)
	r := m.do("POST", "/v1/negotiations", buyer, map[string]any{"product_id": p.ID, "amount": "9000.00"})
	mustStatus(t, r, 201)
	path := "/v1/negotiations/" + decode[matching.NegotiationView](t, r).ID + "/moves"
	wantProblem(t, m.do("POST", path, op, map[string]any{"action": "counter", "amount": "9500.01"}), 422, matching.ErrAboveCap)
	mustStatus(t, m.do("POST", path, op, map[string]any{"action": "counter", "amount": "9500.00"}), 200)
	m.fileCap(p.ID, "9400.00", nil)
	wantProblem(t, m.do("POST", path, buyer, map[string]any{"action": "accept"}), 422, matching.ErrAboveCap)
	mustStatus(t, m.do("POST", path, buyer, map[string]any{"action": "counter", "amount": "9400.00"}), 200)
	if v := decode[matching.NegotiationView](t, m.do("POST", path, op, map[string]any{"action": "accept"})); v.Status != "accepted" || v.Price.String() != "9400.00" {
		t.Fatalf("accepted at the cap: %s %s", v.Status, v.Price)
	}
}

// TestFreePurposeIsNeverPriced: the purpose comes from the scenario authorisation (N1). A product
// for public welfare is free: priced otherwise it does not publish, it takes no cap, no
// negotiation; a product cannot claim another purpose than its authorisation's.
func TestFreePurposeIsNeverPriced(t *testing.T) {
	m := newMarket(t, nil)
	bureau, buyer := m.as(datavenue.RoleDataBureau, bureauOrg), m.as(datavenue.RoleBuyer, buyerOrg)
	const welfare = "公交线网优化公益分析"
	grant := grantBody(m.asset.ID, welfare)
	grant["purpose"] = "public_welfare"
	r := m.do("POST", "/v1/authorisations", bureau, grant)
	mustStatus(t, r, 201)
	if g := decode[certificates.Authorisation](t, r); g.Purpose != "public_welfare" {
		t.Fatalf("purpose = %q", g.Purpose)
	}
	bad := grantBody(m.asset.ID, "另一场景")
	bad["purpose"] = "marketing"
	wantProblem(t, m.do("POST", "/v1/authorisations", bureau, bad), 422, "validation_failed")

	// Priced for a free purpose: refused by the gate, with no cap to file.
	priced := m.createProductUncapped(func(p map[string]any) {
		p["scenario"], p["use_category"] = welfare, "public_welfare"
		p["pricing"] = map[string]any{"method": "auction", "auction_kind": "english", "reserve": "100.00", "increment": "10.00",
			"start_at": time.Now().Add(time.Minute).Format(time.RFC3339), "end_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
	})
	r = m.publish(priced.ID)
	if codes := unmetCodes(r); !slices.Equal(codes, []string{listing.CondFreeUsePriced}) {
		t.Fatalf("unmet for a priced free use = %v", codes)
	}
	wantProblem(t, m.do("POST", "/v1/products/"+priced.ID+"/caps", bureau, map[string]any{"amount": "100.00", "approval_ref": "x",
		"valid_until": today().AddDays(1).String()}), 409, "free_use_has_no_cap")
	// Industry use claimed on a public-welfare authorisation: another purpose needs another one.
	switched := m.createProduct(func(p map[string]any) { p["scenario"] = welfare })
	if codes := unmetCodes(m.publish(switched.ID)); !slices.Equal(codes, []string{listing.CondPurposeMismatch}) {
		t.Fatalf("unmet for a switched purpose = %v", codes)
	}
	free := m.createProduct(func(p map[string]any) {
		p["scenario"], p["use_category"] = welfare, "public_welfare"
		p["pricing"] = map[string]any{"method": "free"}
	})
	mustStatus(t, m.publish(free.ID), 200)
	wantProblem(t, m.do("POST", "/v1/negotiations", buyer, map[string]any{"product_id": free.ID, "amount": "1.00"}), 409, "free_use_not_priced")
	wantProblem(t, m.do("POST", "/v1/auctions", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"product_id": free.ID}), 409, "not_auction_priced")
}
