package settlement

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
)

// Account purposes (D17, G6): where money sits on its way from a buyer to its parties.
const (
	Clearing      = "clearing"        // what buyers paid, not yet distributed
	DepositsHeld  = "deposits_held"   // auction deposits (保证金) received
	Payable       = "payable"         // owed to a party (a state enterprise, an operator, a collector …)
	DueToTreasury = "due_to_treasury" // a government unit's share: non-tax revenue owed to its treasury
	Remitted      = "remitted"        // remitted to the treasury (matched in reconciliation)
	VenueFees     = "venue_fees"      // the venue's service fee
	PaidOut       = "paid_out"        // paid out to a party (a released deposit refunded, too)
	// ForfeitedDeposits holds the deposits of winners who did not pay, until a clerk decides on
	// compensation: the pilot plans do not say who receives them.
	ForfeitedDeposits = "forfeited_deposits"
	// TreasurySuspense holds what a unit paid its treasury beyond what it owed (an over-payment),
	// until a clerk settles it (a refund by the treasury, or a later obligation).
	TreasurySuspense = "treasury_suspense"
)

// DepositReceived books an auction deposit when it is received: the money is in clearing and held
// for the buyer.
func DepositReceived(auctionID string, buyer datavenue.OrgID, amount decimal.Decimal) Transaction {
	return Transaction{Kind: "deposit_received", SourceID: auctionID, Key: "deposit:" + auctionID + ":" + string(buyer),
		Memo: "auction deposit", Postings: []Posting{
			{Account: AccountID(Clearing, ""), Amount: amount},
			{Account: AccountID(DepositsHeld, buyer), Amount: amount.Neg()},
		}}
}

// DepositReleased refunds a deposit held for a buyer who did not win.
func DepositReleased(auctionID string, buyer datavenue.OrgID, amount decimal.Decimal) Transaction {
	return Transaction{Kind: "deposit_released", SourceID: auctionID, Key: "deposit-release:" + auctionID + ":" + string(buyer),
		Memo: "auction deposit refunded", Postings: []Posting{
			{Account: AccountID(DepositsHeld, buyer), Amount: amount},
			{Account: AccountID(PaidOut, buyer), Amount: amount.Neg()},
		}}
}

// DepositExcessRefunded pays back the part of a winner's deposit above the price it won at (the
// rest is applied to the price, OrderTerms): made with the order, once per auction and buyer.
func DepositExcessRefunded(auctionID string, buyer datavenue.OrgID, amount decimal.Decimal) Transaction {
	return Transaction{Kind: "deposit_excess_refunded", SourceID: auctionID, Key: "deposit-excess:" + auctionID + ":" + string(buyer),
		Memo: "auction deposit above the price refunded", Postings: []Posting{
			{Account: AccountID(DepositsHeld, buyer), Amount: amount},
			{Account: AccountID(PaidOut, buyer), Amount: amount.Neg()},
		}}
}

// DepositForfeited moves the deposit of a winner who did not pay in time to forfeited deposits.
func DepositForfeited(orderID string, buyer datavenue.OrgID, amount decimal.Decimal) Transaction {
	return Transaction{Kind: "deposit_forfeited", SourceID: orderID, Key: "deposit-forfeit:" + orderID,
		Memo: "unpaid: deposit forfeited", Postings: []Posting{
			{Account: AccountID(DepositsHeld, buyer), Amount: amount},
			{Account: AccountID(ForfeitedDeposits, ""), Amount: amount.Neg()},
		}}
}

// AccountID names the ledger account of a party and purpose (party empty: the venue's own).
func AccountID(purpose string, party datavenue.OrgID) string {
	if party == "" {
		return "acc_" + purpose
	}
	return "acc_" + purpose + ":" + string(party)
}

// Posting moves an amount into (positive: debit) or out of (negative: credit) an account.
type Posting struct {
	Account string          `json:"account"`
	Amount  decimal.Decimal `json:"amount"`
}

// Transaction is a set of postings that balance (double entry: every yuan that leaves an account
// enters another, so the trial balance always totals zero). Key is the transaction's idempotency
// key, built from what caused it ("deposit:<auction>:<buyer>"): a step that is retried, or a sweep
// that runs twice, books its money once, because the store keeps one transaction per key.
type Transaction struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	SourceID  string    `json:"source_id"`
	Key       string    `json:"idempotency_key"`
	Reverses  string    `json:"reverses,omitempty"`
	Memo      string    `json:"memo,omitempty"`
	Postings  []Posting `json:"postings"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrUnbalanced is a transaction whose debits and credits differ (or with fewer than two postings).
var ErrUnbalanced = errors.New("settlement: a ledger transaction's debits must equal its credits")

// Balanced checks a transaction before it reaches the database, which checks it again.
func (t Transaction) Balanced() error {
	// A zero posting records no movement, and an amount below the fen cannot be paid or remitted:
	// both mean an amount was computed wrongly upstream, so they are refused rather than rounded.
	sum := decimal.Zero
	for _, p := range t.Postings {
		if p.Amount.IsZero() || p.Amount.Exponent() < -2 {
			return ErrUnbalanced
		}
		sum = sum.Add(p.Amount)
	}
	if len(t.Postings) < 2 || !sum.IsZero() {
		return ErrUnbalanced
	}
	return nil
}

// Reversal is the transaction that undoes t: the same postings, negated. Postings are never
// changed; a correction is a reversal (and, if needed, a new transaction).
func (t Transaction) Reversal(key, memo string) Transaction {
	r := Transaction{Kind: "reversal", SourceID: t.SourceID, Key: key, Reverses: t.ID, Memo: memo}
	for _, p := range t.Postings {
		r.Postings = append(r.Postings, Posting{Account: p.Account, Amount: p.Amount.Neg()})
	}
	return r
}
