// Package settlement will turn trades into delivery vouchers, split revenue by contribution to the
// fen, route government units' shares to the treasury with working-day deadlines and reconcile
// remittances (DOMAIN.md D15–D17, G4, G6, G8). Nothing is implemented yet; the package exists so
// the layout is fixed from day one.
package settlement
