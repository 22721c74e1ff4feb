package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
)

// Auctions is what the API needs of the matching service (D14: on-venue competitive bidding). Get
// and List take no caller: what an auction shows is the same for everyone who may see it (a
// sealed auction's view carries only the number of bids until the close), so the engine's view
// is safe to serve as it is; history, bids and deposits depend on who asks and take the caller.
type Auctions interface {
	Create(ctx context.Context, caller datavenue.Caller, in matching.CreateInput) (matching.Record, error)
	Bid(ctx context.Context, caller datavenue.Caller, auctionID, key string, in matching.BidInput) (matching.BidResult, error)
	RecordDeposit(ctx context.Context, caller datavenue.Caller, auctionID string, in matching.DepositInput) error
	Get(ctx context.Context, id string) (matching.View, error)
	List(ctx context.Context, f matching.AuctionFilter) ([]matching.Record, error)
	History(ctx context.Context, caller datavenue.Caller, id string) ([]matching.HistoryEntry, error)
	AcceptedBid(ctx context.Context, caller datavenue.Caller, auctionID string, seq int64) (matching.HistoryEntry, error)
	Deposit(ctx context.Context, caller datavenue.Caller, auctionID string, buyer datavenue.OrgID) (matching.Deposit, error)
}

// auctionRoutes: placing a bid is SelfIdempotent: its Idempotency-Key becomes the bid's id in the
// engine (matching.BidID), so the bid and its deduplication are one atomic Redis operation and a
// retry after a lost answer finds the same bid; keeping it in the idempotency store as well
// would only add a second, non-atomic record of the same fact. Negotiation moves likewise.
func (h *handlers) auctionRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/auctions", Operation{ID: "openAuction", Tag: "auctions", Summary: "Open the auction of a published, auction-priced product",
			Description: "On the terms of the product's current price version: kind (english, sealed_first, sealed_second), reserve, increment, schedule, anti-sniping, deposit; buyers by the product's allow and deny lists.",
			Auth:        true, Request: matching.CreateInput{}, Response: matching.Record{}, Status: 201, Errors: []int{403, 409}}, h.openAuction},
		{"GET", "/v1/auctions", Operation{ID: "listAuctions", Tag: "auctions", Summary: "Auctions, newest first",
			Description: "Their terms, status and, once closed, the outcome (the winning price is public); sealed bids never show here.", Auth: true,
			Params: []Param{{Name: "status", In: "query", Description: "open, closed or stopped"}, {Name: "kind", In: "query", Description: "english, sealed_first or sealed_second"},
				{Name: "product_id", In: "query"}, {Name: "operator_id", In: "query"}, limitParam, cursorParam},
			Response: Page[matching.Record]{}, Errors: []int{422}}, h.listAuctions},
		{"GET", "/v1/auctions/:id", Operation{ID: "getAuction", Tag: "auctions", Summary: "An auction and its live state (sealed: only the number of bids until the close)",
			Auth: true, Params: id, Response: matching.View{}, Errors: []int{404}}, h.getAuction},
		{"POST", "/v1/auctions/:id/bids", Operation{ID: "placeBid", Tag: "auctions", Summary: "Place a bid (buyer)",
			Description: "201 means the bid is durable. Send an Idempotency-Key: a retry with the same key is the same bid. Refusals name the rule: bid_too_low, below_reserve, outside_band, below_appraisal_reserve, deposit_missing, buyer_denied, buyer_not_allowed, not_eligible_party, auction_ended, …",
			Auth:        true, Params: id, Request: matching.BidInput{}, Response: matching.BidResult{}, Status: 201, Errors: []int{403, 404, 409}, SelfIdempotent: true}, h.placeBid},
		{"GET", "/v1/auctions/:id/bids", Operation{ID: "bidHistory", Tag: "auctions", Summary: "Bid history (sealed auctions: after the close)",
			Auth: true, Params: id, Response: []matching.HistoryEntry{}, Errors: []int{403, 404}}, h.bidHistory},
		{"GET", "/v1/auctions/:id/bids/:seq", Operation{ID: "getBid", Tag: "auctions", Summary: "One accepted bid by its number (a placed bid's Location)",
			Description: "Its bidder sees it at any time; anyone else as the bid history shows it (sealed auctions: after the close, to those with a part in the auction).",
			Auth:        true, Params: append(id, Param{Name: "seq", In: "path", Schema: map[string]any{"type": "integer", "minimum": 1}}),
			Response: matching.HistoryEntry{}, Errors: []int{403, 404}}, h.getBid},
		{"POST", "/v1/auctions/:id/deposits", Operation{ID: "recordDeposit", Tag: "auctions", Summary: "Record a buyer's deposit as received (clerk)",
			Auth: true, Params: id, Request: matching.DepositInput{}, Response: Status{}, Status: 201, Errors: []int{403, 404, 409}}, h.recordDeposit},
		{"GET", "/v1/auctions/:id/deposits/:buyer", Operation{ID: "getDeposit", Tag: "auctions", Summary: "Whether a buyer's deposit is recorded (a recorded deposit's Location)",
			Description: "The clerks, bureaus and auditors see every deposit; a buyer its own.",
			Auth:        true, Params: append(id, Param{Name: "buyer", In: "path", Description: "the buyer's organisation id"}),
			Response: matching.Deposit{}, Errors: []int{403, 404}}, h.getDeposit},
	}
}

