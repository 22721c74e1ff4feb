package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/workdays"
)

// secondBuyer is a buyer the auction fixtures do not deny.
const secondBuyer = datavenue.OrgID("org_01JDEM00000000000000000011")

// wonAuction runs an English auction where two buyers post deposits and bid, the first wins, and
// the projection records the outcome; it returns the winner's order.
func wonAuction(t *testing.T) (*market, settlement.Order, string) {
	t.Helper()
	m, auc := auctionMarket(t, matching.English)
	ctx := context.Background()
	if _, err := m.db.Parties().CreateOrganisation(datavenue.WithCaller(ctx, audit.SystemCaller), parties.Registration{ID: secondBuyer,
		USCC: uscc(t, 11), Name: "港口物流", Kind: parties.KindBuyer}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, m.do("PUT", "/v1/products/"+auc.ProductID+"/agreement", m.as(datavenue.RoleOperator, operatorOrg), map[string]any{"basis": "ratio",
		"parties": []map[string]any{{"party": govHolder, "role": "holder", "ratio": "0.5"}, {"party": operatorOrg, "role": "operator", "ratio": "0.5"}}}), 201)
	e := m.engine()
	e.AdvanceClock(ctx, auc.ID, 2*time.Minute)
	clerk := m.as(datavenue.RoleClerk, venueOrg)
	for _, b := range []datavenue.OrgID{buyerOrg, secondBuyer} {
		mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/deposits", clerk, map[string]any{"buyer": b, "ref": "dep-" + string(b)}), 201)
	}
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, secondBuyer), map[string]any{"amount": "9000.00"}), 201)
	mustStatus(t, m.do("POST", "/v1/auctions/"+auc.ID+"/bids", m.as(datavenue.RoleBuyer, buyerOrg), map[string]any{"amount": "9100.00"}), 201)
	e.AdvanceClock(ctx, auc.ID, 3*time.Hour)
	if _, err := e.Close(ctx, auc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := (&matching.Projector{Redis: m.redis.Client, Keys: e.Keys, Store: m.db.Matching(), Consumer: "t"}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	orders := decode[api.Page[settlement.Order]](t, m.do("GET", "/v1/orders", clerk, nil))
	if len(orders.Data) != 1 || orders.Data[0].BuyerID != buyerOrg {
		t.Fatalf("orders = %+v", orders.Data)
	}
	return m, orders.Data[0], clerk
}

func (m *market) balance(account string) string {
	m.t.Helper()
	b, err := m.db.Settlement().Balance(context.Background(), account)
	if err != nil {
		m.t.Fatal(err)
	}
	return b.StringFixed(2)
}

func (m *market) sweeper(now time.Time) settlement.Sweeper {
	clock := fixedClock{now}
	return settlement.Sweeper{
		Orders:   settlement.Service{Store: m.db.Settlement(), Calendar: mustCalendar(m.t), Clock: clock},
		Vouchers: settlement.Vouchers{Store: m.db.Settlement(), Keys: m.keys, Issuer: issuer, Clock: clock, ConfirmAfter: 7 * 24 * time.Hour},
	}
}

// Deposits are in the ledger from the moment they are received; the loser's is refunded at the
// close; a winner who does not pay by the last day forfeits the deposit and the order is
// cancelled, once, however often the sweep runs.
func TestUnpaidWinnerForfeitsDepositAndLoserIsRefunded(t *testing.T) {
	m, o, clerk := wonAuction(t)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	for acct, want := range map[string]string{
		settlement.AccountID(settlement.DepositsHeld, buyerOrg):    "-500.00", // held for the winner
		settlement.AccountID(settlement.DepositsHeld, secondBuyer): "0.00",    // received, then released
		settlement.AccountID(settlement.PaidOut, secondBuyer):      "-500.00", // and refunded
		settlement.AccountID(settlement.Clearing, ""):              "1000.00", // money received; what leaves is booked in paid_out
	} {
		if got := m.balance(acct); got != want {
			t.Errorf("%s = %s, want %s", acct, got, want)
		}
	}
	if o.DepositApplied.String() != "500.00" || o.AmountDue.String() != "8600.00" {
		t.Fatalf("order = %+v", o)
	}

	// On the last day to pay nothing happens; the day after, the order is cancelled.
	res, err := m.sweeper(o.PaymentDue.Start().Add(12 * time.Hour)).Once(ctx)
	if err != nil || res.Cancelled != 0 {
		t.Fatalf("sweep on the last day: %+v %v", res, err)
	}
	late := o.PaymentDue.AddDays(1).Start().Add(time.Hour)
	for range 2 {
		if _, err := m.sweeper(late).Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+o.ID, clerk, nil))
	if got.Status != "cancelled" || got.CancelReason != "unpaid" || got.DepositForfeited.String() != "500.00" {
		t.Fatalf("order after the sweep = %+v", got)
	}
	if b := m.balance(settlement.AccountID(settlement.DepositsHeld, buyerOrg)); b != "0.00" {
		t.Fatalf("winner's deposit still held: %s", b)
	}
	if b := m.balance(settlement.AccountID(settlement.ForfeitedDeposits, "")); b != "-500.00" {
		t.Fatalf("forfeited deposits = %s (two sweeps must forfeit once)", b)
	}
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "too-late"}), 409, "order_not_awaiting_payment")
	var events int
	if err := m.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'order.cancelled' AND resource_id = $1`, o.ID).Scan(&events); err != nil || events != 1 {
		t.Fatalf("order.cancelled audit events = %d (%v)", events, err)
	}
	m.checkInvariants()
}

// A paid order is settled from the payment and the held deposit: nothing of the deposit stays
// held, and the ledger stays balanced.
func TestSettlementTakesTheDepositOutOfDepositsHeld(t *testing.T) {
	m, o, clerk := wonAuction(t)
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "pay-dep"}), 200)
	for acct, want := range map[string]string{
		settlement.AccountID(settlement.DepositsHeld, buyerOrg):   "0.00",
		settlement.AccountID(settlement.Clearing, ""):             "9600.00", // both deposits and the payment received
		settlement.AccountID(settlement.DueToTreasury, govHolder): "-4550.00",
	} {
		if got := m.balance(acct); got != want {
			t.Errorf("%s = %s, want %s", acct, got, want)
		}
	}
}

// A delivery the buyer neither confirms nor disputes within the period is confirmed by the venue;
// the voucher says so.
func TestDeliveryIsConfirmedAutomaticallyAfterThePeriod(t *testing.T) {
	m, o, clerk := paidOrder(t)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	seller := m.as(datavenue.RoleOperator, operatorOrg)
	// The product is delivered as a file: another method is refused.
	wantProblem(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", seller, map[string]any{"method": "api", "credential": "cred-7"}), 422, "delivery_method_mismatch")
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", seller,
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("0f", 32)}), 200)
	res, err := m.sweeper(time.Now().Add(6 * 24 * time.Hour)).Once(ctx)
	if err != nil || res.AutoConfirmed != 0 {
		t.Fatalf("sweep inside the period: %+v %v", res, err)
	}
	res, err = m.sweeper(time.Now().Add(8 * 24 * time.Hour)).Once(ctx)
	if err != nil || res.AutoConfirmed != 1 {
		t.Fatalf("sweep after the period: %+v %v", res, err)
	}
	got := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+o.ID, clerk, nil))
	if got.Status != "confirmed" || got.ConfirmedBy != "auto" {
		t.Fatalf("order = %+v", got)
	}
	// The buyer confirming late gets the voucher already issued.
	r := m.do("POST", "/v1/orders/"+o.ID+"/confirm", m.as(datavenue.RoleBuyer, buyerOrg), nil)
	mustStatus(t, r, 201)
	v := decode[settlement.Voucher](t, r)
	content, err := settlement.VerifyVoucher(string(m.do("GET", "/v1/vouchers/"+v.ID+"/document", clerk, nil).body), m.keys)
	if err != nil || content.ConfirmedBy != "auto" || content.OrderID != o.ID {
		t.Fatalf("voucher = %+v, %v", content, err)
	}
	if res, _ := m.sweeper(time.Now().Add(9 * 24 * time.Hour)).Once(ctx); res.AutoConfirmed != 0 {
		t.Fatalf("a second sweep confirmed again: %+v", res)
	}
	m.checkInvariants()
}

func (m *market) callback(body any, sign bool) response {
	m.t.Helper()
	raw, _ := json.Marshal(body)
	headers := []string{}
	if sign {
		headers = append(headers, "X-Datavenue-Signature", settlement.CallbackSignature(callbackSecret, raw, time.Now()))
	}
	return m.do("POST", "/v1/payments/callback", "", string(raw), headers...)
}

// The payment provider's callback: signed, idempotent by reference, amount checked; an
// instalment payment makes the government unit's deadline run from the quarter's end.
func TestPaymentCallback(t *testing.T) {
	m, o, clerk := wonAuction(t)
	pay := map[string]any{"order_id": o.ID, "reference": "psp-771", "amount": "8600.00", "income_kind": "instalment"}
	wantProblem(t, m.callback(pay, false), 401, "signature_malformed")
	tampered, _ := json.Marshal(pay)
	r := m.do("POST", "/v1/payments/callback", "", strings.Replace(string(tampered), "8600.00", "1.00", 1),
		"X-Datavenue-Signature", settlement.CallbackSignature(callbackSecret, tampered, time.Now()))
	wantProblem(t, r, 401, "bad_signature")
	// A callback captured on the wire and played again later, or signed the old way (body only),
	// is refused (issue 11, finding 12).
	replayed := settlement.CallbackSignature(callbackSecret, tampered, time.Now().Add(-6*time.Minute))
	wantProblem(t, m.do("POST", "/v1/payments/callback", "", string(tampered), "X-Datavenue-Signature", replayed), 401, "signature_expired")
	mac := hmac.New(sha256.New, callbackSecret)
	mac.Write(tampered)
	wantProblem(t, m.do("POST", "/v1/payments/callback", "", string(tampered), "X-Datavenue-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil))),
		401, "signature_malformed")
	// The timestamp is signed: moved forward, the signature no longer matches.
	fresh := settlement.CallbackSignature(callbackSecret, tampered, time.Now().Add(-6*time.Minute))
	moved := "t=" + strconv.FormatInt(time.Now().Unix(), 10) + fresh[strings.Index(fresh, ","):]
	wantProblem(t, m.do("POST", "/v1/payments/callback", "", string(tampered), "X-Datavenue-Signature", moved), 401, "bad_signature")
	wrong := map[string]any{"order_id": o.ID, "reference": "psp-770", "amount": "8599.99"}
	wantProblem(t, m.callback(wrong, true), 422, "amount_mismatch")
	if got := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+o.ID, clerk, nil)); got.Status != "awaiting_payment" {
		t.Fatalf("a refused callback changed the order: %+v", got)
	}

	r = m.callback(pay, true)
	mustStatus(t, r, 200)
	paid := decode[settlement.Order](t, r)
	again := m.callback(pay, true) // the provider delivers it again
	mustStatus(t, again, 200)
	if paid.Status != "paid" || paid.PaidVia != "callback" || paid.IncomeKind != "instalment" || decode[settlement.Order](t, again).PaymentRef != "psp-771" {
		t.Fatalf("paid = %+v", paid)
	}
	var postings int
	if err := m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_transactions WHERE kind = 'settlement' AND source_id = $1`, o.ID).Scan(&postings); err != nil || postings != 1 {
		t.Fatalf("settlement transactions = %d (%v)", postings, err)
	}
	cal, _ := workdays.New(nil)
	quarterEnd := workdays.QuarterEnd(civil.Of(time.Now()))
	due, err := cal.AddWorkdays(quarterEnd, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(paid.Obligations) != 2 || paid.Obligations[0].IncomeKind != "instalment" || paid.Obligations[0].EventDate != quarterEnd || paid.Obligations[0].DueDate == nil || *paid.Obligations[0].DueDate != due {
		t.Fatalf("obligations = %+v, want event %s due %s", paid.Obligations, quarterEnd, due)
	}
	m.checkInvariants()
}

