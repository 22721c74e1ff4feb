package console

import "github.com/gofiber/fiber/v2"

// The operator's day beyond its products and the gate: asset cards, prices, auctions,
// negotiations, orders, deliveries and usage. Its pages and the policy operations each one calls
// are added to pageOps here (one place, so the console's own table stays short), and Mount checks
// them against the access policy with the rest.
func init() {
	for page, ops := range map[string][]string{
		"assets":       {"listAssets"},
		"asset":        {"getAsset", "assetVersions", "listCertificates"},
		"price":        {"getProduct", "changePrice", "priceHistory"},
		"opauctions":   {"listAuctions", "openAuction", "listProducts"},
		"negotiations": {"listNegotiations"},
		"negotiation":  {"getNegotiation", "moveNegotiation"},
		"oporders":     {"listOrders", "getProduct"},
		"deliver":      {"recordDelivery"},
		"usage":        {"usageReport"},
	} {
		pageOps[page] = ops
	}
	// Each is on the menu for the roles that do the operator's work (the publish step's roles).
	menu = append(menu[:1:1], append([]menuItem{
		{page: "assets", path: "/manage/assets", work: "publish"}, {page: "opauctions", path: "/manage/auctions", work: "publish"},
		{page: "negotiations", path: "/manage/negotiations", work: "publish"}, {page: "oporders", path: "/manage/orders", work: "publish"},
		// The subscriptions it sells (their pages are the buyer's pages from the other side:
		// buyer_subscriptions.go).
		{page: "opsubscriptions", path: "/manage/subscriptions", work: "publish"},
	}, menu[1:]...)...)
	pageNames = append(pageNames, "op-assets", "op-asset", "op-price", "op-auctions", "op-negotiations", "op-negotiation", "op-orders", "op-usage")
}

// mountOperator adds the operator's routes under the console's group (after its products').
func (c *Console) mountOperator(g fiber.Router) {
	g.Get("/manage/assets", c.session(true), c.page("assets"), c.myAssets)
	// The new card's form before /manage/assets/:id, which would take "new" for an id.
	g.Get("/manage/assets/new", c.session(true), c.page("assetnew"), c.newAssetForm)
	g.Post("/manage/assets/new", c.session(true), c.csrf, c.page("assetnew"), c.registerAsset)
	g.Get("/manage/assets/:id", c.session(true), c.page("asset"), c.myAsset)
	g.Get("/manage/assets/:id/edit", c.session(true), c.page("assetedit"), c.editAssetForm)
	g.Post("/manage/assets/:id/edit", c.session(true), c.csrf, c.page("assetedit"), c.changeAsset)
	g.Get("/manage/prices/:id", c.session(true), c.page("price"), c.priceForm)
	g.Get("/manage/agreements/:id", c.session(true), c.page("agreement"), c.agreementForm)
	g.Post("/manage/agreements/:id", c.session(true), c.csrf, c.page("agreement"), c.setAgreement)
	g.Post("/manage/prices/:id", c.session(true), c.csrf, c.page("price"), c.changePrice)
	g.Get("/manage/auctions", c.session(true), c.page("opauctions"), c.opAuctions)
	g.Post("/manage/auctions", c.session(true), c.csrf, c.page("opauctions"), c.openAuction)
	g.Get("/manage/negotiations", c.session(true), c.page("negotiations"), c.opNegotiations)
	g.Get("/manage/negotiations/:id", c.session(true), c.page("negotiation"), c.opNegotiation)
	g.Post("/manage/negotiations/:id", c.session(true), c.csrf, c.page("negotiation"), c.moveNegotiation)
	g.Get("/manage/orders", c.session(true), c.page("oporders"), c.opOrders)
	g.Post("/manage/orders/:id/delivery", c.session(true), c.csrf, c.page("deliver"), c.deliver)
	g.Get("/manage/usage", c.session(true), c.page("usage"), c.usage)
	g.Get("/manage/usage/:format", c.session(true), c.page("usage"), c.usageFile)
}
