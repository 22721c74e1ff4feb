package api

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/sheet"
)

// Disclosure is what the API needs of the public disclosure (N6): a year's caps, authorisation
// information, and products with their actual fees.
type Disclosure interface {
	Caps(ctx context.Context, year string) (listing.CapDisclosure, error)
	Authorisations(ctx context.Context, year string) (listing.AuthorisationDisclosure, error)
	Fees(ctx context.Context, year string) (listing.FeeDisclosure, error)
}

// Annual is what the API needs of the operator's costs and annual operating report (N6).
type Annual interface {
	RecordCost(ctx context.Context, caller datavenue.Caller, operator string, in settlement.OperatingCostInput) (settlement.OperatingCost, error)
	Costs(ctx context.Context, caller datavenue.Caller, operator, year string) ([]settlement.OperatingCost, error)
	Report(ctx context.Context, caller datavenue.Caller, operator, year string) (settlement.AnnualReport, error)
}

var (
	yearParam = Param{Name: "year", In: "query", Description: "the calendar year (China Standard Time); default: this year",
		Schema: map[string]any{"type": "integer", "minimum": 2000, "maximum": 2100}}
	formatParam = Param{Name: "format", In: "query", Description: "json, csv (UTF-8 with BOM) or xlsx; default: by Accept (text/csv, " + mediaXLSX + "), else json",
		Schema: map[string]any{"type": "string", "enum": []string{"json", "csv", "xlsx"}}}
)

const exportNote = " Exports: `format=csv` (UTF-8 with BOM, Chinese headers) or `format=xlsx` (Chinese headers, amounts as numbers to the fen), or the same by `Accept`; the file is named with the year (Content-Disposition)."

func (h *handlers) disclosureRoutes() []Route {
	public := func(path, id, summary, desc string, resp any, handler fiber.Handler) Route {
		return Route{"GET", path, Operation{ID: id, Tag: "disclosure", Summary: summary, Description: desc + exportNote,
			Params: []Param{yearParam, formatParam}, Response: resp, Errors: []int{406, 422}}, handler}
	}
	op := Param{Name: "id", In: "path", Description: "the operator's organisation id"}
	return []Route{
		public("/v1/disclosure/caps", "disclosedCaps", "The price caps (上限收费标准) in force and their history in a year (public, N6)",
			"Every cap version of a product on the market whose validity touches the year: product, charging unit, amount, approval reference, pricing authority document number, validity; `in_force` marks the version in force on `as_of` (today for this year, the year's last day for a past one).",
			listing.CapDisclosure{}, h.disclosedCaps),
		public("/v1/disclosure/authorisations", "disclosedAuthorisations", "The scenario authorisations behind the products on the market in a year (public, N6)",
			"For each product, the authorisations its publishing rests on (its operator, scenario and type on one of its source assets) valid on some day of the year: the authorising body, the scope (product types, conditions), the purpose of use, the validity.",
			listing.AuthorisationDisclosure{}, h.disclosedAuthorisations),
		public("/v1/disclosure/fees", "disclosedFees", "The products and services with their actual fees in a year (public, N6)",
			"Each product on the market in the year with its list price, purpose and charging unit, and what was actually charged: paid orders (not cancelled) by the day their money was received (China Standard Time), their number, lowest, highest and average price (to the fen, half away from zero) and total, and the free uses.",
			listing.FeeDisclosure{}, h.disclosedFees),
		{"POST", "/v1/operators/:id/costs", Operation{ID: "recordCost", Tag: "settlement",
			Summary:     "Record the operator's operating cost of a category for a year (the operator itself)",
			Description: "Append-only: the next version for the operator, year and category; the annual report counts the newest. Audited (`operating_cost.recorded`).",
			Auth:        true, Params: []Param{op}, Request: settlement.OperatingCostInput{}, Response: settlement.OperatingCost{}, Status: 201, Errors: []int{403, 404}}, h.recordCost},
		{"GET", "/v1/operators/:id/costs", Operation{ID: "listCosts", Tag: "settlement",
			Summary: "Every version of the operator's recorded costs for a year (the operator, bureaus, auditors)",
			Auth:    true, Params: []Param{op, yearParam}, Response: []settlement.OperatingCost{}, Errors: []int{404, 422}}, h.listCosts},
		{"GET", "/v1/operators/:id/annual-report", Operation{ID: "annualReport", Tag: "settlement",
			Summary:     "The operator's annual operating report for a year (the operator, bureaus, auditors; N6)",
			Description: "Revenue (the operator's shares of paid orders by the day their money was received, as the allowed revenue counts it) by product and by purpose of use, against the year's maximum allowed revenue with the excess carried (N5), trades, free uses, and costs as recorded." + exportNote,
			Auth:        true, Params: []Param{op, yearParam, formatParam}, Response: settlement.AnnualReport{}, Errors: []int{404, 406, 422}}, h.annualReport},
	}
}

