package listing

import (
	"fmt"
	"strings"
	"time"
)

// DCAT-AP (the EU application profile of W3C DCAT 2/3) is what catalogue harvesters such as CKAN's
// DCAT extension and dataspace connectors read. A product becomes a dcat:Dataset (a dcat:DataService
// for API products) with its titles and descriptions as language-tagged literals, its publisher
// (the operator), theme (domain), keywords, licence terms as dct:rights, periodicity, and one
// distribution describing how it is delivered. Prices are not DCAT vocabulary; they are given as a
// schema.org Offer, which DCAT-AP allows as an extension.
//
// The export is checked against the official DCAT-AP 3.0.0 SHACL shapes (scripts/conformance, in make
// test): every node that a shape gives a class carries its rdf:type (SHACL validates a closed
// world: an IRI of a controlled vocabulary is only a dct:Frequency if the document says so), the
// format is an IRI of the EU file-type authority, a checksum is xsd:hexBinary, and the catalogue
// names its publisher, the venue.

// dcatContext is the JSON-LD context of every document (a fresh map each time: callers add to it).
func dcatContext() map[string]any {
	return map[string]any{
		"dcat":   "http://www.w3.org/ns/dcat#",
		"dct":    "http://purl.org/dc/terms/",
		"foaf":   "http://xmlns.com/foaf/0.1/",
		"xsd":    "http://www.w3.org/2001/XMLSchema#",
		"schema": "http://schema.org/",
		"spdx":   "http://spdx.org/rdf/terms#",
		"rdfs":   "http://www.w3.org/2000/01/rdf-schema#",
		"skos":   "http://www.w3.org/2004/02/skos/core#",
		"vcard":  "http://www.w3.org/2006/vcard/ns#",
		"dcatap": "http://data.europa.eu/r5r/",
	}
}

// licenceNode is a product's licence terms as the dct:LicenseDocument its distribution is under.
func licenceNode(p Product, uri string) map[string]any {
	transfer := "不得转授权 (no onward transfer)"
	if p.Licence.OnwardTransfer {
		transfer = "可转授权 (onward transfer allowed)"
	}
	return map[string]any{"@id": uri + "#licence", "@type": "dct:LicenseDocument",
		"dct:description": fmt.Sprintf("%s; %d 天 (days); %s", p.Licence.PermittedUse, p.Licence.DurationDays, transfer)}
}

// fileTypes are the delivery formats the EU file-type authority (the vocabulary DCAT-AP names for
// dct:format) has, by the name products use; a format not in it is described in words only.
var fileTypes = map[string]string{"CSV": "CSV", "JSON": "JSON", "XLSX": "XLSX", "XLS": "XLS", "XML": "XML", "PDF": "PDF", "ZIP": "ZIP",
	"TXT": "TXT", "PARQUET": "PARQUET", "SHP": "SHP", "GEOJSON": "GEOJSON", "HTML": "HTML", "RDF": "RDF_XML", "TSV": "TSV"}

// typed is a node that is an IRI of the given class. The class is stated because the SHACL shapes
// check a closed world: an IRI is of a class only if the document says so.
func typed(iri, class string) map[string]string { return map[string]string{"@id": iri, "@type": class} }

// frequencies map a product's update frequency to the EU frequency authority's codes, the
// vocabulary DCAT-AP names for dct:accrualPeriodicity.
var frequencies = map[string]string{
	"realtime": "CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
	"yearly": "ANNUAL", "irregular": "IRREG", "static": "NEVER",
}

