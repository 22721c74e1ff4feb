package matching

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// The scripts are embedded so the binary carries the exact Lua it was tested with; redis.NewScript
// runs them by SHA (EVALSHA) and loads them on a NOSCRIPT reply, so a restarted Redis needs no setup.
var (
	//go:embed scripts/negotiate.lua
	negotiateSrc string
	//go:embed scripts/expire.lua
	expireSrc string

	negotiateScript = redis.NewScript(negotiateSrc)
	expireScript    = redis.NewScript(expireSrc)
)

// Negotiation is G7's negotiated agreement (协议约定): the buyer opens with an offer, the seller
// (the product's operator) answers, and each side may counter in turn until one accepts, rejects or
// withdraws, or the party to move lets the offer lapse (ExpireNegotiation).
// Negotiation moves and states (see scripts/negotiate.lua for the state machine).
const (
	MoveOffer    = "offer"
	MoveCounter  = "counter"
	MoveAccept   = "accept"
	MoveReject   = "reject"
	MoveWithdraw = "withdraw"
)

// The band (D14/N4 government-guided price: a base and a float range) and the floor (a minimum
// price; StartNegotiation opens with none) bound every offer; Allow and Deny
// are the product's buyer lists. They are copied into the negotiation when it opens, so a later
// product change does not alter a negotiation in progress (a lower cap does: see NegotiateCapped).
// NegotiationTerms are the product's terms a negotiation opens with.
type NegotiationTerms struct {
	ProductID   string
	Operator    datavenue.OrgID
	Holders     []datavenue.OrgID
	BandLow     *money.Yuan
	BandHigh    *money.Yuan
	Floor       money.Yuan
	Allow, Deny []datavenue.OrgID
	OfferTTL    time.Duration // how long a party has to answer an offer
}

// NegotiateCapped makes one move. terms is needed only for the buyer's opening offer; cap is the price
// cap in force at the move (zero: none), which the script holds atomically with the move.
//
// moveID is the client's idempotency key: the script stores each move's reply under it, so a
// retried request answers the first reply (NegotiationState.Duplicate) and a different request
// under the same key is idempotency_key_reused. ARGV follows negotiate.lua's doc block: 5 fixed
// values, 9 opening terms (empty on later moves) and the cap last, so positions never shift.
// Amounts go as integer fen because Lua numbers are doubles (STYLE habit 4).
func (e Engine) NegotiateCapped(ctx context.Context, id, moveID string, actor datavenue.OrgID, move string, amount, cap money.Yuan, terms *NegotiationTerms) (NegotiationState, error) {
	args := []any{id, moveID, string(actor), move, amount.Fen(), "", "", "", "", "", "", "", "", ""}
	if terms != nil {
		bandLow, bandHigh := "0", "0"
		if terms.BandLow != nil && terms.BandHigh != nil {
			bandLow, bandHigh = fen(*terms.BandLow), fen(*terms.BandHigh)
		}
		args = append(args[:5], terms.ProductID, string(terms.Operator), orgList(terms.Holders), bandLow, bandHigh,
			fen(terms.Floor), terms.OfferTTL.Milliseconds(), orgList(terms.Allow), orgList(terms.Deny))
	}
	args = append(args, fen(cap))
	return e.negotiate(ctx, id, args)
}

// NegotiationState is a negotiation's state after a move.
//
// Times are the engine's (Redis TIME, in UTC here): At is when the move was accepted, ExpiresAt
// when the party to move loses the chance to answer. Duplicate marks a replayed reply.
type NegotiationState struct {
	Status    string     `json:"status"` // offered, countered, accepted, rejected, withdrawn, expired
	Price     money.Yuan `json:"price"`
	Round     int        `json:"round"`
	ExpiresAt time.Time  `json:"expires_at"`
	At        time.Time  `json:"at"`
	Duplicate bool       `json:"-"`
}

// Negotiate makes one move without a price cap (NegotiateCapped with a zero cap).
func (e Engine) Negotiate(ctx context.Context, id, moveID string, actor datavenue.OrgID, move string, amount money.Yuan, terms *NegotiationTerms) (NegotiationState, error) {
	return e.NegotiateCapped(ctx, id, moveID, actor, move, amount, money.Zero, terms)
}

// negotiate runs the script and decodes its reply: {"ok"|"dup", "status|price|round|expires|at"}
// or {"err", code, detail}.
func (e Engine) negotiate(ctx context.Context, id string, args []any) (NegotiationState, error) {
	res, err := negotiateScript.Run(ctx, e.Redis, e.Keys.negotiateKeys(id), args...).StringSlice()
	if err != nil {
		return NegotiationState{}, redisError(err)
	}
	if res[0] == "err" {
		return NegotiationState{}, negotiationError(res[1], res[2])
	}
	parts := strings.Split(res[1], "|")
	if len(parts) != 5 {
		return NegotiationState{}, fmt.Errorf("matching: bad negotiation reply %q", res[1])
	}
	// The fields were written by the script as integers; a parse failure cannot happen short of a
	// script bug, which the engine tests would catch.
	price, _ := strconv.ParseInt(parts[1], 10, 64)
	round, _ := strconv.Atoi(parts[2])
	exp, _ := strconv.ParseInt(parts[3], 10, 64)
	at, _ := strconv.ParseInt(parts[4], 10, 64)
	return NegotiationState{Status: parts[0], Price: money.FromFen(price), Round: round, ExpiresAt: time.UnixMilli(exp).UTC(),
		At: time.UnixMilli(at).UTC(), Duplicate: res[0] == "dup"}, nil
}

