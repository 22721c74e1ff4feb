package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
)

// The operator's auctions: the auctions of its products with their states (the API's
// listAuctions, narrowed to the operator), and the form that opens one on a published product
// priced by auction (openAuction: matching.Service.Create, on the terms of the product's current
// price version, English or sealed; a sealed auction may let bids be revised). Opening leads to
// the auction's live view, the page buyers bid on, whose leading price follows the engine's feed.

type opAuctionsData struct {
	Rows     []opAuctionRow
	Products []opAuctionProduct // its published auction-priced products, to open an auction on
	// ProductsNext is the next page of them, when there is one.
	ProductsNext string
	// Action is where the form posts: this page, with both its places.
	Action  string
	Next    string
	CSRF    string
	Key     string
	Problem string
	Chosen  string
}

type opAuctionRow struct {
	matching.Record
	Product string
	Starts  string
	Ends    string
}

// opAuctionProduct is a product an auction may be opened on, with the terms it would run on.
type opAuctionProduct struct {
	ID, Title string
	Pricing   listing.Pricing
	Starts    string
	Ends      string
}

func (c *Console) opAuctions(ctx *fiber.Ctx) error {
	return c.renderOpAuctions(ctx, "", "")
}

func (c *Console) renderOpAuctions(ctx *fiber.Ctx, chosen, problem string) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	d := opAuctionsData{CSRF: s.CSRF, Key: randomToken(), Problem: problem, Chosen: chosen}
	// The operator is the session's organisation, never a query parameter: the list is public
	// (listAuctions), but this page is the operator's own.
	list, err := c.d.Auctions.List(cx, matching.AuctionFilter{OperatorID: s.Caller.Org, Status: ctx.Query("status"), After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	titles := map[string]string{}
	title := func(id string) string {
		if t, ok := titles[id]; ok {
			return t
		}
		t := id
		if p, err := c.d.Listing.Get(cx, s.Caller, id); err == nil {
			t = displayTitle(l, p)
		}
		titles[id] = t
		return t
	}
	for _, r := range list {
		d.Rows = append(d.Rows, opAuctionRow{Record: r, Product: title(r.ProductID), Starts: r.StartsAt.In(cst).Format("2006-01-02 15:04"),
			Ends: r.EndsAt.In(cst).Format("2006-01-02 15:04")})
	}
	// The page has two independent pages (its auctions by cursor, the products to open one on by
	// pcursor): each link, and the form, keeps the other's place, so paging one does not reset the
	// other, and a refused opening comes back to the products page it was chosen from.
	here := func(cursor, pcursor string) string {
		q := url.Values{}
		for k, v := range map[string]string{"status": ctx.Query("status"), "cursor": cursor, "pcursor": pcursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if len(q) == 0 {
			return Prefix + "/manage/auctions"
		}
		return Prefix + "/manage/auctions?" + q.Encode()
	}
	d.Action = here(ctx.Query("cursor"), ctx.Query("pcursor"))
	if len(list) == listLimit {
		d.Next = here(list[len(list)-1].ID, ctx.Query("pcursor"))
	}
	// The products offered are a page of its published ones priced by auction (pcursor: the next
	// page), found by the store: a page of all its published products filtered here left out every
	// auction product past the first hundred products. Which of them may open is the service's to
	// decide when the form is sent.
	const productPage = 100
	products, err := c.d.Listing.Products(cx, s.Caller, listing.ProductFilter{Status: listing.StatusPublished, Method: listing.MethodAuction,
		After: ctx.Query("pcursor"), Limit: productPage})
	if err != nil {
		return err
	}
	if len(products) == productPage {
		d.ProductsNext = here(ctx.Query("cursor"), products[len(products)-1].ID)
	}
	for _, p := range products {
		if p.Pricing.Method != listing.MethodAuction || p.OperatorID != s.Caller.Org {
			continue
		}
		op := opAuctionProduct{ID: p.ID, Title: displayTitle(l, p), Pricing: p.Pricing}
		if p.Pricing.StartAt != nil {
			op.Starts = p.Pricing.StartAt.In(cst).Format("2006-01-02 15:04")
		}
		if p.Pricing.EndAt != nil {
			op.Ends = p.Pricing.EndAt.In(cst).Format("2006-01-02 15:04")
		}
		d.Products = append(d.Products, op)
	}
	return c.render(ctx, "op-auctions", l.T("opauctions.title"), d)
}

// openAuction opens the chosen product's auction and shows its live view; a refusal (not
// published, not priced by auction, its schedule passed…) is shown beside the form.
func (c *Console) openAuction(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	// Only the product and, for a sealed auction, whether bids may be revised are chosen here: the
	// terms are the price version's (the service reads them), so the form cannot send others.
	in := matching.CreateInput{ProductID: ctx.FormValue("product_id"), Revisable: ctx.FormValue("revisable") == "on"}
	err := c.onceTo(ctx, func() (string, error) {
		r, err := c.d.Auctions.Create(ctx.UserContext(), s.Caller, in)
		return Prefix + "/auctions/" + r.ID, err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderOpAuctions(ctx, in.ProductID, text)
	}
	return err
}
