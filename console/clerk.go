package console

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
)

// The clerk's day: obligations by due date, statement imports with their outcomes, the exception
// queue, the trial balance and the settlement report. Every figure comes from the services the
// API answers with (api.Deps.Settlement, api.Deps.Reconciliation); the console adds only how they
// are shown.

// dueSoonDays is how close a due date is for the obligations page to mark it "due soon": a
// display threshold (a working week), not a rule of the venue.
const dueSoonDays = 7

// listLimit is how many rows a console list shows per page.
const listLimit = 50

type obligationView struct {
	settlement.Obligation
	PartyName string
	Class     string // overdue, due-soon or ""
	Rule      string // how the due date follows from the day the period runs from
	Calendar  string // the calendar days the working days span, and the days off skipped
}

type obligationsData struct {
	Status  string
	Overdue bool
	Today   string
	Rows    []obligationView
	Next    string
}

// obligations lists treasury remittances and filings by due date (the store's order), overdue
// and due-soon ones marked, each deadline explained: the day its period runs from (the day of
// receipt, or the quarter's end for instalment income), the rule (settlement.DeadlineDays working
// days, G6) and what the working-day calendar made of it.
func (c *Console) obligations(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := obligationsData{Status: ctx.Query("status"), Overdue: ctx.Query("overdue") == "true"}
	list, err := c.d.Settlement.Obligations(ctx.UserContext(), s.Caller, d.Status, d.Overdue, settlement.Page{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	today := civil.Of(c.now())
	d.Today = today.String()
	names := c.orgNames(ctx)
	for _, o := range list {
		v := obligationView{Obligation: o, PartyName: names(o.Party)}
		from := "obligation.from.receipt"
		if o.IncomeKind == settlement.IncomeInstalment {
			from = "obligation.from.quarter"
		}
		v.Rule = fmt.Sprintf(l.T(from), o.EventDate.String(), strconv.Itoa(settlement.DeadlineDays))
		switch {
		case o.DueDate == nil:
			v.Calendar = l.T("obligation.pending")
		default:
			span := int(o.DueDate.Time().Sub(o.EventDate.Time()).Hours() / 24)
			v.Calendar = fmt.Sprintf(l.T("obligation.calendar"), strconv.Itoa(span), strconv.Itoa(span-settlement.DeadlineDays))
			if o.Overdue {
				v.Class = "overdue"
			} else if o.Status == settlement.ObligationDue && !o.DueDate.After(today.AddDays(dueSoonDays)) {
				v.Class = "due-soon"
			}
		}
		d.Rows = append(d.Rows, v)
	}
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/obligations?status=%s&overdue=%t&cursor=%s", Prefix, d.Status, d.Overdue, settlement.ObligationCursor(list[len(list)-1]))
	}
	return c.render(ctx, "obligations", l.T("obligations.title"), d)
}

type importFormData struct {
	CSRF, PeriodEnd, Problem string
	Limit                    string
	Words                    string // the script's messages (JSON): the progress lines' words
}

// importForm is the statement upload: a plain multipart form (it works without script); the
// script adds drag-and-drop and a progress bar fed by the import's own progress stream.
func (c *Console) importForm(ctx *fiber.Ctx) error {
	return c.renderImportForm(ctx, "")
}

func (c *Console) renderImportForm(ctx *fiber.Ctx, problem string) error {
	l := lang(ctx)
	d := importFormData{CSRF: sessionOf(ctx).CSRF, PeriodEnd: civil.Of(c.now()).String(), Problem: problem,
		Limit: strconv.Itoa(c.importLimit() >> 20)}
	words, _ := json.Marshal(map[string]string{"parsed": l.T("import.stage.parsed"), "applying": l.T("import.stage.applying"),
		"done": l.T("import.stage.done"), "refused": l.T("import.refused")})
	d.Words = string(words)
	return c.render(ctx, "import", l.T("import.title"), d)
}

// importLimit is the largest statement accepted: the API's limit for its import route.
func (c *Console) importLimit() int { return max(c.d.LargeBodyLimit, c.d.BodyLimit, formLimit) }

// importProgress is one line of the console's import stream (the script reads it): progress,
// then where the outcomes are, or why the import failed (it then applied nothing).
type importProgress struct {
	Stage    string `json:"stage"`
	Done     int    `json:"done"`
	Total    int    `json:"total"`
	Location string `json:"location,omitempty"`
	Message  string `json:"message,omitempty"`
}

// importStatement imports an uploaded statement through the reconciliation service the API's
// importStatement calls. The CSRF token is checked here (the form is multipart and large, which
// the small-form check refuses). With Accept: application/x-ndjson (the script) the progress
// streams; otherwise the browser is sent to the import's outcomes once it is applied.
func (c *Console) importStatement(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	if err := c.d.Reconciliation.MayImport(s.Caller); err != nil {
		return err
	}
	if n := ctx.Request().Header.ContentLength(); n < 0 || n > c.importLimit()+formLimit {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "the statement is larger than the venue accepts")
	}
	if err := checkCSRF(s, ctx.FormValue("_csrf")); err != nil {
		return err
	}
	l := lang(ctx)
	fh, err := ctx.FormFile("statement")
	if err != nil || fh.Size == 0 {
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderImportForm(ctx, l.T("import.nofile"))
	}
	format := "csv"
	if strings.HasSuffix(strings.ToLower(fh.Filename), ".xlsx") {
		format = "xlsx"
	}
	// The upload is copied to a file of the console's own: the multipart form's files go with
	// the request, and a streamed import is read after the handler has returned.
	spool, err := os.CreateTemp("", "datavenue-console-statement-*")
	if err != nil {
		return err
	}
	done := func() { spool.Close(); os.Remove(spool.Name()) }
	src, err := fh.Open()
	if err == nil {
		_, err = io.Copy(spool, src)
		src.Close()
	}
	if err == nil {
		_, err = spool.Seek(0, io.SeekStart)
	}
	if err != nil {
		done()
		return err
	}
	in := settlement.ImportInput{Name: fh.Filename, Format: format, PeriodEnd: ctx.FormValue("period_end"), Statement: spool}
	cx, caller := ctx.UserContext(), s.Caller
	if !strings.Contains(ctx.Get(fiber.HeaderAccept), "application/x-ndjson") {
		defer done()
		res, err := c.d.Reconciliation.Import(cx, caller, in)
		if err != nil {
			var de *datavenue.Error
			if !asError(err, &de) || datavenue.KindOf(err) != datavenue.KindInvalid && datavenue.KindOf(err) != datavenue.KindMalformed {
				return err
			}
			ctx.Status(fiber.StatusUnprocessableEntity)
			return c.renderImportForm(ctx, problemText(de))
		}
		return ctx.Redirect(Prefix+"/imports/"+res.ID, fiber.StatusSeeOther)
	}
	ctx.Set(fiber.HeaderContentType, "application/x-ndjson")
	ctx.Set("X-Accel-Buffering", "no")
	ctx.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer done()
		enc := json.NewEncoder(w)
		send := func(p importProgress) { _ = enc.Encode(p); _ = w.Flush() }
		pcx := settlement.WithProgress(cx, func(stage string, n, total int) { send(importProgress{Stage: stage, Done: n, Total: total}) })
		res, err := c.d.Reconciliation.Import(pcx, caller, in)
		if err != nil {
			msg := l.T("error.internal")
			var de *datavenue.Error
			if asError(err, &de) && datavenue.KindOf(err) != datavenue.KindUnavailable {
				msg = problemText(de)
			} else {
				c.o.Logger.Error("console: streamed import failed", "error", err.Error())
			}
			send(importProgress{Stage: "failed", Message: msg})
			return
		}
		send(importProgress{Stage: "done", Done: res.ReceiptsTotal, Total: res.ReceiptsTotal, Location: Prefix + "/imports/" + res.ID})
	})
	return nil
}

