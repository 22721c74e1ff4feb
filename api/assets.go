package api

import (
	"bytes"
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
)

// Assets is what the API needs of the asset register (D4/G2 asset cards and the ledger). Every
// call takes the caller: which holder's cards a caller may see or change is the service's rule,
// so the HTTP layer never filters results itself.
type Assets interface {
	Register(ctx context.Context, caller datavenue.Caller, in assets.Input) (assets.Asset, error)
	Update(ctx context.Context, caller datavenue.Caller, id assets.ID, expected int, reason string, in assets.Input) (assets.Asset, error)
	Card(ctx context.Context, caller datavenue.Caller, id assets.ID) (assets.Card, error)
	Versions(ctx context.Context, caller datavenue.Caller, id assets.ID) ([]assets.Version, error)
	Ledger(ctx context.Context, caller datavenue.Caller, f assets.Filter) ([]assets.Asset, error)
}

// AssetChange is the body of a card change: the version edited, why, and the new card. The
// version is an optimistic lock: two people editing the same card cannot silently overwrite each
// other's change (the second gets 409 and re-reads). The reason is kept with the new version, as a
// change or correction registration (D5) must say why.
type AssetChange struct {
	Version int    `json:"version" jsonschema:"minimum=1,description=the version you edited (409 if it changed meanwhile)"`
	Reason  string `json:"reason" jsonschema:"minLength=1,maxLength=500"`
	assets.Input
}

// ledgerParams are the ledger's filters, shared by the JSON list and the CSV and XLSX exports so
// that the three select the same cards.
var ledgerParams = []Param{
	{Name: "holder", In: "query", Description: "holder organisation id (default: your own, unless you are a bureau, auditor or appraiser)"},
	{Name: "category", In: "query", Description: "data_resource or data_asset"},
	{Name: "grade", In: "query", Description: "general, important or core"},
	{Name: "accounting_status", In: "query", Description: "not_booked, memorandum or booked"},
}

// assetRoutes: a card is changed with PUT (the whole card, replaced as a new version, the old ones
// kept for the history that D5's change and correction registrations need); the ledger is served
// as JSON pages for programs and as CSV and XLSX files with Chinese headers for the bureaus.
func (h *handlers) assetRoutes() []Route {
	idParam := []Param{{Name: "id", In: "path"}}
	return []Route{
		{"POST", "/v1/assets", Operation{ID: "registerAsset", Tag: "assets", Summary: "Register a data resource or data asset card",
			Description: "The holder (a government unit or state enterprise, operator role) registers its own asset. Cost components sum to the original cost; measurement at a nominal amount books 1.00 yuan (G4).",
			Auth:        true, Request: assets.Input{}, Response: assets.Asset{}, Status: 201, Errors: []int{403}}, h.registerAsset},
		{"GET", "/v1/assets", Operation{ID: "listAssets", Tag: "assets", Summary: "The ledger (台账) as JSON", Auth: true,
			Params: append(append([]Param{}, ledgerParams...), limitParam, cursorParam), Response: Page[assets.Asset]{}, Errors: []int{403, 422}}, h.listAssets},
		{"GET", "/v1/assets/:id", Operation{ID: "getAsset", Tag: "assets", Summary: "An asset card with its usage information", Auth: true,
			Params: idParam, Response: assets.Card{}, Errors: []int{404}}, h.getAsset},
		{"PUT", "/v1/assets/:id", Operation{ID: "changeAsset", Tag: "assets", Summary: "Change a card (kept as a new version)", Auth: true,
			Params: idParam, Request: AssetChange{}, Response: assets.Asset{}, Errors: []int{403, 404, 409}}, h.changeAsset},
		{"GET", "/v1/assets/:id/versions", Operation{ID: "assetVersions", Tag: "assets", Summary: "Every version of a card, oldest first", Auth: true,
			Params: idParam, Response: []assets.Version{}, Errors: []int{404}}, h.assetVersions},
		{"GET", "/v1/ledger.csv", Operation{ID: "ledgerCSV", Tag: "assets", Summary: "The ledger as CSV (UTF-8 with BOM, Chinese headers)", Auth: true,
			Params: ledgerParams, ContentType: "text/csv", Errors: []int{403, 422}}, h.ledgerCSV},
		{"GET", "/v1/ledger.xlsx", Operation{ID: "ledgerXLSX", Tag: "assets", Summary: "The ledger as an XLSX workbook with Chinese headers", Auth: true,
			Params: ledgerParams, ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Errors: []int{403, 422}}, h.ledgerXLSX},
	}
}

