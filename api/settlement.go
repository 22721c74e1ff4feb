package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// Settlement is what the API needs of the settlement service.
type Settlement interface {
	SetAgreement(ctx context.Context, caller datavenue.Caller, productID string, in settlement.AgreementInput) (settlement.Agreement, error)
	Agreement(ctx context.Context, productID string) (settlement.Agreement, error)
	RecordPayment(ctx context.Context, caller datavenue.Caller, orderID string, in settlement.PaymentInput) (settlement.Order, error)
	Order(ctx context.Context, caller datavenue.Caller, id string) (settlement.Order, error)
	Orders(ctx context.Context, caller datavenue.Caller, status string) ([]settlement.Order, error)
	Obligations(ctx context.Context, caller datavenue.Caller, status string, overdueOnly bool) ([]settlement.Obligation, error)
}

func (h *handlers) settlementRoutes() []Route {
	id := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"PUT", "/v1/products/:id/agreement", Operation{ID: "setAgreement", Tag: "settlement", Summary: "Add a version of the product's contribution agreement (operator)",
			Description: "Parties with agreed ratios (basis ratio) or input costs per stage (basis cost: production, collection, processing, circulation); the venue's fee is the party with role venue_fee. A trade settles by the version in force when it was made.",
			Auth:        true, Params: id, Request: settlement.AgreementInput{}, Response: settlement.Agreement{}, Status: 201, Errors: []int{403, 404}}, h.setAgreement},
		{"GET", "/v1/products/:id/agreement", Operation{ID: "getAgreement", Tag: "settlement", Summary: "The product's current contribution agreement", Auth: true,
			Params: id, Response: settlement.Agreement{}, Errors: []int{404}}, h.getAgreement},
		{"GET", "/v1/orders", Operation{ID: "listOrders", Tag: "settlement", Summary: "Settlement orders (a party's own; clerks, bureaus and auditors all)", Auth: true,
			Params: []Param{{Name: "status", In: "query"}}, Response: List[settlement.Order]{}}, h.listOrders},
		{"GET", "/v1/orders/:id", Operation{ID: "getOrder", Tag: "settlement", Summary: "An order with its shares and obligations", Auth: true,
			Params: id, Response: settlement.Order{}, Errors: []int{404}}, h.getOrder},
		{"POST", "/v1/orders/:id/payment", Operation{ID: "recordPayment", Tag: "settlement", Summary: "Record a payment (clerk): split, ledger postings, treasury and filing obligations",
			Auth: true, Params: id, Request: settlement.PaymentInput{}, Response: settlement.Order{}, Errors: []int{403, 404, 409}}, h.recordPayment},
		{"GET", "/v1/obligations", Operation{ID: "listObligations", Tag: "settlement", Summary: "Treasury remittance and supervisor filing obligations, overdue flagged",
			Auth: true, Params: []Param{{Name: "status", In: "query", Description: "due, remitted or filed"}, {Name: "overdue", In: "query", Description: "true: only overdue ones"}},
			Response: List[settlement.Obligation]{}, Errors: []int{403}}, h.listObligations},
	}
}

func (h *handlers) setAgreement(c *fiber.Ctx) error {
	var in settlement.AgreementInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	a, err := h.d.Settlement.SetAgreement(c.UserContext(), callerOf(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return created(c, "/v1/products/"+a.ProductID+"/agreement", a)
}

func (h *handlers) getAgreement(c *fiber.Ctx) error {
	a, err := h.d.Settlement.Agreement(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(a)
}

func (h *handlers) listOrders(c *fiber.Ctx) error {
	orders, err := h.d.Settlement.Orders(c.UserContext(), callerOf(c), c.Query("status"))
	if err != nil {
		return err
	}
	return c.JSON(list(orders))
}

func (h *handlers) getOrder(c *fiber.Ctx) error {
	o, err := h.d.Settlement.Order(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

func (h *handlers) recordPayment(c *fiber.Ctx) error {
	var in settlement.PaymentInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	o, err := h.d.Settlement.RecordPayment(c.UserContext(), callerOf(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

func (h *handlers) listObligations(c *fiber.Ctx) error {
	obligations, err := h.d.Settlement.Obligations(c.UserContext(), callerOf(c), c.Query("status"), c.Query("overdue") == "true")
	if err != nil {
		return err
	}
	return c.JSON(list(obligations))
}

// Vouchers is what the API needs for delivery, confirmation and vouchers.
type Vouchers interface {
	Deliver(ctx context.Context, caller datavenue.Caller, orderID string, d settlement.Delivery) (settlement.Order, error)
	Confirm(ctx context.Context, caller datavenue.Caller, orderID string) (settlement.Voucher, error)
	Voucher(ctx context.Context, id string) (settlement.Voucher, error)
}

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

func (h *handlers) recordDelivery(c *fiber.Ctx) error {
	var d settlement.Delivery
	if err := decodeJSON(c, &d); err != nil {
		return err
	}
	o, err := h.d.Vouchers.Deliver(c.UserContext(), callerOf(c), c.Params("id"), d)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

func (h *handlers) confirmDelivery(c *fiber.Ctx) error {
	v, err := h.d.Vouchers.Confirm(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return created(c, "/v1/vouchers/"+v.ID, v)
}

func (h *handlers) getVoucher(c *fiber.Ctx) error {
	v, err := h.d.Vouchers.Voucher(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h *handlers) voucherDocument(c *fiber.Ctx) error {
	v, err := h.d.Vouchers.Voucher(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/jose")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+v.ID+`.jws"`)
	return c.SendString(v.Document)
}
