package settlement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/workdays"
)

// Roles a party can have in a contribution agreement.
var Roles = []string{"holder", "collector", "processor", "operator", "venue_fee"}

// AgreementParty is one party of a contribution agreement: an agreed ratio, or input costs per
// stage. The venue's service fee is the party with role venue_fee and no organisation.
type AgreementParty struct {
	Party datavenue.OrgID       `json:"party,omitempty"`
	Role  string                `json:"role"`
	Ratio string                `json:"ratio,omitempty" jsonschema:"description=basis ratio: the party's fraction of the whole as a decimal (0.40 for 40%); an agreement's ratios add up to exactly 1"`
	Costs map[string]money.Yuan `json:"costs,omitempty" jsonschema:"description=basis cost: input cost per stage (production, collection, processing, circulation)"`
}

// Agreement is a product's contribution agreement (D16, G6), versioned: a trade uses the version in
// force when it was made.
type Agreement struct {
	ProductID string           `json:"product_id"`
	Version   int              `json:"version"`
	Basis     string           `json:"basis"` // ratio or cost
	Parties   []AgreementParty `json:"parties"`
	CreatedBy datavenue.OrgID  `json:"created_by"`
	CreatedAt time.Time        `json:"created_at"`
}

// AgreementInput is a new version of an agreement.
type AgreementInput struct {
	Basis   string           `json:"basis" jsonschema:"enum=ratio,enum=cost"`
	Parties []AgreementParty `json:"parties" jsonschema:"minItems=1,maxItems=20"`
}

// Validate checks an agreement and returns its parties' weights.
func (in AgreementInput) Validate() ([]decimal.Decimal, error) {
	var f datavenue.Fields
	if in.Basis != "ratio" && in.Basis != "cost" {
		f.Add("basis", "invalid_value", "basis is ratio (agreed shares) or cost (input cost per stage)")
	}
	if len(in.Parties) == 0 || len(in.Parties) > 20 {
		f.Add("parties", "invalid_length", "an agreement has 1 to 20 parties")
	}
	var weights []decimal.Decimal
	positive := false
	seen := map[string]bool{}
	for i, p := range in.Parties {
		field := "parties[" + strconv.Itoa(i) + "]"
		if key := string(p.Party) + "|" + p.Role; seen[key] {
			f.Add(field, "duplicate_party_role", "a party appears once per role (add its weights up instead)")
		} else {
			seen[key] = true
		}
		if !slices.Contains(Roles, p.Role) {
			f.Add(field+".role", "invalid_value", "role is holder, collector, processor, operator or venue_fee")
		}
		if (p.Role == "venue_fee") != (p.Party == "") {
			f.Add(field+".party", "invalid_party", "every party names its organisation, except the venue's fee")
		}
		w := decimal.Zero
		if in.Basis == "ratio" {
			r, err := decimal.NewFromString(p.Ratio)
			if err != nil || r.IsNegative() || r.Exponent() < -6 {
				f.Add(field+".ratio", "invalid_ratio", "a ratio is a non-negative decimal with at most six places")
			} else {
				w = r
			}
		} else {
			for stage := range p.Costs {
				if !slices.Contains(Stages, stage) {
					f.Add(field+".costs", "invalid_stage", "stages are production, collection, processing, circulation")
				}
			}
			w = CostWeights([]map[string]money.Yuan{p.Costs})[0]
		}
		positive = positive || w.IsPositive()
		weights = append(weights, w)
	}
	if len(in.Parties) > 0 && !positive {
		f.Add("parties", "no_share", "at least one party has a positive share")
	}
	// Agreed shares are what the parties signed: 60% and 30% is an agreement missing 10%, not one
	// to be stretched to 100% (issue 17). Input costs are weights, and keep their proportions.
	if in.Basis == "ratio" && len(f) == 0 {
		if sum := decimal.Sum(decimal.Zero, weights...); !sum.Equal(decimal.NewFromInt(1)) {
			f.Add("parties", "ratios_not_whole", "the ratios add up to "+sum.String()+" ("+sum.Shift(2).String()+"%); agreed shares add up to exactly 1 (100%)")
		}
	}
	return weights, f.Err()
}

