// Package listing will hold data products, the publishing gate (only certified, authorised and
// approved products are published) and the buyers' catalogue (DOMAIN.md D9–D11, D14, D15, G7).
// Nothing is implemented yet; the package exists so the layout is fixed from day one.
package listing
