package settlement

import (
	"context"
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
	Ratio string                `json:"ratio,omitempty" jsonschema:"description=basis ratio: a decimal weight (shares follow in proportion)"`
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
	PaymentRef       string          `json:"payment_ref,omitempty"`
	PaidVia          string          `json:"paid_via,omitempty"` // clerk or callback
	PaidAt           *time.Time      `json:"paid_at,omitempty"`
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
	Kind        string          `json:"kind"` // treasury_remittance, supervisor_filing
	Party       datavenue.OrgID `json:"party"`
	Counterpart string          `json:"counterpart"`
	Amount      money.Yuan      `json:"amount"`
	IncomeKind  string          `json:"income_kind"`
	EventDate   civil.Date      `json:"event_date"`
	DueDate     civil.Date      `json:"due_date"`
	Status      string          `json:"status"`
	Overdue     bool            `json:"overdue"`
	// PaymentCode is what the unit quotes when it remits (缴款码); reconciliation matches on it.
	PaymentCode string `json:"payment_code"`
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

// ObligationCursor is the key of an obligation in the due-date order of lists.
func ObligationCursor(o Obligation) string { return o.DueDate.String() + "|" + o.ID }

// Payment is a payment of an order as recorded: its reference (recording the same reference again
// is a no-op), who recorded it (clerk or callback) and the kind of income it is.
type Payment struct {
	Reference  string
	Via        string
	IncomeKind string
}

// PartyInfo is what settlement needs to know of a party: its kind, and its treasury or supervisor.
type PartyInfo struct {
	Kind       string
	Treasury   string
	Supervisor string
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
// working days after the quarter's end for instalment income.
func Settle(o Order, a Agreement, parties map[datavenue.OrgID]PartyInfo, cal Deadlines, paidOn civil.Date, ref string) ([]Share, Transaction, []Obligation, error) {
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
	incomeKind, event := o.IncomeKind, paidOn
	if incomeKind == "" {
		incomeKind = "one_off"
	}
	if incomeKind == "instalment" {
		event = workdays.QuarterEnd(paidOn)
	}
	due, err := cal.AddWorkdays(event, 10)
	if err != nil {
		return nil, Transaction{}, nil, err
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
		shares = append(shares, Share{Party: p.Party, Role: p.Role, Amount: amount, Account: acct})
		if amount.IsZero() {
			continue
		}
		tx.Postings = append(tx.Postings, Posting{Account: acct, Amount: amount.Decimal().Neg()})
		switch {
		case purpose == DueToTreasury:
			id := datavenue.NewID("obl")
			obligations = append(obligations, Obligation{ID: id, Kind: "treasury_remittance", Party: p.Party,
				Counterpart: info.Treasury, Amount: amount, IncomeKind: incomeKind, EventDate: event, DueDate: due, Status: "due",
				PaymentCode: "JK" + id[len(id)-18:]})
		case info.Kind == "state_enterprise":
			id := datavenue.NewID("obl")
			obligations = append(obligations, Obligation{ID: id, Kind: "supervisor_filing", Party: p.Party,
				Counterpart: info.Supervisor, Amount: amount, IncomeKind: incomeKind, EventDate: event, DueDate: due, Status: "due",
				PaymentCode: "BA" + id[len(id)-18:]})
		}
	}
	tx.Postings = mergePostings(tx.Postings)
	return shares, tx, mergeObligations(obligations), tx.Balanced()
}

// mergeObligations makes one obligation per kind and party: a unit with two roles in an
// agreement (collector and processor, say) remits or files its income once per order.
func mergeObligations(obs []Obligation) []Obligation {
	var out []Obligation
	index := map[string]int{}
	for _, o := range obs {
		key := o.Kind + "|" + string(o.Party)
		if i, ok := index[key]; ok {
			out[i].Amount = out[i].Amount.Add(o.Amount)
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
	// RecordPayment marks an awaiting order paid and writes its shares, ledger transaction and
	// obligations, all in one transaction; a second call with the same reference is a no-op.
	RecordPayment(ctx context.Context, orderID string, p Payment, settle func(Order) ([]Share, Transaction, []Obligation, error)) (Order, error)
	// CancelUnpaid cancels the orders still awaiting payment after their last day to pay (before
	// today), forfeiting each winner's deposit, each order in its own transaction.
	CancelUnpaid(ctx context.Context, today civil.Date) (orderIDs []string, err error)
	Obligations(ctx context.Context, f ObligationFilter) ([]Obligation, error) // by due date, then id
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
