// Package matching is the trading engine: English and sealed-bid auctions whose hot state lives in
// Redis (DOMAIN.md D14, G7). Every state change is one Lua script (scripts/*.lua, each with a
// KEYS/ARGV/returns block) that validates everything first and writes last, with Redis TIME as the
// clock; Model is the same rules in plain Go, and a model-based test holds the two together.
//
// Keys. An auction belongs to one of Shards shards, chosen by a hash of its id; every key an
// auction's scripts touch carries the shard's {hash tag}, and so do the shard's deadline set and
// event stream, so each script touches one Redis Cluster slot and runs unchanged on a cluster.
// Closers poll the Shards deadline sets; the projector reads the Shards event streams.
package matching

import (
	"fmt"
	"hash/crc32"
)

// Shards is how many deadline sets and event streams the auctions are spread over.
const Shards = 16

// Keys names the Redis keys of the engine under a prefix (tests give each test its own).
type Keys struct {
	Prefix string
}

// Shard is the shard of an auction.
func Shard(auctionID string) int { return int(crc32.ChecksumIEEE([]byte(auctionID)) % Shards) }

func (k Keys) tag(shard int) string { return fmt.Sprintf("%s{dv%02d}", k.Prefix, shard) }

func (k Keys) auction(id, part string) string { return k.tag(Shard(id)) + ":auc:" + id + ":" + part }

// Deadlines is a shard's sorted set of open auctions by end time (ms).
func (k Keys) Deadlines(shard int) string { return k.tag(shard) + ":deadlines" }

// Events is a shard's event stream (bids, deposits, opens, closes) for the projection.
func (k Keys) Events(shard int) string { return k.tag(shard) + ":events" }

func (k Keys) openKeys(id string) []string {
	s := Shard(id)
	return []string{k.auction(id, "meta"), k.auction(id, "allow"), k.auction(id, "deny"), k.Deadlines(s), k.Events(s)}
}

func (k Keys) bidKeys(id string) []string {
	s := Shard(id)
	return []string{k.auction(id, "meta"), k.auction(id, "bids"), k.auction(id, "history"), k.auction(id, "sealed"),
		k.auction(id, "allow"), k.auction(id, "deny"), k.auction(id, "deposits"), k.Deadlines(s), k.Events(s)}
}

func (k Keys) closeKeys(id string) []string {
	s := Shard(id)
	return []string{k.auction(id, "meta"), k.auction(id, "sealed"), k.auction(id, "deposits"), k.auction(id, "deposit_outcomes"),
		k.Deadlines(s), k.Events(s)}
}

func (k Keys) depositKeys(id string) []string {
	return []string{k.auction(id, "meta"), k.auction(id, "deposits"), k.Events(Shard(id))}
}

// NegotiationDeadlines is a shard's sorted set of open negotiations by expiry (ms).
func (k Keys) NegotiationDeadlines(shard int) string { return k.tag(shard) + ":neg_deadlines" }

func (k Keys) negotiation(id, part string) string {
	return k.tag(Shard(id)) + ":neg:" + id + ":" + part
}

func (k Keys) negotiateKeys(id string) []string {
	s := Shard(id)
	return []string{k.negotiation(id, "meta"), k.negotiation(id, "replies"), k.negotiation(id, "history"),
		k.NegotiationDeadlines(s), k.Events(s)}
}

func (k Keys) expireKeys(id string) []string {
	s := Shard(id)
	return []string{k.negotiation(id, "meta"), k.NegotiationDeadlines(s), k.Events(s)}
}

// BidKeys are the keys bid.lua takes for an auction, in order (for tools that call the script
// directly, such as the benchmark's redis-benchmark baseline).
func (k Keys) BidKeys(auctionID string) []string { return k.bidKeys(auctionID) }
