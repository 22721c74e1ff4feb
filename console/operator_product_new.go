package console

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
)

// A new product, made as a draft (the API's createProduct) from one of the operator's scenario
// authorisations: the authorisation gives the source asset, the scenario and the use (D9, N1),
// so the form asks for neither; the rest of the product is typed. The draft then goes through
// the publishing gate on its own page, where every condition is checked.
//
// The form sells a product once (charging unit one_off); a product sold as a subscription, with
// its plan, or derived from several assets, is created through the API.
//
// A draft (or a submitted product, which goes back to draft) is edited with the same form (the
// API's editProduct, with the version read as its optimistic lock): its source assets,
// scenario, use and allow and deny lists stay as they are, and so do a charging unit and a
// subscription plan the form does not show, unless the pricing method is changed.

func init() {
	pageOps["productnew"] = []string{"createProduct", "listAuthorisations", "listCertificates"}
	pageOps["productedit"] = []string{"getProduct", "editProduct"}
	pageNames = append(pageNames, "op-product-new")
}

// productFields are the form's single-valued fields, by their API names (pricing ones prefixed).
var productFields = []string{"authorisation", "title", "title_en", "description", "description_en", "product_type", "domain", "keywords",
	"delivery_method", "format", "content_hash", "endpoint", "update_frequency", "schema", "sample", "duration_days", "permitted_use",
	"method", "list_price", "min_price", "max_price", "base_price", "float_percent", "appraisal_id", "reserve_percent",
	"auction_kind", "reserve", "opening_price", "increment", "deposit", "start_at", "end_at"}

type productNewData struct {
	// Edit is the product edited (nil: a new one).
	Edit                                                    *listing.Product
	Grants                                                  []grantChoice
	Values                                                  map[string]string
	Onward                                                  bool
	Types, Domains, Frequencies, Methods, Kinds, Deliveries []string
	CSRF, Key                                               string
	Problem                                                 string
	Conditions                                              []condition
}

// grantChoice is an authorisation as the form offers it: with its asset's name.
type grantChoice struct {
	certificates.Authorisation
	AssetName string
}

func (c *Console) newProductForm(ctx *fiber.Ctx) error {
	return c.renderProductNew(ctx, nil, map[string]string{"product_type": "dataset", "domain": "transport", "delivery_method": "file",
		"update_frequency": "daily", "duration_days": "365", "method": listing.MethodNegotiation, "auction_kind": "english",
		"schema": "{}", "sample": "[]"}, false, "", nil)
}

func (c *Console) renderProductNew(ctx *fiber.Ctx, edit *listing.Product, values map[string]string, onward bool, problem string, conds []condition) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	d := productNewData{Values: values, Onward: onward, Types: listing.ProductTypes, Domains: listing.Domains, Frequencies: assets.UpdateFrequencies,
		Methods: []string{listing.MethodNegotiation, listing.MethodAuction, listing.MethodAppraisal, listing.MethodGuided, listing.MethodFree},
		Kinds:   []string{"english", "sealed_first", "sealed_second"}, Deliveries: []string{"file", "api", "sandbox"},
		CSRF: s.CSRF, Key: randomToken(), Problem: problem, Conditions: conds, Edit: edit}
	if edit != nil {
		return c.render(ctx, "op-product-new", l.T("productedit.title")+"："+displayTitle(l, *edit), d)
	}
	// The caller's active authorisations, newest first (one page: an operator holds few).
	grants, err := c.d.Grants.Authorisations(cx, s.Caller, certificates.GrantFilter{Operator: s.Caller.Org, Status: "active", Limit: listLimit})
	if err != nil {
		return err
	}
	for _, g := range grants {
		choice := grantChoice{Authorisation: g, AssetName: string(g.AssetID)}
		// The asset's name from its newest certificate (public; the card itself is the holder's
		// to read), or its id if none is issued.
		certs, err := c.d.Certificates.Certificates(cx, certificates.CertificateFilter{AssetID: g.AssetID, Limit: 1})
		if err != nil {
			return err
		}
		if len(certs) > 0 {
			choice.AssetName = certs[0].AssetName
		}
		d.Grants = append(d.Grants, choice)
	}
	return c.render(ctx, "op-product-new", l.T("productnew.title"), d)
}

