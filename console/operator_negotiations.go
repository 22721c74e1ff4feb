package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/matching"
)

// The operator's side of negotiations: the negotiations on its products (the API's
// listNegotiations, as the books hold them), and one negotiation live from the engine with its
// moves, answered by a counter-offer, an acceptance or a refusal through matching's negotiation
// service (moveNegotiation): whose turn it is, the guided band and the cap are the engine's rules,
// and a refused move names the rule beside the form.

type negotiationsData struct {
	Status string
	Rows   []negotiationRow
	Next   string
}

type negotiationRow struct {
	matching.NegotiationRecord
	Product, Buyer, Updated string
}

func (c *Console) opNegotiations(ctx *fiber.Ctx) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	d := negotiationsData{Status: ctx.Query("status")}
	// The service picks the caller's side (the seller's for an operator); the list is the books'
	// projection, the detail page the engine's live state.
	list, err := c.d.Negotiations.Negotiations(cx, s.Caller, matching.NegotiationFilter{Status: d.Status, After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	names, titles := c.orgNames(ctx), c.productTitles(ctx)
	for _, n := range list {
		d.Rows = append(d.Rows, negotiationRow{NegotiationRecord: n, Product: titles(n.ProductID), Buyer: names(n.Buyer),
			Updated: n.UpdatedAt.In(cst).Format("2006-01-02 15:04")})
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/manage/negotiations?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "op-negotiations", l.T("negotiations.title"), d)
}

type negotiationData struct {
	N              matching.NegotiationView
	Product, Buyer string
	Expires        string
	Moves          []moveRow
	MyTurn         bool // the seller is to move (an offer or a buyer's counter stands)
	CSRF, Key      string
	Moved, Problem string
	Amount         string
}

type moveRow struct {
	matching.Move
	Side, At string
}

func (c *Console) opNegotiation(ctx *fiber.Ctx) error {
	return c.renderNegotiation(ctx, "", "")
}

func (c *Console) renderNegotiation(ctx *fiber.Ctx, problem, amount string) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	v, err := c.d.Negotiations.Negotiation(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	names := c.orgNames(ctx)
	d := negotiationData{N: v, Product: c.productTitles(ctx)(v.ProductID), Buyer: names(v.Buyer), Expires: v.ExpiresAt.In(cst).Format("2006-01-02 15:04"),
		CSRF: s.CSRF, Key: randomToken(), Moved: ctx.Query("moved"), Problem: problem, Amount: amount}
	// The engine's states: offered waits for the seller (a buyer's offer or counter), countered
	// for the buyer. The form is offered on the seller's turn; the engine decides again.
	d.MyTurn = v.Seller == s.Caller.Org && allowed("negotiation", s.Caller.Role) && v.Status == "offered"
	for _, m := range v.Moves {
		side := "seller"
		if m.Actor == v.Buyer {
			side = "buyer"
		}
		d.Moves = append(d.Moves, moveRow{Move: m, Side: side, At: m.At.In(cst).Format("2006-01-02 15:04:05")})
	}
	return c.render(ctx, "op-negotiation", l.T("negotiation.title"), d)
}

// moveNegotiation sends the operator's move with the form's key as its idempotency key: the
// engine records a move once per key, so a form sent twice is one move.
func (c *Console) moveNegotiation(ctx *fiber.Ctx) error {
	s, id := sessionOf(ctx), ctx.Params("id")
	in := matching.MoveInput{Action: ctx.FormValue("action"), Amount: strings.TrimSpace(ctx.FormValue("amount"))}
	// Accept and reject take no amount: the accepted price is the one on the table in the engine,
	// not one the page showed a moment ago.
	if in.Action != matching.MoveCounter {
		in.Amount = ""
	}
	if _, err := c.d.Negotiations.Move(ctx.UserContext(), s.Caller, id, ctx.FormValue("key"), in); err != nil {
		text, ok := refusal(err)
		if !ok {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderNegotiation(ctx, text, in.Amount)
	}
	return ctx.Redirect(Prefix+"/manage/negotiations/"+id+"?moved="+in.Action, fiber.StatusSeeOther)
}

// productTitles names products in the page's language, each read once per request.
func (c *Console) productTitles(ctx *fiber.Ctx) func(string) string {
	l, s, seen := lang(ctx), sessionOf(ctx), map[string]string{}
	return func(id string) string {
		if t, ok := seen[id]; ok {
			return t
		}
		t := id
		if p, err := c.d.Listing.Get(ctx.UserContext(), s.Caller, id); err == nil {
			t = displayTitle(l, p)
		}
		seen[id] = t
		return t
	}
}
