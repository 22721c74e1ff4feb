package matching

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// Record is an auction as PostgreSQL (the system of record) keeps it.
type Record struct {
	ID           string          `json:"id"`
	ProductID    string          `json:"product_id"`
	OperatorID   datavenue.OrgID `json:"operator_id"`
	Kind         string          `json:"kind"`
	Status       string          `json:"status"`
	StartsAt     time.Time       `json:"starts_at"`
	EndsAt       time.Time       `json:"ends_at"`
	Reserve      money.Yuan      `json:"reserve"`
	Opening      money.Yuan      `json:"opening_price"`
	Increment    money.Yuan      `json:"increment"`
	AntiSnipeSec int             `json:"anti_snipe_seconds"`
	Deposit      money.Yuan      `json:"deposit"`
	BandLow      *money.Yuan     `json:"band_low,omitempty"`
	BandHigh     *money.Yuan     `json:"band_high,omitempty"`
	Floor        money.Yuan      `json:"floor"`
	Revisable    bool            `json:"revisable"`
	PriceVersion int             `json:"price_version"`
	Outcome      *Outcome        `json:"outcome,omitempty"`
	StopReason   string          `json:"stop_reason,omitempty"`
	Currency     string          `json:"currency"`
	CreatedAt    time.Time       `json:"created_at"`
}

// Store keeps auctions in PostgreSQL.
type Store interface {
	Product(ctx context.Context, id string) (listing.Product, error)
	CreateAuction(ctx context.Context, r Record) (Record, error)
	Auction(ctx context.Context, id string) (Record, error)
	Auctions(ctx context.Context, productID, status string) ([]Record, error)
	// RecordOutcome stores how an open auction ended; recording it again changes nothing.
	RecordOutcome(ctx context.Context, id string, o Outcome, reason string) error
	// OpenAuctionsOnAsset lists the open auctions of products derived from an asset that are no
	// longer published.
	OpenAuctionsOnAsset(ctx context.Context, assetID string) ([]string, error)
	OrganisationKind(ctx context.Context, id datavenue.OrgID) (string, error)
	// ListAuctions pages through auctions, newest first (by id, after After).
	ListAuctions(ctx context.Context, f AuctionFilter) ([]Record, error)
	// ListNegotiations pages through the projected negotiations by id, descending (after After).
	ListNegotiations(ctx context.Context, f NegotiationFilter) ([]NegotiationRecord, error)
}

// AuctionFilter selects auctions to list; empty fields select all.
type AuctionFilter struct {
	Status, Kind, ProductID string
	OperatorID              datavenue.OrgID
	After                   string
	Limit                   int
}