// listAuctions lists auctions with their terms and, once closed, their outcome; sealed bids
// never appear here, whoever asks, so the list needs no caller.
func (h *handlers) listAuctions(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]matching.Record, error) {
		return h.d.Auctions.List(c.UserContext(), matching.AuctionFilter{Status: c.Query("status"), Kind: c.Query("kind"),
			ProductID: c.Query("product_id"), OperatorID: datavenue.OrgID(c.Query("operator_id")), After: after, Limit: limit})
	}, func(r matching.Record) string { return r.ID })
}

// openAuction takes the auction's terms from the product's current price version (the service
// reads them), so an auction runs on the terms the operator published, not on terms a request sends.
func (h *handlers) openAuction(c *fiber.Ctx) error {
	return create(c, h.d.Auctions.Create, func(r matching.Record) string { return "/v1/auctions/" + r.ID })
}

// getAuction joins the auction's record in PostgreSQL with its live state in the engine (Redis):
// the standing price and end time change with every bid and exist only there until the close.
func (h *handlers) getAuction(c *fiber.Ctx) error {
	v, err := h.d.Auctions.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// placeBid answers 201 once the engine has written the bid; its Location is the bid's number in
// the auction (the order of bids, which is public), never anything that names the bidder.
func (h *handlers) placeBid(c *fiber.Ctx) error {
	// Who bids is secret in a sealed auction until the close: the access log leaves the caller out
	// (for every auction kind, so the log line does not tell the kinds apart either).
	c.Locals(localQuiet, true)
	var in matching.BidInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.d.Auctions.Bid(c.UserContext(), callerOf(c), c.Params("id"), c.Get(headerIdempotencyKey), in)
	if err != nil {
		return err
	}
	return created(c, "/v1/auctions/"+c.Params("id")+"/bids/"+strconv.FormatInt(r.Seq, 10), r)
}

func (h *handlers) getBid(c *fiber.Ctx) error {
	// A number that is not a bid number names no bid: 404, as for any id that does not exist,
	// rather than a 422 on a path parameter.
	seq, err := strconv.ParseInt(c.Params("seq"), 10, 64)
	if err != nil || seq < 1 {
		return datavenue.NotFound("bid_not_found", "a bid's number is a whole number from 1")
	}
	e, err := h.d.Auctions.AcceptedBid(c.UserContext(), callerOf(c), c.Params("id"), seq)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// getDeposit is the read-back of a recorded deposit; a buyer asking about another buyer's deposit
// is refused (403, before the auction is even looked up), since who deposited for an auction
// reveals who intends to bid.
func (h *handlers) getDeposit(c *fiber.Ctx) error {
	d, err := h.d.Auctions.Deposit(c.UserContext(), callerOf(c), c.Params("id"), datavenue.OrgID(c.Params("buyer")))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// bidHistory depends on the caller and the auction's kind: a sealed auction's bids stay secret
// until the close (403 before it), an English auction's are public to those who may see it.
func (h *handlers) bidHistory(c *fiber.Ctx) error {
	list, err := h.d.Auctions.History(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(list)
}

// recordDeposit answers 201 with a plain status: the deposit itself is read back at the Location
// (by auction and buyer, since a buyer has one deposit per auction).
func (h *handlers) recordDeposit(c *fiber.Ctx) error {
	var in matching.DepositInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.d.Auctions.RecordDeposit(c.UserContext(), callerOf(c), c.Params("id"), in); err != nil {
		return err
	}
	return created(c, "/v1/auctions/"+c.Params("id")+"/deposits/"+string(in.Buyer), Status{Status: "recorded"})
}

// Negotiations is what the API needs for price negotiation (G7: negotiated agreement). Starting and
// moving take the request's Idempotency-Key themselves, like bids, so a retried counter-offer is
// not a second move.
type Negotiations interface {
	StartNegotiation(ctx context.Context, caller datavenue.Caller, key string, in matching.NegotiationInput) (matching.NegotiationView, error)
	Move(ctx context.Context, caller datavenue.Caller, id, key string, in matching.MoveInput) (matching.NegotiationView, error)
	Negotiation(ctx context.Context, caller datavenue.Caller, id string) (matching.NegotiationView, error)
	Negotiations(ctx context.Context, caller datavenue.Caller, f matching.NegotiationFilter) ([]matching.NegotiationRecord, error)
}

// negotiationRoutes: a negotiation is created with its first offer (201), and each later move
// (counter, accept, reject, withdraw) is a POST to its moves, answered 200 with the whole
// negotiation, since a move changes the negotiation rather than making a resource of its own.
func (h *handlers) negotiationRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/negotiations", Operation{ID: "startNegotiation", Tag: "negotiations", Summary: "Open a negotiation with a first offer (buyer)",
			Description: "States: offered (the seller's move) ⇄ countered (the buyer's move) → accepted, rejected, withdrawn or expired (72 h without an answer). Every offer is checked against the guided band. An accepted price becomes a trade.",
			Auth:        true, Request: matching.NegotiationInput{}, Response: matching.NegotiationView{}, Status: 201, Errors: []int{403, 409}, SelfIdempotent: true}, h.startNegotiation},
		{"POST", "/v1/negotiations/:id/moves", Operation{ID: "moveNegotiation", Tag: "negotiations", Summary: "Counter, accept, reject or withdraw",
			Auth: true, Params: id, Request: matching.MoveInput{}, Response: matching.NegotiationView{}, Errors: []int{403, 404, 409}, SelfIdempotent: true}, h.moveNegotiation},
		{"GET", "/v1/negotiations", Operation{ID: "listNegotiations", Tag: "negotiations", Summary: "Your negotiations (a buyer's, an operator's on its products; auditors all)",
			Description: "As the venue's books hold them: each negotiation's latest state applied from the engine (within the projection's lag, see /readyz); one negotiation's live state and moves are at its own URL.",
			Auth:        true, Params: []Param{{Name: "status", In: "query", Description: "offered, countered, accepted, rejected, withdrawn or expired"},
				{Name: "product_id", In: "query"}, limitParam, cursorParam}, Response: Page[matching.NegotiationRecord]{}, Errors: []int{403, 422}}, h.listNegotiations},
		{"GET", "/v1/negotiations/:id", Operation{ID: "getNegotiation", Tag: "negotiations", Summary: "A negotiation with its moves (parties and auditors)",
			Auth: true, Params: id, Response: matching.NegotiationView{}, Errors: []int{404}}, h.getNegotiation},
	}
}

