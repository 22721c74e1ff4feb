package console

import (
	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
)

// The buyer's negotiations (G7, negotiated agreement): its list, opening one on a product priced
// by negotiation (or a guided band) with a first offer, and the moves (counter, accept, reject,
// withdraw) through matching's negotiation service, as the API's startNegotiation and
// moveNegotiation do. Whose move it is and which prices are allowed (band, cap) is decided there;
// the page offers the forms and shows a refusal's rule beside them.

type buyerNegotiationsData struct {
	Available bool
	Rows      []matching.BuyerNegotiation
}

// negotiations lists the caller's negotiations as the projection recorded them.
func (c *Console) negotiations(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := buyerNegotiationsData{Available: c.o.Buyer != nil}
	if d.Available {
		list, err := c.o.Buyer.Negotiations(ctx.UserContext(), s.Caller.Org, listLimit)
		if err != nil {
			return err
		}
		d.Rows = list
	}
	return c.render(ctx, "buyer-negotiations", l.T("buyer.negotiations.title"), d)
}

type negotiationStartData struct {
	P        listing.Product
	Title    string
	Band     []string // the guided band or negotiated range, when the product has one
	CSRF     string
	Key      string
	Amount   string
	Problem  string
	Possible bool // priced by negotiation or a guided band
}

func (c *Console) negotiationForm(ctx *fiber.Ctx) error {
	return c.renderNegotiationForm(ctx, ctx.Query("product"), "", "")
}

// renderNegotiationForm is the first offer's form on a product, with the range the operator
// published for it (the engine checks the band and the cap when the offer is made).
func (c *Console) renderNegotiationForm(ctx *fiber.Ctx, productID, amount, problem string) error {
	l, s := lang(ctx), sessionOf(ctx)
	p, err := c.d.Listing.Public(ctx.UserContext(), productID)
	if err != nil {
		return err
	}
	d := negotiationStartData{P: p, Title: p.Title, CSRF: s.CSRF, Key: randomToken(), Amount: amount, Problem: problem,
		Possible: p.Pricing.Method == listing.MethodNegotiation || p.Pricing.Method == listing.MethodGuided}
	if l == English && p.TitleEN != "" {
		d.Title = p.TitleEN
	}
	// The operator's published range is shown as guidance; the engine's checks (guided band, cap)
	// are the ones that refuse an offer.
	if lo, hi := p.Pricing.MinPrice, p.Pricing.MaxPrice; lo != nil && hi != nil {
		d.Band = []string{lo.String(), hi.String()}
	}
	return c.render(ctx, "buyer-negotiate", l.T("negotiate.title"), d)
}

// startNegotiation opens a negotiation with the buyer's first offer. The form's key is the
// Idempotency-Key the API's caller would send: the same form sent twice is one negotiation.
func (c *Console) startNegotiation(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	productID, amount := ctx.FormValue("product_id"), ctx.FormValue("amount")
	v, err := c.d.Negotiations.StartNegotiation(ctx.UserContext(), s.Caller, ctx.FormValue("key"), matching.NegotiationInput{ProductID: productID, Amount: amount})
	if err != nil {
		problem, ok := refusal(err)
		if !ok {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderNegotiationForm(ctx, productID, amount, problem)
	}
	return ctx.Redirect(Prefix+"/negotiations/"+v.ID, fiber.StatusSeeOther)
}

type buyerNegotiationData struct {
	N        matching.NegotiationView
	Title    string
	Seller   string
	Expires  string
	Moves    []buyerMoveRow
	YourTurn bool // countered: the seller answered, the buyer moves
	Open     bool // not ended: the buyer may still withdraw
	CSRF     string
	Key      string
	Amount   string
	Problem  string
}

type buyerMoveRow struct {
	matching.Move
	Who, At string
}

func (c *Console) negotiation(ctx *fiber.Ctx) error { return c.renderBuyerNegotiation(ctx, "", "") }

// renderBuyerNegotiation is one negotiation: its moves, the price on the table, whose move it is, and
// the buyer's forms when the buyer may move.
func (c *Console) renderBuyerNegotiation(ctx *fiber.Ctx, amount, problem string) error {
	l, s := lang(ctx), sessionOf(ctx)
	v, err := c.d.Negotiations.Negotiation(ctx.UserContext(), s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	names := c.orgNames(ctx)
	d := buyerNegotiationData{N: v, Title: c.productTitles(ctx)(v.ProductID), Seller: names(v.Seller), Expires: v.ExpiresAt.In(cst).Format("2006-01-02 15:04"),
		CSRF: s.CSRF, Key: randomToken(), Amount: amount, Problem: problem}
	// The forms are offered only to the negotiation's own buyer, and only when the engine would
	// take the move (the seller answered: countered); the engine still decides when they are sent,
	// since the seller may move in between. Withdrawing is the buyer's at any open state.
	mine := v.Buyer == s.Caller.Org && allowed("move", s.Caller.Role) && s.Caller.Is(datavenue.RoleBuyer)
	d.YourTurn = mine && v.Status == "countered"
	d.Open = mine && (v.Status == "offered" || v.Status == "countered")
	for _, m := range v.Moves {
		d.Moves = append(d.Moves, buyerMoveRow{Move: m, Who: names(m.Actor), At: m.At.In(cst).Format("2006-01-02 15:04:05")})
	}
	return c.render(ctx, "buyer-negotiation", l.T("buyer.negotiation.title"), d)
}

// move makes the buyer's move; the engine decides whether it is the buyer's turn and whether the
// price is allowed.
func (c *Console) move(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	id, amount := ctx.Params("id"), ctx.FormValue("amount")
	in := matching.MoveInput{Action: ctx.FormValue("action")}
	// Only a counter carries a price: the accept form names none (it accepts the price on the
	// table), and a stray amount must not turn an accept into a refused request.
	if in.Action == "counter" {
		in.Amount = amount
	}
	if _, err := c.d.Negotiations.Move(ctx.UserContext(), s.Caller, id, ctx.FormValue("key"), in); err != nil {
		problem, ok := refusal(err)
		if !ok {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderBuyerNegotiation(ctx, amount, problem)
	}
	return ctx.Redirect(Prefix+"/negotiations/"+id, fiber.StatusSeeOther)
}
