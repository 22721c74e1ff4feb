package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
)

// The operator's asset cards: its ledger (the API's listAssets), and each card with its usage,
// every version side by side (assetVersions: D5's change and correction registrations keep each
// version) and the certificates issued on it (listCertificates). Code values (category, grade,
// update frequency, acquisition mode, rights) are shown by their names in the page's language.

type assetsData struct {
	// CanRegister: the role registers cards (the holder's operator role); the service decides
	// whether its organisation holds data it may register.
	CanRegister bool
	Category    string
	Rows        []assets.Asset
	Next        string
}

// myAssets is the caller's ledger (an overseer's: every holder's), by category.
func (c *Console) myAssets(ctx *fiber.Ctx) error {
	l, s := lang(ctx), sessionOf(ctx)
	d := assetsData{Category: ctx.Query("category"), CanRegister: allowed("assetnew", s.Caller.Role)}
	// No holder is passed: the service narrows a holder to its own ledger (and refuses another's),
	// so the page cannot show what the API would not.
	list, err := c.d.Assets.Ledger(ctx.UserContext(), s.Caller, assets.Filter{Category: d.Category, After: assets.ID(ctx.Query("cursor")), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Rows = list
	if len(list) == listLimit {
		d.Next = fmt.Sprintf("%s/manage/assets?category=%s&cursor=%s", Prefix, d.Category, list[len(list)-1].ID)
	}
	return c.render(ctx, "op-assets", l.T("assets.title"), d)
}

type assetData struct {
	// CanChange: the caller's organisation holds the card and its role changes cards.
	CanChange    bool
	Done         string // registered or changed, after the form
	Card         assets.Card
	Versions     []assets.Version
	Heads        []versionHead // each version's number and when it was made (China Standard Time)
	Fields       []versionRow  // the card's fields across its versions, oldest version first
	Certificates []certificates.Certificate
}

type versionHead struct {
	Version int
	At      string
}

// versionRow is one field of the card in every version: a cell is marked changed when it differs
// from the version before it, so a change registration's effect is read across the row.
type versionRow struct {
	Label string
	Cells []versionCell
}

type versionCell struct {
	Value   string
	Changed bool
}

// myAsset is one card: its current state and usage, its versions side by side, its certificates.
func (c *Console) myAsset(ctx *fiber.Ctx) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	id := assets.ID(ctx.Params("id"))
	card, err := c.d.Assets.Card(cx, s.Caller, id)
	if err != nil {
		return err
	}
	d := assetData{Card: card, CanChange: allowed("assetedit", s.Caller.Role) && card.HolderID == s.Caller.Org, Done: ctx.Query("done")}
	if d.Done != "registered" && d.Done != "changed" {
		d.Done = ""
	}
	if d.Versions, err = c.d.Assets.Versions(cx, s.Caller, id); err != nil {
		return err
	}
	// Every certificate version issued on the card (newest first), superseded and cancelled ones
	// included: which version of the card each one certified is part of the history.
	if d.Certificates, err = c.d.Certificates.Certificates(cx, certificates.CertificateFilter{AssetID: id, Limit: listLimit}); err != nil {
		return err
	}
	d.Fields = versionRows(l, d.Versions)
	for _, v := range d.Versions {
		d.Heads = append(d.Heads, versionHead{Version: v.Version, At: v.ChangedAt.In(cst).Format("2006-01-02 15:04")})
	}
	return c.render(ctx, "op-asset", card.Name, d)
}

// versionRows lays the versions' snapshots out field by field, each value named in the language.
func versionRows(l Lang, versions []assets.Version) []versionRow {
	fields := []struct {
		label string
		get   func(a assets.Asset) string
	}{
		{"card.name", func(a assets.Asset) string { return a.Name }},
		{"card.category", func(a assets.Asset) string { return l.Code("category", a.Category) }},
		{"card.summary", func(a assets.Asset) string { return a.Summary }},
		{"card.classification", func(a assets.Asset) string { return l.Code("domain", a.Classification) }},
		{"card.grade", func(a assets.Asset) string { return l.Code("grade", a.Grade) }},
		{"card.rights", func(a assets.Asset) string { return codes(l, "right", a.Rights) }},
		{"card.source", func(a assets.Asset) string { return a.Source }},
		{"card.scale", func(a assets.Asset) string { return a.Scale }},
		{"card.frequency", func(a assets.Asset) string { return l.Code("frequency", a.UpdateFrequency) }},
		{"card.acquisition", func(a assets.Asset) string { return l.Code("acquisition", a.AcquisitionMode) }},
		{"card.cost", func(a assets.Asset) string { return a.OriginalCost.String() }},
		{"card.measurement", func(a assets.Asset) string { return l.Code("measurement", a.MeasurementBasis) }},
		{"card.book_value", func(a assets.Asset) string { return a.BookValue.String() }},
		{"card.accounting", func(a assets.Asset) string { return l.Code("accounting", a.AccountingStatus) }},
	}
	// Values are compared as shown (names, not codes), which is what a person reads across a row;
	// two codes with one name would hide a change, and no code list has such a pair.
	rows := make([]versionRow, 0, len(fields))
	for _, f := range fields {
		row := versionRow{Label: l.T(f.label)}
		for i, v := range versions {
			cell := versionCell{Value: f.get(v.Snapshot)}
			cell.Changed = i > 0 && cell.Value != row.Cells[i-1].Value
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	return rows
}

// codes names each code of a list, joined as the language lists things.
func codes(l Lang, kind string, values []string) string {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = l.Code(kind, v)
	}
	if l == English {
		return strings.Join(names, ", ")
	}
	return strings.Join(names, "、")
}