// exportFormat is the format asked for: the `format` query first, then Accept.
func exportFormat(c *fiber.Ctx) (string, error) {
	switch f := c.Query("format"); f {
	case "json", "csv", "xlsx":
		return f, nil
	case "":
	default:
		return "", datavenue.Invalid("validation_failed", "the request has invalid fields",
			datavenue.FieldError{Field: "format", Code: "invalid_value", Message: "format is json, csv or xlsx"})
	}
	c.Vary(fiber.HeaderAccept)
	switch c.Accepts(fiber.MIMEApplicationJSON, "text/csv", mediaXLSX) {
	case "text/csv":
		return "csv", nil
	case mediaXLSX:
		return "xlsx", nil
	case "":
		if c.Get(fiber.HeaderAccept) != "" {
			return "", fiber.NewError(fiber.StatusNotAcceptable, "this answer is application/json, text/csv or "+mediaXLSX)
		}
	}
	return "json", nil
}

// export answers body as JSON, or as a CSV of one table or a workbook of several, saved as
// name-year.csv / .xlsx.
func export(c *fiber.Ctx, name string, year int, body any, csvTable sheet.Table, workbook ...sheet.Table) error {
	format, err := exportFormat(c)
	if err != nil {
		return err
	}
	var out []byte
	media := "text/csv; charset=utf-8"
	switch format {
	case "json":
		return c.JSON(body)
	case "csv":
		out, err = sheet.CSV(csvTable)
	default:
		out, err = sheet.XLSX(workbook...)
		media = mediaXLSX
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, media)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+"-"+strconv.Itoa(year)+"."+format+`"`)
	return c.Send(out)
}

func (h *handlers) disclosedCaps(c *fiber.Ctx) error {
	d, err := h.d.Disclosure.Caps(c.UserContext(), c.Query("year"))
	if err != nil {
		return err
	}
	return export(c, "disclosure-caps", d.Year, d, d.Table(), d.Table())
}

func (h *handlers) disclosedAuthorisations(c *fiber.Ctx) error {
	d, err := h.d.Disclosure.Authorisations(c.UserContext(), c.Query("year"))
	if err != nil {
		return err
	}
	return export(c, "disclosure-authorisations", d.Year, d, d.Table(), d.Table())
}

func (h *handlers) disclosedFees(c *fiber.Ctx) error {
	d, err := h.d.Disclosure.Fees(c.UserContext(), c.Query("year"))
	if err != nil {
		return err
	}
	return export(c, "disclosure-fees", d.Year, d, d.Table(), d.Table())
}

func (h *handlers) recordCost(c *fiber.Ctx) error {
	return create(c, onID(c, h.d.Annual.RecordCost), func(k settlement.OperatingCost) string {
		return "/v1/operators/" + string(k.OperatorID) + "/costs?year=" + strconv.Itoa(k.Year)
	})
}

func (h *handlers) listCosts(c *fiber.Ctx) error {
	list, err := h.d.Annual.Costs(c.UserContext(), callerOf(c), c.Params("id"), c.Query("year"))
	if err != nil {
		return err
	}
	return c.JSON(list)
}

func (h *handlers) annualReport(c *fiber.Ctx) error {
	r, err := h.d.Annual.Report(c.UserContext(), callerOf(c), c.Params("id"), c.Query("year"))
	if err != nil {
		return err
	}
	// CSV is one table, its first column naming the part; the workbook has a sheet per part.
	return export(c, "annual-report-"+string(r.OperatorID), r.Year, r, r.CSVTable(), r.Tables()...)
}
