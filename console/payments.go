package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
)

// The clerk's payments to record: orders awaiting payment, each with its amount due (the price
// less the deposit applied) and last day to pay, and a form recording the bank's payment through
// the settlement service the API's recordPayment calls (split, ledger postings, obligations).

type paymentsData struct {
	Rows     []paymentRow
	Today    string
	CSRF     string
	Recorded string // the order just paid
	Failed   string // the order whose payment was refused
	Problem  string
	Next     string
}

type paymentRow struct {
	settlement.Order
	BuyerName string
}

// payments lists the orders awaiting payment, the earliest due first as the store pages them.
func (c *Console) payments(ctx *fiber.Ctx) error {
	return c.renderPayments(ctx, ctx.Query("recorded"), "", "")
}

func (c *Console) renderPayments(ctx *fiber.Ctx, recorded, failed, problem string) error {
	l, s := lang(ctx), sessionOf(ctx)
	list, err := c.d.Settlement.Orders(ctx.UserContext(), s.Caller, settlement.OrderAwaitingPayment, settlement.Page{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d := paymentsData{Today: civil.Of(c.now()).String(), CSRF: s.CSRF, Recorded: recorded, Failed: failed, Problem: problem}
	names := c.orgNames(ctx)
	for _, o := range list {
		d.Rows = append(d.Rows, paymentRow{Order: o, BuyerName: names(o.BuyerID)})
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/payments?cursor=%s", Prefix, list[len(list)-1].ID)
	}
	return c.render(ctx, "payments", l.T("payments.title"), d)
}

// recordPayment records an order's payment by the clerk: the bank's reference (recording the same
// reference again is a no-op, as in the API), the value date and the kind of income.
func (c *Console) recordPayment(ctx *fiber.Ctx) error {
	s, id := sessionOf(ctx), ctx.Params("id")
	in := settlement.PaymentInput{Reference: strings.TrimSpace(ctx.FormValue("reference")), IncomeKind: ctx.FormValue("income_kind")}
	var problem string
	if v := ctx.FormValue("received_on"); v != "" {
		d, err := civil.Parse(v)
		if err != nil {
			problem = "received_on: " + err.Error()
		}
		in.ReceivedOn = &d
	}
	if problem == "" {
		_, err := c.d.Settlement.RecordPayment(ctx.UserContext(), s.Caller, id, in)
		if err == nil {
			return ctx.Redirect(Prefix+"/payments?recorded="+id, fiber.StatusSeeOther)
		}
		var de *datavenue.Error
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict || !asError(err, &de) {
			return err
		}
		problem = problemText(de)
	}
	ctx.Status(fiber.StatusUnprocessableEntity)
	return c.renderPayments(ctx, "", id, problem)
}
