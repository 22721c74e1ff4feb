package console

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/subscriptions"
)

// The buyer's subscriptions (issue 15's products sold as a service) and free use (N1): the list
// and a subscription's page read the services behind GET /v1/subscriptions, the usage report
// (GET /v1/usage-reports, which scopes a buyer to its own use) and a subscription's revision
// deliveries; Cancel is the API's cancelSubscription, and the free-use button on a product page
// the API's obtainFreeUse. The rules (who may cancel, what a period bills, who may obtain a free
// product) stay in those services; the pages only show what they answer.

func init() {
	for page, ops := range map[string][]string{
		"mysubscriptions": {"listSubscriptions", "getSubscription", "usageReport", "listRevisionDeliveries"},
		"cancelsub":       {"cancelSubscription"},
		// The operator's side of the same pages: the subscriptions it sells.
		"opsubscriptions": {"listSubscriptions", "getSubscription", "usageReport", "listRevisionDeliveries"},
		"freeuse":         {"obtainFreeUse"},
	} {
		pageOps[page] = ops
	}
	// On the buyer's menu after its orders: the work is confirming deliveries, which only buyers
	// do (an operator reads its subscriptions' use on its usage page instead).
	for i, m := range menu {
		if m.page == "myorders" {
			menu = append(menu[:i+1:i+1], append([]menuItem{{page: "mysubscriptions", path: "/subscriptions", work: "confirm"}}, menu[i+1:]...)...)
			break
		}
	}
	pageNames = append(pageNames, "buyer-subscriptions", "buyer-subscription")
}

// mountBuyerSubscriptions adds the subscriptions' and free use's routes under the console's group.
func (c *Console) mountBuyerSubscriptions(g fiber.Router) {
	g.Get("/subscriptions", c.session(true), c.page("mysubscriptions"), c.asBuyer, c.subscriptionList(buying))
	g.Get("/subscriptions/:id", c.session(true), c.page("mysubscriptions"), c.asBuyer, c.subscription(buying))
	g.Post("/subscriptions/:id/cancel", c.session(true), c.csrf, c.page("cancelsub"), c.asBuyer, c.cancelSubscription(buying))
	g.Get("/manage/subscriptions", c.session(true), c.page("opsubscriptions"), c.asSeller, c.subscriptionList(selling))
	g.Get("/manage/subscriptions/:id", c.session(true), c.page("opsubscriptions"), c.asSeller, c.subscription(selling))
	g.Post("/manage/subscriptions/:id/cancel", c.session(true), c.csrf, c.page("cancelsub"), c.asSeller, c.cancelSubscription(selling))
	g.Post("/products/:id/free-orders", c.session(true), c.csrf, c.page("freeuse"), c.obtainFree)
}

// asBuyer keeps the buyer's subscription pages to buyers and asSeller the operator's to
// operators: the policy lets an operator read and cancel the subscriptions it sells, and it does
// so on its own pages (/manage/subscriptions), as their seller.
func (c *Console) asBuyer(ctx *fiber.Ctx) error {
	if !sessionOf(ctx).Caller.Is(datavenue.RoleBuyer) {
		return datavenue.Forbidden("role_not_allowed", "these are a buyer's pages")
	}
	return ctx.Next()
}

func (c *Console) asSeller(ctx *fiber.Ctx) error {
	if !sessionOf(ctx).Caller.Is(datavenue.RoleOperator) {
		return datavenue.Forbidden("role_not_allowed", "these are an operator's pages")
	}
	return ctx.Next()
}

// side is which end of its subscriptions a page shows: those the organisation bought or those it
// sells. It decides which subscriptions are the caller's, whom the page names (the seller or the
// buyer) and where the pages live.
type side struct {
	selling bool
	base    string // the pages' path under the console
}

var (
	buying  = side{base: "/subscriptions"}
	selling = side{selling: true, base: "/manage/subscriptions"}
)

// ours reports whether the subscription is the caller's on this side.
func (sd side) ours(sub subscriptions.Subscription, org datavenue.OrgID) bool {
	if sd.selling {
		return sub.SellerID == org
	}
	return sub.BuyerID == org
}

// counterpart is the organisation the page names: the seller to a buyer, the buyer to a seller.
func (sd side) counterpart(sub subscriptions.Subscription) datavenue.OrgID {
	if sd.selling {
		return sub.BuyerID
	}
	return sub.SellerID
}

type subscriptionRow struct {
	subscriptions.Subscription
	Title, Counterpart string
}

type subscriptionsData struct {
	Available bool
	Selling   bool
	Base      string
	Rows      []subscriptionRow
	Next      string
}

// subscriptionList lists the caller's subscriptions on one side as GET /v1/subscriptions answers
// them (status and term computed at this instant): those it bought, or those it sells.
func (c *Console) subscriptionList(sd side) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		l, s := lang(ctx), sessionOf(ctx)
		d := subscriptionsData{Available: c.d.Subscriptions != nil, Selling: sd.selling, Base: Prefix + sd.base}
		if d.Available {
			list, err := c.d.Subscriptions.List(ctx.UserContext(), s.Caller, subscriptions.Page{After: ctx.Query("cursor"), Limit: listLimit})
			if err != nil {
				return err
			}
			titles, names := c.productTitles(ctx), c.orgNames(ctx)
			for _, sub := range list {
				if sd.ours(sub, s.Caller.Org) {
					d.Rows = append(d.Rows, subscriptionRow{Subscription: sub, Title: titles(sub.ProductID), Counterpart: names(sd.counterpart(sub))})
				}
			}
			if len(list) == listLimit {
				d.Next = fmt.Sprintf("%s%s?cursor=%s", Prefix, sd.base, list[len(list)-1].ID)
			}
		}
		title := l.T("buyer.subscriptions.title")
		if sd.selling {
			title = l.T("opsubscriptions.title")
		}
		return c.render(ctx, "buyer-subscriptions", title, d)
	}
}

