package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/subscriptions"
)

// UsageReports is what the API needs of the usage reports (issue 15).
type UsageReports interface {
	Usage(ctx context.Context, caller datavenue.Caller, year, productID string) (subscriptions.UsageReport, error)
	UsagePage(ctx context.Context, caller datavenue.Caller, year, productID, after string, limit int) (subscriptions.UsageReport, error)
}

func (h *handlers) usageReportRoutes() []Route {
	if h.d.UsageReports == nil {
		return nil
	}
	return []Route{
		{"GET", "/v1/usage-reports", Operation{ID: "usageReport", Tag: "subscriptions",
			Summary: "Metered use in a year per subscription and period, and per product (an operator's products, a buyer's subscriptions, everyone's for book keepers)",
			Description: "By the billing period the use counts in (its first day in the year, China Standard Time): records and units per subscription, period and charging unit, " +
				"with the period's bill once billed; and totals per product and charging unit. `product_id` narrows it to one product. " +
				"As JSON, by_period is paged like every list (limit, cursor; next_cursor while more follow) and by_product is the whole report's on every page; " +
				"the CSV and XLSX exports hold every line." + exportNote,
			Auth: true, Params: []Param{yearParam, {Name: "product_id", In: "query", Description: "one product only"}, formatParam, limitParam, cursorParam},
			Response: subscriptions.UsageReport{}, Errors: []int{406, 422}}, h.usageReport},
	}
}

// usageReport answers a page as JSON, the whole report as CSV or XLSX (a file is not paged).
func (h *handlers) usageReport(c *fiber.Ctx) error {
	format, err := exportFormat(c)
	if err != nil {
		return err
	}
	if format == "json" {
		limit, after, err := pageParams(c)
		if err != nil {
			return err
		}
		r, err := h.d.UsageReports.UsagePage(c.UserContext(), callerOf(c), c.Query("year"), c.Query("product_id"), after, limit)
		if err != nil {
			return err
		}
		if r.NextCursor != "" {
			r.NextCursor = encodeCursor(r.NextCursor)
		}
		return c.JSON(r)
	}
	r, err := h.d.UsageReports.Usage(c.UserContext(), callerOf(c), c.Query("year"), c.Query("product_id"))
	if err != nil {
		return err
	}
	tables := r.Tables()
	return export(c, "usage-report-"+r.Scope, r.Year, r, tables[0], tables...)
}
