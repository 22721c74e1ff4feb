package api

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/settlement"
)

// Settlement is what the API needs of the settlement service: contribution agreements (D16/G6),
// orders and their payment (split, ledger, treasury and filing obligations, D17/G6), the payment
// provider's callbacks and free-use orders (N1/G7). RecordCallback takes no caller: the callback is
// authenticated by its signature, and the handler records it as the payment provider.
type Settlement interface {
	SetAgreement(ctx context.Context, caller datavenue.Caller, productID string, in settlement.AgreementInput) (settlement.Agreement, error)
	Agreement(ctx context.Context, caller datavenue.Caller, productID string) (settlement.Agreement, error)
	RecordPayment(ctx context.Context, caller datavenue.Caller, orderID string, in settlement.PaymentInput) (settlement.Order, error)
	Order(ctx context.Context, caller datavenue.Caller, id string) (settlement.Order, error)
	Orders(ctx context.Context, caller datavenue.Caller, status string, p settlement.Page) ([]settlement.Order, error)
	Obligations(ctx context.Context, caller datavenue.Caller, status string, overdueOnly bool, p settlement.Page) ([]settlement.Obligation, error)
	RecordCallback(ctx context.Context, in settlement.PaymentCallback) (settlement.Order, error)
	ObtainFree(ctx context.Context, caller datavenue.Caller, productID, key string) (settlement.Order, error)
}

// settlementRoutes: the agreement is a PUT on the product's one agreement URL, yet answers 201,
// since each PUT adds a version (the one read back at the Location) rather than replacing the old
// one, which orders made under it keep. A payment is recorded with POST and answers 200 with the
// order: it changes the order's state and is idempotent by its bank reference, so a clerk who
// records the same slip twice changes nothing.
func (h *handlers) settlementRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"PUT", "/v1/products/:id/agreement", Operation{ID: "setAgreement", Tag: "settlement", Summary: "Add a version of the product's contribution agreement (operator)",
			Description: "Parties with agreed ratios (basis ratio) or input costs per stage (basis cost: production, collection, processing, circulation); the venue's fee is the party with role venue_fee. A trade settles by the version in force when it was made.",
			Auth:        true, Params: id, Request: settlement.AgreementInput{}, Response: settlement.Agreement{}, Status: 201, Errors: []int{403, 404}}, h.setAgreement},
		{"GET", "/v1/products/:id/agreement", Operation{ID: "getAgreement", Tag: "settlement", Summary: "The product's current contribution agreement (its parties and the supervisors)", Auth: true,
			Params: id, Response: settlement.Agreement{}, Errors: []int{404}}, h.getAgreement},
		{"POST", "/v1/products/:id/free-orders", Operation{ID: "obtainFreeUse", Tag: "settlement", Summary: "Obtain a free-use product (buyer): an order of 0.00, settled at once",
			Description: "For a published product whose purpose is public governance or public welfare (free use by law, N1; pricing method free). Makes a trade at 0.00 (source free_use) and its order, status paid at once (paid_via free_use): no payment, no split, no ledger posting, no treasury or filing obligation. The seller then records the delivery and the buyer confirms it as for any order; the voucher states the price 0.00 and the purpose. A paid product is refused (409 not_free_use). Send an Idempotency-Key: a retry returns the same order.",
			Auth:        true, Params: id, Response: settlement.Order{}, Status: 201, Errors: []int{403, 404, 409}}, h.obtainFreeUse},
		{"GET", "/v1/orders", Operation{ID: "listOrders", Tag: "settlement", Summary: "Settlement orders (a party's own; clerks, bureaus and auditors all)", Auth: true,
			Params: []Param{{Name: "status", In: "query"}, limitParam, cursorParam}, Response: Page[settlement.Order]{}, Errors: []int{422}}, h.listOrders},
		{"GET", "/v1/orders/:id", Operation{ID: "getOrder", Tag: "settlement", Summary: "An order with its shares and obligations", Auth: true,
			Params: id, Response: settlement.Order{}, Errors: []int{404}}, h.getOrder},
		{"POST", "/v1/orders/:id/payment", Operation{ID: "recordPayment", Tag: "settlement", Summary: "Record a payment (clerk): split, ledger postings, treasury and filing obligations",
			Auth: true, Params: id, Request: settlement.PaymentInput{}, Response: settlement.Order{}, Errors: []int{403, 404, 409}}, h.recordPayment},
		{"POST", "/v1/payments/callback", Operation{ID: "paymentCallback", Tag: "settlement", Summary: "A payment provider reports a payment (signed callback)",
			Description: "Authenticated by the header `X-Datavenue-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under DATAVENUE_PAYMENT_CALLBACK_SECRET>`, not by a token; t must be within 5 minutes of the venue's clock (a captured callback cannot be replayed later). Idempotent by `reference`: the provider may deliver a callback any number of times. An amount other than the order's amount due is refused (422 amount_mismatch) and nothing is recorded.",
			Request:     settlement.PaymentCallback{}, Response: settlement.Order{}, Errors: []int{401, 404, 409},
			// Signed, and sent by the provider from few addresses: an address's anonymous budget,
			// spent by anyone behind the same proxy, must not refuse it.
			Unmetered: true}, h.paymentCallback},
		{"GET", "/v1/obligations", Operation{ID: "listObligations", Tag: "settlement", Summary: "Treasury remittance and supervisor filing obligations, overdue flagged",
			Auth: true, Params: []Param{{Name: "status", In: "query", Description: "due, remitted or filed"}, {Name: "overdue", In: "query", Description: "true: only overdue ones"},
				limitParam, cursorParam},
			Response: Page[settlement.Obligation]{}, Errors: []int{403, 422}}, h.listObligations},
	}
}

