package console

import (
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
)

// facetOrder is the order the catalogue shows its facets in, with the message prefix of each
// facet's values.
var facetOrder = []struct{ Key, Kind string }{
	{"domain", "domain"}, {"product_type", "type"}, {"pricing_method", "method"}, {"use_category", "use"},
}

type facetValue struct {
	Key, Value, Label string
	Href              template.URL // the catalogue with this value chosen (a link: facets work without script)
	Count             int
	Selected          bool
}

type facet struct {
	Key, Label string
	Values     []facetValue
	ClearHref  template.URL
	Selected   bool
}

type catalogueData struct {
	Q, Sort string
	Sorts   []facetValue
	Total   string
	Facets  []facet
	Next    template.URL
	Entries []entryView
}

type entryView struct {
	listing.Entry
	DisplayTitle string
}

// catalogue is the catalogue search with facets: the same search the API answers at
// /v1/catalogue (listing's rules: validation, ranking, facet counts), as a page.
func (c *Console) catalogue(ctx *fiber.Ctx) error {
	l := lang(ctx)
	q, _ := url.ParseQuery(string(ctx.Request().URI().QueryString()))
	in := listing.SearchInput{Q: q.Get("q"), Domain: q.Get("domain"), ProductType: q.Get("product_type"),
		PricingMethod: q.Get("pricing_method"), UseCategory: q.Get("use_category"), Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: 20}
	res, err := c.d.Listing.Search(ctx.UserContext(), in)
	if err != nil {
		return err
	}
	d := catalogueData{Q: in.Q, Sort: in.Sort}
	d.Total = fmt.Sprintf(l.T("catalogue.total"), strconv.Itoa(res.Total))
	for _, s := range listing.Sorts {
		d.Sorts = append(d.Sorts, facetValue{Value: s, Label: l.T("sort." + s), Selected: s == in.Sort})
	}
	for _, f := range facetOrder {
		counts := res.Facets[f.Key]
		chosen := q.Get(f.Key)
		fv := facet{Key: f.Key, Label: l.T("facet." + f.Key), ClearHref: catalogueHref(q, f.Key, ""), Selected: chosen != ""}
		for v, n := range counts {
			fv.Values = append(fv.Values, facetValue{Key: f.Key, Value: v, Label: l.Code(f.Kind, v), Count: n, Selected: v == chosen,
				Href: catalogueHref(q, f.Key, v)})
		}
		sort.Slice(fv.Values, func(i, j int) bool {
			if fv.Values[i].Count != fv.Values[j].Count {
				return fv.Values[i].Count > fv.Values[j].Count
			}
			return fv.Values[i].Value < fv.Values[j].Value
		})
		d.Facets = append(d.Facets, fv)
	}
	for _, e := range res.Data {
		t := e.Title
		if l == English && e.TitleEN != "" {
			t = e.TitleEN
		}
		d.Entries = append(d.Entries, entryView{Entry: e, DisplayTitle: t})
	}
	if res.NextCursor != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", res.NextCursor)
		d.Next = template.URL(Prefix + "/catalogue?" + next.Encode())
	}
	return c.render(ctx, "catalogue", l.T("catalogue.title"), d)
}

type productData struct {
	P            listing.Product
	Title        string
	Description  string
	Operator     string
	Price        string
	Certificates []certificates.Certificate
	Guidance     *matching.Guidance
	Auctions     []matching.Record // its open auctions
	CanNegotiate bool              // a buyer may open a negotiation on it (buyer_negotiations.go)
	// FreeUse offers the free-use button (buyer_subscriptions.go), with the form's token and key
	// and the service's refusal when the button was refused.
	FreeUse        bool
	CSRF, Key      string
	FreeUseRefused string
}

// product is a published product as a buyer weighs it: its certificates (those of its source
// assets), the scope it is authorised for, and the price guidance with the cap in force.
func (c *Console) product(ctx *fiber.Ctx) error { return c.renderProduct(ctx, "") }

// renderProduct is the product page; refused is the free-use service's refusal, shown beside its
// button.
func (c *Console) renderProduct(ctx *fiber.Ctx, refused string) error {
	l := lang(ctx)
	cx := ctx.UserContext()
	p, err := c.d.Listing.Public(cx, ctx.Params("id"))
	if err != nil {
		return err
	}
	d := productData{P: p, Title: p.Title, Description: p.Description, Operator: string(p.OperatorID), Price: askingPrice(p.Pricing)}
	if l == English && p.TitleEN != "" {
		d.Title = p.TitleEN
	}
	if l == English && p.DescriptionEN != "" {
		d.Description = p.DescriptionEN
	}
	if org, err := c.d.Organisations.Get(cx, p.OperatorID); err == nil {
		d.Operator = org.Name
		if l == English && org.NameEN != "" {
			d.Operator = org.NameEN
		}
	}
	for _, a := range p.SourceAssets {
		list, err := c.d.Certificates.Certificates(cx, certificates.CertificateFilter{AssetID: a, Limit: 20})
		if err != nil {
			return err
		}
		d.Certificates = append(d.Certificates, list...)
	}
	if g, err := c.d.Guidance(cx, p.ID); err == nil {
		d.Guidance = &g
	} else {
		c.o.Logger.WarnContext(cx, "console: pricing guidance", "product", p.ID, "error", err.Error())
	}
	d.CanNegotiate = allowed("negotiate", sessionOf(ctx).Caller.Role) && (p.Pricing.Method == listing.MethodNegotiation || p.Pricing.Method == listing.MethodGuided)
	if d.FreeUse = freeUse(p, sessionOf(ctx).Caller.Role); d.FreeUse {
		d.CSRF, d.Key, d.FreeUseRefused = sessionOf(ctx).CSRF, randomToken(), refused
	}
	if p.Pricing.Method == "auction" {
		if d.Auctions, err = c.d.Auctions.List(cx, matching.AuctionFilter{ProductID: p.ID, Status: "open", Limit: 10}); err != nil {
			return err
		}
	}
	return c.render(ctx, "product", d.Title, d)
}

// catalogueHref is the catalogue with key set to value (removed when value is empty), the rest of
// the search kept and the page cursor dropped: a facet link.
func catalogueHref(q url.Values, key, value string) template.URL {
	out := url.Values{}
	for k, v := range q {
		if k != "cursor" && k != "lang" {
			out[k] = v
		}
	}
	if value == "" {
		out.Del(key)
	} else {
		out.Set(key, value)
	}
	return template.URL(Prefix + "/catalogue?" + out.Encode())
}

// askingPrice is the price a product page states: the asking price, else the reserve (an
// auction's or an appraisal's), else none.
func askingPrice(p listing.Pricing) string {
	switch {
	case p.ListPrice != nil:
		return p.ListPrice.String()
	case p.Reserve != nil:
		return p.Reserve.String()
	}
	return ""
}
