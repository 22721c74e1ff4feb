// Package matching will own the Redis engine: English and sealed-bid auctions, negotiation and
// price rules, one Lua script per atomic state change, keys with a {hash tag} so it runs on Redis
// Cluster (DOMAIN.md D14, G7). Nothing is implemented yet; the package exists so the layout is
// fixed from day one.
package matching
