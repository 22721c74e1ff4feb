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
