package matching

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// One script per atomic operation (STYLE: asynq, redis_rate), embedded so the binary carries the Lua
// it was tested with. redis.Script runs EVALSHA and falls back to loading the script on NOSCRIPT, so
// a restarted or failed-over Redis needs no setup step.
var (
	//go:embed scripts/open.lua
	openSrc string
	//go:embed scripts/bid.lua
	bidSrc string
	//go:embed scripts/close.lua
	closeSrc string
	//go:embed scripts/deposit.lua
	depositSrc string
	//go:embed scripts/advance.lua
	advanceSrc string
	//go:embed scripts/cap.lua
	capSrc string

	openScript    = redis.NewScript(openSrc)
	bidScript     = redis.NewScript(bidSrc)
	closeScript   = redis.NewScript(closeSrc)
	depositScript = redis.NewScript(depositSrc)
	advanceScript = redis.NewScript(advanceSrc)
	capScript     = redis.NewScript(capSrc)
)

// Redis is the part of go-redis the engine uses; a *redis.Client and a *redis.ClusterClient both
// are one.
type Redis interface {
	redis.Scripter
	HGetAll(ctx context.Context, key string) *redis.MapStringStringCmd
	LRange(ctx context.Context, key string, start, stop int64) *redis.StringSliceCmd
	SIsMember(ctx context.Context, key string, member any) *redis.BoolCmd
	ZRangeByScore(ctx context.Context, key string, opt *redis.ZRangeBy) *redis.StringSliceCmd
	Time(ctx context.Context) *redis.TimeCmd
}

// Engine runs auctions in Redis.
//
// The engine holds no state of its own: every auction's hot state lives in Redis under keys that
// Keys builds with its shard's {hash tag}, so each script touches one cluster slot, and any number
// of venue processes can run engines over the same Redis.
type Engine struct {
	Redis Redis
	Keys  Keys
}

// ms, fen and orgList are the scripts' argument encodings: Unix milliseconds, integer fen (Lua
// numbers are doubles, so no decimals cross into Lua), and comma-separated organisation ids.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fen(y money.Yuan) string { return strconv.FormatInt(y.Fen(), 10) }

func orgList(orgs []datavenue.OrgID) string { return strings.Join(strs(orgs), ",") }

// flag is a script's 0|1 argument.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// redisError turns a failed Redis call into a venue error: the engine being unreachable is a 503
// the client may retry (bids are idempotent by id), never a 500.
func redisError(err error) error {
	if err == nil {
		return nil
	}
	return datavenue.Unavailable("matching_unavailable", "the matching engine is unavailable; retry with the same bid id", err)
}

// Open creates the auction's hot state; opening twice changes nothing.
//
// The ARGV order is open.lua's doc block; the auction's rules are copied into its meta hash there,
// so later bids are judged against the terms the auction opened with.
func (e Engine) Open(ctx context.Context, a Auction) error {
	bandLow, bandHigh := "0", "0"
	if a.BandLow != nil && a.BandHigh != nil {
		bandLow, bandHigh = fen(*a.BandLow), fen(*a.BandHigh)
	}
	_, err := openScript.Run(ctx, e.Redis, e.Keys.openKeys(a.ID), a.ID, a.ProductID, a.Kind, string(a.Operator),
		orgList(a.Holders), ms(a.Start), ms(a.End), fen(a.Reserve), fen(a.Increment), a.AntiSnipe.Milliseconds(),
		flag(a.DepositRequired), bandLow, bandHigh, fen(a.Floor), flag(a.Revisable), orgList(a.Allow), orgList(a.Deny),
		fen(a.opening()), fen(a.Cap)).StringSlice()
	return redisError(err)
}

// opening is the first bid's minimum: the opening price, or the reserve when none is set.
func (a Auction) opening() money.Yuan {
	if a.Opening.IsZero() {
		return a.Reserve
	}
	return a.Opening
}