// List lists auctions, newest first: their records (terms, status, and once closed the outcome,
// which is public; sealed bids never show here).
func (s Service) List(ctx context.Context, f AuctionFilter) ([]Record, error) {
	var fields datavenue.Fields
	if f.Status != "" && f.Status != AuctionOpen && f.Status != AuctionClosed && f.Status != AuctionStopped {
		fields.Add("status", "invalid_value", "status is open, closed or stopped")
	}
	if f.Kind != "" && f.Kind != English && f.Kind != SealedFirst && f.Kind != SealedSecond {
		fields.Add("kind", "invalid_value", "kind is english, sealed_first or sealed_second")
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	return s.Store.ListAuctions(ctx, f)
}

// qualified checks that the caller's organisation is a registered party of the venue: tokens
// name an organisation, but only a registered one may trade.
func (s Service) qualified(ctx context.Context, caller datavenue.Caller) error {
	if s.Registered != nil {
		if _, ok := s.Registered.Load(caller.Org); ok {
			return nil
		}
	}
	if _, err := s.Store.OrganisationKind(ctx, caller.Org); err != nil {
		if datavenue.KindOf(err) == datavenue.KindNotFound {
			return datavenue.Forbidden("buyer_not_registered", "your organisation is not a registered party of the venue")
		}
		return err
	}
	if s.Registered != nil {
		s.Registered.Store(caller.Org, true)
	}
	return nil
}

// Service runs auctions for the API: PostgreSQL for the records, the Engine for the hot state.
type Service struct {
	Store  Store
	Engine Engine
	Clock  datavenue.Clock
	// Registered caches organisations found registered (registration is never undone, so a
	// positive answer stays true), sparing a bid its PostgreSQL round trip. Nil: no cache.
	Registered *sync.Map
	// Caps finds the price cap in force (N4); nil: no caps (engine tests).
	Caps CapLookup
}

// CreateInput opens an auction for a published, auction-priced product.
type CreateInput struct {
	ProductID string `json:"product_id"`
	Revisable bool   `json:"revisable,omitempty" jsonschema:"description=sealed auctions: bids may be revised until close"`
}

// Create opens the auction of a published product priced by auction, on the terms of its current
// price version. Opening again while one is open returns that one (and restores its hot state if
// Redis lost it).
func (s Service) Create(ctx context.Context, caller datavenue.Caller, in CreateInput) (Record, error) {
	if !caller.Is(datavenue.RoleOperator) {
		return Record{}, datavenue.Forbidden("role_not_allowed", "operators run auctions")
	}
	p, err := s.Store.Product(ctx, in.ProductID)
	if err != nil || p.OperatorID != caller.Org {
		return Record{}, datavenue.Invalid("product_not_found", "no product of yours has this id",
			datavenue.FieldError{Field: "product_id", Code: "not_found", Message: "no product of yours has this id"})
	}
	pr := p.Pricing
	switch {
	case p.Status != listing.StatusPublished:
		return Record{}, datavenue.Conflict("product_not_published", "only a published product is auctioned")
	case pr.Method != listing.MethodAuction || pr.Reserve == nil || pr.StartAt == nil || pr.EndAt == nil:
		return Record{}, datavenue.Conflict("not_auction_priced", "the product's pricing method is not an auction")
	case !pr.EndAt.After(s.Clock.Now()):
		return Record{}, datavenue.Conflict("auction_schedule_passed", "the auction's end has passed; change the product's price schedule")
	}
	cap, err := s.capFor(ctx, p)
	if err != nil {
		return Record{}, err
	}
	if s.Caps != nil {
		if err := checkCapped(p, cap); err != nil {
			return Record{}, err
		}
	}
	r := Record{ID: datavenue.NewID("auc"), ProductID: p.ID, OperatorID: p.OperatorID, Kind: pr.AuctionKind, Status: "open",
		StartsAt: *pr.StartAt, EndsAt: *pr.EndAt, Reserve: *pr.Reserve, Increment: money.Zero, Deposit: money.Zero,
		Floor: money.Zero, Revisable: in.Revisable && pr.AuctionKind != English, PriceVersion: p.PriceVersion, Currency: "CNY"}
	if pr.Increment != nil {
		r.Increment = *pr.Increment
	}
	r.Opening = r.Reserve
	if pr.Opening != nil {
		r.Opening = *pr.Opening
	}
	if pr.AntiSnipeMinutes != nil {
		r.AntiSnipeSec = *pr.AntiSnipeMinutes * 60
	}
	if pr.Deposit != nil {
		r.Deposit = *pr.Deposit
	}
	rec, err := s.Store.CreateAuction(ctx, r)
	if datavenue.CodeOf(err) == "auction_open" {
		open, lerr := s.Store.Auctions(ctx, p.ID, "open")
		if lerr != nil || len(open) == 0 {
			return Record{}, err
		}
		rec = open[0]
	} else if err != nil {
		return Record{}, err
	}
	a := s.engineAuction(rec, p)
	a.Cap = cap
	return rec, s.Engine.Open(ctx, a)
}

func (s Service) engineAuction(r Record, p listing.Product) Auction {
	return Auction{ID: r.ID, ProductID: r.ProductID, Kind: r.Kind, Operator: r.OperatorID, Holders: p.HolderIDs,
		Start: r.StartsAt, End: r.EndsAt, Reserve: r.Reserve, Opening: r.Opening, Increment: r.Increment,
		AntiSnipe: time.Duration(r.AntiSnipeSec) * time.Second, DepositRequired: !r.Deposit.IsZero(),
		BandLow: r.BandLow, BandHigh: r.BandHigh, Floor: r.Floor, Revisable: r.Revisable, Allow: p.AllowList, Deny: p.DenyList}
}

// BidInput is a bid's amount (yuan, decimal string).
type BidInput struct {
	Amount string `json:"amount" jsonschema:"description=yuan as a decimal string with at most two places,pattern=^[0-9]{1\\,15}(\\.[0-9]{1\\,2})?$"`
}

// keyScope is whose an Idempotency-Key is: the caller's issuer, organisation and subject, as for
// every other route (package idempotency). Two users of one organisation never share a key.
func keyScope(caller datavenue.Caller, key string) []byte {
	return []byte(caller.Issuer + "|" + string(caller.Org) + "|" + caller.Subject + "|" + key)
}

// BidID derives the engine's bid id from the caller and its Idempotency-Key, so a retried request
// is the same bid and two callers' keys can never collide; without a key every request is a bid.
func BidID(caller datavenue.Caller, key string) string {
	if key == "" {
		return datavenue.NewID("bid")
	}
	sum := sha256.Sum256(keyScope(caller, key))
	return "bid_" + hex.EncodeToString(sum[:13])
}

// errKeyReused answers a key used before for a different request.
var errKeyReused = datavenue.Invalid("idempotency_key_reused", "this Idempotency-Key was used for a different request")

// Bid places a buyer's bid.
func (s Service) Bid(ctx context.Context, caller datavenue.Caller, auctionID, key string, in BidInput) (BidResult, error) {
	if !caller.Is(datavenue.RoleBuyer) {
		return BidResult{}, datavenue.Forbidden("role_not_allowed", "buyers bid")
	}
	amount, err := money.Parse(in.Amount)
	if err != nil {
		return BidResult{}, datavenue.Invalid("validation_failed", "invalid amount",
			datavenue.FieldError{Field: "amount", Code: "invalid_amount", Message: err.Error()})
	}
	if err := s.qualified(ctx, caller); err != nil {
		return BidResult{}, err
	}
	r, err := s.Engine.Bid(ctx, auctionID, BidID(caller, key), caller.Org, amount)
	if err == nil && r.Duplicate && r.Amount.Cmp(amount) != 0 {
		return BidResult{}, errKeyReused // the key's first bid was another amount: this one is not placed
	}
	return r, err
}

// DepositInput records a buyer's deposit as received.
type DepositInput struct {
	Buyer datavenue.OrgID `json:"buyer"`
	Ref   string          `json:"ref" jsonschema:"minLength=1,maxLength=100,description=the payment record the clerk matched"`
}

// RecordDeposit is the clerk's record that a deposit arrived; the projection books the money in
// the ledger (postgres applyDeposit).
func (s Service) RecordDeposit(ctx context.Context, caller datavenue.Caller, auctionID string, in DepositInput) error {
	if !caller.Is(datavenue.RoleClerk) {
		return datavenue.Forbidden("role_not_allowed", "a settlement clerk records deposits")
	}
	if !datavenue.HasPrefix(string(in.Buyer), "org") || in.Ref == "" || len(in.Ref) > 100 {
		return datavenue.Invalid("validation_failed", "a deposit names the buyer and the payment reference",
			datavenue.FieldError{Field: "buyer", Code: "required", Message: "buyer organisation id and ref are required"})
	}
	return s.Engine.RecordDeposit(ctx, auctionID, in.Buyer, in.Ref)
}

// View is an auction for the API: its record and its live state.
type View struct {
	Record
	Live State `json:"live"`
}

// Get returns an auction with its live state.
func (s Service) Get(ctx context.Context, id string) (View, error) {
	r, err := s.Store.Auction(ctx, id)
	if err != nil {
		return View{}, err
	}
	st, err := s.Engine.State(ctx, id)
	if err != nil {
		return View{}, err
	}
	return View{Record: r, Live: st}, nil
}

// History returns the bids. An English auction is open outcry: its bids are public to every
// caller, as the live feed shows them. A sealed auction's bids are seen by nobody, operator
// included, until the close; after it, the whole list (losing bidders and amounts) goes to those
// with a part in it: its bidders, its operator and the supervisors (bureaus, clerks, auditors).
// Everyone else learns the outcome, the winning price, from the auction itself.
func (s Service) History(ctx context.Context, caller datavenue.Caller, id string) ([]HistoryEntry, error) {
	st, err := s.Engine.State(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Kind == English {
		return s.Engine.History(ctx, id)
	}
	if st.Status == AuctionOpen {
		return nil, datavenue.Forbidden("sealed_until_close", "sealed bids are revealed at the close")
	}
	list, err := s.Engine.History(ctx, id)
	if err != nil {
		return nil, err
	}
	if caller.Is(access.BookKeepers...) {
		return list, nil
	}
	if caller.Is(datavenue.RoleOperator) {
		if r, err := s.Store.Auction(ctx, id); err == nil && r.OperatorID == caller.Org {
			return list, nil
		}
	}
	for _, e := range list {
		if caller.Is(datavenue.RoleBuyer) && e.Buyer == caller.Org {
			return list, nil
		}
	}
	return nil, datavenue.Forbidden("bids_not_yours", "a sealed auction's bids go to its bidders, its operator and the supervisors; its outcome is on the auction")
}

// Closed records an outcome the closer decided.
func (s Service) Closed(ctx context.Context, id string, o Outcome) error {
	return s.Store.RecordOutcome(ctx, id, o, "")
}
