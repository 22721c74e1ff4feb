package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/webhooks"
)

// The venue `datavenue serve` starts runs the webhook worker: a subscription made over the API
// receives its ping, signed, with nothing but the venue driving it.
func TestServedVenueDeliversWebhooks(t *testing.T) {
	var mu sync.Mutex
	var got []webhooks.Envelope
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		var e webhooks.Envelope
		if err := webhooks.Verify([]byte(secret), body, r.Header.Get(webhooks.SignatureHeader), time.Now(), webhooks.Tolerance); err != nil ||
			json.Unmarshal(body, &e) != nil {
			t.Errorf("a delivery that does not verify (%v): %s", err, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got = append(got, e)
	}))
	defer receiver.Close()
	f := newTestVenue(t, map[string]string{"DATAVENUE_WEBHOOK_ALLOW_HTTP": "true", "DATAVENUE_WEBHOOK_ALLOW_PRIVATE": "true"})
	buyer := venueclient.Actor{Role: datavenue.RoleBuyer, Org: venueclient.DemoID(6)}
	body, _ := json.Marshal(webhooks.SubscriptionInput{URL: receiver.URL + "/hooks", Events: []string{webhooks.OrderCreated}})
	status, raw, err := f.send(buyer, "POST", "/v1/webhooks/subscriptions", "served-sub", body)
	var sub webhooks.Subscription
	if err != nil || status != 201 || json.Unmarshal(raw, &sub) != nil || sub.Secret == "" {
		t.Fatalf("subscribe: %d %s %v", status, raw, err)
	}
	mu.Lock()
	secret = sub.Secret
	mu.Unlock()
	if status, raw, err := f.send(buyer, "POST", "/v1/webhooks/subscriptions/"+sub.ID+"/ping", "", nil); err != nil || status != 201 {
		t.Fatalf("ping: %d %s %v", status, raw, err)
	}
	waitUntil(t, 20*time.Second, "the ping delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1 && got[0].Type == webhooks.Ping && got[0].Resource.ID == sub.ID
	})
}
