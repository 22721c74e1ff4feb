// Package certificates holds the certified-asset rules: data resource registration certificates and
// data asset certificates issued after review and signed with the venue's Ed25519 keys
// (auth.Keyring), change / correction / cancellation, scenario authorisations, finance approvals and
// appraisals (DOMAIN.md D1–D10, D14, G2–G5), and the event outbox their changes feed.
package certificates
