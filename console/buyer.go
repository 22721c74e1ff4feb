package console

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/settlement"
)

// The buyer's day after the catalogue: its orders, each order's delivery to confirm, the voucher
// that settles it (downloaded as the API serves it, verified as `datavenue voucher verify` does),
// and its deposits. Every state change goes through the service the API's operation calls
// (confirmDelivery), so its rules, idempotency and audit record are the API's.

// BuyerReads are the lists the buyer's pages show that the API has no list for (it reads one
// deposit per auction, one negotiation by id): postgres.BuyerReads in a serving venue. They only
// read what the engine's projection and the settlement store recorded.
type BuyerReads interface {
	Deposits(ctx context.Context, buyer datavenue.OrgID, limit int) ([]matching.BuyerDeposit, error)
	Negotiations(ctx context.Context, buyer datavenue.OrgID, limit int) ([]matching.BuyerNegotiation, error)
	VoucherOf(ctx context.Context, orderID string) (string, error)
	ChainHashAt(ctx context.Context, seq int64) (string, error)
}

// orderStatuses are the statuses the orders page filters by, in the order an order goes through
// them (settlement.Order.Status).
var orderStatuses = []string{"awaiting_payment", "paid", "delivered", "confirmed", "cancelled"}

type orderRow struct {
	settlement.Order
	Title, SellerName string
}

type ordersData struct {
	Status   string
	Statuses []string
	Rows     []orderRow
	Next     string
}

