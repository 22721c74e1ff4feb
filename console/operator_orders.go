package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/sheet"
	"github.com/datavenue/datavenue/subscriptions"
)

// The operator's orders, deliveries and usage: the orders on its products with their status (the
// API's listOrders, a party's own), the delivery of a paid one recorded through the voucher
// service (recordDelivery: the product's delivery method decides, another is refused with
// delivery_method_mismatch), and the metered use of its subscriptions (usageReport, the report
// GET /v1/usage-reports serves) with the same CSV and XLSX files.

type opOrdersData struct {
	Status    string
	Rows      []opOrderRow
	Next      string
	CSRF      string
	Delivered string // the order just delivered
	Failed    string // the order whose delivery was refused, and why
	Problem   string
}

type opOrderRow struct {
	settlement.Order
	Product, Buyer string
	Method         string // the product's delivery method
	Key            string // the delivery form's key
	CanDeliver     bool
}

func (c *Console) opOrders(ctx *fiber.Ctx) error {
	return c.renderOpOrders(ctx, "", "")
}

func (c *Console) renderOpOrders(ctx *fiber.Ctx, failed, problem string) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	d := opOrdersData{Status: ctx.Query("status"), CSRF: s.CSRF, Delivered: ctx.Query("delivered"), Failed: failed, Problem: problem}
	list, err := c.d.Settlement.Orders(cx, s.Caller, d.Status, settlement.Page{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	// Names and titles are read once per page, not once per row: a page of fifty orders is
	// usually a handful of products and buyers.
	names := c.orgNames(ctx)
	type product struct{ title, method string }
	products := map[string]product{}
	for _, o := range list {
		// A party's orders include those it bought; the operator's page is the orders it sells.
		if o.SellerID != s.Caller.Org {
			continue
		}
		p, ok := products[o.ProductID]
		if !ok {
			p = product{title: o.ProductID}
			if lp, err := c.d.Listing.Get(cx, s.Caller, o.ProductID); err == nil {
				p = product{title: displayTitle(l, lp), method: lp.Delivery.Method}
			}
			products[o.ProductID] = p
		}
		d.Rows = append(d.Rows, opOrderRow{Order: o, Product: p.title, Buyer: names(o.BuyerID), Method: p.method, Key: randomToken(),
			CanDeliver: o.Status == settlement.OrderPaid && allowed("deliver", s.Caller.Role)})
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/manage/orders?status=%s&cursor=%s", Prefix, d.Status, list[len(list)-1].ID)
	}
	return c.render(ctx, "op-orders", l.T("oporders.title"), d)
}

// deliver records the delivery of a paid order by the method and proof the operator gives; the
// voucher service decides (the order paid and the seller's, the method the product's).
func (c *Console) deliver(ctx *fiber.Ctx) error {
	s, id := sessionOf(ctx), ctx.Params("id")
	// The form offers every method, the product's chosen first: whether another is acceptable is
	// the voucher service's rule (delivery_method_mismatch), not the page's.
	dl := settlement.Delivery{Method: ctx.FormValue("method")}
	proof := strings.TrimSpace(ctx.FormValue("proof"))
	switch dl.Method {
	case "file":
		dl.ContentHash = proof
	case "api":
		dl.Credential = proof
	case "sandbox":
		dl.Account = proof
	}
	err := c.onceTo(ctx, func() (string, error) {
		_, err := c.d.Vouchers.Deliver(ctx.UserContext(), s.Caller, id, dl)
		return Prefix + "/manage/orders?delivered=" + id, err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderOpOrders(ctx, id, text)
	}
	return err
}

type usageData struct {
	Report    subscriptions.UsageReport
	Available bool
	Year      string
	Product   string
	XLSX, CSV string // the downloads of the report as shown (its year and product)
}

// usage is the year's metered use of the operator's subscriptions, by period and by product.
func (c *Console) usage(ctx *fiber.Ctx) error {
	l := lang(ctx)
	d := usageData{Year: ctx.Query("year"), Product: ctx.Query("product_id")}
	// A venue wired without metering has no report (the API has no route then either).
	if c.d.UsageReports == nil {
		return c.render(ctx, "op-usage", l.T("usage.title"), d)
	}
	r, err := c.d.UsageReports.Usage(ctx.UserContext(), sessionOf(ctx).Caller, d.Year, d.Product)
	if err != nil {
		return err
	}
	d.Report, d.Available, d.Year = r, true, strconv.Itoa(r.Year)
	// The downloads' links are whole URLs built here: a query string written into an href after
	// its "?" is escaped by html/template as one value (year%3d…), and the files then ignored the
	// year and product chosen.
	q := url.Values{"year": {d.Year}}
	if d.Product != "" {
		q.Set("product_id", d.Product)
	}
	d.XLSX, d.CSV = Prefix+"/manage/usage/xlsx?"+q.Encode(), Prefix+"/manage/usage/csv?"+q.Encode()
	return c.render(ctx, "op-usage", l.T("usage.title"), d)
}

// usageFile downloads the report as the API's export does: the CSV of its first table (UTF-8 with
// a BOM, formulas defused) or a workbook of every table, from the report's own Tables.
func (c *Console) usageFile(ctx *fiber.Ctx) error {
	if c.d.UsageReports == nil {
		return fiber.ErrNotFound
	}
	r, err := c.d.UsageReports.Usage(ctx.UserContext(), sessionOf(ctx).Caller, ctx.Query("year"), ctx.Query("product_id"))
	if err != nil {
		return err
	}
	tables := r.Tables()
	name := "usage-report-" + r.Scope + "-" + strconv.Itoa(r.Year)
	var body []byte
	switch ctx.Params("format") {
	case "xlsx":
		body, err = sheet.XLSX(tables...)
		ctx.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	case "csv":
		body, err = sheet.CSV(tables[0])
		ctx.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	default:
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	ctx.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+"."+ctx.Params("format")+`"`)
	return ctx.Send(body)
}