type subscriptionData struct {
	S           subscriptions.Subscription
	Selling     bool
	Base        string // the side's pages, for the links and the form
	Title       string
	Counterpart string
	Year        int
	// Periods are the year's usage lines of this subscription (one per period and unit), each
	// with its bill once the period is billed.
	Periods    []subscriptions.UsagePeriodLine
	Usage      bool // the usage report is served here
	Deliveries []subscriptions.RevisionDelivery
	Revisions  bool // revision deliveries are served here
	CanCancel  bool
	CSRF, Key  string
	Reason     string
	Problem    string
}

func (c *Console) subscription(sd side) fiber.Handler {
	return func(ctx *fiber.Ctx) error { return c.renderSubscription(ctx, sd, "", "") }
}

// renderSubscription is one of the caller's subscriptions on one side: its terms, the year's use
// and bills by period, the revisions delivered to it, and the cancellation form while it is
// active. Another organisation's subscription is not found, as the cancellation's rule says of it.
func (c *Console) renderSubscription(ctx *fiber.Ctx, sd side, reason, problem string) error {
	l, s := lang(ctx), sessionOf(ctx)
	cx := ctx.UserContext()
	if c.d.Subscriptions == nil {
		return datavenue.NotFound("subscription_not_found", "subscriptions are not served here")
	}
	sub, err := c.d.Subscriptions.Get(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	if !sd.ours(sub, s.Caller.Org) {
		return datavenue.NotFound("subscription_not_found", "no such subscription of yours")
	}
	d := subscriptionData{S: sub, Selling: sd.selling, Base: Prefix + sd.base, Title: c.productTitles(ctx)(sub.ProductID),
		Counterpart: c.orgNames(ctx)(sd.counterpart(sub)), CSRF: s.CSRF, Key: randomToken(), Reason: reason, Problem: problem,
		CanCancel: sub.Status == subscriptions.StatusActive && allowed("cancelsub", s.Caller.Role)}
	if c.d.UsageReports != nil {
		// The report answers a buyer its own use only (an operator its products' use); the product
		// narrows it, and the lines of the product's other subscriptions are left out here.
		r, err := c.d.UsageReports.Usage(cx, s.Caller, ctx.Query("year"), sub.ProductID)
		if err != nil {
			return err
		}
		d.Usage, d.Year = true, r.Year
		for _, line := range r.ByPeriod {
			if line.SubscriptionID == sub.ID {
				d.Periods = append(d.Periods, line)
			}
		}
	}
	if c.d.Revisions != nil {
		if d.Deliveries, err = c.d.Revisions.Deliveries(cx, s.Caller, sub.ID, subscriptions.Page{Limit: listLimit}); err != nil {
			return err
		}
		d.Revisions = true
	}
	return c.render(ctx, "buyer-subscription", l.T("buyer.subscription.title"), d)
}

// cancelSubscription cancels through the service the API's cancelSubscription calls (its reason
// required there, delivery stopping at once, the audit record written with the change). The
// form's key makes a form sent twice one cancellation; a refusal is shown beside the form, the
// reason typed kept.
func (c *Console) cancelSubscription(sd side) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		s, id, reason := sessionOf(ctx), ctx.Params("id"), ctx.FormValue("reason")
		if c.d.Subscriptions == nil {
			return datavenue.NotFound("subscription_not_found", "subscriptions are not served here")
		}
		err := c.onceTo(ctx, func() (string, error) {
			_, err := c.d.Subscriptions.Cancel(ctx.UserContext(), s.Caller, id, subscriptions.CancelInput{Reason: reason})
			return Prefix + sd.base + "/" + id, err
		})
		if text, ok := refusal(err); ok {
			ctx.Status(fiber.StatusUnprocessableEntity)
			return c.renderSubscription(ctx, sd, reason, text)
		}
		return err
	}
}

// freeUse reports whether a product page offers the caller the free-use button: a product whose
// purpose is free use by law and priced free (the gate keeps the two together), to a role that
// obtains products. Whether this buyer may (allow and deny lists, not the operator) is the
// service's rule, answered beside the button.
func freeUse(p listing.Product, role datavenue.Role) bool {
	return listing.FreeUse(p.UseCategory) && p.Pricing.Method == listing.MethodFree && allowed("freeuse", role)
}

// obtainFree makes the buyer's free-use order through the service the API's obtainFreeUse calls,
// the form's key passed on as its Idempotency-Key (the same form sent twice is one order, even
// past the console's own key store), and lands on the new order's page.
func (c *Console) obtainFree(ctx *fiber.Ctx) error {
	s, id := sessionOf(ctx), ctx.Params("id")
	err := c.onceTo(ctx, func() (string, error) {
		o, err := c.d.Settlement.ObtainFree(ctx.UserContext(), s.Caller, id, ctx.FormValue("key"))
		return Prefix + "/orders/" + o.ID, err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderProduct(ctx, text)
	}
	return err
}
