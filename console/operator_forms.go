package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/idempotency"
)

// The operator's forms change state (a price, an auction, a delivery). Each form carries a key of
// its own (made when the page is rendered), and the change runs once per key through the venue's
// idempotency store, as an API POST with an Idempotency-Key does: a form sent twice (a double
// click, a reload after a lost answer) redirects to the first outcome instead of changing twice.

// onceLease is how long a claimed form key is held while its change runs; a console request that
// died holding it frees it after this.
const onceLease = time.Minute

// once runs change under the form's key and redirects to the location it answers; a replay of
// the same form redirects to the location the first run answered. A refusal (the venue's error)
// releases the key, so the corrected form may be sent again with it. Without an idempotency store
// (a console wired without one) the change simply runs.
func (c *Console) once(ctx *fiber.Ctx, form string, change func() (string, error)) error {
	key := ctx.FormValue("key")
	store := c.d.Idempotency
	if store == nil || !idempotency.ValidKey(key) {
		if store != nil {
			return datavenue.Invalid("validation_failed", "the form has no valid key; reload the page")
		}
		loc, err := change()
		if err != nil {
			return err
		}
		return ctx.Redirect(loc, fiber.StatusSeeOther)
	}
	s := sessionOf(ctx)
	// The scope keeps one person's form keys apart from another's and from the API's (whose
	// scope is the token's issuer, organisation and subject).
	scope := "console|" + string(s.Caller.Org) + "|" + s.Caller.Subject
	hash := idempotency.Fingerprint(fiber.MethodPost, ctx.Path(), []byte(form))
	cx := ctx.UserContext()
	claim, err := store.Claim(cx, scope, key, hash, onceLease)
	if err != nil {
		return err
	}
	switch claim.State {
	case idempotency.Replay:
		return ctx.Redirect(claim.Response.Location, fiber.StatusSeeOther)
	case idempotency.InProgress:
		return datavenue.Conflict("request_in_progress", "this form is being sent already; wait a moment and reload")
	case idempotency.Mismatch:
		return datavenue.Invalid("idempotency_key_reused", "this form was sent already with other values; reload the page")
	}
	loc, err := change()
	if err != nil {
		_ = store.Release(cx, scope, key)
		return err
	}
	if err := store.Complete(cx, scope, key, idempotency.Response{Status: fiber.StatusSeeOther, Location: loc}); err != nil {
		return err
	}
	return ctx.Redirect(loc, fiber.StatusSeeOther)
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