// productForm reads the form's values as the API's body, but for what the authorisation (or, for
// an edit, the product) decides; a JSON field that is not JSON and a licence that is not a number
// of days are refused before the service, as conditions.
func productForm(ctx *fiber.Ctx, base listing.PricingInput) (listing.Input, map[string]string, bool, []condition) {
	values := map[string]string{}
	for _, name := range productFields {
		values[name] = strings.TrimSpace(ctx.FormValue(name))
	}
	onward := ctx.FormValue("onward_transfer") == "on"
	in := listing.Input{Title: values["title"], TitleEN: values["title_en"], Description: values["description"], DescriptionEN: values["description_en"],
		ProductType: values["product_type"], Domain: values["domain"], Keywords: keywordsOf(values["keywords"]),
		Delivery:        listing.Delivery{Method: values["delivery_method"], Format: values["format"], ContentHash: values["content_hash"], Endpoint: values["endpoint"]},
		UpdateFrequency: values["update_frequency"], Licence: listing.Licence{PermittedUse: values["permitted_use"], OnwardTransfer: onward},
		Pricing: pricingOf(values, base)}
	var conds []condition
	for _, name := range []string{"schema", "sample"} {
		if !json.Valid([]byte(values[name])) {
			conds = append(conds, condition{Code: "invalid_json", Field: name, Message: "not JSON (an object for the schema, a synthetic sample for the sample)"})
		}
	}
	in.Schema, in.Sample = json.RawMessage(values["schema"]), json.RawMessage(values["sample"])
	var err error
	if in.Licence.DurationDays, err = strconv.Atoi(values["duration_days"]); err != nil {
		conds = append(conds, condition{Code: "invalid_number", Field: "licence.duration_days", Message: "a whole number of days"})
	}
	return in, values, onward, conds
}