// setAgreement's Location is the product's agreement, which reads the newest version: the one
// just added.
func (h *handlers) setAgreement(c *fiber.Ctx) error {
	return create(c, onID(c, h.d.Settlement.SetAgreement), func(a settlement.Agreement) string { return "/v1/products/" + a.ProductID + "/agreement" })
}

// getAgreement shows the current version to its parties, the operator who set it and the book
// keepers; to anyone else it is 404, since who earns what share is the parties' business.
func (h *handlers) getAgreement(c *fiber.Ctx) error {
	a, err := h.d.Settlement.Agreement(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(a)
}

// obtainFreeUse has no body: the product is the path and the buyer the token. The Idempotency-Key
// also goes to the service, which derives the trade from it, so a retry finds the same order even
// when the idempotency store lost the first answer.
func (h *handlers) obtainFreeUse(c *fiber.Ctx) error {
	o, err := h.d.Settlement.ObtainFree(c.UserContext(), callerOf(c), c.Params("id"), c.Get(headerIdempotencyKey))
	if err != nil {
		return err
	}
	return created(c, "/v1/orders/"+o.ID, o)
}

// listOrders shows a party its own orders and the book keepers all of them; the service decides,
// from the caller, which one applies.
func (h *handlers) listOrders(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]settlement.Order, error) {
		return h.d.Settlement.Orders(c.UserContext(), callerOf(c), c.Query("status"), settlement.Page{After: after, Limit: limit})
	}, func(o settlement.Order) string { return o.ID })
}