// Weights are an agreement's parties' weights.
func (a Agreement) Weights() []decimal.Decimal {
	w, _ := AgreementInput{Basis: a.Basis, Parties: a.Parties}.Validate()
	return w
}

// Order is a settlement order made from a trade.
type Order struct {
	ID               string          `json:"id"`
	TradeID          string          `json:"trade_id"`
	ProductID        string          `json:"product_id"`
	BuyerID          datavenue.OrgID `json:"buyer_id"`
	SellerID         datavenue.OrgID `json:"seller_id"`
	Price            money.Yuan      `json:"price"`
	DepositApplied   money.Yuan      `json:"deposit_applied"`
	AmountDue        money.Yuan      `json:"amount_due"`
	AgreementVersion *int            `json:"agreement_version,omitempty"`
	Status           string          `json:"status"` // awaiting_payment, paid, delivered, confirmed, cancelled
	PaymentDue       civil.Date      `json:"payment_due" jsonschema:"description=the last day to pay; an order unpaid after it is cancelled and the deposit forfeited"`
	// TradedOn is the day of the trade (China Standard Time): no payment is received before it.
	TradedOn   civil.Date `json:"traded_on"`
	PaymentRef string     `json:"payment_ref,omitempty"`
	PaidVia    string     `json:"paid_via,omitempty"` // clerk or callback
	PaidAt     *time.Time `json:"paid_at,omitempty"`
	// ReceivedOn is the day the money was received (the payment's value date): the deadlines of
	// the obligations run from it, however late the payment was recorded.
	ReceivedOn *civil.Date `json:"received_on,omitempty"`
	// IncomeKind is one_off, or instalment for one payment of a contract paid in instalments: a
	// government unit then files after the quarter ends (D17).
	IncomeKind       string       `json:"income_kind"`
	DeliveredAt      *time.Time   `json:"delivered_at,omitempty"`
	ConfirmedBy      string       `json:"confirmed_by,omitempty"` // buyer, or auto after the confirmation period
	CancelReason     string       `json:"cancel_reason,omitempty"`
	DepositForfeited money.Yuan   `json:"deposit_forfeited"`
	Shares           []Share      `json:"shares,omitempty"`
	Obligations      []Obligation `json:"obligations,omitempty"`
	Currency         string       `json:"currency"`
}

// Share is a party's part of a paid order and the ledger account it went to.
type Share struct {
	Party   datavenue.OrgID `json:"party,omitempty"`
	Role    string          `json:"role"`
	Amount  money.Yuan      `json:"amount"`
	Account string          `json:"account"`
}

// Obligation is what a share obliges its holder's side to do by a deadline: remit a government
// unit's share to its treasury, or file a state enterprise's income with its supervisor.
type Obligation struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind" jsonschema:"enum=treasury_remittance,enum=finance_filing,enum=supervisor_filing"`
	Party       datavenue.OrgID `json:"party"`
	Counterpart string          `json:"counterpart"`
	Amount      money.Yuan      `json:"amount"`
	IncomeKind  string          `json:"income_kind"`
	EventDate   civil.Date      `json:"event_date"`
	// DueDate is the deadline; nil while it cannot be computed yet, DuePending saying why (a
	// year whose official holiday schedule is not published): it is filled in once it is.
	DueDate    *civil.Date `json:"due_date"`
	DuePending string      `json:"due_pending,omitempty"`
	Status     string      `json:"status"`
	Overdue    bool        `json:"overdue"`
	// Remitted is what the treasury has received of it so far, Remaining what it still owes.
	Remitted  money.Yuan `json:"remitted"`
	Remaining money.Yuan `json:"remaining"`
	// PaymentCode is what the unit quotes when it remits (缴款码); reconciliation matches on it.
	PaymentCode string `json:"payment_code"`
	// CopyTo is who a filing is copied to (抄送): a state enterprise's filing goes to its
	// supervisor and is copied to the finance department (G6).
	CopyTo string `json:"copy_to,omitempty"`
}

