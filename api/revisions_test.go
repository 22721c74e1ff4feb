package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/subscriptions"
)

// subscribeAgain has buyerOrg negotiate another subscription to a product it subscribes to.
func (m *market) subscribeAgain(productID string) subscriptions.Subscription {
	m.t.Helper()
	r := m.do("POST", "/v1/negotiations", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"product_id": productID, "amount": "0.60"})
	mustStatus(m.t, r, 201)
	neg := decode[matching.NegotiationView](m.t, r)
	mustStatus(m.t, m.do("POST", "/v1/negotiations/"+neg.ID+"/moves", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"action": "accept"}), 200)
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: m.engine().Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(context.Background()); err != nil {
		m.t.Fatal(err)
	}
	var id string
	if err := m.db.Pool.QueryRow(context.Background(), `SELECT s.id FROM subscriptions s JOIN trades t ON t.id = s.trade_id
		WHERE t.source_id = $1`, neg.ID).Scan(&id); err != nil {
		m.t.Fatalf("the negotiation %s made no subscription: %v", neg.ID, err)
	}
	return decode[subscriptions.Subscription](m.t, m.do("GET", "/v1/subscriptions/"+id, m.as(datavenue.RoleBuyer, buyerOrg), nil))
}

// TestRevisionDeliveredOncePerActiveSubscriber: a file product's operator publishes a revision;
// the active subscription gets one delivery record and its buyer one revision.published event,
// the cancelled and the expired ones nothing; a retry with the same key is replayed, the same
// version again is a conflict, and only the product's operator may publish.
func TestRevisionDeliveredOncePerActiveSubscriber(t *testing.T) {
	m := newMarket(t, nil)
	ctx := context.Background()
	active := m.negotiatedSubscription()
	cancelled, expired := m.subscribeAgain(active.ProductID), m.subscribeAgain(active.ProductID)
	buyer, operator := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	mustStatus(t, m.do("POST", "/v1/subscriptions/"+cancelled.ID+"/cancel", buyer, map[string]any{"reason": "no longer needed"}), 200)
	// A three-month term that started a year ago and does not renew has expired (on the calendar:
	// nothing stored says so).
	if _, err := m.db.Pool.Exec(ctx, `UPDATE subscriptions SET starts_on = starts_on - 365 WHERE id = $1`, expired.ID); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"version": "2026-12", "checksum": "sha256:" + strings.Repeat("3d", 32), "url": "https://files.operator.test/r/2026-12.csv"}
	path := "/v1/products/" + active.ProductID + "/revisions"
	wantProblem(t, m.do("POST", path, buyer, body), 403, "role_not_allowed")
	other := m.as(datavenue.RoleOperator, otherOperator(t, m))
	wantProblem(t, m.do("POST", path, other, body), 404, "product_not_found")
	wantProblem(t, m.do("POST", path, other, map[string]any{"version": ""}), 404, "product_not_found")
	wantProblem(t, m.do("POST", path, operator, map[string]any{"version": "x", "checksum": "md5:1"}), 422, "validation_failed")
	r := m.do("POST", path, operator, body, "Idempotency-Key", "rev-1")
	mustStatus(t, r, 200)
	rev := decode[subscriptions.Revision](t, r)
	if rev.Deliveries != 1 || rev.Version != "2026-12" || !strings.HasPrefix(rev.ID, "rev_") {
		t.Fatalf("revision = %+v, want one delivery", rev)
	}
	again := m.do("POST", path, operator, body, "Idempotency-Key", "rev-1")
	if mustStatus(t, again, 200); decode[subscriptions.Revision](t, again).ID != rev.ID || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retried publication was not replayed: %s", again.body)
	}
	wantProblem(t, m.do("POST", path, operator, body), 409, "revision_exists")

	var deliveries, events, toBuyer, audits int
	var deliveredTo string
	m.db.Pool.QueryRow(ctx, `SELECT count(*), min(subscription_id) FROM revision_deliveries WHERE revision_id = $1`, rev.ID).Scan(&deliveries, &deliveredTo)
	m.db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE $2 = ANY (orgs)) FROM webhook_events WHERE type = 'revision.published' AND data->>'revision_id' = $1`,
		rev.ID, string(buyerOrg)).Scan(&events, &toBuyer)
	m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'revision.published' AND resource_id = $1`, active.ProductID).Scan(&audits)
	if deliveries != 1 || deliveredTo != active.ID || events != 1 || toBuyer != 1 || audits != 1 {
		t.Fatalf("deliveries %d (to %s, want %s), events %d (to the buyer %d), audit records %d", deliveries, deliveredTo, active.ID, events, toBuyer, audits)
	}
	// A second revision reaches the same subscriber once more (once per revision).
	body["version"] = "2027-01"
	if rev2 := decode[subscriptions.Revision](t, m.do("POST", path, operator, body)); rev2.Deliveries != 1 {
		t.Fatalf("second revision: %+v", rev2)
	}
	m.checkInvariants()
}