// getOrder answers 404 for an order of other parties, as for one that does not exist, so order ids
// cannot be probed; overdue obligations are flagged as of today (CST) in the answer.
func (h *handlers) getOrder(c *fiber.Ctx) error {
	o, err := h.d.Settlement.Order(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// recordPayment answers with the order as settled: its shares and the treasury and filing
// obligations with their due dates (G6: 10 working days after receipt, CST).
func (h *handlers) recordPayment(c *fiber.Ctx) error {
	return update(c, h.d.Settlement.RecordPayment)
}

// headerCallbackSignature carries a payment callback's HMAC. A header of its own rather than
// Authorization: the callback is signed, not sent with a bearer token, and must not pass through
// authenticate.
const headerCallbackSignature = "X-Datavenue-Signature"

// paymentCallback authenticates before anything else: the signature covers the raw body, so it is
// checked on the bytes received, before decoding, and a sender without the secret learns nothing
// of the fields' rules. The audit trail records the payment provider as the caller.
func (h *handlers) paymentCallback(c *fiber.Ctx) error {
	if err := settlement.VerifyCallback(h.d.PaymentCallbackSecret, c.Body(), c.Get(headerCallbackSignature), time.Now()); err != nil {
		return err
	}
	var in settlement.PaymentCallback
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := datavenue.WithCaller(c.UserContext(), audit.PaymentProviderCaller)
	o, err := h.d.Settlement.RecordCallback(ctx, in)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// listObligations pages by the service's own cursor (settlement.ObligationCursor): obligations are
// listed in due-date order (pending due dates last), so the cursor is the due date and the id.
func (h *handlers) listObligations(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]settlement.Obligation, error) {
		return h.d.Settlement.Obligations(c.UserContext(), callerOf(c), c.Query("status"), c.Query("overdue") == "true", settlement.Page{After: after, Limit: limit})
	}, settlement.ObligationCursor)
}

// Vouchers is what the API needs for delivery, confirmation and vouchers (D15: the registration,
// transaction and delivery records that accounting books from).
type Vouchers interface {
	Deliver(ctx context.Context, caller datavenue.Caller, orderID string, d settlement.Delivery) (settlement.Order, error)
	Confirm(ctx context.Context, caller datavenue.Caller, orderID string) (settlement.Voucher, error)
	Voucher(ctx context.Context, caller datavenue.Caller, id string) (settlement.Voucher, error)
}

// voucherRoutes: the voucher's JSON shows its place in the hash-chained log; the signed document is
// served on its own, as application/jose, so it can be saved and verified byte for byte.
func (h *handlers) voucherRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/orders/:id/delivery", Operation{ID: "recordDelivery", Tag: "settlement", Summary: "Record the delivery of a paid order (seller)",
			Description: "By the product's delivery method: file (the content hash delivered), api (the credential issued), sandbox (the account opened).",
			Auth:        true, Params: id, Request: settlement.Delivery{}, Response: settlement.Order{}, Errors: []int{403, 404, 409}}, h.recordDelivery},
		{"POST", "/v1/orders/:id/confirm", Operation{ID: "confirmDelivery", Tag: "settlement", Summary: "Confirm the delivery (buyer): issues the signed voucher",
			Description: "The voucher (交易/交付凭证) binds the certificates, the trade and the delivery; it is appended to the hash-chained voucher log.",
			Auth:        true, Params: id, Response: settlement.Voucher{}, Status: 201, Errors: []int{403, 404, 409}}, h.confirmDelivery},
		{"GET", "/v1/vouchers/:id", Operation{ID: "getVoucher", Tag: "settlement", Summary: "A voucher's place in the log", Auth: true,
			Params: id, Response: settlement.Voucher{}, Errors: []int{404}}, h.getVoucher},
		{"GET", "/v1/vouchers/:id/document", Operation{ID: "voucherDocument", Tag: "settlement", Summary: "The signed voucher (JWS), verifiable offline with `datavenue voucher verify`",
			Auth: true, Params: id, ContentType: "application/jose", Errors: []int{404}}, h.voucherDocument},
	}
}

// recordDelivery answers 200 with the order, now delivered: the buyer's confirmation period starts
// with it, after which the venue confirms on the buyer's behalf.
func (h *handlers) recordDelivery(c *fiber.Ctx) error {
	return update(c, h.d.Vouchers.Deliver)
}

