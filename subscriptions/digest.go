package subscriptions

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// RecordsDigest is the digest a period's bill and voucher carry of the usage records they cover:
// "sha256:" and the hex SHA-256 of the record ids sorted by their bytes and joined by newlines
// (no newline after the last). Byte order, not a collation, so a buyer's gateway computes the
// same digest in any language; PostgreSQL computes it with COLLATE "C" (postgres/bills.go).
func RecordsDigest(ids []string) string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}
