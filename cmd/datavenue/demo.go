package main

import (
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
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
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
	c := &venueclient.Client{Base: strings.TrimRight(*base, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}, Minter: m, Out: stdout,
		Secret: []byte(cfg.PaymentCallbackSecret)}
	start := time.Now()
	if err := runDemo(c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndemo: done in %s, %d API calls\n", time.Since(start).Round(time.Second), c.Calls)
	return nil
}

func runDemo(c *venueclient.Client) error {
	var ready map[string]any
	if err := c.Call(public, "GET", "/readyz", nil, &ready); err != nil {
		return fmt.Errorf("the venue at %s is not ready (start it with make run): %w", c.Base, err)
	}
	c.Say("Parties: the seeded bureaus, holder, operator, buyers, appraiser, venue and supervisor")
	for _, a := range []venueclient.Actor{dataBureau, financeBureau, holder, operator, buyerA, buyerB, appraiser, clerk, auditor} {
		var o parties.Organisation
		if err := c.Call(dataBureau, "GET", "/v1/organisations/"+string(a.Org), nil, &o); err != nil {
			return fmt.Errorf("%w (run `datavenue seed` first: make run does)", err)
		}
		c.Note("%-18s %s  %s", a.Role, o.ID, o.Name)
	}
	// A third buyer, registered through the API the first time (the venue assigns its id).
	var registered api.Page[parties.Organisation]
	if err := c.Call(dataBureau, "GET", "/v1/organisations?kind=buyer&limit=200", nil, &registered); err != nil {
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
		if err := c.Call(dataBureau, "POST", "/v1/organisations", map[string]any{"uscc": thirdUSCC,
			"name": "港口物流有限公司", "name_en": "Harbour Logistics Co., Ltd.", "kind": parties.KindBuyer}, &third); err != nil {
			return err
		}
		c.Note("registered a third buyer through the API: %s %s", third.ID, third.Name)
	}
	buyerC := venueclient.Actor{Role: datavenue.RoleBuyer, Org: third.ID}

	cert, err := c.Certify()
	if err != nil {
		return err
	}
	asset, scenario := cert.Asset, cert.Scenario

	c.Say("The operator publishes three products (the gate checks certificates, authorisation and approval) with a contribution agreement each")
	opensAt := time.Now().Add(6 * time.Second).Truncate(time.Second)
	english, err := c.Publish(asset, scenario, "公交客流小时数据（英式拍卖）", map[string]any{"method": "auction", "auction_kind": "english", "reserve": "9000.00",
		"opening_price": "8000.00", "increment": "100.00", "deposit": "500.00", "anti_snipe_minutes": 1,
		"start_at": opensAt.Format(time.RFC3339), "end_at": opensAt.Add(20 * time.Second).Format(time.RFC3339)})
	if err != nil {
		return err
	}
	sealed, err := c.Publish(asset, scenario, "公交客流小时数据（密封二价拍卖）", map[string]any{"method": "auction", "auction_kind": "sealed_second", "reserve": "9000.00",
		"start_at": opensAt.Format(time.RFC3339), "end_at": opensAt.Add(15 * time.Second).Format(time.RFC3339)})
	if err != nil {
		return err
	}
	negotiated, err := c.Publish(asset, scenario, "公交客流小时数据（协议定价）", map[string]any{"method": "negotiation", "list_price": "12000.00", "min_price": "9000.00", "max_price": "15000.00"})
	if err != nil {
		return err
	}
	var found listing.SearchResult
	if err := c.Call(public, "GET", "/v1/catalogue?q=%E5%85%AC%E4%BA%A4%E5%AE%A2%E6%B5%81&limit=5", nil, &found); err != nil {
		return err
	}
	c.Note("the public catalogue finds %d products for 公交客流", found.Total)

	c.Say("Auctions open: English with anti-sniping and deposits, sealed second-price")
	var englishAuc, sealedAuc matching.Record
	if err := c.Call(operator, "POST", "/v1/auctions", map[string]any{"product_id": english.ID}, &englishAuc); err != nil {
		return err
	}
	if err := c.Call(operator, "POST", "/v1/auctions", map[string]any{"product_id": sealed.ID}, &sealedAuc); err != nil {
		return err
	}
	for _, b := range []venueclient.Actor{buyerA, buyerB, buyerC} {
		if err := c.Call(clerk, "POST", "/v1/auctions/"+englishAuc.ID+"/deposits", map[string]any{"buyer": b.Org, "ref": "保证金-" + string(b.Org)[len(b.Org)-4:]}, nil); err != nil {
			return err
		}
	}
	c.Note("English %s (reserve %s, opening %s, +%s, deposit %s, anti-sniping %ds); sealed %s (reserve %s)", englishAuc.ID, englishAuc.Reserve,
		englishAuc.Opening, englishAuc.Increment, englishAuc.Deposit, englishAuc.AntiSnipeSec, sealedAuc.ID, sealedAuc.Reserve)
	c.Note("the clerk recorded three deposits; bidding starts at %s", opensAt.Format(time.TimeOnly))

	c.Say("Negotiation with two buyers (counter-offers inside the operator's range)")
	var negA, negB matching.NegotiationView
	if err := c.Call(buyerA, "POST", "/v1/negotiations", map[string]any{"product_id": negotiated.ID, "amount": "9500.00"}, &negA); err != nil {
		return err
	}
	if err := c.Call(buyerB, "POST", "/v1/negotiations", map[string]any{"product_id": negotiated.ID, "amount": "10000.00"}, &negB); err != nil {
		return err
	}
	if err := c.Call(operator, "POST", "/v1/negotiations/"+negB.ID+"/moves", map[string]any{"action": "counter", "amount": "11000.00"}, &negB); err != nil {
		return err
	}
	if err := c.Call(buyerB, "POST", "/v1/negotiations/"+negB.ID+"/moves", map[string]any{"action": "accept"}, &negB); err != nil {
		return err
	}
	if err := c.Call(operator, "POST", "/v1/negotiations/"+negA.ID+"/moves", map[string]any{"action": "reject"}, &negA); err != nil {
		return err
	}
	c.Note("%s offered 9500.00 → rejected; %s offered 10000.00, countered 11000.00 → %s at %s", buyerA.Org, buyerB.Org, negB.Status, negB.Price)
	if err := c.Call(public, "GET", "/v1/negotiations/"+negB.ID, nil, nil); err == nil {
		return errors.New("demo: a negotiation was visible without a token")
	}

	c.Say("Bidding (waiting for the start)")
	time.Sleep(time.Until(opensAt.Add(300 * time.Millisecond))) // the venue's clock decides; the demo cannot hurry it
	var view matching.View
	if err := c.Call(buyerA, "GET", "/v1/auctions/"+englishAuc.ID, nil, &view); err != nil {
		return err
	}
	endsBefore := view.Live.EndsAt
	for _, bid := range []struct {
		who    venueclient.Actor
		amount string
	}{{buyerA, "8000.00"}, {buyerB, "9000.00"}, {buyerA, "9500.00"}, {buyerC, "10000.00"}} {
		var res matching.BidResult
		if err := c.Call(bid.who, "POST", "/v1/auctions/"+englishAuc.ID+"/bids", map[string]any{"amount": bid.amount}, &res); err != nil {
			return err
		}
		c.Note("English: %s bids %s (bid #%d)", bid.who.Org, bid.amount, res.Seq)
	}
	var low matching.BidResult
	err = c.Call(buyerB, "POST", "/v1/auctions/"+englishAuc.ID+"/bids", map[string]any{"amount": "10050.00"}, &low)
	var p *venueclient.Problem
	if !errors.As(err, &p) {
		return fmt.Errorf("demo: a bid under the increment was not refused: %v", err)
	}
	c.Note("English: %s bids 10050.00 → refused: %s", buyerB.Org, p.Code)
	if err := c.Call(buyerA, "GET", "/v1/auctions/"+englishAuc.ID, nil, &view); err != nil {
		return err
	}
	c.Note("anti-sniping: the end moved from %s to %s (bids in the last minute extend it)", endsBefore.Local().Format(time.TimeOnly), view.Live.EndsAt.Local().Format(time.TimeOnly))
	for _, bid := range []struct {
		who    venueclient.Actor
		amount string
	}{{buyerA, "11000.00"}, {buyerB, "12500.00"}, {buyerC, "12000.00"}} {
		if err := c.Call(bid.who, "POST", "/v1/auctions/"+sealedAuc.ID+"/bids", map[string]any{"amount": bid.amount}, nil); err != nil {
			return err
		}
		c.Note("sealed: %s places a sealed bid", bid.who.Org)
	}
	var sealedView matching.View
	if err := c.Call(operator, "GET", "/v1/auctions/"+sealedAuc.ID, nil, &sealedView); err != nil {
		return err
	}
	if sealedView.Live.High != nil || sealedView.Live.Leader != "" {
		return fmt.Errorf("demo: a sealed auction shows its high bid before the close: %+v", sealedView.Live)
	}
	c.Note("sealed, as the operator sees it before the close: %d bids, no amount, no leader", sealedView.Live.Bids)

	c.Say("Waiting for the venue to close both auctions and record the trades")
	for _, id := range []string{sealedAuc.ID, englishAuc.ID} {
		if err := venueclient.WaitFor(3*time.Minute, "auction "+id+" to close", func() (bool, error) {
			view = matching.View{}
			err := c.Call(auditor, "GET", "/v1/auctions/"+id, nil, &view)
			return view.Outcome != nil, err
		}); err != nil {
			return err
		}
		c.Note("%s %s: %s by %s at %s", view.Kind, id, view.Outcome.Result, view.Outcome.Winner, view.Outcome.Price)
	}
	var orders api.Page[settlement.Order]
	if err := venueclient.WaitFor(time.Minute, "three settlement orders", func() (bool, error) {
		orders = api.Page[settlement.Order]{}
		err := c.Call(clerk, "GET", "/v1/orders?status=awaiting_payment", nil, &orders)
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

	c.Say("Settlement: payment, split over five parties, ledger postings, treasury and filing obligations")
	var paid []settlement.Order
	for _, o := range orders.Data {
		if o.ProductID != english.ID && o.ProductID != sealed.ID && o.ProductID != negotiated.ID {
			continue
		}
		var got settlement.Order
		ref := "BANK-" + o.ID
		if len(c.Secret) > 0 && o.ProductID == sealed.ID {
			body, _ := json.Marshal(map[string]any{"order_id": o.ID, "reference": ref, "amount": o.AmountDue})
			if err := c.Call(public, "POST", "/v1/payments/callback", body, &got, "X-Datavenue-Signature", settlement.CallbackSignature(c.Secret, body, time.Now())); err != nil {
				return err
			}
		} else if err := c.Call(clerk, "POST", "/v1/orders/"+o.ID+"/payment", map[string]any{"reference": ref}, &got); err != nil {
			return err
		}
		paid = append(paid, got)
		c.Note("order %s: price %s, deposit applied %s, paid %s (%s)", got.ID, got.Price, got.DepositApplied, got.AmountDue, got.PaidVia)
		for _, s := range got.Shares {
			party := string(s.Party)
			if party == "" {
				party = "venue"
			}
			c.Note("    %-10s %-30s %10s → %s", s.Role, party, s.Amount, s.Account)
		}
		for _, ob := range got.Obligations {
			due := ob.DuePending
			if ob.DueDate != nil {
				due = ob.DueDate.String()
			}
			c.Note("    obligation %s: %s %s to %s, due %s (payment code %s)", ob.ID, ob.Kind, ob.Amount, ob.Counterpart, due, ob.PaymentCode)
		}
	}

	c.Say("Delivery by the operator, confirmation by the buyer, vouchers verified offline")
	var jwks auth.JWKSet
	if err := c.Call(public, "GET", "/.well-known/jwks.json", nil, &jwks); err != nil {
		return err
	}
	keys, err := auth.StaticSet(jwks)
	if err != nil {
		return err
	}
	buyers := map[datavenue.OrgID]venueclient.Actor{buyerA.Org: buyerA, buyerB.Org: buyerB, buyerC.Org: buyerC}
	for _, o := range paid {
		content := sha256.Sum256([]byte("demo delivery of " + o.ID))
		if err := c.Call(operator, "POST", "/v1/orders/"+o.ID+"/delivery", map[string]any{"method": "file",
			"content_hash": "sha256:" + hex.EncodeToString(content[:])}, nil); err != nil {
			return err
		}
		var v settlement.Voucher
		if err := c.Call(buyers[o.BuyerID], "POST", "/v1/orders/"+o.ID+"/confirm", nil, &v); err != nil {
			return err
		}
		var document string
		if err := c.Call(buyers[o.BuyerID], "GET", "/v1/vouchers/"+v.ID+"/document", nil, &document); err != nil {
			return err
		}
		vc, err := settlement.VerifyVoucher(strings.TrimSpace(document), keys)
		if err != nil {
			return fmt.Errorf("demo: voucher %s does not verify: %w", v.ID, err)
		}
		c.Note("voucher %s #%d verified offline: %s paid %s for %s, certificates %s, chained to %s…", v.ID, vc.Seq, vc.Buyer, vc.Price,
			vc.ProductID, strings.Join(vc.Certificates, ", "), vc.PrevHash[:12])
	}

	c.Say("The treasury's statement arrives; the clerk imports it and reconciles")
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
	result, err := c.ImportStatement(csv.String())
	if err != nil {
		return err
	}
	c.Note("import %s: %v", result.ID, result.Counts)
	var exceptions api.Page[settlement.Exception]
	if err := c.Call(clerk, "GET", "/v1/reconciliation/exceptions?status=open", nil, &exceptions); err != nil {
		return err
	}
	for _, e := range exceptions.Data {
		if e.Kind == "unmatched" {
			if err := c.Call(clerk, "POST", "/v1/reconciliation/exceptions/"+e.ID+"/resolve", map[string]any{"reason": "非本平台收入，已转区财政核对"}, nil); err != nil {
				return err
			}
			c.Note("exception %s (%s) resolved with a reason", e.ID, e.Kind)
		}
	}

	c.Say("The ledger and the remittance report")
	var tb settlement.TrialBalance
	if err := c.Call(auditor, "GET", "/v1/ledger/balances", nil, &tb); err != nil {
		return err
	}
	sort.Slice(tb.Accounts, func(i, j int) bool { return tb.Accounts[i].Account < tb.Accounts[j].Account })
	for _, a := range tb.Accounts {
		if a.Balance != "0.00" {
			c.Note("%-62s %12s", a.Account, a.Balance)
		}
	}
	c.Note("%-62s %12s  (%d transactions)", "total", tb.Total, tb.Transactions)
	if tb.Total != "0.00" {
		return fmt.Errorf("demo: the ledger does not balance: %s", tb.Total)
	}
	today := time.Now().Format("2006-01-02")
	var report settlement.Report
	if err := c.Call(financeBureau, "GET", "/v1/reports/settlement?from="+today+"&to="+today, nil, &report); err != nil {
		return err
	}
	for _, l := range report.Remittances {
		c.Note("remittances %-10s %3d obligations %12s", l.Key, l.Count, l.Amount)
	}
	for _, l := range report.FilingsDue {
		c.Note("filing due   %-30s %3d %12s", l.Label, l.Count, l.Amount)
	}
	return nil
}

// The demo's parties, by the names the demo's steps use.
var (
	dataBureau    = venueclient.DataBureau
	financeBureau = venueclient.FinanceBureau
	holder        = venueclient.Holder
	operator      = venueclient.Operator
	buyerA        = venueclient.BuyerA
	buyerB        = venueclient.BuyerB
	appraiser     = venueclient.Appraiser
	clerk         = venueclient.Clerk
	auditor       = venueclient.Auditor
	public        = venueclient.Public
)
