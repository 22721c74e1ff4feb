package subscriptions

import (
	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue/money"
)

// Bill is what one period of a subscription owes (issue 15, billing): the fixed fee plus the
// metered units at the unit price, capped at the plan's maximum; and never a unit priced above
// the product's cap in force at the period's end, nor a fee above the per_time_unit cap.
type Bill struct {
	Period    Period          `json:"period"`
	Units     decimal.Decimal `json:"units"`
	UnitPrice money.Yuan      `json:"unit_price"`
	FixedFee  money.Yuan      `json:"fixed_fee"`
	// Metered is units × unit price, rounded to the fen (half away from zero, as money.FromDecimal).
	Metered money.Yuan `json:"metered"`
	// Total is what is charged: FixedFee + Metered, at most the plan's maximum.
	Total money.Yuan `json:"total"`
	// CappedBy says what lowered the total or a price: "", "plan_maximum", "unit_cap", "fee_cap"
	// (the last two when a cap was lowered under the subscription during its term).
	CappedBy []string `json:"capped_by,omitempty"`
}

// BillFor computes a period's bill from the units used in it and the caps in force at its end
// (nil: no cap of that unit is in force, which leaves the price as agreed: the gate suspends a
// product whose cap lapses, and the use after that is refused). Free use owes nothing.
func BillFor(s Subscription, p Period, units decimal.Decimal, unitCap, feeCap *money.Yuan) Bill {
	b := Bill{Period: p, Units: units, UnitPrice: s.UnitPrice, FixedFee: s.FixedFee, Metered: money.Zero, Total: money.Zero}
	if s.Free {
		return b
	}
	// A cap lowered during the term binds the prices charged from then on (N4: every charge at
	// or under the cap in force).
	if unitCap != nil && b.UnitPrice.Cmp(*unitCap) > 0 {
		b.UnitPrice, b.CappedBy = *unitCap, append(b.CappedBy, "unit_cap")
	}
	if feeCap != nil && b.FixedFee.Cmp(*feeCap) > 0 {
		b.FixedFee, b.CappedBy = *feeCap, append(b.CappedBy, "fee_cap")
	}
	b.Metered = money.FromDecimal(units.Mul(b.UnitPrice.Decimal()))
	b.Total = b.FixedFee.Add(b.Metered)
	if s.PlanMaximum != nil && b.Total.Cmp(*s.PlanMaximum) > 0 {
		b.Total, b.CappedBy = *s.PlanMaximum, append(b.CappedBy, "plan_maximum")
	}
	return b
}
