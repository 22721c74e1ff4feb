package settlement_test

import (
	"strings"
	"testing"

	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/settlement"
)

func chain(t *testing.T, keys *auth.Keyring, n int) []settlement.ChainEntry {
	t.Helper()
	prev := settlement.GenesisHash
	var out []settlement.ChainEntry
	for i := 1; i <= n; i++ {
		doc, err := settlement.SignVoucher(keys, "urn:test", settlement.VoucherContent{Seq: int64(i), OrderID: "ord_" + strings.Repeat("A", 25) + string(rune('0'+i)), PrevHash: prev, Price: "1.00"})
		if err != nil {
			t.Fatal(err)
		}
		h := settlement.ChainHash(prev, doc)
		out = append(out, settlement.ChainEntry{Seq: int64(i), Document: doc, PrevHash: prev, Hash: h})
		prev = h
	}
	return out
}

func TestVoucherChainDetectsRemovalReorderAndForgery(t *testing.T) {
	keys, err := auth.LoadKeyring(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	log := chain(t, keys, 4)
	if err := settlement.VerifyChain(log, keys); err != nil {
		t.Fatalf("intact log: %v", err)
	}
	removed := append(append([]settlement.ChainEntry{}, log[:1]...), log[2:]...)
	if err := settlement.VerifyChain(removed, keys); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("removal: %v", err)
	}
	// Renumbering after a removal does not help: the chain and the signed positions break.
	renumbered := append([]settlement.ChainEntry{}, removed...)
	for i := range renumbered {
		renumbered[i].Seq = int64(i + 1)
	}
	if err := settlement.VerifyChain(renumbered, keys); err == nil {
		t.Fatal("a renumbered log verified")
	}
	// A forger who recomputes every hash still cannot re-sign: the signed previous hash differs.
	other, _ := auth.LoadKeyring(t.TempDir(), true)
	forged := chain(t, other, 4)
	if err := settlement.VerifyChain(forged, keys); err == nil {
		t.Fatal("a log signed by another key verified")
	}
}

// A file delivery names the delivered content's SHA-256 as sha256sum prints it; anything else of
// the same length is refused, since the buyer could compare it with nothing.
func TestFileDeliveryHash(t *testing.T) {
	good := "sha256:" + strings.Repeat("0f", 32)
	for hash, ok := range map[string]bool{
		good:                                             true,
		"sha256:" + strings.Repeat("zz", 32):             false, // not hex
		"sha256:" + strings.Repeat("0F", 32):             false, // not as sha256sum prints it
		"sha256:" + strings.Repeat("0f", 31):             false, // too short
		"md5:" + strings.Repeat("0f", 32) + "abc":        false,
		strings.Repeat("0f", 32) + "sha256:":             false,
		"sha256: " + strings.Repeat("0f", 31) + "0":      false,
		"sha256:" + strings.Repeat("0f", 31) + "0\u00e9": false,
	} {
		err := settlement.Delivery{Method: "file", ContentHash: hash}.Validate()
		if (err == nil) != ok {
			t.Errorf("%q: %v, want accepted %v", hash, err, ok)
		}
	}
}
