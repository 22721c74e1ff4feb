package console

import (
	"testing"

	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
)

// Every code value the operator's pages name (an asset card's category, update frequency,
// acquisition mode, measurement and accounting status; a negotiation's states and moves; an
// order's status; a charging unit; a delivery method) has its name in both languages, so a page
// never shows a code where a person expects a word.
func TestOperatorCodesHaveNames(t *testing.T) {
	codes := map[string][]string{
		"category": assets.Categories, "frequency": assets.UpdateFrequencies, "acquisition": assets.AcquisitionModes,
		"measurement": assets.MeasurementBases, "accounting": assets.AccountingStates, "grade": assets.Grades, "right": assets.Rights,
		"neg":   matching.NegotiationStates,
		"move":  {matching.MoveOffer, matching.MoveCounter, matching.MoveAccept, matching.MoveReject, matching.MoveWithdraw},
		"order": {"awaiting_payment", "paid", "delivered", "confirmed", "cancelled"}, "unit": listing.ChargingUnits,
		"delivery": {"file", "api", "sandbox"}, "result": {matching.OutcomeWon, matching.OutcomeNoSale, matching.OutcomeStopped},
	}
	for kind, values := range codes {
		for _, v := range values {
			m, ok := messages[kind+"."+v]
			if !ok || m[0] == "" || m[1] == "" || m[0] == v {
				t.Errorf("%s %q has no name in both languages: %q", kind, v, m)
			}
		}
	}
	if English.Code("frequency", "daily") != "Daily" || Chinese.Code("acquisition", "shared") != "政务共享" {
		t.Error("codes are not translated by the page's language")
	}
}