// orgNames gives organisations' names in the page's language, each read once per page (an
// unknown one shows its id).
func (c *Console) orgNames(ctx *fiber.Ctx) func(datavenue.OrgID) string {
	l, seen := lang(ctx), map[datavenue.OrgID]string{}
	return func(id datavenue.OrgID) string {
		if n, ok := seen[id]; ok {
			return n
		}
		n := string(id)
		if org, err := c.d.Organisations.Get(ctx.UserContext(), id); err == nil {
			n = org.Name
			if l == English && org.NameEN != "" {
				n = org.NameEN
			}
		}
		seen[id] = n
		return n
	}
}

// problemText is a refusal as a clerk reads it: its code, message and the fields at fault (a
// malformed statement names its line).
func problemText(de *datavenue.Error) string {
	var b strings.Builder
	b.WriteString(de.Code + ": " + de.Message)
	for _, f := range de.Fields {
		b.WriteString("; " + f.Field + ": " + f.Message)
	}
	return b.String()
}

type importData struct {
	ID       string
	Counts   []outcomeCount
	Outcome  string
	Receipts []settlement.ReceiptOutcome
	Next     string
}

type outcomeCount struct {
	Outcome string
	Count   int
	Href    string
	Current bool
}

// importOutcomes is an import's receipts and their outcomes in line order (the API's getImport),
// with a count of each outcome that links to the receipts of that outcome.
func (c *Console) importOutcomes(ctx *fiber.Ctx) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	id := ctx.Params("id")
	d := importData{ID: id, Outcome: ctx.Query("outcome")}
	// The counts: one page per outcome would be as many queries; the outcomes are few and the
	// store pages in line order, so the counts are read from the whole import once, in pages.
	counts := map[string]int{}
	after := ""
	for {
		page, err := c.d.Reconciliation.ImportedReceipts(cx, s.Caller, id, "", settlement.Page{After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, r := range page {
			counts[r.Outcome]++
		}
		if len(page) < 1000 {
			break
		}
		after = strconv.Itoa(page[len(page)-1].Line)
	}
	for _, o := range settlement.ReceiptOutcomes {
		d.Counts = append(d.Counts, outcomeCount{Outcome: o, Count: counts[o], Href: Prefix + "/imports/" + id + "?outcome=" + o, Current: o == d.Outcome})
	}
	list, err := c.d.Reconciliation.ImportedReceipts(cx, s.Caller, id, d.Outcome, settlement.Page{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Receipts = list
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/imports/%s?outcome=%s&cursor=%d", Prefix, id, d.Outcome, list[len(list)-1].Line)
	}
	return c.render(ctx, "imports", l.T("imports.title"), d)
}

type exceptionsData struct {
	Status   string
	Rows     []settlement.Exception
	CanAct   bool
	CSRF     string
	Resolved string // the exception just resolved
	Problem  string
	Failed   string // the exception whose resolution was refused
	Next     string
}

// exceptions is the exception queue (the API's listExceptions), open ones first by default, each
// with a form to resolve it with a reason for a clerk.
func (c *Console) exceptions(ctx *fiber.Ctx) error {
	return c.renderExceptions(ctx, ctx.Query("resolved"), "", "")
}

func (c *Console) renderExceptions(ctx *fiber.Ctx, resolved, failed, problem string) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := exceptionsData{Status: ctx.Query("status", "open"), CanAct: allowed("resolve", s.Caller.Role), CSRF: s.CSRF,
		Resolved: resolved, Failed: failed, Problem: problem}
	if d.Status == "all" {
		d.Status = ""
	}
	list, err := c.d.Reconciliation.Exceptions(ctx.UserContext(), s.Caller, d.Status, settlement.Page{After: ctx.Query("cursor"), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Rows = list
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/exceptions?status=%s&cursor=%s", Prefix, ctx.Query("status", "open"), list[len(list)-1].ID)
	}
	if d.Status == "" {
		d.Status = "all"
	}
	return c.render(ctx, "exceptions", l.T("exceptions.title"), d)
}

// resolve resolves an exception with the clerk's reason (the API's resolveException; the store
// audits it). A refusal (no reason, already resolved) is shown beside the queue.
func (c *Console) resolve(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	id := ctx.Params("id")
	if _, err := c.d.Reconciliation.Resolve(ctx.UserContext(), s.Caller, id, strings.TrimSpace(ctx.FormValue("reason"))); err != nil {
		var de *datavenue.Error
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindConflict || !asError(err, &de) {
			return err
		}
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderExceptions(ctx, "", id, problemText(de))
	}
	return ctx.Redirect(Prefix+"/exceptions?resolved="+id, fiber.StatusSeeOther)
}

type ledgerData struct {
	TB       settlement.TrialBalance
	Balanced bool
	From, To string // the report's period offered: this month so far
	Names    map[datavenue.OrgID]string
}

// ledger is the trial balance (the API's trialBalance) and the settlement report's downloads.
func (c *Console) ledger(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	tb, err := c.d.Reconciliation.TrialBalance(ctx.UserContext(), s.Caller)
	if err != nil {
		return err
	}
	today := civil.Of(c.now())
	first := civil.FromTime(time.Date(today.Time().Year(), today.Time().Month(), 1, 0, 0, 0, 0, time.UTC))
	d := ledgerData{TB: tb, Balanced: tb.Total == "0.00", From: first.String(), To: today.String(), Names: map[datavenue.OrgID]string{}}
	names := c.orgNames(ctx)
	for _, a := range tb.Accounts {
		if a.Party != "" {
			d.Names[a.Party] = names(a.Party)
		}
	}
	return c.render(ctx, "ledger", l.T("ledger.title"), d)
}

// report downloads the settlement report of a period as CSV or XLSX: the report and its files
// are the API's (settlementReport), the console only hands them to the browser.
func (c *Console) report(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	r, err := c.d.Reconciliation.Report(ctx.UserContext(), s.Caller, ctx.Query("from"), ctx.Query("to"))
	if err != nil {
		return err
	}
	name := "settlement-report-" + ctx.Query("from") + "-" + ctx.Query("to")
	switch ctx.Query("format") {
	case "xlsx":
		body, err := r.XLSX()
		if err != nil {
			return err
		}
		ctx.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		ctx.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.xlsx"`)
		return ctx.Send(body)
	default:
		body, err := r.CSV()
		if err != nil {
			return err
		}
		ctx.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		ctx.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
		return ctx.Send(body)
	}
}
