package matching

import (
	"fmt"
	"strconv"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// EventType is the kind of an engine event.
type EventType string

// The engine's events: each Lua script that changes an auction or a negotiation appends one to its
// shard's stream (XADD) in the same script, so the event exists exactly when the change does.
const (
	EventOpen        EventType = "open"        // open.lua: an auction opened (PostgreSQL had it before)
	EventBid         EventType = "bid"         // bid.lua: a bid accepted
	EventDeposit     EventType = "deposit"     // deposit.lua: a buyer's deposit recorded
	EventClose       EventType = "close"       // close.lua: an auction closed (won, no sale, stopped)
	EventNegotiation EventType = "negotiation" // negotiate.lua, expire.lua: a negotiation moved
)

// Event is one entry of the engine's streams, decoded once, here, for everything that reads them:
// the projection to PostgreSQL, the live feed, parked entries retried. The stream's fields are the
// contract between the Lua scripts and Go; DecodeEvent is its only reader and Values its only
// writer in Go, and TestEngineEventsDecode holds the scripts to it. Amounts travel in fen and times
// in Unix milliseconds (Redis TIME), as the scripts compute them.
type Event struct {
	Stream string // the shard's stream it was read from
	ID     string // its stream id: what the projection records to apply it once
	Type   EventType

	Auction string          // bid, deposit, close, open
	Buyer   datavenue.OrgID // bid, deposit, negotiation
	At      time.Time       // bid, close, negotiation: when the engine made the change

	// bid
	BidID  string     // the caller's scoped idempotency key of the bid
	Amount money.Yuan // the bid's amount
	Seq    int64      // its number in the auction
	EndsAt time.Time  // the auction's end after it (an English auction's end may be extended)
	Bids   int        // bids so far

	// deposit
	Ref string

	// close; Price also the negotiation's current price
	Outcome  string
	Winner   datavenue.OrgID
	Price    money.Yuan
	Reason   string // why a stopped auction stopped
	Revealed string // a sealed auction's bids, revealed at the close (JSON)

	// negotiation
	Negotiation string
	Action      string
	Actor       string
	Status      string
	Product     string // also open
	Seller      datavenue.OrgID
	Round       int

	// open
	Kind     string
	StartsAt time.Time
}

// DecodeEvent reads a stream entry. A field that does not decode (a number that is not one, a
// required number missing) is an Invalid error with code event_undecodable: such an entry can never
// apply, and the projection parks it. An entry of a type this version does not know decodes with
// only its type, and nothing applies it.
func DecodeEvent(stream, id string, fields map[string]any) (Event, error) {
	d := decoder{fields: fields}
	e := Event{Stream: stream, ID: id, Type: EventType(d.text("type")), Auction: d.text("auction"), Buyer: datavenue.OrgID(d.text("buyer"))}
	switch e.Type {
	case EventBid:
		e.BidID = d.text("bid")
		e.Amount, e.At, e.EndsAt = d.fen("amount"), d.ms("at_ms"), d.ms("end_ms")
		e.Seq, e.Bids = d.integer("seq"), int(d.integer("bids"))
	case EventDeposit:
		e.Ref = d.text("ref")
	case EventClose:
		e.Outcome, e.Winner, e.Reason, e.Revealed = d.text("outcome"), datavenue.OrgID(d.text("winner")), d.text("reason"), d.text("revealed")
		e.Price, e.At = d.fen("price"), d.ms("at_ms")
	case EventNegotiation:
		e.Negotiation, e.Action, e.Actor, e.Status = d.text("negotiation"), d.text("action"), d.text("actor"), d.text("status")
		e.Product, e.Seller = d.text("product"), datavenue.OrgID(d.text("seller"))
		e.Price, e.At, e.Round = d.fen("price"), d.ms("at_ms"), int(d.integer("round"))
	case EventOpen:
		e.Product, e.Kind = d.text("product"), d.text("kind")
		e.StartsAt, e.EndsAt = d.ms("start_ms"), d.ms("end_ms")
	}
	return e, d.err
}

// Values encodes the event as its script writes it: what tests append to a stream to stand for
// the engine.
func (e Event) Values() map[string]any {
	v := map[string]any{"type": string(e.Type)}
	put := func(k, s string) { v[k] = s }
	fen := func(k string, y money.Yuan) { put(k, strconv.FormatInt(y.Fen(), 10)) }
	ms := func(k string, t time.Time) { put(k, strconv.FormatInt(t.UnixMilli(), 10)) }
	switch e.Type {
	case EventBid:
		put("auction", e.Auction)
		put("bid", e.BidID)
		put("buyer", string(e.Buyer))
		fen("amount", e.Amount)
		ms("at_ms", e.At)
		put("seq", strconv.FormatInt(e.Seq, 10))
		ms("end_ms", e.EndsAt)
		put("bids", strconv.Itoa(e.Bids))
	case EventDeposit:
		put("auction", e.Auction)
		put("buyer", string(e.Buyer))
		put("ref", e.Ref)
	case EventClose:
		put("auction", e.Auction)
		put("outcome", e.Outcome)
		put("winner", string(e.Winner))
		fen("price", e.Price)
		ms("at_ms", e.At)
		put("reason", e.Reason)
		put("revealed", e.Revealed)
	case EventNegotiation:
		put("negotiation", e.Negotiation)
		put("action", e.Action)
		put("actor", e.Actor)
		put("status", e.Status)
		fen("price", e.Price)
		put("round", strconv.Itoa(e.Round))
		ms("at_ms", e.At)
		put("product", e.Product)
		put("buyer", string(e.Buyer))
		put("seller", string(e.Seller))
	case EventOpen:
		put("auction", e.Auction)
		put("product", e.Product)
		put("kind", e.Kind)
		ms("start_ms", e.StartsAt)
		ms("end_ms", e.EndsAt)
	}
	return v
}

// decoder reads fields, keeping the first error.
type decoder struct {
	fields map[string]any
	err    error
}

func (d *decoder) text(k string) string {
	s, _ := d.fields[k].(string)
	return s
}

func (d *decoder) integer(k string) int64 {
	n, err := strconv.ParseInt(d.text(k), 10, 64)
	if err != nil && d.err == nil {
		d.err = datavenue.Invalid("event_undecodable", fmt.Sprintf("engine event: field %s does not decode: %q", k, d.text(k)))
	}
	return n
}

func (d *decoder) fen(k string) money.Yuan { return money.FromFen(d.integer(k)) }

func (d *decoder) ms(k string) time.Time { return time.UnixMilli(d.integer(k)).UTC() }

// An auction's statuses, and the outcomes of its close.
const (
	AuctionOpen    = "open"
	AuctionClosed  = "closed"
	AuctionStopped = "stopped"

	OutcomeWon     = "won"
	OutcomeNoSale  = "no_sale"
	OutcomeStopped = "stopped"
)

// NegotiationAccepted is the status of a negotiation that made a trade.
const NegotiationAccepted = "accepted"