func (h *handlers) startNegotiation(c *fiber.Ctx) error {
	var in matching.NegotiationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := h.d.Negotiations.StartNegotiation(c.UserContext(), callerOf(c), c.Get(headerIdempotencyKey), in)
	if err != nil {
		return err
	}
	return created(c, "/v1/negotiations/"+v.ID, v)
}

// listNegotiations pages through the caller's negotiations; which ones are the caller's is the
// service's to decide (by role and organisation), never the query's.
func (h *handlers) listNegotiations(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]matching.NegotiationRecord, error) {
		return h.d.Negotiations.Negotiations(c.UserContext(), callerOf(c), matching.NegotiationFilter{Status: c.Query("status"),
			ProductID: c.Query("product_id"), After: after, Limit: limit})
	}, func(n matching.NegotiationRecord) string { return n.ID })
}

func (h *handlers) moveNegotiation(c *fiber.Ctx) error {
	var in matching.MoveInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := h.d.Negotiations.Move(c.UserContext(), callerOf(c), c.Params("id"), c.Get(headerIdempotencyKey), in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// getNegotiation shows the negotiation to its two parties and the auditors; to anyone else it is
// 404, since offers between a buyer and a seller are theirs.
func (h *handlers) getNegotiation(c *fiber.Ctx) error {
	v, err := h.d.Negotiations.Negotiation(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// Guidance computes pricing guidance for a product. A function rather than an interface: it is one
// read over the matching store, which the wiring closes over.
type Guidance func(ctx context.Context, productID string) (matching.Guidance, error)

func (h *handlers) guidanceRoutes() []Route {
	return []Route{{"GET", "/v1/products/:id/guidance", Operation{ID: "pricingGuidance", Tag: "products",
		Summary:     "Pricing guidance: guided band, appraisal, comparable trades (90 days) and a suggested range with reasons",
		Description: "Public for published products. The suggested range is the comparable trades' interquartile range (at least 5 trades), raised to the appraised value, clamped into the guided band.",
		Params:      []Param{{Name: "id", In: "path"}}, Response: matching.Guidance{}, Errors: []int{404}}, h.guidance}}
}

// guidance is public, so the product is first looked up as the public catalogue sees it: a draft's
// or a suspended product's band and appraisal stay private (404 like any unknown product).
func (h *handlers) guidance(c *fiber.Ctx) error {
	if _, err := h.d.Listing.Public(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	g, err := h.d.Guidance(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(g)
}

// Feed delivers an auction's live events (matching.Feed), counting the feeds each organisation
// holds open.
type Feed interface {
	SubscribeAs(ctx context.Context, org datavenue.OrgID, limit int, auctionID, kind string) (<-chan matching.FeedEvent, bool)
}

// feedRoutes: Server-Sent Events suffice because the feed flows one way (the venue to the
// bidder; bids are POSTs with their own idempotency), and SSE is plain HTTP that ordinary proxies
// pass (compression is skipped for it).
func (h *handlers) feedRoutes() []Route {
	return []Route{{"GET", "/v1/auctions/:id/feed", Operation{ID: "auctionFeed", Tag: "auctions",
		Summary: "Live feed (Server-Sent Events): bids, extensions and the close",
		Description: "Events: ready, bid (English: amount, buyer, ends_at, which moves on anti-sniping; sealed: only the number of bids), close. " +
			"A comment line every 15 s keeps the connection alive; the feed lasts until the client leaves or the venue shuts down. " +
			"A client that reads too slowly to keep 1,024 events waiting gets a last event, lagged, and the feed ends: it missed events, " +
			"so it reads the auction (GET /v1/auctions/{id}) and opens the feed again. " +
			"An organisation may hold 20 feeds open at once (429 beyond).",
		Auth: true, Params: []Param{{Name: "id", In: "path"}}, ContentType: "text/event-stream", Errors: []int{404, 429}}, h.feed}}
}

// TooManyFeeds is the 429 for an organisation that holds every live feed it may (the API's and
// the console's count together).
func TooManyFeeds(c *fiber.Ctx) error {
	c.Set(fiber.HeaderRetryAfter, "30")
	return &datavenue.Error{Kind: datavenue.KindRateLimited, Code: "too_many_feeds",
		Message: "your organisation holds the most live feeds it may; close one first"}
}

// FeedLimit is how many live feeds an organisation may hold open (FeedsPerOrganisation, or
// matching's default if unset).
func (d Deps) FeedLimit() int {
	if d.FeedsPerOrganisation <= 0 {
		return matching.FeedsPerOrganisation
	}
	return d.FeedsPerOrganisation
}

// feed streams an auction's events as Server-Sent Events. The auction is read first, so an unknown
// auction is a 404 that costs no feed slot; a slot over the limit is a 429 with Retry-After.
func (h *handlers) feed(c *fiber.Ctx) error {
	st, err := h.d.Auctions.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	// The subscription outlives the handler (see EventStream.Serve), so it has a context of its own,
	// cancelled when the stream ends.
	ctx, cancel := context.WithCancel(context.Background())
	events, ok := h.d.Feed.SubscribeAs(ctx, callerOf(c).Org, h.d.FeedLimit(), st.ID, st.Kind)
	if !ok {
		cancel()
		return TooManyFeeds(c)
	}
	EventStream{Events: events, Cancel: cancel, Closing: h.d.Closing, Heartbeat: h.d.FeedHeartbeat, WriteTimeout: h.d.WriteTimeout,
		Start: func(w *bufio.Writer) bool {
			fmt.Fprintf(w, "event: ready\ndata: {\"auction\":%q}\n\n", st.ID)
			return true
		},
		Write: func(w *bufio.Writer, e matching.FeedEvent) {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, data)
		}}.Serve(c)
	return nil
}
