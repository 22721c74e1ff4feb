package subscriptions_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/datavenue/datavenue/subscriptions"
)

// The digest sorts by bytes (upper case before lower, "r-10" before "r-9"), so the order the
// records came in does not matter, and a missing or extra record changes it.
func TestRecordsDigest(t *testing.T) {
	sum := sha256.Sum256([]byte("R-1\nr-10\nr-9"))
	want := "sha256:" + hex.EncodeToString(sum[:])
	if got := subscriptions.RecordsDigest([]string{"r-9", "R-1", "r-10"}); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if subscriptions.RecordsDigest([]string{"r-9", "R-1"}) == want {
		t.Fatal("a missing record leaves the digest unchanged")
	}
	empty := sha256.Sum256(nil)
	if got := subscriptions.RecordsDigest(nil); got != "sha256:"+hex.EncodeToString(empty[:]) {
		t.Fatalf("no records: %s", got)
	}
}
