// Package listing holds data products: what operators offer and buyers acquire (DOMAIN.md D9–D11,
// D14, D15, G7). A product is published only through the publishing gate, which checks every
// condition (certificates, scenario authorisation, finance approval, appraisal, guided price band,
// no raw data, consistent buyer eligibility) and lists all that fail; a published product is
// suspended automatically when a certificate, authorisation or approval it depends on stops
// holding (Suspender consumes the certificates package's events). The buyers' catalogue searches
// Chinese and English text (search.go) and exports DCAT-AP JSON-LD (dcat.go).
package listing