// confirmDelivery answers 201: confirming creates the voucher, read back at the Location. A second
// confirmation answers with the voucher issued the first time (the store finds it), so a retry is
// safe even without an Idempotency-Key.
func (h *handlers) confirmDelivery(c *fiber.Ctx) error {
	v, err := h.d.Vouchers.Confirm(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return created(c, "/v1/vouchers/"+v.ID, v)
}

// getVoucher shows a voucher to the order's buyer and seller and the book keepers; to anyone
// else it is 404, since a voucher names the parties and the price.
func (h *handlers) getVoucher(c *fiber.Ctx) error {
	v, err := h.d.Vouchers.Voucher(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// voucherDocument serves the JWS byte for byte, so an accountant can keep the file and verify it
// offline against the published keys, without the venue.
func (h *handlers) voucherDocument(c *fiber.Ctx) error {
	v, err := h.d.Vouchers.Voucher(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/jose")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+v.ID+`.jws"`)
	return c.SendString(v.Document)
}

// Reconciliation is what the API needs for statements and exceptions. MayImport is separate from
// Import so the handler can refuse a caller before reading a statement's (large) body.
type Reconciliation interface {
	MayImport(caller datavenue.Caller) error
	Import(ctx context.Context, caller datavenue.Caller, in settlement.ImportInput) (settlement.ImportResult, error)
	Exceptions(ctx context.Context, caller datavenue.Caller, status string, p settlement.Page) ([]settlement.Exception, error)
	Resolve(ctx context.Context, caller datavenue.Caller, id, reason string) (settlement.Exception, error)
	ImportedReceipts(ctx context.Context, caller datavenue.Caller, importID, outcome string, p settlement.Page) ([]settlement.ReceiptOutcome, error)
	Report(ctx context.Context, caller datavenue.Caller, from, to string) (settlement.Report, error)
	TrialBalance(ctx context.Context, caller datavenue.Caller) (settlement.TrialBalance, error)
}

// ResolveInput is a clerk's resolution of an exception.
type ResolveInput struct {
	Reason string `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}

// reconciliationRoutes: an import answers 201 with the import's receipts at the Location, or, asked
// for NDJSON, 200 with progress lines (the status is sent before the outcome is known). Only an
// import takes a large body, and only clerks may send one. The reports and the trial balance are
// reads for the book keepers (clerks, bureaus, auditors).
func (h *handlers) reconciliationRoutes() []Route {
	return []Route{
		{"POST", "/v1/reconciliation/imports", Operation{ID: "importStatement", Tag: "reconciliation", Summary: "Import a treasury or bank receipt statement (clerk)",
			Description: "The body is the file itself (CSV in UTF-8, or XLSX). Headers 缴款书编号, 缴款码, 执收单位, 金额, 缴款日期, 收款国库 unless `mapping` (JSON field→header) says otherwise. Matching by payment code, then by unit, amount and date. Outcomes: matched, partial, over_paid, duplicate, unmatched; obligations due by period_end with nothing received are missing. A malformed row fails the whole import with its line number. Files up to DATAVENUE_IMPORT_LIMIT bytes (64 MiB by default). With `Accept: application/x-ndjson` the answer streams progress lines ({stage: parsed|applying, done, total}) and ends with {stage: done, result} or {stage: failed, problem}.",
			Auth:        true, Params: []Param{{Name: "format", In: "query", Description: "csv (default) or xlsx"}, {Name: "name", In: "query"},
				{Name: "period_end", In: "query", Required: true, Schema: map[string]any{"type": "string", "format": "date"}}, {Name: "mapping", In: "query"}},
			Response: settlement.ImportResult{}, Status: 201, Errors: []int{403}, LargeBody: true}, h.importStatement},
		{"GET", "/v1/reconciliation/imports/:id", Operation{ID: "getImport", Tag: "reconciliation", Summary: "An import: its receipts and their outcomes, in line order (an import's Location)",
			Description: "Every receipt of the statement, paged (the import's answer lists the first 1,000). Clerks, bureaus and auditors.", Auth: true,
			Params: []Param{{Name: "id", In: "path"}, {Name: "outcome", In: "query", Description: "only this outcome: matched, partial, over_paid, duplicate, unmatched or wrong_treasury"},
				limitParam, cursorParam},
			Response: Page[settlement.ReceiptOutcome]{}, Errors: []int{403, 404, 422}}, h.getImport},
		{"GET", "/v1/reconciliation/exceptions", Operation{ID: "listExceptions", Tag: "reconciliation", Summary: "The exception queue", Auth: true,
			Params:   []Param{{Name: "status", In: "query", Description: "open or resolved"}, limitParam, cursorParam},
			Response: Page[settlement.Exception]{}, Errors: []int{403, 422}}, h.listExceptions},
		{"GET", "/v1/reports/settlement", Operation{ID: "settlementReport", Tag: "reconciliation", Summary: "Settlement report for a period: revenue by holder and by product, remittance status, filings due",
			Description: "JSON, CSV (UTF-8 with BOM) or XLSX (one sheet per section)." + exportNote, Auth: true,
			Params:   []Param{{Name: "from", In: "query", Required: true}, {Name: "to", In: "query", Required: true}, formatParam},
			Response: settlement.Report{}, Errors: []int{403, 406, 422}}, h.settlementReport},
		{"GET", "/v1/ledger/balances", Operation{ID: "trialBalance", Tag: "reconciliation", Summary: "Every ledger account's balance and the total (zero when balanced)",
			Description: "Clerks, bureaus and auditors. Balances are debits minus credits: what the venue owes (deposits held, payable, due to treasury, fees) shows negative.",
			Auth:        true, Response: settlement.TrialBalance{}, Errors: []int{403}}, h.trialBalance},
		{"POST", "/v1/reconciliation/exceptions/:id/resolve", Operation{ID: "resolveException", Tag: "reconciliation", Summary: "Resolve an exception with a reason (clerk)",
			Auth: true, Params: []Param{{Name: "id", In: "path"}}, Request: ResolveInput{}, Response: settlement.Exception{}, Errors: []int{403, 409}}, h.resolveException},
	}
}

func (h *handlers) importStatement(c *fiber.Ctx) error {
	// The one large body: read only for a caller who may import (see body.go).
	if err := h.d.Reconciliation.MayImport(callerOf(c)); err != nil {
		return err
	}
	file, err := spoolBody(c, h.d.LargeBodyLimit)
	if err != nil {
		return err
	}
	// The parameters are in the query because the body is the file itself (CSV or XLSX as a
	// clerk exports it), not a JSON envelope that would need the file encoded inside it.
	in := settlement.ImportInput{Name: c.Query("name", "statement"), Format: c.Query("format", "csv"), PeriodEnd: c.Query("period_end"),
		Statement: file}
	if raw := c.Query("mapping"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &in.Mapping); err != nil {
			removeSpool(file)
			return datavenue.Invalid("validation_failed", "invalid mapping",
				datavenue.FieldError{Field: "mapping", Code: "invalid_json", Message: "mapping is a JSON object of field → header"})
		}
	}
	if strings.Contains(c.Get(fiber.HeaderAccept), contentTypeNDJSON) {
		return h.importWithProgress(c, in, file) // the file is removed once the stream ends
	}
	defer removeSpool(file)
	res, err := h.d.Reconciliation.Import(c.UserContext(), callerOf(c), in)
	if err != nil {
		return err
	}
	return created(c, "/v1/reconciliation/imports/"+res.ID, res)
}

// getImport pages through what is kept of an import: its receipts.
func (h *handlers) getImport(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]settlement.ReceiptOutcome, error) {
		return h.d.Reconciliation.ImportedReceipts(c.UserContext(), callerOf(c), c.Params("id"), c.Query("outcome"), settlement.Page{After: after, Limit: limit})
	}, func(o settlement.ReceiptOutcome) string { return strconv.Itoa(o.Line) })
}

