package console

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/matching"
)

// cst is China Standard Time: the console shows times as the venue's people read them.
var cst = time.FixedZone("CST", 8*3600)

type auctionData struct {
	A       matching.View
	High    string
	EndsAt  string
	CanBid  bool
	CSRF    string
	Key     string // the bid form's idempotency key: sending the form twice is one bid
	Placed  string // the seq of the bid just placed (after the redirect)
	Problem string // why the bid just sent was refused
	Amount  string
	Buyer   auctionBuyer // the caller's part: deposit, sealed, won or lost (buyer_auctions.go)
}

// auction is an auction's live view: its terms, the leading price (kept live by the feed when
// scripts run) and, for a buyer, the bid form.
func (c *Console) auction(ctx *fiber.Ctx) error {
	return c.renderAuction(ctx, ctx.Query("placed"), "", "")
}

func (c *Console) renderAuction(ctx *fiber.Ctx, placed, problem, amount string) error {
	l := lang(ctx)
	v, err := c.d.Auctions.Get(ctx.UserContext(), ctx.Params("id"))
	if err != nil {
		return err
	}
	s := sessionOf(ctx)
	d := auctionData{A: v, EndsAt: v.Live.EndsAt.In(cst).Format("2006-01-02 15:04:05"), CanBid: allowed("bid", s.Caller.Role) && v.Live.Status == "open",
		CSRF: s.CSRF, Key: randomToken(), Placed: placed, Problem: problem, Amount: amount}
	if v.Live.High != nil {
		d.High = v.Live.High.String()
	}
	d.Buyer = c.auctionFor(ctx, v)
	return c.render(ctx, "auction", l.T("auction.title"), d)
}

// bid places a bid through the matching service, as the API's placeBid does: the engine's rules
// decide; a refusal is shown beside the form with the rule that refused it.
func (c *Console) bid(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	amount := ctx.FormValue("amount")
	r, err := c.d.Auctions.Bid(ctx.UserContext(), s.Caller, ctx.Params("id"), ctx.FormValue("key"), matching.BidInput{Amount: amount})
	if err != nil {
		var de *datavenue.Error
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict && k != datavenue.KindForbidden || !asError(err, &de) {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderAuction(ctx, "", de.Code+": "+de.Message, amount)
	}
	return ctx.Redirect(fmt.Sprintf("%s/auctions/%s?placed=%d", Prefix, ctx.Params("id"), r.Seq), fiber.StatusSeeOther)
}

// feed streams the auction's leading price to the page (Server-Sent Events, "price" events with
// the amount), from the engine's feed the API's /v1/auctions/{id}/feed reads too. It ends when
// the browser leaves, the auction closes or the venue shuts down.
func (c *Console) feed(ctx *fiber.Ctx) error {
	v, err := c.d.Auctions.Get(ctx.UserContext(), ctx.Params("id"))
	if err != nil {
		return err
	}
	// The page's feed counts against the organisation's live feeds with its API feeds: a console
	// left open in many tabs holds the same resources a client's feeds do.
	sub, cancel := context.WithCancel(context.Background())
	events, ok := c.d.Feed.SubscribeAs(sub, sessionOf(ctx).Caller.Org, c.d.FeedLimit(), v.ID, v.Kind)
	if !ok {
		cancel()
		return api.TooManyFeeds(ctx)
	}
	api.EventStream{Events: events, Cancel: cancel, Closing: c.d.Closing, Heartbeat: 15 * time.Second, WriteTimeout: 30 * time.Second,
		Start: func(w *bufio.Writer) bool {
			fmt.Fprint(w, "event: ready\ndata: ready\n\n")
			// The feed delivers events from the subscription on: an auction that closed between the
			// page's rendering and this subscription would never announce its close, so its state is
			// read again now that nothing can be missed. The leading price is sent as read now too: a
			// page that reconnects (the browser does, when a feed it read too slowly ends with
			// "lagged") shows the price of the moment, not the last one it saw.
			now, err := c.d.Auctions.Get(sub, v.ID)
			switch {
			case err != nil:
			case now.Live.Status != matching.AuctionOpen:
				fmt.Fprintf(w, "event: close\ndata: %s\n\n", now.Live.Status)
				return false
			case now.Live.High != nil && v.Kind == matching.English:
				fmt.Fprintf(w, "event: price\ndata: %s\n\n", now.Live.High.String())
			}
			return true
		},
		// The page shows the leading price and the close; the other events are not its business.
		Write: func(w *bufio.Writer, e matching.FeedEvent) {
			switch {
			case e.Type == "bid" && e.Amount != "":
				fmt.Fprintf(w, "event: price\ndata: %s\n\n", e.Amount)
			case e.Type == "close":
				fmt.Fprintf(w, "event: close\ndata: %s\n\n", e.Outcome)
			}
		}}.Serve(ctx)
	return nil
}
