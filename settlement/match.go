package settlement

import (
	"fmt"
	"strings"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
)

// Candidate is the treasury obligation a receipt may pay, as the store found it (by payment code,
// or by unit, amount and date), with what the rules need of its unit.
type Candidate struct {
	ObligationID string
	Amount       money.Yuan
	Remitted     money.Yuan
	UnitName     string
	FiscalLevel  parties.FiscalLevel
	Treasury     string // the unit's treasury of record (the obligation's counterpart)
	ByCode       bool   // found by its payment code (not by unit and amount)
	EventDate    civil.Date
	DueDate      *civil.Date // nil while the calendar does not reach it
}

// LateReceiptDays is how long after an obligation's deadline a receipt without a payment code
// may still be taken for it: remittances arrive late, and a slip a month past its deadline is
// still that obligation's, to be flagged by the overdue report rather than left unmatched.
const LateReceiptDays = 30

// MayPayByUnit says whether a receipt without a payment code, of the unit and for the exact amount
// still due, may be taken for an obligation: received on or after the obligation's event and no
// later than LateReceiptDays past its deadline (any time while the deadline is pending).
func MayPayByUnit(paidOn civil.Date, c Candidate) bool {
	if paidOn.Before(c.EventDate) {
		return false
	}
	return c.DueDate == nil || !paidOn.After(c.DueDate.AddDays(LateReceiptDays))
}

// PickByUnit chooses, among a unit's obligations owing exactly a receipt's amount (in the order of
// their deadlines, pending ones last), the first the receipt may pay.
func PickByUnit(paidOn civil.Date, candidates []*Candidate) *Candidate {
	for _, c := range candidates {
		if MayPayByUnit(paidOn, *c) {
			return c
		}
	}
	return nil
}

// Finding is an exception a receipt opens for a clerk, with the amount it is about.
type Finding struct {
	Kind   string // partial, over_paid, duplicate, unmatched, wrong_treasury, unit_mismatch
	Detail string
	Amount money.Yuan
}

// ReceiptOutcomes are the outcomes a receipt can have. unit_mismatch is a finding but not an
// outcome: such a receipt is still posted (matched, partial or over_paid) and only flagged.
var ReceiptOutcomes = []string{"matched", "partial", "over_paid", "duplicate", "unmatched", "wrong_treasury"}

// Decision is what a receipt does: its outcome, what it remits of the obligation, what it paid
// beyond it (booked to the unit's treasury suspense account), and the exceptions it opens.
type Decision struct {
	Outcome  string // matched, partial, over_paid, duplicate, unmatched, wrong_treasury
	Remit    money.Yuan
	Excess   money.Yuan
	Findings []Finding
}

// MatchReceipt applies the reconciliation rules to one receipt (D17, G6):
//   - a slip number seen before is a duplicate receipt, never a second payment;
//   - a receipt no obligation matches is unmatched;
//   - money paid into another level's treasury is not a remittance to the unit's own (收支两条线,
//     同级国库): wrong_treasury, nothing posted;
//   - otherwise it remits up to what is still due: matched, partial (the rest stays due and
//     visible), or over_paid (the excess booked to suspense and shown);
//   - matched by its payment code but naming another paying unit (执收单位), it is posted and
//     flagged, never silently matched.
func MatchReceipt(row ReceiptRow, c *Candidate, duplicate bool) Decision {
	switch {
	case duplicate:
		return Decision{Outcome: "duplicate", Findings: []Finding{{Kind: "duplicate", Detail: "the slip number " + row.SlipNo + " was received before", Amount: row.Amount}}}
	case c == nil:
		return Decision{Outcome: "unmatched", Findings: []Finding{{Kind: "unmatched", Detail: "no obligation matches", Amount: row.Amount}}}
	}
	// A statement without the treasury column cannot be checked here: its receipt is taken as paid
	// to the unit's own treasury.
	if row.Treasury != "" && !SameTreasury(row.Treasury, c.Treasury, c.FiscalLevel) {
		return Decision{Outcome: "wrong_treasury", Findings: []Finding{{Kind: "wrong_treasury", Amount: row.Amount,
			Detail: fmt.Sprintf("received by %s; %s remits to the treasury of its own level (%s: %s)", row.Treasury, c.UnitName, c.FiscalLevel, c.Treasury)}}}
	}
	// Exact decimal arithmetic on amounts in fen: nothing is rounded, so remitted, left and
	// excess always add up to what was due and what was received.
	remaining := c.Amount.Decimal().Sub(c.Remitted.Decimal())
	var d Decision
	switch row.Amount.Decimal().Cmp(remaining) {
	case 0:
		d = Decision{Outcome: "matched", Remit: row.Amount}
	case -1:
		left := money.FromDecimal(remaining.Sub(row.Amount.Decimal()))
		d = Decision{Outcome: "partial", Remit: row.Amount, Findings: []Finding{{Kind: "partial", Amount: left,
			Detail: fmt.Sprintf("received %s of the %s still due: %s remains due", row.Amount, money.FromDecimal(remaining), left)}}}
	default:
		excess := money.FromDecimal(row.Amount.Decimal().Sub(remaining))
		d = Decision{Outcome: "over_paid", Remit: money.FromDecimal(remaining), Excess: excess, Findings: []Finding{{Kind: "over_paid", Amount: excess,
			Detail: fmt.Sprintf("received %s where %s was still due: the excess %s is in treasury suspense", row.Amount, money.FromDecimal(remaining), excess)}}}
	}
	if c.ByCode && row.Unit != "" && normaliseName(row.Unit) != normaliseName(c.UnitName) {
		d.Findings = append(d.Findings, Finding{Kind: "unit_mismatch", Amount: row.Amount,
			Detail: fmt.Sprintf("the slip's paying unit is %s, but payment code %s is %s's", row.Unit, row.PaymentCode, c.UnitName)})
	}
	return d
}

// SameTreasury says whether a receipt's treasury (收款国库) is the unit's: the name on record, or
// failing an exact match a treasury of the unit's fiscal level (statements name the same treasury
// in several ways: 市级国库, 市本级国库, 市财政局国库支付中心 …). A name whose level cannot be told
// is not the unit's.
func SameTreasury(received, ofRecord string, level parties.FiscalLevel) bool {
	if normaliseName(received) == normaliseName(ofRecord) {
		return true
	}
	l, ok := parties.TreasuryLevel(received)
	return ok && l == level
}

// nameNoise is what does not count when names are compared: spaces (full-width too) and the
// width of brackets.
var nameNoise = strings.NewReplacer(" ", "", "\u3000", "", "（", "(", "）", ")")

// normaliseName compares names as statements write them.
func normaliseName(s string) string { return strings.TrimSpace(nameNoise.Replace(s)) }
