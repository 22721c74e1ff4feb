package api

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// AllowedRevenue is what the API needs of the operator's maximum allowed revenue (最高准许收入,
// N4/N5).
type AllowedRevenue interface {
	Set(ctx context.Context, caller datavenue.Caller, operator string, in settlement.AllowedRevenueInput) (settlement.AllowedRevenue, error)
	Standing(ctx context.Context, caller datavenue.Caller, operator, year string) (settlement.RevenueStanding, error)
}

// revenueRoutes are the N4/N5 allowed-revenue endpoints: the finance bureau sets the maximum, and
// the operator and the supervisors watch revenue against it. Exceeding it is recorded, not refused,
// because the notice deducts the excess from the next period rather than stopping sales.
func (h *handlers) revenueRoutes() []Route {
	id := Param{Name: "id", In: "path", Description: "the operator's organisation id"}
	return []Route{
		{"POST", "/v1/operators/:id/allowed-revenue", Operation{ID: "setAllowedRevenue", Tag: "settlement",
			Summary:     "Set an operator's maximum allowed revenue (最高准许收入) for a year (finance bureau)",
			Description: "Append-only: the next version for the operator and year; the newest is in force. Revenue above the maximum is not refused: it is recorded as the year's excess and deducted from the next year's maximum (N5).",
			Auth:        true, Params: []Param{id}, Request: settlement.AllowedRevenueInput{}, Response: settlement.AllowedRevenue{}, Status: 201,
			Errors: []int{403, 404}}, h.setAllowedRevenue},
		{"GET", "/v1/operators/:id/allowed-revenue", Operation{ID: "getAllowedRevenue", Tag: "settlement",
			Summary:     "An operator's revenue against its maximum allowed revenue for a year (the operator, bureaus, auditors)",
			Description: "Revenue is the operator's shares (role operator) of paid, non-cancelled orders whose money was received in the year (China Standard Time). Status: not_set, within, approaching (90% or more of the effective maximum), reached, exceeded; effective is the maximum less the previous year's excess.",
			Auth:        true, Params: []Param{id, {Name: "year", In: "query", Description: "the calendar year; default: this year"}},
			Response: settlement.RevenueStanding{}, Errors: []int{404, 422}}, h.getAllowedRevenue},
	}
}

// setAllowedRevenue answers 201 with a Location that names the year set: without ?year the read
// back would show this year's standing, which is not what a maximum filed ahead for next year
// created.
func (h *handlers) setAllowedRevenue(c *fiber.Ctx) error {
	return create(c, onID(c, h.d.AllowedRevenue.Set), func(a settlement.AllowedRevenue) string {
		return "/v1/operators/" + string(a.OperatorID) + "/allowed-revenue?year=" + strconv.Itoa(a.Year)
	})
}

// getAllowedRevenue passes the year as sent: the service parses it, so a bad year is a 422 naming
// the field, and "this year" is the venue clock's year in CST, not the client's. Another
// operator's standing is 404, not 403: whether an organisation is an operator is not disclosed.
func (h *handlers) getAllowedRevenue(c *fiber.Ctx) error {
	s, err := h.d.AllowedRevenue.Standing(c.UserContext(), callerOf(c), c.Params("id"), c.Query("year"))
	if err != nil {
		return err
	}
	return c.JSON(s)
}
