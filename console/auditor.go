package console

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/audit"
)

// The auditor's pages: the audit trail with its filters (the API's listAuditEvents: an auditor
// reads every organisation's events, anyone else their own's), and the integrity of the books
// (every stored invariant and the voucher chain, as `datavenue check` reports them).

// Invariant is one rule of the stored data and what breaks it (postgres.Invariant, as the
// console shows it).
type Invariant struct {
	Name, Rule string
	Checked    int64
	Violating  []string
}

// OK reports whether nothing breaks the rule.
func (i Invariant) OK() bool { return len(i.Violating) == 0 }

// auditResources are the resource types the audit trail records (postgres' appendAudit calls),
// offered as the type filter.
var auditResources = []string{"organisation", "asset", "certificate_application", "certificate", "authorisation", "approval", "appraisal",
	"product", "auction", "trade", "order", "ledger_transaction", "obligation", "voucher", "statement_import", "reconciliation_exception",
	"projection_entry", "webhook_subscription", "webhook_delivery"}

type auditData struct {
	Types                    []string
	ResourceType, ResourceID string
	Events                   []auditRow
	Next                     string
}

type auditRow struct {
	audit.Event
	At string
}

// auditTrail is the audit trail, newest first, filtered by resource type and id.
func (c *Console) auditTrail(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := auditData{Types: auditResources, ResourceType: ctx.Query("resource_type"), ResourceID: ctx.Query("resource_id")}
	before, _ := strconv.ParseInt(ctx.Query("before"), 10, 64)
	list, err := c.d.Audit.List(ctx.UserContext(), s.Caller, audit.Filter{ResourceType: d.ResourceType, ResourceID: d.ResourceID,
		Before: before, Limit: listLimit})
	if err != nil {
		return err
	}
	for _, e := range list {
		d.Events = append(d.Events, auditRow{Event: e, At: e.At.In(cst).Format("2006-01-02 15:04:05")})
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/audit?resource_type=%s&resource_id=%s&before=%d", Prefix, d.ResourceType, d.ResourceID, list[len(list)-1].ID)
	}
	return c.render(ctx, "audit", l.T("audit.title"), d)
}

type integrityData struct {
	Available bool
	Results   []Invariant
	Broken    int
	Checked   string
}

// integrity runs the invariant check (one snapshot of PostgreSQL, read only) and the voucher
// chain's verification, and shows each rule with the rows it was checked on and any breaking it.
// It runs when the page is opened: it reads every settled row, so it is not on the menu's way to
// anything else.
func (c *Console) integrity(ctx *fiber.Ctx) error {
	l := lang(ctx)
	d := integrityData{Available: c.o.Integrity != nil, Checked: c.now().In(cst).Format("2006-01-02 15:04:05")}
	if d.Available {
		var err error
		if d.Results, err = c.o.Integrity(ctx.UserContext()); err != nil {
			return err
		}
		for _, r := range d.Results {
			if !r.OK() {
				d.Broken++
			}
		}
	}
	return c.render(ctx, "integrity", l.T("integrity.title"), d)
}

// IntegrityCheck is what the console's integrity page runs (wiring: postgres.DB.CheckAll).
type IntegrityCheck func(ctx context.Context) ([]Invariant, error)
