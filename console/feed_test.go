package console_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue/internal/venueclient"
)

// openFeed opens a live feed (a console page's or the API's) and reads it up to its "ready"
// event; the stream stays open until the test ends. It answers the response (a refusal's body
// unread).
func openFeed(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return resp
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "event: ready") {
			return resp
		}
	}
	t.Fatalf("%s ended before its ready event: %v", req.URL.Path, lines.Err())
	return nil
}

// A console page's live feed counts against its organisation's live feeds together with the
// organisation's API feeds (20 at once): before, the console's were not counted, so pages open
// in many tabs were a way around the limit. The page's feed is opened first; then the API's 20th
// feed of the same organisation is refused (429, too_many_feeds, Retry-After).
func TestConsoleFeedsCountWithTheAPIsFeeds(t *testing.T) {
	v := newVenueAt(t, behind(2*time.Minute))
	auctionID := v.openEnglishAuction(t)
	page := browserless(t)
	devSignIn(t, v, page, "demo-buyer")
	req, _ := http.NewRequest(http.MethodGet, v.URL+"/console/auctions/"+auctionID+"/feed", nil)
	if resp := openFeed(t, page, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("the page's feed = %d", resp.StatusCode)
	}
	tok, err := v.client.Minter.Mint("demo-buyer", venueclient.BuyerA.Role, venueclient.BuyerA.Org, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	apiFeed := func() *http.Response {
		req, _ := http.NewRequest(http.MethodGet, v.URL+"/v1/auctions/"+auctionID+"/feed", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return openFeed(t, &http.Client{}, req)
	}
	for i := 1; i <= 19; i++ {
		if resp := apiFeed(); resp.StatusCode != http.StatusOK {
			t.Fatalf("API feed %d of the organisation's 20 = %d", i, resp.StatusCode)
		}
	}
	resp := apiFeed()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the organisation's 21st feed (20 API feeds and a page's) = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another organisation's feeds are its own.
	tokB, err := v.client.Minter.Mint("demo-buyer-b", venueclient.BuyerB.Role, venueclient.BuyerB.Org, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	reqB, _ := http.NewRequest(http.MethodGet, v.URL+"/v1/auctions/"+auctionID+"/feed", nil)
	reqB.Header.Set("Authorization", "Bearer "+tokB)
	if resp := openFeed(t, &http.Client{}, reqB); resp.StatusCode != http.StatusOK {
		t.Fatalf("another organisation's feed = %d", resp.StatusCode)
	}
}