// lang makes a language-tagged literal list, skipping empty texts. The Chinese text is always
// there (a product's title and description are required); the English one is optional.
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
	// The product's identifier is its public catalogue URL under the configured base, so a
	// harvester sees the same IRI on every harvest and can update rather than duplicate it.
	uri := base + "/v1/catalogue/" + p.ID
	dist := map[string]any{
		"@type":           "dcat:Distribution",
		"dcat:accessURL":  typed(uri, "rdfs:Resource"),
		"dct:description": "delivery by " + p.Delivery.Method + ", " + p.Delivery.Format,
	}
	// Recommended by DCAT-AP: the licence, and how long the distribution stays available (as long
	// as the product is listed: "stable").
	dist["dct:license"] = licenceNode(p, uri)
	dist["dcatap:availability"] = map[string]any{"@id": "http://publications.europa.eu/resource/authority/planned-availability/STABLE",
		"@type": "skos:Concept", "skos:prefLabel": "stable"}
	if ft, ok := fileTypes[strings.ToUpper(strings.TrimSpace(p.Delivery.Format))]; ok {
		dist["dct:format"] = typed("http://publications.europa.eu/resource/authority/file-type/"+ft, "dct:MediaTypeOrExtent")
	}
	// xsd:hexBinary is hex digits only, so the "sha256:" prefix is dropped; the algorithm is said
	// by its own property.
	if p.Delivery.ContentHash != "" {
		dist["spdx:checksum"] = map[string]any{"@type": "spdx:Checksum", "spdx:algorithm": typed("spdx:checksumAlgorithm_sha256", "spdx:ChecksumAlgorithm"),
			"spdx:checksumValue": map[string]string{"@value": p.Delivery.ContentHash[len("sha256:"):], "@type": "xsd:hexBinary"}}
	}
	doc := map[string]any{
		"@id":             uri,
		"@type":           kind,
		"dct:identifier":  p.ID,
		"dct:title":       lang(p.Title, p.TitleEN),
		"dct:description": lang(p.Description, p.DescriptionEN),
		"dct:publisher":   map[string]any{"@type": "foaf:Agent", "@id": base + "/v1/organisations/" + string(p.OperatorID), "foaf:name": publisherName},
		"dcat:theme":      map[string]any{"@id": base + "/themes/" + p.Domain, "@type": "skos:Concept", "skos:prefLabel": p.Domain},
		"dcat:keyword":    p.Keywords,
		"dct:rights":      map[string]any{"@type": "dct:RightsStatement", "dct:description": p.Licence.PermittedUse},
		// Public data products are traded under authorisation, not open: access is restricted.
		"dct:accessRights": typed("http://publications.europa.eu/resource/authority/access-right/RESTRICTED", "dct:RightsStatement"),
		"dcat:contactPoint": map[string]any{"@id": base + "/v1/organisations/" + string(p.OperatorID) + "#contact",
			"@type": []string{"vcard:Kind", "vcard:Organization"}, "vcard:fn": publisherName},
		"dcat:landingPage": typed(uri, "foaf:Document"),
		// One indicative price (RefPrice: the asking price or an auction's reserve), as a decimal
		// string like every amount the venue writes.
		"schema:offers": map[string]any{"@type": "schema:Offer", "schema:price": p.Pricing.RefPrice().String(),
			"schema:priceCurrency": "CNY", "schema:description": p.Pricing.Method + " pricing"},
	}
	if f, ok := frequencies[p.UpdateFrequency]; ok {
		doc["dct:accrualPeriodicity"] = typed("http://publications.europa.eu/resource/authority/frequency/"+f, "dct:Frequency")
	}
	if kind == "dcat:DataService" {
		// A service is reached at its endpoint; it has no distributions, and its licence is its own.
		doc["dcat:endpointURL"] = typed(uri, "rdfs:Resource")
		doc["dct:license"] = licenceNode(p, uri)
		delete(doc, "dct:accrualPeriodicity")
	} else {
		doc["dcat:distribution"] = []any{dist}
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

// DCATCatalog is the whole catalogue as a dcat:Catalog of its published products (data services
// under dcat:service), published by the venue (publisher: its name).
func DCATCatalog(products []Product, names map[string]string, base, publisher string) map[string]any {
	// Data services go under dcat:service and datasets under dcat:dataset, as DCAT-AP's catalogue
	// shape expects (dcat:dataset always, even empty; dcat:service only when there are some).
	datasets, services := []any{}, []any{}
	for _, p := range products {
		r := DCATResource(p, base, names[string(p.OperatorID)])
		if r["@type"] == "dcat:DataService" {
			services = append(services, r)
		} else {
			datasets = append(datasets, r)
		}
	}
	doc := map[string]any{
		"@context":        dcatContext(),
		"@id":             base + "/v1/catalogue.jsonld",
		"@type":           "dcat:Catalog",
		"dct:title":       lang("公共数据资产交易目录", "Public data asset trading catalogue"),
		"dct:description": lang("已登记、已授权、已审批的数据产品", "Certified, authorised and approved data products"),
		"dct:publisher":   map[string]any{"@id": base + "/", "@type": "foaf:Agent", "foaf:name": publisher},
		"foaf:homepage":   typed(base+"/docs", "foaf:Document"),
		"dct:language":    typed("http://publications.europa.eu/resource/authority/language/ZHO", "dct:LinguisticSystem"),
		"dcat:themeTaxonomy": map[string]any{"@id": base + "/themes", "@type": "skos:ConceptScheme",
			"dct:title": lang("数据领域", "Data domains")},
		"dcat:dataset": datasets,
	}
	// The catalogue changed when its latest product did.
	var issued, modified time.Time
	for _, p := range products {
		if p.PublishedAt != nil && (issued.IsZero() || p.PublishedAt.Before(issued)) {
			issued = *p.PublishedAt
		}
		if p.UpdatedAt.After(modified) {
			modified = p.UpdatedAt
		}
	}
	if !issued.IsZero() {
		doc["dct:issued"] = map[string]string{"@value": issued.UTC().Format(time.RFC3339), "@type": "xsd:dateTime"}
	}
	if !modified.IsZero() {
		doc["dct:modified"] = map[string]string{"@value": modified.UTC().Format(time.RFC3339), "@type": "xsd:dateTime"}
	}
	if len(services) > 0 {
		doc["dcat:service"] = services
	}
	return doc
}
