package console

import (
	"context"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/parties"
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

// refusalStatus is the page's status for a refusal: 409 when the resource changed meanwhile (or
// another conflict), 403 when the caller may not, 422 otherwise.
func refusalStatus(err error) int {
	switch datavenue.KindOf(err) {
	case datavenue.KindConflict:
		return fiber.StatusConflict
	case datavenue.KindForbidden:
		return fiber.StatusForbidden
	}
	return fiber.StatusUnprocessableEntity
}

// conditionsOf lists a refusal's fields as the forms show them.
func conditionsOf(err error) []condition {
	var de *datavenue.Error
	var conds []condition
	if asError(err, &de) {
		for _, f := range de.Fields {
			conds = append(conds, condition{Code: f.Code, Field: f.Field, Message: f.Message})
		}
	}
	return conds
}

// orgChoices are the organisations a form offers to pick from: the venue's first 500 by id
// (enough for a regional venue's parties; a larger one would want a search field), with each
// organisation the form already names added when the list stops before it, so that a saved
// value is never shown, and sent again, as none.
func (c *Console) orgChoices(ctx context.Context, named ...datavenue.OrgID) ([]parties.Organisation, error) {
	orgs, err := c.d.Organisations.List(ctx, parties.ListFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, id := range named {
		if id == "" || slices.ContainsFunc(orgs, func(o parties.Organisation) bool { return o.ID == id }) {
			continue
		}
		o, err := c.d.Organisations.Get(ctx, id)
		if datavenue.KindOf(err) == datavenue.KindNotFound {
			// Not registered (a value typed into a crafted form): kept by its id, for the service
			// to refuse by name.
			o, err = parties.Organisation{ID: id, Name: string(id)}, nil
		}
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, o)
	}
	return orgs, nil
}

// versionParam is a version number a form's redirect put in the query ("" unless it is one),
// so a crafted link cannot put other text in the page's status line.
func versionParam(ctx *fiber.Ctx, name string) string {
	if n, err := strconv.Atoi(ctx.Query(name)); err == nil && n >= 1 {
		return strconv.Itoa(n)
	}
	return ""
}
