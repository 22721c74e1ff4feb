package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/datavenue/datavenue/client"
)

// A buyer bids in the first open auction: a bearer token on every request, an Idempotency-Key
// per bid (sending the same request again with it after a timeout is the same bid, never a second
// one), and the answer read by its status: the bid, or the problem that names the rule it broke.
func Example_bid() {
	token := os.Getenv("DV_BUYER_TOKEN") // `make run` prints one
	bearer := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	venue, err := client.NewClientWithResponses("http://127.0.0.1:8080", client.WithRequestEditorFn(bearer))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	open := "open"
	auctions, err := venue.ListAuctionsWithResponse(ctx, &client.ListAuctionsParams{Status: &open})
	if err != nil {
		log.Fatal(err)
	}
	if auctions.JSON200 == nil || len(auctions.JSON200.Data) == 0 {
		fmt.Println("no open auction:", auctions.Status())
		return
	}
	auction := auctions.JSON200.Data[0]
	key := "bid-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	res, err := venue.PlaceBidWithResponse(ctx, auction.Id, &client.PlaceBidParams{IdempotencyKey: &key}, client.BidInput{Amount: "9100.00"})
	if err != nil {
		log.Fatal(err) // no answer: send it again with the same key
	}
	switch {
	case res.JSON201 != nil:
		fmt.Printf("bid #%d of %s %s accepted (%s); the auction ends at %s\n", res.JSON201.Seq, res.JSON201.Amount, auction.Currency,
			res.Headers201.Location, res.JSON201.EndsAt.Format(time.RFC3339))
	case res.ApplicationproblemJSON422 != nil: // bid_too_low, below_reserve, outside_band, …
		fmt.Println("refused:", res.ApplicationproblemJSON422.Code, res.ApplicationproblemJSON422.Detail)
	case res.ApplicationproblemJSON403 != nil: // deposit_missing, buyer_denied, …
		fmt.Println("not allowed:", res.ApplicationproblemJSON403.Code, res.ApplicationproblemJSON403.Detail)
	case res.ApplicationproblemJSON409 != nil: // auction_ended, not_started
		fmt.Println("not open for bids:", res.ApplicationproblemJSON409.Code)
	default:
		fmt.Println("answer:", res.Status())
	}
}