// Bid places a bid. bidID makes it idempotent: a retry with the same id returns the first result.
func (e Engine) Bid(ctx context.Context, auctionID, bidID string, buyer datavenue.OrgID, amount money.Yuan) (BidResult, error) {
	// The amount's range is checked here too so an obviously bad amount costs no Redis call; bid.lua
	// checks it again, since it is the authority.
	if amount.Fen() <= 0 || amount.Fen() > money.MaxFen {
		return BidResult{}, bidError(ErrAmount, "")
	}
	res, err := bidScript.Run(ctx, e.Redis, e.Keys.bidKeys(auctionID), auctionID, bidID, string(buyer), amount.Fen()).StringSlice()
	if err != nil {
		return BidResult{}, redisError(err)
	}
	switch res[0] {
	case "ok", "dup":
		r, err := parseBidReply(res[1])
		r.Duplicate = res[0] == "dup"
		return r, err
	}
	return BidResult{}, bidError(res[1], res[2])
}

// parseBidReply reads bid.lua's "seq|fen|end_ms|bids|at_ms" reply.
func parseBidReply(reply string) (BidResult, error) {
	var seq, amount, end, bids, at int64
	if _, err := fmt.Sscanf(reply, "%d|%d|%d|%d|%d", &seq, &amount, &end, &bids, &at); err != nil {
		return BidResult{}, fmt.Errorf("matching: bad bid reply %q", reply)
	}
	return BidResult{Seq: seq, Amount: money.FromFen(amount), EndsAt: time.UnixMilli(end).UTC(), Bids: int(bids), At: time.UnixMilli(at).UTC()}, nil
}

// BidError is a refused bid: the rule's code and, for some, the bound that applies.
type BidError struct {
	Code   string
	Detail string
}

func (e *BidError) Error() string { return e.Code + " " + e.Detail }

// bidError makes the venue error for a refusal, keeping the code for callers that compare.
func bidError(code, detail string) error {
	be := &BidError{Code: code, Detail: detail}
	var e *datavenue.Error
	switch code {
	case ErrNotFound:
		e = datavenue.NotFound(code, "no open auction has this id")
	case ErrParty, ErrDenied, ErrNotAllowed, ErrDeposit:
		e = datavenue.Forbidden(code, eligibilityMessage[code])
	case ErrAmount, ErrOutsideBand, ErrBelowFloor, ErrTooLow, ErrBelowReserve, ErrAboveCap:
		e = datavenue.Invalid(code, "the bid amount breaks a price rule",
			datavenue.FieldError{Field: "amount", Code: code, Message: amountMessage(code, detail)})
	default:
		e = datavenue.Conflict(code, "the auction does not take bids now: "+code)
	}
	e.Cause = be
	return e
}

// eligibilityMessage explains the refusals that concern who may bid (an operator or holder bidding
// on its own product is forbidden: it would set its own price).
var eligibilityMessage = map[string]string{
	ErrParty:      "the product's operator and holders cannot bid on it",
	ErrDenied:     "your organisation is on this product's deny list",
	ErrNotAllowed: "this product is offered only to the organisations on its allow list",
	ErrDeposit:    "this auction asks for a deposit (保证金), which has not been recorded as received",
}

// amountMessage turns a price-rule refusal into the field message; detail carries the bound in fen
// (for the band, "low|high"), shown in yuan.
func amountMessage(code, detail string) string {
	yuan := func(s string) string {
		n, _ := strconv.ParseInt(s, 10, 64)
		return money.FromFen(n).String()
	}
	switch code {
	case ErrTooLow:
		return "the bid must be at least " + yuan(detail)
	case ErrBelowReserve:
		return "the bid must be at least the reserve " + yuan(detail)
	case ErrBelowFloor:
		return "the bid must be at least the appraisal-based reserve " + yuan(detail)
	case ErrAboveCap:
		return "the amount must be at most the price cap " + yuan(detail) + " (上限收费标准)"
	case ErrOutsideBand:
		lo, hi, _ := strings.Cut(detail, "|")
		return "the bid must be inside the guided band " + yuan(lo) + "–" + yuan(hi)
	}
	return "an amount is more than 0.00 and at most 90071992547409.91 yuan, in whole fen"
}