// myOrders lists the caller's orders (the settlement service answers a party its own), newest
// first, filtered by status.
func (c *Console) myOrders(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	status := ctx.Query("status")
	list, err := c.d.Settlement.Orders(ctx.UserContext(), s.Caller, status, settlement.Page{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d := ordersData{Status: status, Statuses: orderStatuses}
	names, titles := c.orgNames(ctx), c.productTitles(ctx)
	for _, o := range list {
		d.Rows = append(d.Rows, orderRow{Order: o, Title: titles(o.ProductID), SellerName: names(o.SellerID)})
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/orders?status=%s&cursor=%s", Prefix, status, list[len(list)-1].ID)
	}
	return c.render(ctx, "buyer-orders", l.T("orders.title"), d)
}

type orderData struct {
	O          settlement.Order
	Title      string
	SellerName string
	Delivered  string // the delivery's time in China Standard Time
	VoucherID  string
	CanConfirm bool
	CSRF       string
	Problem    string
}

func (c *Console) order(ctx *fiber.Ctx) error { return c.renderOrder(ctx, "") }

// renderOrder is one order: its price, the deposit applied, what is due and by when, and where it
// is in its life (paid, delivered, confirmed); the buyer confirms a delivered order here, and a
// confirmed one links to its voucher.
func (c *Console) renderOrder(ctx *fiber.Ctx, problem string) error {
	l, s := lang(ctx), sessionOf(ctx)
	cx := ctx.UserContext()
	o, err := c.d.Settlement.Order(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	d := orderData{O: o, Title: c.productTitles(ctx)(o.ProductID), SellerName: c.orgNames(ctx)(o.SellerID), CSRF: s.CSRF, Problem: problem,
		CanConfirm: o.Status == settlement.OrderDelivered && o.BuyerID == s.Caller.Org && allowed("confirm", s.Caller.Role)}
	if o.DeliveredAt != nil {
		d.Delivered = o.DeliveredAt.In(cst).Format("2006-01-02 15:04:05")
	}
	if o.Status == settlement.OrderConfirmed && c.o.Buyer != nil {
		if d.VoucherID, err = c.o.Buyer.VoucherOf(cx, o.ID); err != nil {
			return err
		}
	}
	return c.render(ctx, "buyer-order", l.T("order.title"), d)
}

// confirm confirms a delivered order through the voucher service (the API's confirmDelivery):
// the signed voucher is issued and appended to the chain. Confirming again answers the voucher
// issued the first time, so a form sent twice is one confirmation.
func (c *Console) confirm(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	v, err := c.d.Vouchers.Confirm(ctx.UserContext(), s.Caller, ctx.Params("id"))
	if err != nil {
		var de *datavenue.Error
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict || !asError(err, &de) {
			return err
		}
		ctx.Status(fiber.StatusConflict)
		return c.renderOrder(ctx, problemText(de))
	}
	return ctx.Redirect(Prefix+"/vouchers/"+v.ID, fiber.StatusSeeOther)
}

// voucherCheck is the verification's result, each part on its own line of the page.
type voucherCheck struct {
	Signature bool   // the venue's key signed this document, as a voucher
	Position  bool   // its signed place (number, previous hash) is its place in the log, and the hashes link
	Problem   string // why a part failed
	Content   settlement.VoucherContent
}

type voucherData struct {
	V     settlement.Voucher
	Check *voucherCheck
	// Buyer and Seller name the signed content's parties (it carries their ids).
	Buyer, Seller string
}

func (c *Console) voucher(ctx *fiber.Ctx) error { return c.renderVoucher(ctx, false) }

func (c *Console) verifyVoucher(ctx *fiber.Ctx) error { return c.renderVoucher(ctx, true) }

// renderVoucher is a voucher's place in the chained log, its download, and (verify) the
// verification of the document as it is served.
func (c *Console) renderVoucher(ctx *fiber.Ctx, verify bool) error {
	l, s := lang(ctx), sessionOf(ctx)
	v, err := c.d.Vouchers.Voucher(ctx.UserContext(), s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	d := voucherData{V: v}
	if verify {
		check := c.checkVoucher(ctx.UserContext(), v)
		d.Check = &check
		names := c.orgNames(ctx)
		d.Buyer, d.Seller = names(datavenue.OrgID(check.Content.Buyer)), names(datavenue.OrgID(check.Content.Seller))
	}
	return c.render(ctx, "buyer-voucher", l.T("voucher.title"), d)
}

// checkVoucher verifies a voucher as `datavenue voucher verify --jwks` does (settlement's
// VerifyVoucher, with the keys the venue publishes at /.well-known/jwks.json), then its place in
// the log as `datavenue voucher verify-chain` checks each entry: the signed number and previous
// hash are the stored ones, the stored hash is the chain hash of the previous one and this
// document, and the entry before it ends in that previous hash.
func (c *Console) checkVoucher(ctx context.Context, v settlement.Voucher) voucherCheck {
	var out voucherCheck
	var set auth.JWKSet
	if c.d.JWKS == nil {
		out.Problem = "the venue publishes no keys"
		return out
	}
	if err := json.Unmarshal(c.d.JWKS(), &set); err != nil {
		out.Problem = "the venue's keys: " + err.Error()
		return out
	}
	keys, err := auth.StaticSet(set)
	if err != nil {
		out.Problem = "the venue's keys: " + err.Error()
		return out
	}
	content, err := settlement.VerifyVoucher(strings.TrimSpace(v.Document), keys)
	if err != nil {
		out.Problem = err.Error()
		return out
	}
	out.Signature, out.Content = true, content
	prev := settlement.GenesisHash
	if v.Seq > 1 && c.o.Buyer != nil {
		if prev, err = c.o.Buyer.ChainHashAt(ctx, v.Seq-1); err != nil {
			out.Problem = err.Error()
			return out
		}
	}
	switch {
	case content.Seq != v.Seq || content.PrevHash != v.PrevHash:
		out.Problem = "the signed position differs from the voucher's place in the log"
	case settlement.ChainHash(v.PrevHash, v.Document) != v.Hash:
		out.Problem = "the stored hash does not match the document"
	case prev != v.PrevHash:
		out.Problem = fmt.Sprintf("entry %d does not follow entry %d", v.Seq, v.Seq-1)
	default:
		out.Position = true
	}
	return out
}

// voucherDocument is the signed voucher exactly as the API's voucherDocument serves it
// (application/jose, saved under its id), so what is downloaded verifies offline byte for byte.
func (c *Console) voucherDocument(ctx *fiber.Ctx) error {
	v, err := c.d.Vouchers.Voucher(ctx.UserContext(), sessionOf(ctx).Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	ctx.Set(fiber.HeaderContentType, "application/jose")
	ctx.Set(fiber.HeaderContentDisposition, `attachment; filename="`+v.ID+`.jws"`)
	return ctx.SendString(v.Document)
}

type depositsData struct {
	Available bool
	Rows      []matching.BuyerDeposit
}

// deposits lists the caller's auction deposits and what became of each: held while the auction
// runs, applied to the price it won, refunded (released) when it lost, forfeited when the won
// order went unpaid. The outcomes are the ones the close and settlement recorded.
func (c *Console) deposits(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := depositsData{Available: c.o.Buyer != nil}
	if d.Available {
		list, err := c.o.Buyer.Deposits(ctx.UserContext(), s.Caller.Org, listLimit)
		if err != nil {
			return err
		}
		d.Rows = list
	}
	return c.render(ctx, "buyer-deposits", l.T("deposits.title"), d)
}