// Page asks for one page of a list: at most Limit items after the cursor After (the key of the last
// item of the previous page; empty: from the start).
type Page struct {
	After string
	Limit int
}

// ObligationFilter selects obligations: by status, and, when OverdueOn is set, only those still
// due after their due date as of that day.
type ObligationFilter struct {
	Status    string
	OverdueOn civil.Date
	Page
}

// PendingDueSortDate is where obligations with a pending due date sort: after every real one.
var PendingDueSortDate = civil.MustParse("9999-12-31")

// ObligationCursor is the key of an obligation in the due-date order of lists.
func ObligationCursor(o Obligation) string {
	d := PendingDueSortDate
	if o.DueDate != nil {
		d = *o.DueDate
	}
	return d.String() + "|" + o.ID
}

// Payment is a payment of an order as recorded: its reference (recording the same reference again
// is a no-op), who recorded it (clerk or callback) and the kind of income it is.
type Payment struct {
	Reference  string
	Via        string
	IncomeKind string
	ReceivedOn civil.Date // the value date: the day the money was received
	// ReceivedOnGiven: the value date was stated (otherwise it is the day of recording).
	ReceivedOnGiven bool
}

// PartyInfo is what settlement needs to know of a party: its kind, and its treasury or supervisor.
type PartyInfo struct {
	Kind        string
	FiscalLevel string
	Treasury    string
	Supervisor  string
}

// financeDepartment names the finance department a government unit files with (its own level's),
// and that a state enterprise copies its filings to.
func financeDepartment(level string) string {
	switch level {
	case "central":
		return "财政部"
	case "provincial":
		return "省级财政部门"
	case "municipal":
		return "市级财政部门"
	case "county":
		return "县级财政部门"
	case "township":
		return "乡级财政部门"
	}
	// An unknown level still names the rule (the finance department of the same level), and it
	// is what a state enterprise's copy goes to.
	return "同级财政部门"
}

// Deadlines computes legal deadlines in working days.
type Deadlines interface {
	AddWorkdays(from civil.Date, n int) (civil.Date, error)
}

