package console

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
)

// The operator's products: every product of its organisation by status, and each product's
// publishing gate as a checklist of the conditions it does not meet yet, read from the gate itself
// (listing.Service.Check: the same facts and evaluation as the submit and publish steps, so the
// console holds no copy of a rule), with the step the product is ready for.

type productsData struct {
	// CanCreate: the role makes products (the form then lists its organisation's authorisations).
	CanCreate bool
	Status    string
	Rows      []productRow
	Next      string
}

type productRow struct {
	listing.Product
	DisplayTitle, Price string
}

// myProducts lists the caller's products (an overseer's: everyone's), newest first as the store
// pages them, filtered by status.
func (c *Console) myProducts(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := productsData{Status: ctx.Query("status"), CanCreate: allowed("productnew", s.Caller.Role)}
	list, err := c.d.Listing.Products(ctx.UserContext(), s.Caller, listing.ProductFilter{Status: d.Status, After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	for _, p := range list {
		d.Rows = append(d.Rows, productRow{Product: p, DisplayTitle: displayTitle(l, p), Price: askingPrice(p.Pricing)})
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/manage/products?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "products", l.T("products.title"), d)
}

func displayTitle(l Lang, p listing.Product) string {
	if l == English && p.TitleEN != "" {
		return p.TitleEN
	}
	return p.Title
}

type gateData struct {
	P       listing.Product
	Title   string
	Unmet   []condition
	Caps    []listing.Cap
	History []listing.PriceVersion
	Step    string // submit or publish: the step the product is ready for (none: neither)
	CanAct  bool
	CSRF    string
	Done    string // the step just taken
	Problem string // why the step just tried was refused (beyond the gate's conditions)
}

// condition is one unmet condition of the gate: its code (named in the catalogue), the field it
// concerns and the gate's own explanation.
type condition struct {
	Code, Field, Message string
}

// manageProduct is a product as its operator prepares it: its pricing, caps and bands, its price
// history and the gate's checklist, with the next step's button.
func (c *Console) manageProduct(ctx *fiber.Ctx) error {
	return c.renderGate(ctx, ctx.Query("done"), "")
}

func (c *Console) renderGate(ctx *fiber.Ctx, done, problem string) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	p, unmet, err := c.d.Listing.Check(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	d := gateData{P: p, Title: displayTitle(l, p), CanAct: allowed("publish", s.Caller.Role) && s.Caller.Org == p.OperatorID, CSRF: s.CSRF,
		Done: done, Problem: problem}
	for _, u := range unmet {
		d.Unmet = append(d.Unmet, condition{Code: u.Code, Field: u.Field, Message: u.Message})
	}
	switch p.Status {
	case listing.StatusDraft:
		d.Step = "submit"
	case listing.StatusSubmitted:
		d.Step = "publish"
	}
	if d.Caps, err = c.d.Caps.List(cx, s.Caller, p.ID); err != nil {
		return err
	}
	if d.History, err = c.d.Listing.PriceHistory(cx, s.Caller, p.ID); err != nil {
		return err
	}
	return c.render(ctx, "gate", d.Title, d)
}

// step submits or publishes a product through the listing service (the API's submitProduct and
// publishProduct): the gate decides again at this instant; a refusal shows its conditions.
func (c *Console) step(ctx *fiber.Ctx) error {
	s, id := sessionOf(ctx), ctx.Params("id")
	var err error
	step := ctx.Params("step")
	switch step {
	case "submit":
		_, err = c.d.Listing.Submit(ctx.UserContext(), s.Caller, id)
	case "publish":
		_, err = c.d.Listing.Publish(ctx.UserContext(), s.Caller, id)
	default:
		return fiber.ErrNotFound
	}
	if err != nil {
		var de *datavenue.Error
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict || !asError(err, &de) {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderGate(ctx, "", de.Code+": "+de.Message)
	}
	return ctx.Redirect(Prefix+"/manage/products/"+id+"?done="+step, fiber.StatusSeeOther)
}
