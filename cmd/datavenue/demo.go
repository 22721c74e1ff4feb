package main

import (
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
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/settlement"
)

// demo walks a running venue through one whole trade over its public HTTP API only, as an
// integrator would, so it doubles as an end-to-end check of a deployed venue (demo_test.go runs
// it against a real venue process, then `datavenue check`). It does not stop on ctx: a demo cut
// short would leave auctions and orders half-way; each request has the client's 30 s timeout
// instead. The payment callback secret is passed on so the demo can sign a provider callback as
// the provider would.
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
		Secret: []byte(cfg.PaymentCallbackSecret), Metering: []byte(cfg.MeteringSecret)}
	start := time.Now()
	if err := runDemo(c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndemo: done in %s, %d API calls\n", time.Since(start).Round(time.Second), c.Calls)
	return nil
}

// demoRun is what the demo's steps hand on to each other: the parties, products, auctions and
// orders it made. Every request is a method of the generated client (package client).
// The steps share it rather than passing results along because later steps need several earlier
// results at once (settle needs the products to recognise the demo's orders; deliver needs the
// buyers). ctx is context.Background: the demo always runs to its end or first failure.
type demoRun struct {
	c                           *venueclient.Client
	api                         *client.ClientWithResponses
	ctx                         context.Context
	buyerC                      venueclient.Actor
	english, sealed, negotiated client.Product
	asset                       client.Asset // the certified asset the products are made of
	keys                        auth.KeySet
	opensAt                     time.Time
	englishAuc, sealedAuc       client.Auction
	orders                      []client.Order // awaiting payment, then paid
}