// TestRevisionsAndDeliveriesAreReadPaged: a product's revisions and a subscription's deliveries,
// paged item for item like one unpaged page; read by the operator, the subscriber (also once its
// subscription is cancelled), the book keepers; another buyer or operator is answered 404.
func TestRevisionsAndDeliveriesAreReadPaged(t *testing.T) {
	m := newMarket(t, nil)
	sub := m.negotiatedSubscription()
	later := m.subscribeAgain(sub.ProductID)
	buyer, operator := m.as(datavenue.RoleBuyer, buyerOrg), m.as(datavenue.RoleOperator, operatorOrg)
	path := "/v1/products/" + sub.ProductID + "/revisions"
	for i := range 5 {
		if i == 3 { // the second subscription stops before the last two revisions
			mustStatus(t, m.do("POST", "/v1/subscriptions/"+later.ID+"/cancel", buyer, map[string]any{"reason": "一个就够"}), 200)
		}
		mustStatus(t, m.do("POST", path, operator, map[string]any{"version": fmt.Sprintf("v%d", i),
			"checksum": "sha256:" + strings.Repeat(fmt.Sprintf("%02x", i), 32), "url": fmt.Sprintf("https://files.operator.test/r/v%d.csv", i)}), 200)
	}
	revKey := func(r subscriptions.Revision) string { return fmt.Sprintf("%s:%d", r.Version, r.Deliveries) }
	whole := decode[api.Page[subscriptions.Revision]](t, m.do("GET", path+"?limit=500", operator, nil))
	if got := strings.Join(idsOf(whole.Data, revKey), " "); got != "v0:2 v1:2 v2:2 v3:1 v4:1" || whole.NextCursor != "" {
		t.Fatalf("revisions (version:deliveries) = %s, next %q", got, whole.NextCursor)
	}
	ids := func(r subscriptions.Revision) string { return r.ID }
	for _, who := range []string{operator, buyer, m.as(datavenue.RoleClerk, venueOrg), m.as(datavenue.RoleAuditor, auditorOrg), m.as(datavenue.RoleFinanceBureau, financeOrg)} {
		if paged := pageThrough(t, m, path+"?limit=2", who, ids); !slices.Equal(paged, idsOf(whole.Data, ids)) {
			t.Fatalf("paged by 2: %v, unpaged %v", paged, idsOf(whole.Data, ids))
		}
	}
	wantProblem(t, m.do("GET", path, m.as(datavenue.RoleBuyer, otherOrg), nil), 404, "product_not_found")
	wantProblem(t, m.do("GET", path, m.as(datavenue.RoleOperator, otherOperator(t, m)), nil), 404, "product_not_found")
	wantProblem(t, m.do("GET", "/v1/products/prd_01JNONE0000000000000000000/revisions", operator, nil), 404, "product_not_found")
	wantProblem(t, m.do("GET", path+"?limit=0", operator, nil), 422, "validation_failed")

	// Deliveries: the first subscription got all five, the cancelled one the first three; each
	// page follows the unpaged one; the cancelled subscriber still reads what it was sent.
	delKey := func(d subscriptions.RevisionDelivery) string { return d.Version + ":" + d.URL }
	for _, c := range []struct {
		sub  subscriptions.Subscription
		want []string
	}{{sub, []string{"v0", "v1", "v2", "v3", "v4"}}, {later, []string{"v0", "v1", "v2"}}} {
		dpath := "/v1/subscriptions/" + c.sub.ID + "/deliveries"
		all := decode[api.Page[subscriptions.RevisionDelivery]](t, m.do("GET", dpath+"?limit=500", buyer, nil))
		var want []string
		for _, v := range c.want {
			want = append(want, v+":https://files.operator.test/r/"+v+".csv")
		}
		if got := idsOf(all.Data, delKey); !slices.Equal(got, want) || all.Data[0].SubscriptionID != c.sub.ID || all.Data[0].DeliveredAt.IsZero() {
			t.Fatalf("deliveries of %s: %v, want %v", c.sub.ID, got, want)
		}
		for _, who := range []string{buyer, operator, m.as(datavenue.RoleAuditor, auditorOrg)} {
			if paged := pageThrough(t, m, dpath+"?limit=2", who, delKey); !slices.Equal(paged, want) {
				t.Fatalf("deliveries paged by 2: %v, want %v", paged, want)
			}
		}
		wantProblem(t, m.do("GET", dpath, m.as(datavenue.RoleBuyer, otherOrg), nil), 404, "subscription_not_found")
	}
	wantProblem(t, m.do("GET", "/v1/subscriptions/sub_01JNONE0000000000000000000/deliveries", buyer, nil), 404, "subscription_not_found")
}
