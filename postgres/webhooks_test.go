package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/webhooks"
)

// webhookOrgs registers n buyer organisations, each with a subscription to order.created.
func webhookOrgs(t *testing.T, db *postgres.DB, n int) ([]datavenue.OrgID, []webhooks.Subscription) {
	t.Helper()
	ctx := callerCtx()
	var orgs []datavenue.OrgID
	var subs []webhooks.Subscription
	for i := range n {
		body := fmt.Sprintf("91350100MA%07d", 500+i)
		check, err := parties.USCCCheckChar(body)
		if err != nil {
			t.Fatal(err)
		}
		org, err := db.Parties().CreateOrganisation(ctx, parties.Registration{ID: datavenue.OrgID(datavenue.NewID("org")), USCC: body + string(check),
			Name: fmt.Sprintf("买方%d", i), Kind: parties.KindBuyer})
		if err != nil {
			t.Fatal(err)
		}
		s := webhooks.NewSubscription(org.ID, webhooks.SubscriptionInput{URL: "https://erp.test/" + string(org.ID),
			Events: []string{webhooks.OrderCreated}}, time.Now())
		// The store keeps only a sealed secret (webhooks.Service seals it): the queue's tests need one
		// of the right shape, not one that opens.
		s.SealedSecret, s.Secret = strings.Repeat("K", 43)+".c2VhbGVk", ""
		s, err = db.Webhooks().CreateSubscription(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		orgs, subs = append(orgs, org.ID), append(subs, s)
	}
	return orgs, subs
}

// The database itself refuses a delivery to an organisation its event does not concern.
func TestWebhookDeliveriesNeverGoToAnotherOrganisation(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	orgs, subs := webhookOrgs(t, db, 2)
	ev := webhooks.NewEvent(webhooks.OrderCreated, "order", "ord_1", webhooks.Parties{Buyer: orgs[0]}, map[string]string{}, "order.created:ord_1")
	if err := db.AppendWebhookEvents(ctx, ev, ev); err != nil { // the second is the same fact: skipped
		t.Fatal(err)
	}
	var n int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1`, subs[0].ID).Scan(&n)
	var other int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1`, subs[1].ID).Scan(&other)
	if n != 1 || other != 0 {
		t.Fatalf("deliveries: %d to the buyer, %d to another organisation; want 1 and 0", n, other)
	}
	for _, c := range []struct{ sub, org string }{{subs[1].ID, string(orgs[1])}, {subs[1].ID, string(orgs[0])}, {subs[0].ID, string(orgs[1])}} {
		_, err := db.Pool.Exec(ctx, `INSERT INTO webhook_deliveries (subscription_id, org_id, event_seq, resource_key, status, next_attempt_at)
			SELECT $1, $2, seq, 'order:ord_1', 'pending', now() FROM webhook_events WHERE id = $3`, c.sub, c.org, ev.ID)
		if err == nil {
			t.Errorf("a delivery of the buyer's event to subscription %s as %s was accepted", c.sub, c.org)
		}
	}
}

// Two workers claiming at once never take the same delivery, and a resource's later event is not
// claimed while an earlier one is pending.
func TestConcurrentClaimsShareTheQueueInOrder(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	orgs, _ := webhookOrgs(t, db, 1)
	var events []webhooks.Event
	for i := range 20 {
		id := fmt.Sprintf("ord_%02d", i)
		events = append(events, webhooks.NewEvent(webhooks.OrderCreated, "order", id, webhooks.Parties{Buyer: orgs[0]}, nil, "order.created:"+id))
	}
	// A second event of order 0, after the first.
	events = append(events, webhooks.NewEvent(webhooks.OrderCreated, "order", "ord_00", webhooks.Parties{Buyer: orgs[0]}, nil, "again:ord_00"))
	if err := db.AppendWebhookEvents(ctx, events...); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Minute)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var resources []string
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch, err := db.Webhooks().ClaimDeliveries(ctx, now, time.Minute, 15)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, a := range batch {
				claimed[a.DeliveryID]++
				resources = append(resources, a.Envelope.Resource.ID)
			}
		}()
	}
	wg.Wait()
	for id, n := range claimed {
		if n > 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
	count := map[string]int{}
	for _, r := range resources {
		count[r]++
	}
	if len(claimed) != 20 || count["ord_00"] != 1 {
		t.Fatalf("claimed %d deliveries (ord_00 %d times), want the 20 first events and not order 0's second", len(claimed), count["ord_00"])
	}
	// Nothing more is due until the leases run out or the attempts are recorded.
	if more, err := db.Webhooks().ClaimDeliveries(ctx, now, time.Minute, 50); err != nil || len(more) != 0 {
		t.Fatalf("a third claim took %d (%v)", len(more), err)
	}
}