// runDemo runs the steps in order; each builds on what the previous ones left in d (products,
// auctions, orders), and the first failure ends the demo with the step's error. The readiness
// check comes first so that a venue that is not running gives one clear message.
func runDemo(c *venueclient.Client) error {
	d := &demoRun{c: c, api: c.API(), ctx: context.Background()}
	if _, err := d.api.ReadyWithResponse(d.ctx, c.As(public)); err != nil {
		return fmt.Errorf("the venue at %s is not ready (start it with make run): %w", c.Base, err)
	}
	for _, step := range []func() error{d.parties, d.publish, d.openAuctions, d.negotiate, d.bid, d.awaitClose, d.settle, d.deliver,
		d.freeUse, d.metered, d.reconcile, d.ledger} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// parties shows the seeded organisations and registers a third buyer through the API.
func (d *demoRun) parties() error {
	c := d.c
	c.Say("Parties: the seeded bureaus, holder, operator, buyers, appraiser, venue and supervisor")
	// Reading each seeded party as the data bureau proves the seed ran and shows the ids the printed
	// tokens act for; a missing one is the most common reason the demo fails, so it says to seed.
	for _, a := range []venueclient.Actor{dataBureau, financeBureau, holder, operator, buyerA, buyerB, appraiser, clerk, auditor} {
		o, err := venueclient.Result[client.Organisation](d.api.GetOrganisationWithResponse(d.ctx, string(a.Org), c.As(dataBureau)))
		if err != nil {
			return fmt.Errorf("%w (run `datavenue seed` first: make run does)", err)
		}
		c.Note("%-18s %s  %s", a.Role, o.Id, o.Name)
	}
	// Looked up by its fixed USCC first, so running the demo twice against the same venue reuses the
	// buyer instead of failing on a duplicate registration.
	// A third buyer, registered through the API the first time (the venue assigns its id).
	registered, err := venueclient.Result[client.PageOfOrganisation](d.api.ListOrganisationsWithResponse(d.ctx,
		&client.ListOrganisationsParams{Kind: venueclient.Ptr("buyer"), Limit: venueclient.Ptr(200)}, c.As(dataBureau)))
	if err != nil {
		return err
	}
	thirdUSCC := venueclient.DemoUSCC("91350100MA0000011")
	var third client.Organisation
	for _, o := range registered.Data {
		if o.Uscc == thirdUSCC {
			third = o
		}
	}
	if third.Id == "" {
		if third, err = venueclient.Result[client.Organisation](d.api.RegisterOrganisationWithResponse(d.ctx, nil, client.Registration{Uscc: thirdUSCC,
			Name: "港口物流有限公司", NameEn: venueclient.Ptr("Harbour Logistics Co., Ltd."), Kind: client.RegistrationKindBuyer}, c.As(dataBureau))); err != nil {
			return err
		}
		c.Note("registered a third buyer through the API: %s %s", third.Id, third.Name)
	}
	d.buyerC = venueclient.Actor{Role: datavenue.RoleBuyer, Org: datavenue.OrgID(third.Id)}
	return nil
}

// publish certifies an asset and publishes three products of it, then searches the catalogue.
func (d *demoRun) publish() error {
	c := d.c
	cert, err := c.Certify()
	if err != nil {
		return err
	}
	asset, scenario := cert.Asset, cert.Scenario
	d.asset = asset
	// The auctions open a few seconds from now, on a whole second: time to publish and open both
	// first, since bids before the start are refused. The English auction runs 20 s and the sealed
	// one 15 s; anti-sniping (a minute) then stretches the English one, as the bid step shows.
	c.Say("The operator publishes three products (the gate checks certificates, authorisation and approval) with a contribution agreement each")
	d.opensAt = time.Now().Add(6 * time.Second).Truncate(time.Second)
	ptr := venueclient.Ptr[string]
	if d.english, err = c.Publish(asset, scenario, "公交客流小时数据（英式拍卖）", client.PricingInput{Method: client.PricingInputMethodAuction,
		AuctionKind: venueclient.Ptr(client.PricingInputAuctionKindEnglish), Reserve: ptr("9000.00"), OpeningPrice: ptr("8000.00"),
		Increment: ptr("100.00"), Deposit: ptr("500.00"), AntiSnipeMinutes: venueclient.Ptr(1),
		StartAt: venueclient.Ptr(d.opensAt), EndAt: venueclient.Ptr(d.opensAt.Add(20 * time.Second))}); err != nil {
		return err
	}
	// The three products show the price-forming methods of D14 and G7: on-venue competitive bidding
	// (an English and a sealed auction) and a negotiated agreement with a range around its list price.
	if d.sealed, err = c.Publish(asset, scenario, "公交客流小时数据（密封二价拍卖）", client.PricingInput{Method: client.PricingInputMethodAuction,
		AuctionKind: venueclient.Ptr(client.PricingInputAuctionKindSealedSecond), Reserve: ptr("9000.00"),
		StartAt: venueclient.Ptr(d.opensAt), EndAt: venueclient.Ptr(d.opensAt.Add(15 * time.Second))}); err != nil {
		return err
	}
	if d.negotiated, err = c.Publish(asset, scenario, "公交客流小时数据（协议定价）", client.PricingInput{Method: client.PricingInputMethodNegotiation,
		ListPrice: ptr("12000.00"), MinPrice: ptr("9000.00"), MaxPrice: ptr("15000.00")}); err != nil {
		return err
	}
	// The search is anonymous (no token), as the public catalogue is, and may be served by a
	// read replica (DATAVENUE_DATABASE_READ_URL).
	found, err := venueclient.Result[client.SearchResult](d.api.SearchCatalogueWithResponse(d.ctx,
		&client.SearchCatalogueParams{Q: ptr("公交客流"), Limit: venueclient.Ptr(5)}, c.As(public)))
	if err != nil {
		return err
	}
	c.Note("the public catalogue finds %d products for 公交客流", found.Total)
	return nil
}

// openAuctions opens the English and the sealed auction and records three deposits.
func (d *demoRun) openAuctions() error {
	c := d.c
	c.Say("Auctions open: English with anti-sniping and deposits, sealed second-price")
	var err error
	if d.englishAuc, err = venueclient.Result[client.Auction](d.api.OpenAuctionWithResponse(d.ctx, nil,
		client.OpenAuctionInput{ProductId: d.english.Id}, c.As(operator))); err != nil {
		return err
	}
	if d.sealedAuc, err = venueclient.Result[client.Auction](d.api.OpenAuctionWithResponse(d.ctx, nil,
		client.OpenAuctionInput{ProductId: d.sealed.Id}, c.As(operator))); err != nil {
		return err
	}
	// The English auction asks a deposit (保证金) before bidding; the clerk records each buyer's as
	// received, since money moves outside the venue.
	for _, b := range []venueclient.Actor{buyerA, buyerB, d.buyerC} {
		if _, err := d.api.RecordDepositWithResponse(d.ctx, d.englishAuc.Id, nil,
			client.DepositInput{Buyer: string(b.Org), Ref: "保证金-" + string(b.Org)[len(b.Org)-4:]}, c.As(clerk)); err != nil {
			return err
		}
	}
	e := d.englishAuc
	c.Note("English %s (reserve %s, opening %s, +%s, deposit %s, anti-sniping %ds); sealed %s (reserve %s)", e.Id, e.Reserve,
		e.OpeningPrice, e.Increment, e.Deposit, e.AntiSnipeSeconds, d.sealedAuc.Id, d.sealedAuc.Reserve)
	// The cap (N4) was filed when the product was published (venueclient.Publish); bids above it are
	// refused by the engine itself.
	caps, err := venueclient.Result[[]client.Cap](d.api.ListCapsWithResponse(d.ctx, d.english.Id, c.As(operator)))
	if err != nil {
		return err
	}
	for _, cp := range caps {
		c.Note("the price cap in force (%s, %s): %s per %s; no bid above it is accepted", cp.ApprovalRef, derefOr(cp.PricingDocNumber, "-"), cp.Amount, cp.ChargingUnit)
	}
	c.Note("the clerk recorded three deposits; bidding starts at %s", d.opensAt.Format(time.TimeOnly))
	return nil
}

// negotiate has two buyers offer for the negotiated product: one countered and accepted, one
// rejected; and shows a negotiation is not public.
func (d *demoRun) negotiate() error {
	c := d.c
	c.Say("Negotiation with two buyers (counter-offers inside the operator's range)")
	start := func(who venueclient.Actor, amount string) (client.NegotiationView, error) {
		return venueclient.Result[client.NegotiationView](d.api.StartNegotiationWithResponse(d.ctx, nil,
			client.NegotiationInput{ProductId: d.negotiated.Id, Amount: amount}, c.As(who)))
	}
	move := func(who venueclient.Actor, id string, m client.MoveInput) (client.NegotiationView, error) {
		return venueclient.Result[client.NegotiationView](d.api.MoveNegotiationWithResponse(d.ctx, id, nil, m, c.As(who)))
	}
	// Offers must lie within the operator's range (9000.00 to 15000.00 for this product); buyer B's
	// accepted counter-offer becomes a trade and an order like an auction's.
	negA, err := start(buyerA, "9500.00")
	if err != nil {
		return err
	}
	negB, err := start(buyerB, "10000.00")
	if err != nil {
		return err
	}
	if negB, err = move(operator, negB.Id, client.MoveInput{Action: client.MoveInputActionCounter, Amount: venueclient.Ptr("11000.00")}); err != nil {
		return err
	}
	if negB, err = move(buyerB, negB.Id, client.MoveInput{Action: client.MoveInputActionAccept}); err != nil {
		return err
	}
	if _, err = move(operator, negA.Id, client.MoveInput{Action: client.MoveInputActionReject}); err != nil {
		return err
	}
	// The rejection and the acceptance are both final: only buyer B's negotiation becomes a trade.
	c.Note("%s offered 9500.00 → rejected; %s offered 10000.00, countered 11000.00 → %s at %s", buyerA.Org, buyerB.Org, negB.Status, negB.Price)
	// Negotiations are private to their parties: an anonymous read must fail, or the demo stops.
	if _, err := d.api.GetNegotiationWithResponse(d.ctx, negB.Id, c.As(public)); err == nil {
		return errors.New("demo: a negotiation was visible without a token")
	}
	return nil
}

// bid places bids in both auctions once they open: anti-sniping moves the English end, a bid
// under the increment is refused, and the sealed auction shows no amount before the close.
func (d *demoRun) bid() error {
	c := d.c
	c.Say("Bidding (waiting for the start)")
	// Bids are judged by the venue's clock (Redis TIME inside the bid script), so the demo waits until
	// just after the start rather than trusting its own clock to the millisecond.
	time.Sleep(time.Until(d.opensAt.Add(300 * time.Millisecond))) // the venue's clock decides; the demo cannot hurry it
	view, err := venueclient.Result[client.AuctionView](d.api.GetAuctionWithResponse(d.ctx, d.englishAuc.Id, c.As(buyerA)))
	if err != nil {
		return err
	}
	endsBefore := view.Live.EndsAt
	place := func(who venueclient.Actor, auction, amount string) (client.BidResult, error) {
		return venueclient.Result[client.BidResult](d.api.PlaceBidWithResponse(d.ctx, auction, nil, client.BidInput{Amount: amount}, c.As(who)))
	}
	// Each English bid must reach the current high plus the 100.00 increment (the first, the opening
	// price). Every bid here lands within the last minute, so anti-sniping moves the end each time.
	for _, bid := range []struct {
		who    venueclient.Actor
		amount string
	}{{buyerA, "8000.00"}, {buyerB, "9000.00"}, {buyerA, "9500.00"}, {d.buyerC, "10000.00"}} {
		res, err := place(bid.who, d.englishAuc.Id, bid.amount)
		if err != nil {
			return err
		}
		c.Note("English: %s bids %s (bid #%d)", bid.who.Org, bid.amount, res.Seq)
	}
	// 10000.00 + 100.00 is the least acceptable bid now, so 10050.00 must be refused (bid_too_low);
	// a refusal that does not come is a bug, and the demo says so.
	_, err = place(buyerB, d.englishAuc.Id, "10050.00")
	var p *venueclient.Problem
	if !errors.As(err, &p) {
		return fmt.Errorf("demo: a bid under the increment was not refused: %v", err)
	}
	c.Note("English: %s bids 10050.00 → refused: %s", buyerB.Org, p.Code)
	if view, err = venueclient.Result[client.AuctionView](d.api.GetAuctionWithResponse(d.ctx, d.englishAuc.Id, c.As(buyerA))); err != nil {
		return err
	}
	c.Note("anti-sniping: the end moved from %s to %s (bids in the last minute extend it)", endsBefore.Local().Format(time.TimeOnly), view.Live.EndsAt.Local().Format(time.TimeOnly))
	// Sealed second-price: the highest bidder (buyer B, 12500.00) wins at the second-highest amount
	// (12000.00). Until the close nobody, the operator included, may see amounts or a leader.
	for _, bid := range []struct {
		who    venueclient.Actor
		amount string
	}{{buyerA, "11000.00"}, {buyerB, "12500.00"}, {d.buyerC, "12000.00"}} {
		if _, err := place(bid.who, d.sealedAuc.Id, bid.amount); err != nil {
			return err
		}
		c.Note("sealed: %s places a sealed bid", bid.who.Org)
	}
	sealedView, err := venueclient.Result[client.AuctionView](d.api.GetAuctionWithResponse(d.ctx, d.sealedAuc.Id, c.As(operator)))
	if err != nil {
		return err
	}
	// Any sign of an amount or a leader before the close would break the sealed auction's promise to
	// its bidders, so the demo treats it as a failure, not as a detail to print.
	if sealedView.Live.High != nil || venueclient.Deref(sealedView.Live.Leader) != "" {
		return fmt.Errorf("demo: a sealed auction shows its high bid before the close: %+v", sealedView.Live)
	}
	c.Note("sealed, as the operator sees it before the close: %d bids, no amount, no leader", sealedView.Live.Bids)
	return nil
}

// awaitClose waits for the venue to close both auctions and for the three trades' orders.
// It waits on the venue rather than sleeping a fixed time: anti-sniping makes the English end
// depend on the bids, and the closer and the projection run on their own ticks.
func (d *demoRun) awaitClose() error {
	c := d.c
	c.Say("Waiting for the venue to close both auctions and record the trades")
	// The venue's closer ends auctions on its own schedule; the demo can only poll. The outcome is
	// read as the auditor, who may see every auction.
	for _, id := range []string{d.sealedAuc.Id, d.englishAuc.Id} {
		var view client.AuctionView
		if err := venueclient.WaitFor(3*time.Minute, "auction "+id+" to close", func() (bool, error) {
			var err error
			view, err = venueclient.Result[client.AuctionView](d.api.GetAuctionWithResponse(d.ctx, id, c.As(auditor)))
			return view.Outcome != nil, err
		}); err != nil {
			return err
		}
		c.Note("%s %s: %s by %s at %s", view.Kind, id, view.Outcome.Result, venueclient.Deref(view.Outcome.Winner), view.Outcome.Price)
	}
	// Three orders: the two auctions' and the negotiation's. Other orders may be awaiting payment on
	// a shared venue, hence the filter on the demo's own products.
	return venueclient.WaitFor(time.Minute, "three settlement orders", func() (bool, error) {
		orders, err := venueclient.Result[client.PageOfOrder](d.api.ListOrdersWithResponse(d.ctx,
			&client.ListOrdersParams{Status: venueclient.Ptr("awaiting_payment")}, c.As(clerk)))
		d.orders = nil
		for _, o := range orders.Data {
			if d.ours(o) {
				d.orders = append(d.orders, o)
			}
		}
		return len(d.orders) == 3, err
	})
}

// ours says whether an order is for one of the demo's three products.
func (d *demoRun) ours(o client.Order) bool {
	return o.ProductId == d.english.Id || o.ProductId == d.sealed.Id || o.ProductId == d.negotiated.Id
}

// settle pays the three orders (the sealed one by the signed callback when the venue has a
// secret) and shows each split and its obligations.
// The split (D16/G6) follows each product's agreement; the government unit's share becomes a
// treasury remittance obligation (D17) and the income a filing obligation (G6), each with its
// due date as a CST civil date. An English auction's deposit is applied to its price.
func (d *demoRun) settle() error {
	c := d.c
	c.Say("Settlement: payment, split over five parties, ledger postings, treasury and filing obligations")
	var paid []client.Order
	for _, o := range d.orders {
		got, err := d.pay(o)
		if err != nil {
			return err
		}
		paid = append(paid, got)
		c.Note("order %s: price %s, deposit applied %s, paid %s (%s)", got.Id, got.Price, got.DepositApplied, got.AmountDue, venueclient.Deref(got.PaidVia))
		for _, s := range venueclient.Deref(got.Shares) {
			party := venueclient.Deref(s.Party)
			// A share without a party is the venue's own fee.
			if party == "" {
				party = "venue"
			}
			c.Note("    %-10s %-30s %10s → %s", s.Role, party, s.Amount, s.Account)
		}
		for _, ob := range venueclient.Deref(got.Obligations) {
			due := venueclient.Deref(ob.DuePending)
			// A due date that cannot be counted yet (the year's official holiday schedule is not published)
			// is shown as its pending reason; the sweep fills it in later.
			if ob.DueDate != nil {
				due = ob.DueDate.String()
			}
			c.Note("    obligation %s: %s %s to %s, due %s (payment code %s)", ob.Id, ob.Kind, ob.Amount, ob.Counterpart, due, ob.PaymentCode)
		}
	}
	d.orders = paid
	return nil
}

// pay records an order's payment: by the payment provider's signed callback for the sealed
// auction's order when the venue has a callback secret, by the clerk otherwise.
func (d *demoRun) pay(o client.Order) (client.Order, error) {
	c, ref := d.c, "BANK-"+o.Id
	// The provider's callback is authenticated by an HMAC of the body (X-Datavenue-Signature), not by
	// a token: it is sent with no Authorization header at all.
	if len(c.Secret) > 0 && o.ProductId == d.sealed.Id {
		// The signature covers the exact bytes sent, so the body is sent as made here.
		body, _ := json.Marshal(client.PaymentCallback{OrderId: o.Id, Reference: ref, Amount: o.AmountDue})
		sig := settlement.CallbackSignature(c.Secret, body, time.Now())
		return venueclient.Result[client.Order](d.api.PaymentCallbackWithBodyWithResponse(d.ctx,
			&client.PaymentCallbackParams{XDatavenueSignature: sig}, "application/json", bytes.NewReader(body), c.As(public)))
	}
	return venueclient.Result[client.Order](d.api.RecordPaymentWithResponse(d.ctx, o.Id, nil, client.PaymentInput{Reference: ref}, c.As(clerk)))
}

// deliver delivers and confirms each paid order and verifies its voucher offline against the
// published keys.
func (d *demoRun) deliver() error {
	c := d.c
	c.Say("Delivery by the operator, confirmation by the buyer, vouchers verified offline")
	// The published JWKS is fetched once and used as a fixed key set: verifying a voucher offline
	// needs only the venue's public keys, exactly as a buyer's auditor would use them.
	published, err := d.api.JwksWithResponse(d.ctx, c.As(public))
	if err != nil {
		return err
	}
	var jwks auth.JWKSet
	if err := json.Unmarshal(published.Body, &jwks); err != nil {
		return err
	}
	if d.keys, err = auth.StaticSet(jwks); err != nil {
		return err
	}
	// Each order is confirmed by its own buyer, the party the venue accepts the confirmation from.
	buyers := map[string]venueclient.Actor{string(buyerA.Org): buyerA, string(buyerB.Org): buyerB, string(d.buyerC.Org): d.buyerC}
	for _, o := range d.orders {
		v, vc, err := d.deliverAndConfirm(o, buyers[o.BuyerId])
		if err != nil {
			return err
		}
		c.Note("voucher %s #%d verified offline: %s paid %s for %s, certificates %s, chained to %s…", v.Id, vc.Seq, vc.Buyer, vc.Price,
			vc.ProductID, strings.Join(vc.Certificates, ", "), vc.PrevHash[:12])
	}
	return nil
}

// deliverAndConfirm records the operator's delivery of an order, has its buyer confirm it and
// verifies the voucher offline against the published keys.
func (d *demoRun) deliverAndConfirm(o client.Order, buyer venueclient.Actor) (client.Voucher, settlement.VoucherContent, error) {
	c := d.c
	// The delivery names the content by its SHA-256 so the voucher binds the trade to exactly what
	// was delivered; here the content is a stand-in derived from the order id.
	content := sha256.Sum256([]byte("demo delivery of " + o.Id))
	if _, err := venueclient.Result[client.Order](d.api.RecordDeliveryWithResponse(d.ctx, o.Id, nil, client.OrderDelivery{Method: client.OrderDeliveryMethodFile,
		ContentHash: venueclient.Ptr("sha256:" + hex.EncodeToString(content[:]))}, c.As(operator))); err != nil {
		return client.Voucher{}, settlement.VoucherContent{}, err
	}
	v, err := venueclient.Result[client.Voucher](d.api.ConfirmDeliveryWithResponse(d.ctx, o.Id, nil, c.As(buyer)))
	if err != nil {
		return v, settlement.VoucherContent{}, err
	}
	document, err := d.api.VoucherDocumentWithResponse(d.ctx, v.Id, c.As(buyer))
	if err != nil {
		return v, settlement.VoucherContent{}, err
	}
	// VerifyVoucher checks the signature and typ, and returns the content: seq and prev_hash place
	// the voucher in the venue's hash chain (D15/G7: fully traceable).
	vc, err := settlement.VerifyVoucher(strings.TrimSpace(string(document.Body)), d.keys)
	if err != nil {
		return v, vc, fmt.Errorf("demo: voucher %s does not verify: %w", v.Id, err)
	}
	return v, vc, nil
}

// freeUse publishes a public-welfare product (free use by law, N1) and has a buyer obtain it: an
// order of 0.00 settled at once, with no split, no ledger posting and no obligation; delivered,
// confirmed and vouchered like the paid ones.
func (d *demoRun) freeUse() error {
	c := d.c
	c.Say("Free use for public welfare (N1): an order of 0.00, no payment, split or obligation; delivered and vouchered")
	p, err := c.PublishFree(d.asset, "城市交通公益研究", "公交客流小时数据（公益免费使用）")
	if err != nil {
		return err
	}
	// A fixed Idempotency-Key per product: a retried request obtains the same order, never two.
	key := "demo-free-" + p.Id
	// Free use (N1) still goes through an order: the trade is recorded and vouchered like a paid one
	// (D15/G7: fully traceable), it only carries no money.
	o, err := venueclient.Result[client.Order](d.api.ObtainFreeUseWithResponse(d.ctx, p.Id, &client.ObtainFreeUseParams{IdempotencyKey: &key}, c.As(buyerB)))
	if err != nil {
		return err
	}
	c.Note("order %s: price %s, status %s (%s), %d shares, %d obligations", o.Id, o.Price, o.Status, venueclient.Deref(o.PaidVia),
		len(venueclient.Deref(o.Shares)), len(venueclient.Deref(o.Obligations)))
	v, vc, err := d.deliverAndConfirm(o, buyerB)
	if err != nil {
		return err
	}
	c.Note("voucher %s #%d verified offline: %s obtained %s for %s at %s, chained to %s…", v.Id, vc.Seq, vc.Buyer, vc.ProductID, vc.Purpose, vc.Price,
		vc.PrevHash[:12])
	return nil
}

// reconcile imports the treasury's statement of the paid orders' remittances (and one receipt
// that is not the venue's) and resolves the unmatched one.
func (d *demoRun) reconcile() error {
	c := d.c
	c.Say("The treasury's statement arrives; the clerk imports it and reconciles")
	// The statement is built the way the treasury's export looks (its Chinese headers, one row per
	// receipt): each remittance the paid orders owe, by its payment code, plus one receipt that is
	// not the venue's (no payment code, another unit) which must end as an "unmatched" exception.
	var csv strings.Builder
	csv.WriteString("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n")
	n := 0
	for _, o := range d.orders {
		for _, ob := range venueclient.Deref(o.Obligations) {
			if ob.Kind == "treasury_remittance" {
				n++
				// Slip numbers (缴款书编号) carry the current time: a slip number seen before is reconciled as
				// a duplicate, so each run's rows must be new receipts.
				fmt.Fprintf(&csv, "GK%s%03d,%s,市交通运输局,%s,%s,%s\n", time.Now().Format("20060102150405"), n, ob.PaymentCode, ob.Amount,
					civil.Of(time.Now()).String(), ob.Counterpart)
			}
		}
	}
	fmt.Fprintf(&csv, "GK%s999,,某区文旅局,88.00,%s,区级国库\n", time.Now().Format("20060102150405"), civil.Of(time.Now()).String())
	result, err := c.ImportStatement(csv.String())
	if err != nil {
		return err
	}
	c.Note("import %s: %v", result.Id, result.Counts)
	exceptions, err := venueclient.Result[client.PageOfException](d.api.ListExceptionsWithResponse(d.ctx,
		&client.ListExceptionsParams{Status: venueclient.Ptr("open")}, c.As(clerk)))
	if err != nil {
		return err
	}
	// An unmatched receipt is never dropped silently: the clerk resolves it with a reason, which is
	// kept with the exception for the audit.
	for _, e := range exceptions.Data {
		if e.Kind == "unmatched" {
			if _, err := d.api.ResolveExceptionWithResponse(d.ctx, e.Id, nil, client.ResolveInput{Reason: "非本平台收入，已转区财政核对"}, c.As(clerk)); err != nil {
				return err
			}
			c.Note("exception %s (%s) resolved with a reason", e.Id, e.Kind)
		}
	}
	return nil
}

// ledger shows the trial balance (it must total 0.00) and today's remittance report.
func (d *demoRun) ledger() error {
	c := d.c
	c.Say("The ledger and the remittance report")
	// The ledger is double-entry: every transaction's postings total zero, so the trial balance
	// must total 0.00 whatever happened; anything else is a bug the demo reports.
	tb, err := venueclient.Result[client.TrialBalance](d.api.TrialBalanceWithResponse(d.ctx, c.As(auditor)))
	if err != nil {
		return err
	}
	// Sorted by account name so the printed ledger is the same from run to run; zero balances are
	// left out to keep it short.
	sort.Slice(tb.Accounts, func(i, j int) bool { return tb.Accounts[i].Account < tb.Accounts[j].Account })
	for _, a := range tb.Accounts {
		if a.Balance != "0.00" {
			c.Note("%-62s %12s", a.Account, a.Balance)
		}
	}
	c.Note("%-62s %12s  (%d transactions)", "total", tb.Total, tb.Transactions)
	// A trial balance that does not total zero means a transaction was posted one-sided: the venue's
	// books are wrong, whatever else worked.
	if tb.Total != "0.00" {
		return fmt.Errorf("demo: the ledger does not balance: %s", tb.Total)
	}
	// The report is for today (CST): the remittances owed and the filings due (G6: within 10 working
	// days), as the finance bureau reads them.
	today := civil.Of(time.Now()).String()
	report, err := venueclient.Result[client.Report](d.api.SettlementReportWithResponse(d.ctx,
		&client.SettlementReportParams{From: today, To: today}, c.As(financeBureau)))
	if err != nil {
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

// derefOr is *s, or otherwise when s is nil.
func derefOr(s *string, otherwise string) string {
	if s == nil {
		return otherwise
	}
	return *s
}