// negotiationError maps the script's error codes to venue errors. A caller who is not a party gets
// not found, like an unknown id, so a negotiation's existence does not leak to third parties.
// Price-rule codes (band, floor, cap) are shared with bidding and mapped by bidError.
func negotiationError(code, detail string) error {
	switch code {
	case "negotiation_not_found":
		return datavenue.NotFound(code, "no negotiation has this id")
	case "not_a_party":
		return datavenue.NotFound("negotiation_not_found", "no negotiation has this id")
	case "idempotency_key_reused":
		return datavenue.Invalid(code, "this Idempotency-Key was used for a different request")
	case "not_your_move":
		return datavenue.Conflict(code, "it is the other party's move")
	case "invalid_action":
		return datavenue.Invalid("validation_failed", "unknown move",
			datavenue.FieldError{Field: "action", Code: "invalid_value", Message: "action is counter, accept, reject or withdraw"})
	}
	if strings.HasPrefix(code, "negotiation_") {
		return datavenue.Conflict(code, "the negotiation is over: "+strings.TrimPrefix(code, "negotiation_"))
	}
	return bidError(code, detail)
}

// ExpireNegotiation expires a negotiation whose offer went unanswered past its deadline.
//
// It runs expire.lua, which re-checks the deadline against Redis TIME and the status atomically,
// so an answer that arrives at the same moment either lands first (and the negotiation continues)
// or finds it expired: never both. It reports whether this call expired it; several sweepers may
// call it for the same id and only one gets true.
func (e Engine) ExpireNegotiation(ctx context.Context, id string) (bool, error) {
	res, err := expireScript.Run(ctx, e.Redis, e.Keys.expireKeys(id), id).StringSlice()
	if err != nil {
		return false, redisError(err)
	}
	return res[0] == "expired", nil
}

// NegotiationView is a negotiation as its parties see it.
type NegotiationView struct {
	ID        string          `json:"id"`
	ProductID string          `json:"product_id"`
	Buyer     datavenue.OrgID `json:"buyer"`
	Seller    datavenue.OrgID `json:"seller"`
	NegotiationState
	Moves []Move `json:"moves"`
}

// Move is one entry of a negotiation's history.
type Move struct {
	Round  int             `json:"round"`
	Actor  datavenue.OrgID `json:"actor"`
	Action string          `json:"action"`
	Price  money.Yuan      `json:"price"`
	At     time.Time       `json:"at"`
}

// NegotiationView reads a negotiation and its moves.
// Meta and history are two reads without a transaction: a move landing in between can make the
// history one entry ahead of the state, which a reader sees as the next move already listed. The
// history is append-only, "round|actor|action|fen|at_ms" per move.
func (e Engine) NegotiationView(ctx context.Context, id string) (NegotiationView, error) {
	m, err := e.Redis.HGetAll(ctx, e.Keys.negotiation(id, "meta")).Result()
	if err != nil {
		return NegotiationView{}, redisError(err)
	}
	if len(m) == 0 {
		return NegotiationView{}, datavenue.NotFound("negotiation_not_found", "no negotiation has this id")
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	v := NegotiationView{ID: id, ProductID: m["product"], Buyer: datavenue.OrgID(m["buyer"]), Seller: datavenue.OrgID(m["seller"]),
		NegotiationState: NegotiationState{Status: m["status"], Price: money.FromFen(num("price")), Round: int(num("round")),
			ExpiresAt: time.UnixMilli(num("expires_ms")).UTC(), At: time.UnixMilli(num("updated_ms")).UTC()}}
	raw, err := e.Redis.LRange(ctx, e.Keys.negotiation(id, "history"), 0, -1).Result()
	if err != nil {
		return v, redisError(err)
	}
	for _, r := range raw {
		p := strings.Split(r, "|")
		if len(p) != 5 {
			continue
		}
		round, _ := strconv.Atoi(p[0])
		price, _ := strconv.ParseInt(p[3], 10, 64)
		at, _ := strconv.ParseInt(p[4], 10, 64)
		v.Moves = append(v.Moves, Move{Round: round, Actor: datavenue.OrgID(p[1]), Action: p[2], Price: money.FromFen(price), At: time.UnixMilli(at).UTC()})
	}
	return v, nil
}

// DueNegotiations lists a shard's negotiations whose answer deadline passed.
// The deadline set is scored by expiry time in ms; "now" is Redis TIME, the engine's clock, not
// this process's, so every venue process agrees on what is due.
func (e Engine) DueNegotiations(ctx context.Context, shard int, limit int64) ([]string, error) {
	now, err := e.Redis.Time(ctx).Result()
	if err != nil {
		return nil, redisError(err)
	}
	ids, err := e.Redis.ZRangeByScore(ctx, e.Keys.NegotiationDeadlines(shard), &redis.ZRangeBy{Min: "-inf", Max: ms(now), Count: limit}).Result()
	return ids, redisError(err)
}