// Close closes the auction if its deadline passed (exactly once across all callers).
func (e Engine) Close(ctx context.Context, auctionID string) (Outcome, error) {
	return e.close(ctx, auctionID, "due", "")
}

// Stop ends an open auction at once without a winner: bidding stops when a certificate or
// authorisation it depends on stops holding.
func (e Engine) Stop(ctx context.Context, auctionID, reason string) (Outcome, error) {
	return e.close(ctx, auctionID, "stop", reason)
}

// ErrNotDue is returned by Close before the auction's deadline.
var ErrNotDue = errors.New("matching: auction not due")

func (e Engine) close(ctx context.Context, auctionID, mode, reason string) (Outcome, error) {
	// close.lua answers "closed" to the one call that decided the outcome and "already" (with the
	// outcome decided before) to every other, which is what makes OnClose and the counts once-only.
	// Stop on an auction already closed returns that earlier outcome with Already set.
	res, err := closeScript.Run(ctx, e.Redis, e.Keys.closeKeys(auctionID), auctionID, mode, reason).StringSlice()
	if err != nil {
		return Outcome{}, redisError(err)
	}
	switch res[0] {
	case "not_due":
		return Outcome{}, ErrNotDue
	case "err":
		return Outcome{}, bidError(res[1], "")
	}
	price, _ := strconv.ParseInt(res[3], 10, 64)
	at, _ := strconv.ParseInt(res[4], 10, 64)
	return Outcome{Result: res[1], Winner: datavenue.OrgID(res[2]), Price: money.FromFen(price),
		ClosedAt: time.UnixMilli(at).UTC(), Already: res[0] == "already"}, nil
}

// RecordDeposit records that buyer's deposit for the auction was received.
func (e Engine) RecordDeposit(ctx context.Context, auctionID string, buyer datavenue.OrgID, ref string) error {
	res, err := depositScript.Run(ctx, e.Redis, e.Keys.depositKeys(auctionID), auctionID, string(buyer), ref).StringSlice()
	if err != nil {
		return redisError(err)
	}
	if res[0] == "err" {
		return bidError(res[1], "")
	}
	return nil
}

// AdvanceClock freezes one auction's clock (at Redis TIME, the first time) and moves it forward
// by d, returning the auction's time. Tests only: the model-based test uses it to pass deadlines
// exactly, without waiting; the venue never calls it.
func (e Engine) AdvanceClock(ctx context.Context, auctionID string, d time.Duration) (time.Time, error) {
	n, err := advanceScript.Run(ctx, e.Redis, []string{e.Keys.auction(auctionID, "meta")}, d.Milliseconds()).Int64()
	return time.UnixMilli(n).UTC(), err
}

// State is an auction's public state. For sealed auctions it holds no amount and no bidder until
// the close: only the number of bidders.
type State struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	StartsAt  time.Time       `json:"starts_at"`
	EndsAt    time.Time       `json:"ends_at"`
	Reserve   money.Yuan      `json:"reserve"`
	Increment money.Yuan      `json:"increment"`
	Bids      int             `json:"bids"`
	High      *money.Yuan     `json:"high,omitempty"`
	Leader    datavenue.OrgID `json:"leader,omitempty"`
	Outcome   *Outcome        `json:"outcome,omitempty"`
	// Cap is the price cap (上限收费标准) the engine holds: no bid above it, no clearing above it.
	Cap      *money.Yuan `json:"cap,omitempty"`
	Currency string      `json:"currency"`
}