// registerAsset creates a card for the caller's own organisation (the holder registers its own
// assets); the Location is the card, read back with its usage information.
func (h *handlers) registerAsset(c *fiber.Ctx) error {
	return create(c, h.d.Assets.Register, func(a assets.Asset) string { return "/v1/assets/" + string(a.ID) })
}

// ledgerFilter passes the filters as sent: the service checks the values (422 naming the field) and
// narrows a holder to its own cards.
func ledgerFilter(c *fiber.Ctx) assets.Filter {
	return assets.Filter{Holder: datavenue.OrgID(c.Query("holder")), Category: c.Query("category"),
		Grade: c.Query("grade"), AccountingStatus: c.Query("accounting_status")}
}

func (h *handlers) listAssets(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]assets.Asset, error) {
		f := ledgerFilter(c)
		f.After, f.Limit = assets.ID(after), limit
		return h.d.Assets.Ledger(c.UserContext(), callerOf(c), f)
	}, func(a assets.Asset) string { return string(a.ID) })
}

func (h *handlers) getAsset(c *fiber.Ctx) error {
	card, err := h.d.Assets.Card(c.UserContext(), callerOf(c), assets.ID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(card)
}

// changeAsset is written out rather than with update because the version and the reason travel
// in the body beside the card, and the service takes them as arguments of their own.
func (h *handlers) changeAsset(c *fiber.Ctx) error {
	var body AssetChange
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	a, err := h.d.Assets.Update(c.UserContext(), callerOf(c), assets.ID(c.Params("id")), body.Version, body.Reason, body.Input)
	if err != nil {
		return err
	}
	// The new version as an ETag: what the client sends as "version" in its next change.
	c.Set(fiber.HeaderETag, strconv.Quote(strconv.Itoa(a.Version)))
	return c.JSON(a)
}

// assetVersions lists every version of a card, oldest first, with the reason each change gave:
// the card's registration history (D5: change and correction registrations).
func (h *handlers) assetVersions(c *fiber.Ctx) error {
	versions, err := h.d.Assets.Versions(c.UserContext(), callerOf(c), assets.ID(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(versions)
}

// ledger reads the whole filtered ledger for the exports: a ledger (台账) is filed and inventoried
// as one document (D4/G2), so the files are not paged like the JSON list. The store answers at most
// ledgerPage cards a call; the export reads page after page (keyset on the id) to the last card, so a
// holder with more cards than one page still gets its whole ledger, never a file silently cut.
func (h *handlers) ledger(c *fiber.Ctx) ([]assets.Asset, error) {
	const ledgerPage = 1000
	var all []assets.Asset
	f := ledgerFilter(c)
	f.Limit = ledgerPage
	for {
		page, err := h.d.Assets.Ledger(c.UserContext(), callerOf(c), f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < ledgerPage {
			return all, nil
		}
		f.After = page[len(page)-1].ID
	}
}

func (h *handlers) ledgerCSV(c *fiber.Ctx) error {
	rows, err := h.ledger(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := assets.WriteCSV(&buf, rows); err != nil {
		return err
	}
	// attachment: a browser saves the file rather than showing CSV text; the charset matches the
	// BOM that WriteCSV puts first for Excel.
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="ledger.csv"`)
	return c.Send(buf.Bytes())
}

func (h *handlers) ledgerXLSX(c *fiber.Ctx) error {
	rows, err := h.ledger(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := assets.WriteXLSX(&buf, rows); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="ledger.xlsx"`)
	return c.Send(buf.Bytes())
}