// Settle splits a paid order by its agreement and returns the shares, the balanced ledger
// transaction and the obligations the shares create (D16, D17, G6): a government unit's share is
// due to its treasury (never paid out), a state enterprise's is payable and filed with its
// supervisor, others' are payable, the venue's fee goes to its fee account. The price is met by
// the payment (into clearing) and the winner's deposit (out of deposits held, where it was booked
// when received). Deadlines: 10 working days from the day of receipt for one-off income, 10
// working days after the quarter's end for instalment income (see Deadline).
func Settle(o Order, a Agreement, parties map[datavenue.OrgID]PartyInfo, cal Deadlines, receivedOn civil.Date, ref string) ([]Share, Transaction, []Obligation, error) {
	parts, err := Split(o.Price, a.Weights())
	if err != nil {
		return nil, Transaction{}, nil, err
	}
	tx := Transaction{Kind: "settlement", SourceID: o.ID, Key: "settle:" + o.ID, Memo: "payment " + ref, Postings: []Posting{
		{Account: AccountID(Clearing, ""), Amount: o.AmountDue.Decimal()},
		{Account: AccountID(DepositsHeld, o.BuyerID), Amount: o.DepositApplied.Decimal()},
	}}
	var shares []Share
	var obligations []Obligation
	incomeKind := IncomeKindOf(o.IncomeKind)
	// G6: one-off income is filed (and a government unit's share remitted) within 10 working
	// days of its receipt; a government unit's instalment income within 10 working days after the
	// quarter it was received in ends. The quarter rule is the government units': a state
	// enterprise files each receipt within 10 working days.
	govEvent := receivedOn
	if incomeKind == IncomeInstalment {
		govEvent = workdays.QuarterEnd(receivedOn)
	}
	govDue, govPending, err := Deadline(cal, govEvent)
	if err != nil {
		return nil, Transaction{}, nil, err
	}
	seDue, sePending := govDue, govPending
	if govEvent != receivedOn {
		if seDue, sePending, err = Deadline(cal, receivedOn); err != nil {
			return nil, Transaction{}, nil, err
		}
	}
	// An obligation's payment code is what the unit writes on its slip and what the statement
	// import matches first: JK (缴款, remittance) or BA (备案, filing) says its kind at a glance,
	// and the random tail of its id makes it unique.
	obligation := func(kind, prefix string, party datavenue.OrgID, counterpart string, amount money.Yuan, event civil.Date, due *civil.Date, pending string) Obligation {
		id := datavenue.NewID("obl")
		return Obligation{ID: id, Kind: kind, Party: party, Counterpart: counterpart, Amount: amount, IncomeKind: incomeKind, EventDate: event,
			DueDate: due, DuePending: pending, Status: "due", PaymentCode: prefix + id[len(id)-18:], Remaining: amount}
	}
	for i, p := range a.Parties {
		amount := parts[i]
		purpose := Payable
		info := parties[p.Party]
		switch {
		case p.Role == "venue_fee":
			purpose = VenueFees
		case info.Kind == "government_unit":
			purpose = DueToTreasury
		}
		acct := AccountID(purpose, p.Party)
		// A party whose share rounds to 0.00 still appears among the shares (the agreement names
		// it), but nothing is posted or owed: a zero posting is refused by Balanced.
		shares = append(shares, Share{Party: p.Party, Role: p.Role, Amount: amount, Account: acct})
		if amount.IsZero() {
			continue
		}
		tx.Postings = append(tx.Postings, Posting{Account: acct, Amount: amount.Decimal().Neg()})
		switch {
		case purpose == DueToTreasury:
			// Remitted in full to the treasury of its own level (D17), and filed (备案) with
			// the finance department by the unit itself (G6).
			obligations = append(obligations,
				obligation("treasury_remittance", "JK", p.Party, info.Treasury, amount, govEvent, govDue, govPending),
				obligation("finance_filing", "BA", p.Party, financeDepartment(info.FiscalLevel), amount, govEvent, govDue, govPending))
		case info.Kind == "state_enterprise":
			ob := obligation("supervisor_filing", "BA", p.Party, info.Supervisor, amount, receivedOn, seDue, sePending)
			ob.CopyTo = financeDepartment("")
			obligations = append(obligations, ob)
		}
	}
	tx.Postings = mergePostings(tx.Postings)
	return shares, tx, mergeObligations(obligations), tx.Balanced()
}

// DeadlineDays is the filing and remittance period in working days (G6).
const DeadlineDays = 10

// Deadline is the due date of an obligation whose period starts with event: DeadlineDays working
// days after it (Civil Code Art. 201, 203). When the official schedule of a year the period
// reaches is not known yet, the date is pending, with the reason, rather than guessed or an error:
// the payment that creates the obligation must never fail for it (issue 17), and the date is
// filled in when the year is published (FillDueDates).
func Deadline(cal Deadlines, event civil.Date) (*civil.Date, string, error) {
	due, err := cal.AddWorkdays(event, DeadlineDays)
	if errors.Is(err, workdays.ErrNotCovered) {
		missing := event.Time().Year() + 1 // the period runs past the end of the event's year
		if c, ok := cal.(Coverage); ok {
			missing = c.LastCovered(event.Time().Year()) + 1
		}
		return nil, fmt.Sprintf("the official holiday schedule of %d is not known yet: the due date (%d working days after %s) is set once it is added to the calendar",
			missing, DeadlineDays, event), nil
	}
	if err != nil {
		return nil, "", err
	}
	return &due, "", nil
}

// mergeObligations makes one obligation per kind and party: a unit with two roles in an
// agreement (collector and processor, say) remits or files its income once per order.
func mergeObligations(obs []Obligation) []Obligation {
	var out []Obligation
	index := map[string]int{}
	for _, o := range obs {
		key := o.Kind + "|" + string(o.Party)
		if i, ok := index[key]; ok {
			out[i].Amount, out[i].Remaining = out[i].Amount.Add(o.Amount), out[i].Remaining.Add(o.Remaining)
			continue
		}
		index[key] = len(out)
		out = append(out, o)
	}
	return out
}