// contentTypeNDJSON is asked for in Accept to get an import's progress as a stream of JSON lines;
// compression is skipped for it (see compressed), or the lines would wait in the compressor.
const contentTypeNDJSON = "application/x-ndjson"

// ImportProgress is one line of an import streamed as NDJSON: progress lines, then the result
// or the problem that failed the import (which then applied nothing). The problem is the same
// object an error answer would carry, since the status line (200) was sent before the outcome.
type ImportProgress struct {
	Stage   string                   `json:"stage"` // parsed, applying, done, failed
	Done    int                      `json:"done"`
	Total   int                      `json:"total"`
	Result  *settlement.ImportResult `json:"result,omitempty"`
	Problem *Problem                 `json:"problem,omitempty"`
}

// importWithProgress runs an import while streaming its progress, one JSON line per stage and
// every few hundred receipts, so that a clerk importing a large statement sees it advance. The
// status is 200 before the outcome is known: the last line says done or failed. A streamed
// import is not replayed from the idempotency store; importing the same statement again posts
// nothing twice (every slip comes back a duplicate receipt, each an exception for the clerk).
func (h *handlers) importWithProgress(c *fiber.Ctx, in settlement.ImportInput, file *os.File) error {
	ctx, caller, path, reqID := c.UserContext(), callerOf(c), c.Path(), requestID(c)
	c.Set(fiber.HeaderContentType, contentTypeNDJSON)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer removeSpool(file)
		enc := json.NewEncoder(w)
		send := func(p ImportProgress) {
			_ = enc.Encode(p)
			_ = w.Flush() // a client gone away only stops the progress, not the import
		}
		ctx := settlement.WithProgress(ctx, func(stage string, done, total int) {
			send(ImportProgress{Stage: stage, Done: done, Total: total})
		})
		res, err := h.d.Reconciliation.Import(ctx, caller, in)
		if err != nil {
			p := problemFor(err)
			p.Instance, p.RequestID = path, reqID
			if p.Status >= 500 {
				h.d.Logger.Error("streamed import failed", "request_id", reqID, "error", err.Error())
			}
			send(ImportProgress{Stage: "failed", Problem: &p})
			return
		}
		n := res.ReceiptsTotal
		send(ImportProgress{Stage: "done", Done: n, Total: n, Result: &res})
	})
	return nil
}

