package certificates_test

import (
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// FuzzVerify: a certificate file that is not the one the venue signed never verifies, and no
// input makes the verifier panic.
func FuzzVerify(f *testing.F) {
	keys, err := auth.LoadKeyring(f.TempDir(), true)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	_, doc, err := certificates.Signer{Keys: keys, Issuer: "urn:test"}.Sign(certificates.Certificate{ID: "crt_01JFUZZ0000000000000000000",
		Number: "DR-2026-000001", Version: 1, Kind: "resource", IssuedAt: now, ValidFrom: civil.Of(now), ValidUntil: civil.Of(now).AddDays(365)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add(strings.ToUpper(doc))
	f.Add(doc + "\n")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := certificates.Verify(s, keys, now)
		if err == nil && (got.Number != "DR-2026-000001" || got.ID != "crt_01JFUZZ0000000000000000000") {
			t.Fatalf("a different document verified: %+v", got)
		}
	})
}
