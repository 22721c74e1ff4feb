package auth_test

import (
	"strings"
	"testing"

	"github.com/datavenue/datavenue/auth"
)

// A sealed secret opens for its own row only, after a key rotation too (with the key that sealed
// it), and not with another venue's keys nor once altered; the sealed form does not contain it.
func TestSealedSecretsOpenForTheirRowOnly(t *testing.T) {
	dir := t.TempDir()
	kr, err := auth.LoadKeyring(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_0123456789abcdef0123456789abcdef"
	sealed, err := kr.Seal(secret, "whs_A")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, secret) || strings.Contains(sealed, "0123456789abcdef") {
		t.Fatalf("the sealed form %q shows the secret", sealed)
	}
	if again, _ := kr.Seal(secret, "whs_A"); again == sealed {
		t.Fatal("sealing twice gave the same value: the nonce is not fresh")
	}
	if got, err := kr.Open(sealed, "whs_A"); err != nil || got != secret {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := kr.Open(sealed, "whs_B"); err == nil {
		t.Fatal("a secret sealed for one row opened for another")
	}
	// A process that loaded the folder before a rotation (not restarted yet) opens what a rotated one
	// seals, and the rotated one what was sealed before.
	stale, err := auth.LoadKeyring(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	if got, err := kr.Open(sealed, "whs_A"); err != nil || got != secret {
		t.Fatalf("after a rotation: open = %q, %v", got, err)
	}
	afterRotation, err := kr.Seal(secret, "whs_A")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := stale.Open(afterRotation, "whs_A"); err != nil || got != secret {
		t.Fatalf("a process not restarted since the rotation: open = %q, %v", got, err)
	}
	altered := sealed[:len(sealed)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(sealed, "AA")]
	if _, err := kr.Open(altered, "whs_A"); err == nil {
		t.Fatal("an altered sealed secret opened")
	}
	other, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, "whs_A"); err == nil {
		t.Fatal("another venue's keyring opened the secret")
	}
}