// trialBalance answers every account and the total; a total other than 0.00 means the ledger is
// out of balance, which the database's constraints are there to prevent.
func (h *handlers) trialBalance(c *fiber.Ctx) error {
	tb, err := h.d.Reconciliation.TrialBalance(c.UserContext(), callerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(tb)
}

// listExceptions lists the queue oldest first, so clerks work it in the order it filled.
func (h *handlers) listExceptions(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]settlement.Exception, error) {
		return h.d.Reconciliation.Exceptions(c.UserContext(), callerOf(c), c.Query("status"), settlement.Page{After: after, Limit: limit})
	}, func(e settlement.Exception) string { return e.ID })
}

// resolveException closes an exception with the clerk's reason (kept for the audit): it answers
// 200 with the exception as resolved, since resolving changes it rather than creating anything.
func (h *handlers) resolveException(c *fiber.Ctx) error {
	var in ResolveInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := h.d.Reconciliation.Resolve(c.UserContext(), callerOf(c), c.Params("id"), in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// settlementReport serves one report in the format asked: JSON for programs, CSV and XLSX for the
// filings clerks send on (G6). The report is computed once and only encoded per format. An unknown
// format falls back to JSON.
func (h *handlers) settlementReport(c *fiber.Ctx) error {
	r, err := h.d.Reconciliation.Report(c.UserContext(), callerOf(c), c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	// The format is read as every export reads it (exportFormat): an unknown one is refused, where
	// it once got JSON a spreadsheet could not open.
	format, err := exportFormat(c)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		body, err := r.CSV()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="settlement-report.csv"`)
		return c.Send(body)
	case "xlsx":
		body, err := r.XLSX()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="settlement-report.xlsx"`)
		return c.Send(body)
	}
	return c.JSON(r)
}
