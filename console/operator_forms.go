package console

import (
	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// The operator's forms change state (a price, an auction, a delivery). Each form carries a key of
// its own (made when the page is rendered), and the change runs once per key (once, the same as the
// bureaus' decisions): a form sent twice (a double click, a reload after a lost answer) redirects
// to the first outcome instead of changing twice.

// onceTo is once for a change that answers where to go next: it redirects there, and a replay of
// the same form redirects where the first run went. A refusal (the venue's error) releases the key,
// so the corrected form may be sent again with it.
func (c *Console) onceTo(ctx *fiber.Ctx, change func() (string, error)) error {
	return c.once(ctx, func() error {
		loc, err := change()
		if err != nil {
			return err
		}
		return ctx.Redirect(loc, fiber.StatusSeeOther)
	})
}

// refusal is the venue's refusal of a change as a person reads it beside the form (its code and
// explanation, with each field's), or false when err is not a refusal (an outage, a bug), which
// the console's error page shows instead.
func refusal(err error) (string, bool) {
	var de *datavenue.Error
	switch datavenue.KindOf(err) {
	case datavenue.KindInvalid, datavenue.KindConflict, datavenue.KindForbidden, datavenue.KindMalformed:
	default:
		return "", false
	}
	if !asError(err, &de) {
		return "", false
	}
	return problemText(de), true
}
