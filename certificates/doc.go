// Package certificates will hold the certified-asset rules (issue "Certified data assets"): asset
// cards and ledgers, data resource registration certificates and data asset certificates issued
// after review and signed with the venue's Ed25519 keys (auth.Keyring), change / correction /
// cancellation, scenario authorisations, finance approvals and appraisals (DOMAIN.md D1–D10, D14,
// G2–G5). Nothing is implemented yet; the package exists so the layout is fixed from day one.
package certificates
