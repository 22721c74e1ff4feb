package console

import (
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
)

// The price caps the data bureau files (上限收费标准, N2–N4): a paid product needs the
// authorising body's cap in force for its charging unit, and every price it announces at or under
// it, before the publishing gate lets it through. The queue is the products by status, each with
// what the gate itself says of its cap (listing.Service.Check: price_cap_missing,
// price_above_cap); a product is opened with its prices beside every version of its cap, and a
// new version is filed through listing.Caps.File (the API's fileCap), which records it with its
// audit event and brings running auctions under it.

// capConditions are the gate's conditions about the cap.
var capConditions = []string{listing.CondCapMissing, listing.CondAboveCap}

// productStatuses are the caps queue's tabs.
var productStatuses = []string{listing.StatusDraft, listing.StatusSubmitted, listing.StatusPublished, listing.StatusSuspended}

type capsData struct {
	Status string
	Rows   []capRow
	Next   string
}

type capRow struct {
	listing.Product
	DisplayTitle string
	Free         bool        // a free use (N1): nothing to cap
	Unmet        []condition // the gate's cap conditions not met
}

func (c *Console) caps(ctx *fiber.Ctx) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	d := capsData{Status: ctx.Query("status", listing.StatusDraft)}
	list, err := c.d.Listing.Products(cx, s.Caller, listing.ProductFilter{Status: d.Status, After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	for _, p := range list {
		row := capRow{Product: p, DisplayTitle: displayTitle(l, p), Free: listing.FreeUse(p.UseCategory) || p.Pricing.Method == listing.MethodFree}
		if row.Unmet, err = c.capUnmet(ctx, p.ID); err != nil {
			return err
		}
		d.Rows = append(d.Rows, row)
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/caps?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "bureau-caps", l.T("caps.title"), d)
}

// capUnmet is what the gate says of a product's cap now.
func (c *Console) capUnmet(ctx *fiber.Ctx, id string) ([]condition, error) {
	_, unmet, err := c.d.Listing.Check(ctx.UserContext(), sessionOf(ctx).Caller, id)
	if err != nil {
		return nil, err
	}
	var out []condition
	for _, u := range unmet {
		if slices.Contains(capConditions, u.Code) {
			out = append(out, condition{Code: u.Code, Field: u.Field, Message: u.Message})
		}
	}
	return out, nil
}

type capData struct {
	Key         string // the form's idempotency key (once)
	P           listing.Product
	Title       string
	Price       string
	Unit        string
	Free        bool
	Unmet       []condition
	Caps        []listing.Cap
	InForce     *listing.Cap
	CanFile     bool
	CSRF        string
	From, Until string
	Units       []string
	Done        string
	Problem     string
	Given       form
}

func (c *Console) capPage(ctx *fiber.Ctx) error {
	return c.renderCap(ctx, ctx.Query("done"), "", nil)
}

// renderCap is a product's prices and the gate's word on its cap beside every version of the
// cap, with the filing form.
func (c *Console) renderCap(ctx *fiber.Ctx, done, problem string, given form) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	p, err := c.d.Listing.Get(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	today := civil.Of(c.now())
	d := capData{Key: randomToken(), P: p, Title: displayTitle(l, p), Price: askingPrice(p.Pricing), Unit: listing.UnitOf(p.Pricing),
		Free: listing.FreeUse(p.UseCategory) || p.Pricing.Method == listing.MethodFree, CSRF: s.CSRF, Done: done, Problem: problem, Given: given,
		From: today.String(), Until: today.AddDays(365).String(), Units: listing.ChargingUnits}
	d.CanFile = allowed("fileCap", s.Caller.Role) && !listing.FreeUse(p.UseCategory)
	if d.Caps, err = c.d.Caps.List(cx, s.Caller, p.ID); err != nil {
		return err
	}
	d.InForce = listing.CapInForce(d.Caps, d.Unit, today)
	if d.Unmet, err = c.capUnmet(ctx, p.ID); err != nil {
		return err
	}
	return c.render(ctx, "bureau-cap", fmt.Sprintf(l.T("cap.title"), d.Title), d)
}

// fileCap files a new version of the product's cap; a refusal (an amount that is not one, dates
// out of order, a free use) is shown above the form with what was given.
func (c *Console) fileCap(ctx *fiber.Ctx) error {
	id := ctx.Params("id")
	f := formOf(ctx, "charging_unit", "amount", "approval_ref", "pricing_doc_number", "valid_from", "valid_until")
	return c.once(ctx, func() error {
		_, err := c.d.Caps.File(ctx.UserContext(), sessionOf(ctx).Caller, id, listing.CapInput{ChargingUnit: f["charging_unit"], Amount: f["amount"],
			ApprovalRef: f["approval_ref"], PricingDocNumber: f["pricing_doc_number"], ValidFrom: f["valid_from"], ValidUntil: f["valid_until"]})
		return decided(ctx, err, Prefix+"/caps/"+id+"?done=filed", func(problem string) error { return c.renderCap(ctx, "", problem, f) })
	})
}
