package settlement

// UsageCovered is what the voucher of a subscription's billing period lists (issue 15): the
// subscription, the period, the units used by charging unit, the prices charged, the maximum
// that applied, and the usage records it covers by number and digest. A buyer recomputes the
// digest over the record ids its gateway reported for the period (subscriptions.RecordsDigest)
// and so checks offline that it paid for exactly those records. One-off vouchers carry none.
type UsageCovered struct {
	SubscriptionID string `json:"subscription_id"`
	PeriodIndex    int    `json:"period_index"`
	PeriodStart    string `json:"period_start"` // YYYY-MM-DD, China Standard Time
	PeriodEnd      string `json:"period_end"`
	// Units are the quantities used in the period by charging unit (decimal strings, six places).
	Units     []UnitsUsed `json:"units"`
	UnitPrice string      `json:"unit_price"`
	FixedFee  string      `json:"fixed_fee"`
	Metered   string      `json:"metered"`
	// PlanMaximum is the plan's most a period can cost ("" for none); CappedBy says what lowered
	// the bill (plan_maximum, unit_cap, fee_cap), empty when nothing did.
	PlanMaximum   string   `json:"plan_maximum,omitempty"`
	CappedBy      []string `json:"capped_by,omitempty"`
	Records       int64    `json:"records"`
	RecordsDigest string   `json:"records_digest"`
}

// UnitsUsed is a quantity of one charging unit.
type UnitsUsed struct {
	Unit     string `json:"unit"`
	Quantity string `json:"quantity"`
}