// State reads an auction's public state.
func (e Engine) State(ctx context.Context, auctionID string) (State, error) {
	// The meta hash is read in one HGETALL, so the fields are consistent with each other (one script
	// wrote them atomically).
	m, err := e.Redis.HGetAll(ctx, e.Keys.auction(auctionID, "meta")).Result()
	if err != nil {
		return State{}, redisError(err)
	}
	if len(m) == 0 {
		return State{}, bidError(ErrNotFound, "")
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	s := State{ID: auctionID, Kind: m["kind"], Status: m["status"], StartsAt: time.UnixMilli(num("start_ms")).UTC(),
		EndsAt: time.UnixMilli(num("end_ms")).UTC(), Reserve: money.FromFen(num("reserve")),
		Increment: money.FromFen(num("increment")), Bids: int(num("bids")), Currency: "CNY"}
	if c := num("cap"); c > 0 {
		y := money.FromFen(c)
		s.Cap = &y
	}
	// Redaction: a sealed auction shows neither the high bid nor the leader while it runs, so no bidder
	// can learn what to outbid.
	if s.Kind == English && s.Bids > 0 {
		high := money.FromFen(num("high"))
		s.High, s.Leader = &high, datavenue.OrgID(m["high_bidder"])
	}
	if s.Status != AuctionOpen {
		s.Outcome = &Outcome{Result: m["outcome"], Winner: datavenue.OrgID(m["winner"]), Price: money.FromFen(num("price")),
			ClosedAt: time.UnixMilli(num("closed_ms")).UTC()}
	}
	return s, nil
}

// Bid history entry of an English auction (public), or of a sealed one after its close.
type HistoryEntry struct {
	Seq    int64           `json:"seq"`
	BidID  string          `json:"bid_id"`
	Buyer  datavenue.OrgID `json:"buyer"`
	Amount money.Yuan      `json:"amount"`
	At     time.Time       `json:"at"`
}

// History returns every accepted bid in order.
func (e Engine) History(ctx context.Context, auctionID string) ([]HistoryEntry, error) {
	// The history is append-only in Redis, one "seq|bid id|buyer|fen|at_ms" entry per accepted bid;
	// callers apply the visibility rules (Service.History).
	raw, err := e.Redis.LRange(ctx, e.Keys.auction(auctionID, "history"), 0, -1).Result()
	if err != nil {
		return nil, redisError(err)
	}
	out := make([]HistoryEntry, 0, len(raw))
	for _, r := range raw {
		parts := strings.Split(r, "|")
		if len(parts) != 5 {
			continue
		}
		seq, _ := strconv.ParseInt(parts[0], 10, 64)
		amount, _ := strconv.ParseInt(parts[3], 10, 64)
		at, _ := strconv.ParseInt(parts[4], 10, 64)
		out = append(out, HistoryEntry{Seq: seq, BidID: parts[1], Buyer: datavenue.OrgID(parts[2]), Amount: money.FromFen(amount), At: time.UnixMilli(at).UTC()})
	}
	return out, nil
}

// Due lists a shard's auctions whose deadline has passed by Redis time.
func (e Engine) Due(ctx context.Context, shard int, limit int64) ([]string, error) {
	// Due uses Redis TIME, not this process's clock, so closers on several hosts agree; close.lua
	// re-checks the deadline itself, so a stale list only costs a "not_due" answer.
	now, err := e.Redis.Time(ctx).Result()
	if err != nil {
		return nil, redisError(err)
	}
	ids, err := e.Redis.ZRangeByScore(ctx, e.Keys.Deadlines(shard), &redis.ZRangeBy{Min: "-inf", Max: ms(now), Count: limit}).Result()
	return ids, redisError(err)
}

// LowerCap lowers a running auction's price cap to amount (never raises it): bids above it are
// refused from then on, and the close never clears above it. When the leading bid is already above
// the new cap the auction is stopped at once, reason cap_lowered (StopCapLowered). It reports
// whether it stopped the auction; an auction no longer open is left alone.
func (e Engine) LowerCap(ctx context.Context, auctionID string, amount money.Yuan) (stopped bool, err error) {
	keys := e.Keys.closeKeys(auctionID)
	res, err := capScript.Run(ctx, e.Redis, []string{keys[0], keys[1]}, auctionID, amount.Fen()).StringSlice()
	if err != nil {
		return false, redisError(err)
	}
	switch res[0] {
	case "err":
		return false, bidError(res[1], "")
	case "not_open":
		return false, nil
	}
	if res[2] != "1" {
		return false, nil
	}
	o, err := e.Stop(ctx, auctionID, StopCapLowered)
	return err == nil && !o.Already, err
}
