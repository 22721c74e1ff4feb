package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/workdays"
)

// From an auction win to a paid order: the trade makes an order (price less the applied deposit),
// the payment splits the price by the agreement in force at the trade, posts one balanced ledger
// transaction, and creates the government unit's treasury obligation and the state enterprise's
// filing obligation, due 10 working days after the payment; then delivery, a verified voucher, and
// the treasury's statement matched to the remittance.
func TestAuctionWinToSplitLedgerAndObligations(t *testing.T) {
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	op := m.as(datavenue.RoleOperator, operatorOrg)
	agreement := map[string]any{"basis": "ratio", "parties": []map[string]any{
		{"party": govHolder, "role": "holder", "ratio": "0.5"},
		{"party": stateHolder, "role": "collector", "ratio": "0.2"},
		{"party": operatorOrg, "role": "operator", "ratio": "0.27"},
		{"role": "venue_fee", "ratio": "0.03"},
	}}
	wantProblem(t, m.do("PUT", "/v1/products/"+auc.ProductID+"/agreement", m.as(datavenue.RoleBuyer, buyerOrg), agreement), 403, "not_operator")
	mustStatus(t, m.do("PUT", "/v1/products/"+auc.ProductID+"/agreement", op, agreement), 201)

	e := m.engine()
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": buyerOrg, "ref": "dep-1"}), 201)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "10000.01"}), 201)
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	orders := decode[api.Page[settlement.Order]](t, m.do("GET", "/v1/orders", m.as(datavenue.RoleBuyer, buyerOrg), nil))
	if len(orders.Data) != 1 {
		t.Fatalf("buyer sees %d orders", len(orders.Data))
	}
	o := orders.Data[0]
	if o.Price.String() != "10000.01" || o.DepositApplied.String() != "500.00" || o.AmountDue.String() != "9500.01" ||
		o.Status != "awaiting_payment" || o.AgreementVersion == nil || *o.AgreementVersion != 1 {
		t.Fatalf("order = %+v", o)
	}
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"reference": "x"}), 403, "role_not_allowed")
	r := m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "bank-20261126-001"})
	mustStatus(t, r, 200)
	paid := decode[settlement.Order](t, r)
	// Retrying the same payment record changes nothing.
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "bank-20261126-001"}), 200)
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "another"}), 409, "order_not_awaiting_payment")

	shares := map[string]string{}
	sum := int64(0)
	for _, s := range paid.Shares {
		shares[s.Account] = s.Amount.String()
		sum += s.Amount.Fen()
	}
	if sum != paid.Price.Fen() {
		t.Fatalf("shares sum to %d fen, price %d", sum, paid.Price.Fen())
	}
	for acct, want := range map[string]string{
		settlement.AccountID(settlement.DueToTreasury, govHolder): "5000.01", // 5000.005 → the largest remainder gets the fen
		settlement.AccountID(settlement.Payable, stateHolder):     "2000.00",
		settlement.AccountID(settlement.Payable, operatorOrg):     "2700.00",
		settlement.AccountID(settlement.VenueFees, ""):            "300.00",
	} {
		if shares[acct] != want {
			t.Errorf("%s = %s, want %s (all: %v)", acct, shares[acct], want, shares)
		}
	}
	cal, _ := workdays.New(nil)
	if paid.ReceivedOn == nil {
		t.Fatal("a paid order without its receipt date")
	}
	due, err := cal.AddWorkdays(*paid.ReceivedOn, 10) // recorded today (or the trade's day, on the engine's test clock)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]settlement.Obligation{}
	for _, ob := range paid.Obligations {
		kinds[ob.Kind] = ob
	}
	treasury, filing := kinds["treasury_remittance"], kinds["supervisor_filing"]
	if treasury.Party != govHolder || treasury.Amount.String() != "5000.01" || treasury.Counterpart != "市级国库" || treasury.DueDate == nil || *treasury.DueDate != due {
		t.Fatalf("treasury obligation = %+v, want due %s", treasury, due)
	}
	if fin := kinds["finance_filing"]; fin.Party != govHolder || fin.Amount.String() != "5000.01" || fin.DueDate == nil || *fin.DueDate != due {
		t.Fatalf("the unit's filing with the finance department = %+v", fin)
	}
	if filing.Party != stateHolder || filing.Counterpart != "市国资委" || filing.CopyTo == "" || filing.DueDate == nil || *filing.DueDate != due {
		t.Fatalf("filing obligation = %+v", filing)
	}
	// The ledger holds one balanced transaction for the settlement; the treasury's due is booked.
	if bal, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.DueToTreasury, govHolder)); bal.String() != "-5000.01" {
		t.Fatalf("due to treasury balance = %s", bal)
	}
	if bal, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.Clearing, "")); bal.String() != "10000.01" {
		t.Fatalf("clearing = %s", bal)
	}
	due2 := decode[api.Page[settlement.Obligation]](t, m.do("GET", "/v1/obligations?status=due", clerk, nil))
	if len(due2.Data) != 3 || due2.Data[0].Overdue {
		t.Fatalf("due obligations = %+v", due2.Data)
	}
	wantProblem(t, m.do("GET", "/v1/obligations", m.as(datavenue.RoleBuyer, buyerOrg), nil), 403, "role_not_allowed")

	// Delivery by the seller, confirmation by the buyer: the voucher is issued, signed and chained.
	seller, buyerTok := m.as(datavenue.RoleOperator, operatorOrg), m.as(datavenue.RoleBuyer, buyerOrg)
	delivery := map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("cd", 32)}
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/confirm", buyerTok, nil), 409, "order_not_delivered")
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", seller, map[string]any{"method": "file"}), 422, "validation_failed")
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", seller, delivery), 200)
	r = m.do("POST", "/v1/orders/"+o.ID+"/confirm", buyerTok, nil)
	mustStatus(t, r, 201)
	voucher := decode[settlement.Voucher](t, r)
	if again := decode[settlement.Voucher](t, m.do("POST", "/v1/orders/"+o.ID+"/confirm", buyerTok, nil)); again.ID != voucher.ID {
		t.Fatalf("a second confirmation issued %s, first %s", again.ID, voucher.ID)
	}
	doc := string(m.do("GET", "/v1/vouchers/"+voucher.ID+"/document", buyerTok, nil).body)
	content, err := settlement.VerifyVoucher(doc, m.keys)
	if err != nil || content.OrderID != o.ID || content.Price != "10000.01" || content.Delivery.ContentHash != delivery["content_hash"] ||
		len(content.Certificates) != 2 || content.Seq != 1 || content.PrevHash != settlement.GenesisHash {
		t.Fatalf("voucher = %+v, %v", content, err)
	}
	log, err := m.db.Settlement().VoucherLog(ctx)
	if err != nil || settlement.VerifyChain(log, m.keys) != nil {
		t.Fatalf("the voucher log does not verify: %v", err)
	}
	// Tampering with a stored voucher is detected, even by someone who can bypass the triggers.
	tampered := append([]settlement.ChainEntry(nil), log...)
	tampered[0].Document = strings.Replace(tampered[0].Document, tampered[0].Document[40:41], "x", 1)
	if err := settlement.VerifyChain(tampered, m.keys); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("a tampered log verified: %v", err)
	}
	if _, err := m.db.Pool.Exec(ctx, `UPDATE vouchers SET document = 'x'`); err == nil {
		t.Fatal("the voucher log accepted an UPDATE")
	}

	// The unit remits its share; the clerk imports the treasury's statement and it matches.
	today := civil.Of(time.Now()).String()
	statement := "缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n" +
		"T-0001," + treasury.PaymentCode + ",市交通运输局,5000.01," + today + ",市级国库\n"
	r = m.importStatement(clerk, "csv", "period_end="+today, []byte(statement))
	mustStatus(t, r, 201)
	imported := decode[settlement.ImportResult](t, r)
	if imported.Counts["matched"] != 1 || len(imported.Receipts) != 1 || imported.Receipts[0].Obligation != treasury.ID {
		t.Fatalf("import = %+v", imported)
	}
	if bal, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.DueToTreasury, govHolder)); !bal.IsZero() {
		t.Fatalf("due to treasury after the remittance = %s", bal)
	}
	if bal, _ := m.db.Settlement().Balance(ctx, settlement.AccountID(settlement.Remitted, govHolder)); bal.String() != "-5000.01" {
		t.Fatalf("remitted = %s", bal)
	}
	remitted := decode[api.Page[settlement.Obligation]](t, m.do("GET", "/v1/obligations?status=remitted", clerk, nil))
	if len(remitted.Data) != 1 || remitted.Data[0].ID != treasury.ID {
		t.Fatalf("remitted obligations = %+v", remitted.Data)
	}
	tb := decode[settlement.TrialBalance](t, m.do("GET", "/v1/ledger/balances", m.as(datavenue.RoleAuditor, auditorOrg), nil))
	balances := map[string]string{}
	for _, a := range tb.Accounts {
		balances[a.Account] = a.Balance
	}
	if tb.Total != "0.00" || tb.Transactions < 3 || balances[settlement.AccountID(settlement.Remitted, govHolder)] != "-5000.01" ||
		balances[settlement.AccountID(settlement.DueToTreasury, govHolder)] != "0.00" {
		t.Fatalf("trial balance = %+v", tb)
	}
	wantProblem(t, m.do("GET", "/v1/ledger/balances", buyerTok, nil), 403, "role_not_allowed")
	m.checkInvariants()
}