// A large statement streams its progress as NDJSON and ends with the result; a malformed one ends
// with the problem and applies nothing.
func TestStatementImportStreamsProgress(t *testing.T) {
	m, order, clerk := paidOrder(t)
	today := civil.Of(time.Now()).String()
	var csv strings.Builder
	csv.WriteString("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n")
	csv.WriteString("M1," + order.Obligations[0].PaymentCode + ",市交通运输局,5000.01," + today + ",市级国库\n")
	for i := range 1200 {
		fmt.Fprintf(&csv, "U%05d,NONE%05d,某单位,1.00,%s,市级国库\n", i, i, today)
	}
	lines := m.streamImport(clerk, today, csv.String())
	if lines[0].Stage != "parsed" || lines[0].Total != 1201 {
		t.Fatalf("first line = %+v", lines[0])
	}
	var applying []int
	for _, l := range lines[1 : len(lines)-1] {
		applying = append(applying, l.Done)
	}
	if fmt.Sprint(applying) != "[0 500 1000 1201]" {
		t.Fatalf("progress = %v", applying)
	}
	last := lines[len(lines)-1]
	if last.Stage != "done" || last.Result == nil || last.Result.Counts["matched"] != 1 || last.Result.Counts["unmatched"] != 1200 {
		t.Fatalf("last line = %+v", last)
	}

	bad := m.streamImport(clerk, today, strings.Replace(csv.String(), "U00100,NONE00100,某单位,1.00", "U00100,NONE00100,某单位,1.O0", 1))
	end := bad[len(bad)-1]
	if end.Stage != "failed" || end.Problem == nil || end.Problem.Code != "statement_row_invalid" || !strings.Contains(end.Problem.Detail, "line 103") {
		t.Fatalf("failed import's last line = %+v", end)
	}
	var imports int
	m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM statement_imports`).Scan(&imports)
	if imports != 1 {
		t.Fatalf("imports = %d, want only the good one", imports)
	}
}

func (m *market) streamImport(token, periodEnd, body string) []api.ImportProgress {
	m.t.Helper()
	req := httptest.NewRequest("POST", "/v1/reconciliation/imports?format=csv&period_end="+periodEnd, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := m.app.Test(req, -1)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		m.t.Fatalf("streamed import: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []api.ImportProgress
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var p api.ImportProgress
		if err := json.NewDecoder(bytes.NewReader(sc.Bytes())).Decode(&p); err != nil {
			m.t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		m.t.Fatal("no progress lines")
	}
	return out
}

// checkInvariants fails the test if `datavenue check`'s rules find anything broken.
func (m *market) checkInvariants() {
	m.t.Helper()
	results, err := m.db.CheckInvariants(context.Background())
	if err != nil {
		m.t.Fatal(err)
	}
	log, err := m.db.Settlement().VoucherLog(context.Background())
	if err != nil || settlement.VerifyChain(log, m.keys) != nil {
		m.t.Fatalf("voucher chain: %v", err)
	}
	for _, r := range results {
		if !r.OK() {
			m.t.Errorf("invariant broken: %s", r)
		}
	}
}

// The invariants hold after every settlement path, and each catches the damage it is about.
func TestInvariantsHoldAndCatchDamage(t *testing.T) {
	m, o, clerk := wonAuction(t)
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/payment", clerk, map[string]any{"reference": "inv-1"}), 200)
	paid := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+o.ID, clerk, nil))
	today := civil.Of(time.Now()).String()
	statement := "缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n" +
		"P1," + paid.Obligations[0].PaymentCode + ",市交通运输局,1000.00," + today + ",市级国库\n" + // partial
		"P2,NOPE,某单位,5.00," + today + ",市级国库\n" // unmatched
	mustStatus(t, m.importStatement(clerk, "csv", "period_end="+today, []byte(statement)), 201)
	m.checkInvariants()

	ctx := context.Background()
	broken := func(name string) {
		t.Helper()
		results, err := m.db.CheckInvariants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Name == name {
				if r.OK() {
					t.Fatalf("%s did not notice the damage", name)
				}
				return
			}
		}
		t.Fatalf("no invariant %s", name)
	}
	// Someone with write access behind the venue's back: each is caught.
	if _, err := m.db.Pool.Exec(ctx, `UPDATE obligations SET status = 'remitted', settled_at = now() WHERE order_id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
	broken("obligations_remitted_xor_due")
	if _, err := m.db.Pool.Exec(ctx, `DELETE FROM reconciliation_exceptions WHERE receipt_id IN (SELECT id FROM receipts WHERE slip_no = 'P2');
		DELETE FROM receipts WHERE slip_no = 'P2'`); err != nil {
		t.Fatal(err)
	}
	broken("imports_whole")
	if _, err := m.db.Pool.Exec(ctx, `UPDATE settlement_shares SET amount = amount + 0.01 WHERE order_id = $1 AND role = 'operator'`, o.ID); err != nil {
		t.Fatal(err)
	}
	broken("shares_sum_to_price")
	if _, err := m.db.Pool.Exec(ctx, `UPDATE obligations SET amount = amount - 1 WHERE order_id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
	broken("government_shares_have_obligations")
	broken("treasury_account_matches_obligations")
}

// A sweep step that fails does not keep the others from running: with the cancellation of an
// unpaid order refused by the database, a delivery past its period is still confirmed (the sweep
// once stopped at its first failing step, and so, tick after tick, confirmed nothing).
func TestSweepStepFailingDoesNotStopTheOthers(t *testing.T) {
	m, o, _ := paidOrder(t)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	mustStatus(t, m.do("POST", "/v1/orders/"+o.ID+"/delivery", m.as(datavenue.RoleOperator, operatorOrg),
		map[string]any{"method": "file", "content_hash": "sha256:" + strings.Repeat("0f", 32)}), 200)
	// A second order of the same trade's kind, unpaid and past its last day to pay, whose
	// cancellation the database refuses.
	unpaid := datavenue.NewID("ord")
	if _, err := m.db.Pool.Exec(ctx, `
		INSERT INTO trades SELECT (jsonb_populate_record(NULL::trades, to_jsonb(t) || jsonb_build_object('id', 'trd_' || substr($2, 5), 'source_id', $2))).*
		FROM trades t WHERE t.id = $1`, o.TradeID, unpaid); err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.Pool.Exec(ctx, `
		INSERT INTO settlement_orders SELECT (jsonb_populate_record(NULL::settlement_orders, to_jsonb(s) || jsonb_build_object('id', $2::text,
			'trade_id', 'trd_' || substr($2, 5), 'status', 'awaiting_payment', 'payment_due', (now() - interval '30 days')::date,
			'payment_ref', NULL, 'paid_at', NULL, 'paid_via', NULL, 'received_on', NULL, 'delivery', NULL, 'delivered_at', NULL))).*
		FROM settlement_orders s WHERE s.id = $1`, o.ID, unpaid); err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.Pool.Exec(ctx, `
		CREATE FUNCTION refuse_cancel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'cancellation refused'; END $$;
		CREATE TRIGGER refuse_cancel BEFORE UPDATE ON settlement_orders FOR EACH ROW WHEN (NEW.status = 'cancelled') EXECUTE FUNCTION refuse_cancel()`); err != nil {
		t.Fatal(err)
	}
	res, err := m.sweeper(time.Now().Add(8 * 24 * time.Hour)).Once(ctx)
	if err == nil || res.Cancelled != 0 || res.AutoConfirmed != 1 {
		t.Fatalf("sweep = %+v, %v; want the cancellation's error, nothing cancelled, the delivery confirmed", res, err)
	}
	var status string
	if err := m.db.Pool.QueryRow(ctx, `SELECT status FROM settlement_orders WHERE id = $1`, unpaid).Scan(&status); err != nil || status != "awaiting_payment" {
		t.Fatalf("the refused order is %q (%v), want awaiting_payment", status, err)
	}
}
