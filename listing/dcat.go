package listing

import (
	"time"
)

// DCAT-AP (the EU application profile of W3C DCAT 2/3) is what catalogue harvesters such as CKAN's
// DCAT extension and dataspace connectors read. A product becomes a dcat:Dataset (a dcat:DataService
// for API products) with its titles and descriptions as language-tagged literals, its publisher
// (the operator), theme (domain), keywords, licence terms as dct:rights, periodicity, and one
// distribution describing how it is delivered. Prices are not DCAT vocabulary; they are given as a
// schema.org Offer, which DCAT-AP allows as an extension.

// dcatContext is the JSON-LD context of every document (a fresh map each time: callers add to it).
func dcatContext() map[string]any {
	return map[string]any{
		"dcat":   "http://www.w3.org/ns/dcat#",
		"dct":    "http://purl.org/dc/terms/",
		"foaf":   "http://xmlns.com/foaf/0.1/",
		"xsd":    "http://www.w3.org/2001/XMLSchema#",
		"schema": "http://schema.org/",
		"spdx":   "http://spdx.org/rdf/terms#",
	}
}

var frequencies = map[string]string{
	"realtime": "CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
	"yearly": "ANNUAL", "irregular": "IRREG", "static": "NEVER",
}

// lang makes a language-tagged literal list, skipping empty texts.
func lang(zh, en string) []map[string]string {
	out := []map[string]string{{"@value": zh, "@language": "zh"}}
	if en != "" {
		out = append(out, map[string]string{"@value": en, "@language": "en"})
	}
	return out
}

// DCATResource describes one product for harvesters; base is the venue's public base URL and
// publisherName the operator's name.
func DCATResource(p Product, base, publisherName string) map[string]any {
	kind := "dcat:Dataset"
	if p.ProductType == "api_service" {
		kind = "dcat:DataService"
	}
	uri := base + "/v1/catalogue/" + p.ID
	dist := map[string]any{
		"@type":           "dcat:Distribution",
		"dcat:accessURL":  map[string]string{"@id": uri},
		"dct:format":      p.Delivery.Format,
		"dct:description": "delivery by " + p.Delivery.Method,
	}
	if p.Delivery.ContentHash != "" {
		dist["spdx:checksum"] = map[string]any{"@type": "spdx:Checksum", "spdx:algorithm": map[string]string{"@id": "spdx:checksumAlgorithm_sha256"},
			"spdx:checksumValue": p.Delivery.ContentHash[len("sha256:"):]}
	}
	doc := map[string]any{
		"@id":                    uri,
		"@type":                  kind,
		"dct:identifier":         p.ID,
		"dct:title":              lang(p.Title, p.TitleEN),
		"dct:description":        lang(p.Description, p.DescriptionEN),
		"dct:publisher":          map[string]any{"@type": "foaf:Agent", "@id": base + "/v1/organisations/" + string(p.OperatorID), "foaf:name": publisherName},
		"dcat:theme":             map[string]string{"@id": base + "/themes/" + p.Domain},
		"dcat:keyword":           p.Keywords,
		"dct:rights":             map[string]any{"@type": "dct:RightsStatement", "dct:description": p.Licence.PermittedUse},
		"dct:accrualPeriodicity": map[string]string{"@id": "http://publications.europa.eu/resource/authority/frequency/" + frequencies[p.UpdateFrequency]},
		"dcat:landingPage":       map[string]string{"@id": uri},
		"dcat:distribution":      []any{dist},
		"schema:offers": map[string]any{"@type": "schema:Offer", "schema:price": p.Pricing.RefPrice().String(),
			"schema:priceCurrency": "CNY", "schema:description": p.Pricing.Method + " pricing"},
	}
	if p.PublishedAt != nil {
		doc["dct:issued"] = map[string]string{"@value": p.PublishedAt.UTC().Format(time.RFC3339), "@type": "xsd:dateTime"}
	}
	doc["dct:modified"] = map[string]string{"@value": p.UpdatedAt.UTC().Format(time.RFC3339), "@type": "xsd:dateTime"}
	return doc
}

// DCATDocument wraps one resource with the context.
func DCATDocument(p Product, base, publisherName string) map[string]any {
	doc := DCATResource(p, base, publisherName)
	doc["@context"] = dcatContext()
	return doc
}

// DCATCatalog is the whole catalogue as a dcat:Catalog of its published products.
func DCATCatalog(products []Product, names map[string]string, base string) map[string]any {
	items := make([]any, 0, len(products))
	for _, p := range products {
		items = append(items, DCATResource(p, base, names[string(p.OperatorID)]))
	}
	return map[string]any{
		"@context":        dcatContext(),
		"@id":             base + "/v1/catalogue.jsonld",
		"@type":           "dcat:Catalog",
		"dct:title":       lang("公共数据资产交易目录", "Public data asset trading catalogue"),
		"dct:description": lang("已登记、已授权、已审批的数据产品", "Certified, authorised and approved data products"),
		"dcat:dataset":    items,
	}
}