// mergePostings adds up postings to the same account (a party listed twice, say).
func mergePostings(ps []Posting) []Posting {
	var out []Posting
	index := map[string]int{}
	for _, p := range ps {
		if i, ok := index[p.Account]; ok {
			out[i].Amount = out[i].Amount.Add(p.Amount)
			continue
		}
		index[p.Account] = len(out)
		out = append(out, p)
	}
	return slices.DeleteFunc(out, func(p Posting) bool { return p.Amount.IsZero() })
}

// Store keeps agreements and orders.
type Store interface {
	AddAgreement(ctx context.Context, a Agreement) (Agreement, error)
	Agreement(ctx context.Context, productID string, version int) (Agreement, error) // version 0: the latest
	ProductOperator(ctx context.Context, productID string) (datavenue.OrgID, error)
	Order(ctx context.Context, id string) (Order, error)
	// OrderHead is an order without its shares and obligations: what a check of who may act on it
	// needs.
	OrderHead(ctx context.Context, id string) (Order, error)
	Orders(ctx context.Context, party datavenue.OrgID, status string, p Page) ([]Order, error) // newest first
	Parties(ctx context.Context, ids []datavenue.OrgID) (map[datavenue.OrgID]PartyInfo, error)
	// PaymentTerms reads, in one go, what settling a payment of an order needs before the order
	// is locked: the order without its shares and obligations (OrderHead), the agreement version
	// it was made under (Agreement) and the parties that agreement names (Parties); no agreement
	// and no parties when the order has none.
	PaymentTerms(ctx context.Context, orderID string) (Order, Agreement, map[datavenue.OrgID]PartyInfo, error)
	// RecordPayment marks an awaiting order paid and writes its shares, ledger transaction and
	// obligations, all in one transaction; a second call with the same reference is a no-op.
	RecordPayment(ctx context.Context, orderID string, p Payment, settle func(Order) ([]Share, Transaction, []Obligation, error)) (Order, error)
	// CancelUnpaid cancels the orders still awaiting payment after their last day to pay (before
	// today), forfeiting each winner's deposit, each order in its own transaction; never an order
	// with a payment claim (ClaimPayment).
	CancelUnpaid(ctx context.Context, today civil.Date) (orderIDs []string, err error)
	// ClaimPayment notes on an order that a payment reached the venue but could not be settled:
	// the order is kept from cancellation until a clerk has dealt with it.
	ClaimPayment(ctx context.Context, orderID, claim string) error
	// PendingDueDates lists obligations whose due date is pending; SetDueDate fills one in (once).
	PendingDueDates(ctx context.Context, limit int) ([]Obligation, error)
	SetDueDate(ctx context.Context, obligationID string, due civil.Date) error
	Obligations(ctx context.Context, f ObligationFilter) ([]Obligation, error) // by due date, then id
	FreeUseStore
}

// VoucherStore keeps deliveries, confirmations and the voucher log.
type VoucherStore interface {
	OrderHead(ctx context.Context, id string) (Order, error)
	RecordDelivery(ctx context.Context, orderID string, seller datavenue.OrgID, d Delivery) (Order, error)
	// Confirm confirms a delivered order and appends its voucher to the log, in one transaction:
	// issue gets the content (sequence number and previous hash filled in) and returns the signed
	// document.
	Confirm(ctx context.Context, orderID string, buyer datavenue.OrgID, issue func(VoucherContent) (string, error)) (Voucher, error)
	// AutoConfirm confirms, as the venue, the orders delivered before the given time that their
	// buyers neither confirmed nor disputed, each with its voucher.
	AutoConfirm(ctx context.Context, deliveredBefore time.Time, issue func(VoucherContent) (string, error)) (voucherIDs []string, err error)
	Voucher(ctx context.Context, id string) (Voucher, error)
	VoucherLog(ctx context.Context) ([]ChainEntry, error)
}

// Voucher is an issued voucher.
type Voucher struct {
	ID        string    `json:"id"`
	Seq       int64     `json:"seq"`
	OrderID   string    `json:"order_id"`
	Hash      string    `json:"hash"`
	PrevHash  string    `json:"prev_hash"`
	Document  string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}