// createProduct makes the draft from the form and lands on its gate.
func (c *Console) createProduct(ctx *fiber.Ctx) error {
	s, cx := sessionOf(ctx), ctx.UserContext()
	in, values, onward, conds := productForm(ctx, listing.PricingInput{ChargingUnit: "one_off"})
	// The authorisation is read again here, not trusted from the page: it must still be the
	// caller's and active; its asset, scenario and purpose make the product's.
	g, err := c.d.Grants.Authorisation(cx, s.Caller, values["authorisation"])
	switch {
	case err == nil && g.OperatorID == s.Caller.Org && g.Status == "active":
		in.SourceAssets, in.Scenario, in.UseCategory = []assets.ID{g.AssetID}, g.Scenario, g.Purpose
	case err == nil || datavenue.KindOf(err) == datavenue.KindNotFound:
		conds = append(conds, condition{Code: "authorisation_required", Field: "authorisation", Message: "pick one of your active authorisations"})
	default:
		return err
	}
	if len(conds) > 0 {
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderProductNew(ctx, nil, values, onward, lang(ctx).T("productnew.refused.form"), conds)
	}
	err = c.onceTo(ctx, func() (string, error) {
		p, err := c.d.Listing.Create(cx, s.Caller, in)
		return Prefix + "/manage/products/" + p.ID + "?done=created", err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(refusalStatus(err))
		return c.renderProductNew(ctx, nil, values, onward, text, conditionsOf(err))
	}
	return err
}

// editProductForm shows a product's form filled with the product as it is.
func (c *Console) editProductForm(ctx *fiber.Ctx) error {
	p, err := c.d.Listing.Get(ctx.UserContext(), sessionOf(ctx).Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	return c.renderProductNew(ctx, &p, productValues(p), p.Licence.OnwardTransfer, "", nil)
}

// updateProduct saves the form over the version it was made from and lands on the product's gate.
func (c *Console) updateProduct(ctx *fiber.Ctx) error {
	s, cx, id := sessionOf(ctx), ctx.UserContext(), ctx.Params("id")
	p, err := c.d.Listing.Get(cx, s.Caller, id)
	if err != nil {
		return err
	}
	in, values, onward, conds := productForm(ctx, pricingInputOf(p.Pricing))
	in.SourceAssets, in.Scenario, in.UseCategory, in.AllowList, in.DenyList = p.SourceAssets, p.Scenario, p.UseCategory, p.AllowList, p.DenyList
	// The version the form was made from, so that a change made meanwhile is refused, not overwritten.
	version, _ := strconv.Atoi(ctx.FormValue("version"))
	edited := p
	edited.Version = version
	if len(conds) > 0 {
		ctx.Status(fiber.StatusUnprocessableEntity)
		return c.renderProductNew(ctx, &edited, values, onward, lang(ctx).T("productnew.refused.form"), conds)
	}
	err = c.onceTo(ctx, func() (string, error) {
		q, err := c.d.Listing.Update(cx, s.Caller, id, version, in)
		return Prefix + "/manage/products/" + q.ID + "?done=edited", err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(refusalStatus(err))
		return c.renderProductNew(ctx, &edited, values, onward, text, conditionsOf(err))
	}
	return err
}

// productValues is a product as the form's values.
func productValues(p listing.Product) map[string]string {
	pr := pricingInputOf(p.Pricing)
	v := map[string]string{"title": p.Title, "title_en": p.TitleEN, "description": p.Description, "description_en": p.DescriptionEN,
		"product_type": p.ProductType, "domain": p.Domain, "keywords": strings.Join(p.Keywords, "，"), "delivery_method": p.Delivery.Method,
		"format": p.Delivery.Format, "content_hash": p.Delivery.ContentHash, "endpoint": p.Delivery.Endpoint, "update_frequency": p.UpdateFrequency,
		"schema": string(p.Schema), "sample": string(p.Sample), "duration_days": strconv.Itoa(p.Licence.DurationDays),
		"permitted_use": p.Licence.PermittedUse, "method": pr.Method}
	for _, fields := range methodFields {
		for _, name := range fields {
			v[name] = inputValue(pr, name)
		}
	}
	v["start_at"], v["end_at"] = localTime(pr.StartAt), localTime(pr.EndAt)
	if v["auction_kind"] == "" {
		v["auction_kind"] = "english"
	}
	return v
}

// keywordsOf splits the keywords at commas, Chinese commas and enumeration commas.
func keywordsOf(v string) []string {
	var out []string
	for _, k := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// methodFields are the form's amounts of each pricing method (the free method has none).
var methodFields = map[string][]string{
	listing.MethodNegotiation: {"list_price", "min_price", "max_price"},
	listing.MethodGuided:      {"base_price", "float_percent", "list_price"},
	listing.MethodAppraisal:   {"appraisal_id", "list_price", "reserve_percent"},
	listing.MethodAuction:     {"auction_kind", "reserve", "opening_price", "increment", "deposit", "start_at", "end_at"},
}

// pricingOf is the pricing input of the method chosen, from its fields only: an amount typed
// under another method is not sent. base is the pricing as it is (an edit), kept for what the
// form does not show (the charging unit, a subscription plan, an auction's anti-sniping minutes)
// while the method stays; a new method starts afresh but for the charging unit and plan.
func pricingOf(v map[string]string, base listing.PricingInput) listing.PricingInput {
	in := base
	if v["method"] != base.Method {
		in = listing.PricingInput{Method: v["method"], ChargingUnit: base.ChargingUnit, Subscription: base.Subscription}
	}
	// Each method's own fields, and only those.
	for _, name := range methodFields[in.Method] {
		setInput(&in, name, v[name])
	}
	return in
}
