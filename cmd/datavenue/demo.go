package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// demoClient drives a running venue through its public HTTP API only, as an integrator would.
// Tokens are minted with the venue's development keys: the demo plays the identity provider of
// every demo user (a production venue trusts an external one instead).
type demoClient struct {
	base   string
	http   *http.Client
	minter auth.Minter
	out    io.Writer
	step   int
	calls  int
	secret []byte // the payment callback secret, when the venue has one
}

// demoProblem is an error answer of the venue.
type demoProblem struct{ api.Problem }

func (p *demoProblem) Error() string {
	msg := fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
	for _, f := range p.Errors {
		msg += fmt.Sprintf("; %s: %s", f.Field, f.Message)
	}
	return msg
}

type actor struct {
	role datavenue.Role
	org  datavenue.OrgID
}

func (c *demoClient) say(format string, args ...any) {
	c.step++
	fmt.Fprintf(c.out, "\n%2d. %s\n", c.step, fmt.Sprintf(format, args...))
}

func (c *demoClient) note(format string, args ...any) {
	fmt.Fprintf(c.out, "    %s\n", fmt.Sprintf(format, args...))
}

// call sends one request as who (no token when who.role is empty) and decodes a 2xx answer into
// out. State changes carry an Idempotency-Key; a request that got no answer is retried with the
// same key, so it happens once.
func (c *demoClient) call(who actor, method, path string, body, out any, headers ...string) error {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return err
		}
	}
	key := datavenue.NewID("idem")
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if method != http.MethodGet {
			req.Header.Set("Idempotency-Key", key)
		}
		if who.role != "" {
			tok, err := c.minter.Mint("demo-"+string(who.role), who.role, who.org, time.Hour)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		c.calls++
		resp, err := c.http.Do(req)
		if err != nil {
			if attempt < 3 {
				continue // no answer: the same request again, under the same key
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode >= 300 {
			p := &demoProblem{api.Problem{Status: resp.StatusCode}}
			_ = json.Unmarshal(data, p)
			return fmt.Errorf("%s %s: %w", method, path, p)
		}
		if out == nil {
			return nil
		}
		if s, ok := out.(*string); ok {
			*s = string(data)
			return nil
		}
		return json.Unmarshal(data, out)
	}
}

// until polls a condition every 250 ms up to limit: the demo waits for the venue's clock (an
// auction's end) and its background workers (closing, projection), which it cannot hurry.
func waitFor(limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The demo's parties: the seeded organisations (`datavenue seed`), plus a third buyer it registers.
var (
	dataBureau    = actor{datavenue.RoleDataBureau, demoID(1)}
	financeBureau = actor{datavenue.RoleFinanceBureau, demoID(2)}
	holder        = actor{datavenue.RoleOperator, demoID(3)} // the transport bureau, holder of the data
	operator      = actor{datavenue.RoleOperator, demoID(5)}
	buyerA        = actor{datavenue.RoleBuyer, demoID(6)}
	buyerB        = actor{datavenue.RoleBuyer, demoID(7)}
	appraiser     = actor{datavenue.RoleAppraiser, demoID(8)}
	clerk         = actor{datavenue.RoleClerk, demoID(9)}
	auditor       = actor{datavenue.RoleAuditor, demoID(10)}
	public        = actor{}
)

func demo(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	base := fs.String("url", "http://"+cfg.Listen, "the running venue's base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := minter(cfg)
	if err != nil {
		return err
	}
	c := &demoClient{base: strings.TrimRight(*base, "/"), http: &http.Client{Timeout: 30 * time.Second}, minter: m, out: stdout,
		secret: []byte(cfg.PaymentCallbackSecret)}
	start := time.Now()
	if err := c.run(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndemo: done in %s, %d API calls\n", time.Since(start).Round(time.Second), c.calls)
	return nil
}

func (c *demoClient) run() error {
	var ready map[string]any
	if err := c.call(public, "GET", "/readyz", nil, &ready); err != nil {
		return fmt.Errorf("the venue at %s is not ready (start it with make run): %w", c.base, err)
	}
	c.say("Parties: the seeded bureaus, holder, operator, buyers, appraiser, venue and supervisor")
	for _, a := range []actor{dataBureau, financeBureau, holder, operator, buyerA, buyerB, appraiser, clerk, auditor} {
		var o parties.Organisation
		if err := c.call(dataBureau, "GET", "/v1/organisations/"+string(a.org), nil, &o); err != nil {
			return fmt.Errorf("%w (run `datavenue seed` first: make run does)", err)
		}
		c.note("%-18s %s  %s", a.role, o.ID, o.Name)
	}
	// A third buyer, registered through the API the first time (the venue assigns its id).
	var registered api.Page[parties.Organisation]
	if err := c.call(dataBureau, "GET", "/v1/organisations?kind=buyer&limit=200", nil, &registered); err != nil {
		return err
	}
	thirdUSCC := demoUSCC("91350100MA0000011")
	var third parties.Organisation
	for _, o := range registered.Data {
		if o.USCC == thirdUSCC {
			third = o
		}
	}
	if third.ID == "" {
		if err := c.call(dataBureau, "POST", "/v1/organisations", map[string]any{"uscc": thirdUSCC,
			"name": "港口物流有限公司", "name_en": "Harbour Logistics Co., Ltd.", "kind": parties.KindBuyer}, &third); err != nil {
			return err
		}
		c.note("registered a third buyer through the API: %s %s", third.ID, third.Name)
	}
	buyerC := actor{datavenue.RoleBuyer, third.ID}

	asset, scenario, err := c.certify()
	if err != nil {
		return err
	}

	c.say("The operator publishes three products (the gate checks certificates, authorisation and approval) with a contribution agreement each")
	opensAt := time.Now().Add(6 * time.Second).Truncate(time.Second)
	english, err := c.publish(asset, scenario, "公交客流小时数据（英式拍卖）", map[string]any{"method": "auction", "auction_kind": "english", "reserve": "9000.00",
		"opening_price": "8000.00", "increment": "100.00", "deposit": "500.00", "anti_snipe_minutes": 1,
		"start_at": opensAt.Format(time.RFC3339), "end_at": opensAt.Add(20 * time.Second).Format(time.RFC3339)})
	if err != nil {
		return err
	}
	sealed, err := c.publish(asset, scenario, "公交客流小时数据（密封二价拍卖）", map[string]any{"method": "auction", "auction_kind": "sealed_second", "reserve": "9000.00",
		"start_at": opensAt.Format(time.RFC3339), "end_at": opensAt.Add(15 * time.Second).Format(time.RFC3339)})
	if err != nil {
		return err
	}
	negotiated, err := c.publish(asset, scenario, "公交客流小时数据（协议定价）", map[string]any{"method": "negotiation", "list_price": "12000.00", "min_price": "9000.00", "max_price": "15000.00"})
	if err != nil {
		return err
	}
	var found listing.SearchResult
	if err := c.call(public, "GET", "/v1/catalogue?q=%E5%85%AC%E4%BA%A4%E5%AE%A2%E6%B5%81&limit=5", nil, &found); err != nil {
		return err
	}
	c.note("the public catalogue finds %d products for 公交客流", found.Total)

	c.say("Auctions open: English with anti-sniping and deposits, sealed second-price")
	var englishAuc, sealedAuc matching.Record
	if err := c.call(operator, "POST", "/v1/auctions", map[string]any{"product_id": english.ID}, &englishAuc); err != nil {
		return err
	}
	if err := c.call(operator, "POST", "/v1/auctions", map[string]any{"product_id": sealed.ID}, &sealedAuc); err != nil {
		return err
	}
	for _, b := range []actor{buyerA, buyerB, buyerC} {
		if err := c.call(clerk, "POST", "/v1/auctions/"+englishAuc.ID+"/deposits", map[string]any{"buyer": b.org, "ref": "保证金-" + string(b.org)[len(b.org)-4:]}, nil); err != nil {
			return err
		}
	}
	c.note("English %s (reserve %s, opening %s, +%s, deposit %s, anti-sniping %ds); sealed %s (reserve %s)", englishAuc.ID, englishAuc.Reserve,
		englishAuc.Opening, englishAuc.Increment, englishAuc.Deposit, englishAuc.AntiSnipeSec, sealedAuc.ID, sealedAuc.Reserve)
	c.note("the clerk recorded three deposits; bidding starts at %s", opensAt.Format(time.TimeOnly))

	c.say("Negotiation with two buyers (counter-offers inside the operator's range)")
	var negA, negB matching.NegotiationView
	if err := c.call(buyerA, "POST", "/v1/negotiations", map[string]any{"product_id": negotiated.ID, "amount": "9500.00"}, &negA); err != nil {
		return err
	}
	if err := c.call(buyerB, "POST", "/v1/negotiations", map[string]any{"product_id": negotiated.ID, "amount": "10000.00"}, &negB); err != nil {
		return err
	}
	if err := c.call(operator, "POST", "/v1/negotiations/"+negB.ID+"/moves", map[string]any{"action": "counter", "amount": "11000.00"}, &negB); err != nil {
		return err
	}
	if err := c.call(buyerB, "POST", "/v1/negotiations/"+negB.ID+"/moves", map[string]any{"action": "accept"}, &negB); err != nil {
		return err
	}
	if err := c.call(operator, "POST", "/v1/negotiations/"+negA.ID+"/moves", map[string]any{"action": "reject"}, &negA); err != nil {
		return err
	}
	c.note("%s offered 9500.00 → rejected; %s offered 10000.00, countered 11000.00 → %s at %s", buyerA.org, buyerB.org, negB.Status, negB.Price)
	if err := c.call(public, "GET", "/v1/negotiations/"+negB.ID, nil, nil); err == nil {
		return errors.New("demo: a negotiation was visible without a token")
	}

	c.say("Bidding (waiting for the start)")
	time.Sleep(time.Until(opensAt.Add(300 * time.Millisecond))) // the venue's clock decides; the demo cannot hurry it
	var view matching.View
	if err := c.call(buyerA, "GET", "/v1/auctions/"+englishAuc.ID, nil, &view); err != nil {
		return err
	}
	endsBefore := view.Live.EndsAt
	for _, bid := range []struct {
		who    actor
		amount string
	}{{buyerA, "8000.00"}, {buyerB, "9000.00"}, {buyerA, "9500.00"}, {buyerC, "10000.00"}} {
		var res matching.BidResult
		if err := c.call(bid.who, "POST", "/v1/auctions/"+englishAuc.ID+"/bids", map[string]any{"amount": bid.amount}, &res); err != nil {
			return err
		}
		c.note("English: %s bids %s (bid #%d)", bid.who.org, bid.amount, res.Seq)
	}
	var low matching.BidResult
	err = c.call(buyerB, "POST", "/v1/auctions/"+englishAuc.ID+"/bids", map[string]any{"amount": "10050.00"}, &low)
	var p *demoProblem
	if !errors.As(err, &p) {
		return fmt.Errorf("demo: a bid under the increment was not refused: %v", err)
	}
	c.note("English: %s bids 10050.00 → refused: %s", buyerB.org, p.Code)
	if err := c.call(buyerA, "GET", "/v1/auctions/"+englishAuc.ID, nil, &view); err != nil {
		return err
	}
	c.note("anti-sniping: the end moved from %s to %s (bids in the last minute extend it)", endsBefore.Local().Format(time.TimeOnly), view.Live.EndsAt.Local().Format(time.TimeOnly))
	for _, bid := range []struct {
		who    actor
		amount string
	}{{buyerA, "11000.00"}, {buyerB, "12500.00"}, {buyerC, "12000.00"}} {
		if err := c.call(bid.who, "POST", "/v1/auctions/"+sealedAuc.ID+"/bids", map[string]any{"amount": bid.amount}, nil); err != nil {
			return err
		}
		c.note("sealed: %s places a sealed bid", bid.who.org)
	}
	var sealedView matching.View
	if err := c.call(operator, "GET", "/v1/auctions/"+sealedAuc.ID, nil, &sealedView); err != nil {
		return err
	}
	if sealedView.Live.High != nil || sealedView.Live.Leader != "" {
		return fmt.Errorf("demo: a sealed auction shows its high bid before the close: %+v", sealedView.Live)
	}
	c.note("sealed, as the operator sees it before the close: %d bids, no amount, no leader", sealedView.Live.Bids)

	c.say("Waiting for the venue to close both auctions and record the trades")
	for _, id := range []string{sealedAuc.ID, englishAuc.ID} {
		if err := waitFor(3*time.Minute, "auction "+id+" to close", func() (bool, error) {
			view = matching.View{}
			err := c.call(auditor, "GET", "/v1/auctions/"+id, nil, &view)
			return view.Outcome != nil, err
		}); err != nil {
			return err
		}
		c.note("%s %s: %s by %s at %s", view.Kind, id, view.Outcome.Result, view.Outcome.Winner, view.Outcome.Price)
	}
	var orders api.Page[settlement.Order]
	if err := waitFor(time.Minute, "three settlement orders", func() (bool, error) {
		orders = api.Page[settlement.Order]{}
		err := c.call(clerk, "GET", "/v1/orders?status=awaiting_payment", nil, &orders)
		n := 0
		for _, o := range orders.Data {
			if o.ProductID == english.ID || o.ProductID == sealed.ID || o.ProductID == negotiated.ID {
				n++
			}
		}
		return n == 3, err
	}); err != nil {
		return err
	}

	c.say("Settlement: payment, split over five parties, ledger postings, treasury and filing obligations")
	var paid []settlement.Order
	for _, o := range orders.Data {
		if o.ProductID != english.ID && o.ProductID != sealed.ID && o.ProductID != negotiated.ID {
			continue
		}
		var got settlement.Order
		ref := "BANK-" + o.ID
		if len(c.secret) > 0 && o.ProductID == sealed.ID {
			body, _ := json.Marshal(map[string]any{"order_id": o.ID, "reference": ref, "amount": o.AmountDue})
			if err := c.call(public, "POST", "/v1/payments/callback", body, &got, "X-Datavenue-Signature", settlement.CallbackSignature(c.secret, body)); err != nil {
				return err
			}
		} else if err := c.call(clerk, "POST", "/v1/orders/"+o.ID+"/payment", map[string]any{"reference": ref}, &got); err != nil {
			return err
		}
		paid = append(paid, got)
		c.note("order %s: price %s, deposit applied %s, paid %s (%s)", got.ID, got.Price, got.DepositApplied, got.AmountDue, got.PaidVia)
		for _, s := range got.Shares {
			party := string(s.Party)
			if party == "" {
				party = "venue"
			}
			c.note("    %-10s %-30s %10s → %s", s.Role, party, s.Amount, s.Account)
		}
		for _, ob := range got.Obligations {
			c.note("    obligation %s: %s %s to %s, due %s (payment code %s)", ob.ID, ob.Kind, ob.Amount, ob.Counterpart, ob.DueDate, ob.PaymentCode)
		}
	}

	c.say("Delivery by the operator, confirmation by the buyer, vouchers verified offline")
	var jwks auth.JWKSet
	if err := c.call(public, "GET", "/.well-known/jwks.json", nil, &jwks); err != nil {
		return err
	}
	keys, err := auth.StaticSet(jwks)
	if err != nil {
		return err
	}
	buyers := map[datavenue.OrgID]actor{buyerA.org: buyerA, buyerB.org: buyerB, buyerC.org: buyerC}
	for _, o := range paid {
		content := sha256.Sum256([]byte("demo delivery of " + o.ID))
		if err := c.call(operator, "POST", "/v1/orders/"+o.ID+"/delivery", map[string]any{"method": "file",
			"content_hash": "sha256:" + hex.EncodeToString(content[:])}, nil); err != nil {
			return err
		}
		var v settlement.Voucher
		if err := c.call(buyers[o.BuyerID], "POST", "/v1/orders/"+o.ID+"/confirm", nil, &v); err != nil {
			return err
		}
		var document string
		if err := c.call(buyers[o.BuyerID], "GET", "/v1/vouchers/"+v.ID+"/document", nil, &document); err != nil {
			return err
		}
		vc, err := settlement.VerifyVoucher(strings.TrimSpace(document), keys)
		if err != nil {
			return fmt.Errorf("demo: voucher %s does not verify: %w", v.ID, err)
		}
		c.note("voucher %s #%d verified offline: %s paid %s for %s, certificates %s, chained to %s…", v.ID, vc.Seq, vc.Buyer, vc.Price,
			vc.ProductID, strings.Join(vc.Certificates, ", "), vc.PrevHash[:12])
	}

	c.say("The treasury's statement arrives; the clerk imports it and reconciles")
	var csv strings.Builder
	csv.WriteString("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n")
	n := 0
	for _, o := range paid {
		for _, ob := range o.Obligations {
			if ob.Kind == "treasury_remittance" {
				n++
				fmt.Fprintf(&csv, "GK%s%03d,%s,市交通运输局,%s,%s,%s\n", time.Now().Format("20060102150405"), n, ob.PaymentCode, ob.Amount,
					time.Now().Format("2006-01-02"), ob.Counterpart)
			}
		}
	}
	fmt.Fprintf(&csv, "GK%s999,,某区文旅局,88.00,%s,区级国库\n", time.Now().Format("20060102150405"), time.Now().Format("2006-01-02"))
	result, err := c.importStatement(csv.String())
	if err != nil {
		return err
	}
	c.note("import %s: %v", result.ID, result.Counts)
	var exceptions api.Page[settlement.Exception]
	if err := c.call(clerk, "GET", "/v1/reconciliation/exceptions?status=open", nil, &exceptions); err != nil {
		return err
	}
	for _, e := range exceptions.Data {
		if e.Kind == "unmatched" {
			if err := c.call(clerk, "POST", "/v1/reconciliation/exceptions/"+e.ID+"/resolve", map[string]any{"reason": "非本平台收入，已转区财政核对"}, nil); err != nil {
				return err
			}
			c.note("exception %s (%s) resolved with a reason", e.ID, e.Kind)
		}
	}

	c.say("The ledger and the remittance report")
	var tb settlement.TrialBalance
	if err := c.call(auditor, "GET", "/v1/ledger/balances", nil, &tb); err != nil {
		return err
	}
	sort.Slice(tb.Accounts, func(i, j int) bool { return tb.Accounts[i].Account < tb.Accounts[j].Account })
	for _, a := range tb.Accounts {
		if a.Balance != "0.00" {
			c.note("%-62s %12s", a.Account, a.Balance)
		}
	}
	c.note("%-62s %12s  (%d transactions)", "total", tb.Total, tb.Transactions)
	if tb.Total != "0.00" {
		return fmt.Errorf("demo: the ledger does not balance: %s", tb.Total)
	}
	today := time.Now().Format("2006-01-02")
	var report settlement.Report
	if err := c.call(financeBureau, "GET", "/v1/reports/settlement?from="+today+"&to="+today, nil, &report); err != nil {
		return err
	}
	for _, l := range report.Remittances {
		c.note("remittances %-10s %3d obligations %12s", l.Key, l.Count, l.Amount)
	}
	for _, l := range report.FilingsDue {
		c.note("filing due   %-30s %3d %12s", l.Label, l.Count, l.Amount)
	}
	return nil
}

// certify takes a new asset card of the transport bureau through registration, authorisation,
// approval and appraisal, so that products derived from it may be published; it returns the asset
// and the authorised scenario.
func (c *demoClient) certify() (assets.Asset, string, error) {
	c.say("The transport bureau registers its data as an asset card (D1–D4)")
	var asset assets.Asset
	if err := c.call(holder, "POST", "/v1/assets", map[string]any{
		"category": "data_asset", "name": "公交刷卡客流数据", "summary": "全市公交线路刷卡客流，按站点、小时汇总",
		"rights": []string{"holding", "processing", "operating"}, "classification": "transport", "grade": "important",
		"source": "公交IC卡系统", "scale": "每日约300万条", "update_frequency": "daily", "acquisition_mode": "self_built",
		"cost_components":   []map[string]string{{"stage": "collection", "amount": "120000.50"}, {"stage": "processing", "amount": "30000.25"}},
		"measurement_basis": "cost", "accounting_status": "booked"}, &asset); err != nil {
		return assets.Asset{}, "", err
	}
	c.note("asset %s v%d, original cost %s yuan", asset.ID, asset.Version, asset.OriginalCost)

	scenario := "城市交通规划客流分析"
	until := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
	scope := map[string]any{"scenarios": []string{scenario}, "product_types": []string{"dataset", "data_report", "api_service"}}
	c.say("Registration: a data resource certificate (data bureau) and a data asset certificate (finance bureau, data bureau concurring)")
	var app certificates.Application
	if err := c.call(holder, "POST", "/v1/certificate-applications", map[string]any{"kind": "resource", "asset_id": asset.ID, "scope": scope,
		"materials": map[string]any{"legality": "数据采集依据《公共交通条例》", "product_info": "按站点小时汇总的客流数据集",
			"scenario_info": "面向交通规划研究", "security_assessment": "已脱敏，无个人信息"}}, &app); err != nil {
		return assets.Asset{}, "", err
	}
	var review struct {
		Certificate *certificates.Certificate `json:"certificate"`
	}
	if err := c.call(dataBureau, "POST", "/v1/certificate-applications/"+app.ID+"/review", map[string]any{"valid_until": until,
		"items": passAll("legality", "product_info", "scenario_info", "security_risk")}, &review); err != nil {
		return assets.Asset{}, "", err
	}
	resource := *review.Certificate
	c.note("%s v%d issued to %s, valid until %s", resource.Number, resource.Version, resource.HolderID, resource.ValidUntil)
	if err := c.call(holder, "POST", "/v1/certificate-applications", map[string]any{"kind": "asset", "asset_id": asset.ID, "scope": scope,
		"materials": map[string]any{"source_compliance": "来源合法，权属清晰"}}, &app); err != nil {
		return assets.Asset{}, "", err
	}
	if err := c.call(dataBureau, "POST", "/v1/certificate-applications/"+app.ID+"/concurrence", map[string]any{"verdict": "pass", "comment": "同意"}, nil); err != nil {
		return assets.Asset{}, "", err
	}
	if err := c.call(financeBureau, "POST", "/v1/certificate-applications/"+app.ID+"/review", map[string]any{"valid_until": until,
		"items": passAll("source_compliance")}, &review); err != nil {
		return assets.Asset{}, "", err
	}
	c.note("%s v%d issued", review.Certificate.Number, review.Certificate.Version)
	var doc string
	if err := c.call(public, "GET", "/v1/public/certificates/"+resource.Number+"/status", nil, &doc); err != nil {
		return assets.Asset{}, "", err
	}
	c.note("public status of %s: %s", resource.Number, strings.TrimSpace(doc))

	c.say("Scenario authorisation (data bureau), paid-use approval (finance bureau), appraisal (appraiser)")
	var grant certificates.Authorisation
	if err := c.call(dataBureau, "POST", "/v1/authorisations", map[string]any{"asset_id": asset.ID, "operator_id": operator.org, "scenario": scenario,
		"product_types": []string{"dataset", "api_service"}, "conditions": "仅限脱敏汇总数据", "valid_until": until}, &grant); err != nil {
		return assets.Asset{}, "", err
	}
	c.note("authorisation %s: %s may operate %q", grant.ID, grant.OperatorID, grant.Scenario)
	var approval certificates.Approval
	if err := c.call(holder, "POST", "/v1/approvals", map[string]any{"asset_id": asset.ID, "purpose": "paid_use", "scenario": scenario,
		"pricing_methods": []string{"guided", "appraisal", "auction", "negotiation"}, "internal_decision_ref": "局务会〔2026〕3号"}, &approval); err != nil {
		return assets.Asset{}, "", err
	}
	if err := c.call(financeBureau, "POST", "/v1/approvals/"+approval.ID+"/decision", map[string]any{"decision": "approve", "comment": "同意",
		"valid_until": until}, &approval); err != nil {
		return assets.Asset{}, "", err
	}
	c.note("approval %s: %s", approval.ID, approval.Status)
	var appraisal certificates.Appraisal
	if err := c.call(appraiser, "POST", "/v1/appraisals", map[string]any{"asset_id": asset.ID, "report_number": fmt.Sprintf("评报〔%d〕%05d", time.Now().Year(), time.Now().Unix()%100000),
		"method": "income", "value": "200000.00", "valuation_date": time.Now().Format("2006-01-02"), "valid_until": until}, &appraisal); err != nil {
		return assets.Asset{}, "", err
	}
	c.note("appraisal %s: %s yuan by the %s method", appraisal.ReportNumber, appraisal.Value, appraisal.Method)

	return asset, scenario, nil
}

// publish creates a dataset product of asset for scenario, submits and publishes it, and gives it
// a five-party contribution agreement.
func (c *demoClient) publish(asset assets.Asset, scenario, title string, pricing map[string]any) (listing.Product, error) {
	var p listing.Product
	body := map[string]any{"source_assets": []assets.ID{asset.ID}, "title": title, "title_en": "Hourly bus ridership",
		"description": "全市公交站点按小时汇总的刷卡客流", "description_en": "Bus ridership per stop and hour",
		"product_type": "dataset", "domain": "transport", "scenario": scenario, "keywords": []string{"公交", "客流"},
		"delivery":         map[string]any{"method": "file", "format": "CSV", "content_hash": "sha256:" + strings.Repeat("ab", 32)},
		"update_frequency": "daily", "schema": map[string]any{"stop_id": "string", "hour": "int", "riders": "int"},
		"sample":       []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}},
		"licence":      map[string]any{"duration_days": 365, "permitted_use": "交通规划研究", "onward_transfer": false},
		"use_category": "industry", "pricing": pricing}
	if err := c.call(operator, "POST", "/v1/products", body, &p); err != nil {
		return p, err
	}
	if err := c.call(operator, "POST", "/v1/products/"+p.ID+"/submit", nil, nil); err != nil {
		return p, err
	}
	if err := c.call(operator, "POST", "/v1/products/"+p.ID+"/publish", nil, &p); err != nil {
		return p, err
	}
	agreement := map[string]any{"basis": "ratio", "parties": []map[string]any{
		{"party": holder.org, "role": "holder", "ratio": "0.40"}, {"party": demoID(4), "role": "collector", "ratio": "0.25"},
		{"party": demoID(4), "role": "processor", "ratio": "0.10"}, {"party": operator.org, "role": "operator", "ratio": "0.22"},
		{"role": "venue_fee", "ratio": "0.03"}}}
	if err := c.call(operator, "PUT", "/v1/products/"+p.ID+"/agreement", agreement, nil); err != nil {
		return p, err
	}
	c.note("%s %s: %s, %s", p.ID, p.Title, p.Status, p.Pricing.Method)
	return p, nil
}

// importStatement uploads a statement with progress streamed as NDJSON and returns the result.
func (c *demoClient) importStatement(csv string) (settlement.ImportResult, error) {
	tok, err := c.minter.Mint("demo-clerk", clerk.role, clerk.org, time.Hour)
	if err != nil {
		return settlement.ImportResult{}, err
	}
	req, err := http.NewRequest("POST", c.base+"/v1/reconciliation/imports?format=csv&name=treasury-demo&period_end="+time.Now().Format("2006-01-02"),
		strings.NewReader(csv))
	if err != nil {
		return settlement.ImportResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/x-ndjson")
	c.calls++
	resp, err := c.http.Do(req)
	if err != nil {
		return settlement.ImportResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line api.ImportProgress
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return settlement.ImportResult{}, err
		}
		c.note("progress: %s %d/%d", line.Stage, line.Done, line.Total)
		switch {
		case line.Problem != nil:
			return settlement.ImportResult{}, &demoProblem{*line.Problem}
		case line.Result != nil:
			return *line.Result, nil
		}
	}
	return settlement.ImportResult{}, fmt.Errorf("demo: the import ended without a result (status %d): %v", resp.StatusCode, sc.Err())
}

func passAll(items ...string) []map[string]string {
	var out []map[string]string
	for _, it := range items {
		out = append(out, map[string]string{"item": it, "verdict": "pass", "comment": "符合要求"})
	}
	return out
}
