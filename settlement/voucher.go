package settlement

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
)

// VoucherType is the JWS "typ" of a delivery voucher. Certificates are signed with the same key,
// so the type is what stops a certificate being presented as a voucher (or the reverse).
const VoucherType = "datavenue-voucher+jwt"

// Delivery is what the seller delivered, by the product's delivery method.
type Delivery struct {
	Method      string `json:"method" jsonschema:"enum=file,enum=api,enum=sandbox"`
	ContentHash string `json:"content_hash,omitempty" jsonschema:"description=file: sha256:<64 hex> of what was delivered"`
	Credential  string `json:"credential,omitempty" jsonschema:"description=api: the id of the credential issued (never the secret)"`
	Account     string `json:"account,omitempty" jsonschema:"description=sandbox: the account opened"`
}

// Validate checks a delivery against its method: each method names the one thing that proves
// delivery happened (a file's hash, a credential's id, a sandbox account), which the voucher then
// carries so the buyer's confirmation refers to something checkable. A secret is never stored.
func (d Delivery) Validate() error {
	switch d.Method {
	case "file":
		// The hex is checked too: the voucher carries the hash for the buyer to compare with the file
		// it received, and "sha256:" followed by anything 64 characters long compares with nothing.
		if !isSHA256(d.ContentHash) {
			return errors.New("a file delivery names the delivered content's hash: sha256:<64 hex>")
		}
	case "api":
		if d.Credential == "" {
			return errors.New("an API delivery names the credential issued")
		}
	case "sandbox":
		if d.Account == "" {
			return errors.New("a sandbox delivery names the account opened")
		}
	default:
		return errors.New("delivery method is file, api or sandbox")
	}
	return nil
}

// isSHA256 reports whether s is "sha256:" and 64 lowercase hex digits, as sha256sum prints them.
func isSHA256(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hexPart) != 64 || strings.ToLower(hexPart) != hexPart {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// VoucherContent binds registration, transaction and delivery (D15): what an accountant books a
// data asset or revenue from.
type VoucherContent struct {
	jwt.RegisteredClaims
	Seq          int64    `json:"seq"`
	OrderID      string   `json:"order_id"`
	Certificates []string `json:"certificates"` // number and version of each certificate the product rests on
	TradeID      string   `json:"trade_id"`
	ProductID    string   `json:"product_id"`
	Method       string   `json:"pricing_method"`
	// Purpose is the product's purpose of use (N1): public_governance and public_welfare are free
	// use, at a price of 0.00.
	Purpose     string   `json:"purpose,omitempty"`
	Price       string   `json:"price"`
	Currency    string   `json:"currency"`
	Buyer       string   `json:"buyer"`
	Seller      string   `json:"seller"`
	TradedAt    string   `json:"traded_at"`
	Delivery    Delivery `json:"delivery"`
	DeliveredAt string   `json:"delivered_at"`
	ConfirmedAt string   `json:"confirmed_at"`
	ConfirmedBy string   `json:"confirmed_by"` // buyer, or auto: the buyer let the confirmation period pass
	PrevHash    string   `json:"prev_hash"`    // the previous voucher's chain hash: the chain is in the signed content too
	// Usage is set on the voucher of a subscription's period bill only (omitted otherwise, so
	// one-off vouchers are signed exactly as before).
	Usage *UsageCovered `json:"usage,omitempty"`
}

// SignVoucher signs a voucher with the venue's active key (Ed25519). The "kid" lets a verifier
// pick the right public key after the key has rotated; the subject is the order, so a voucher
// names what it settles even when read without the venue.
func SignVoucher(keys *auth.Keyring, issuer string, v VoucherContent) (string, error) {
	v.Issuer, v.Subject = issuer, v.OrderID
	key := keys.Active()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, v)
	tok.Header["kid"], tok.Header["typ"] = key.KID, VoucherType
	return tok.SignedString(key.Private)
}

// ChainHash is the hash of a log entry: SHA-256 over the previous entry's hash and this document.
// Chaining makes the log tamper-evident (D15: fully traceable): changing, removing or inserting
// any voucher changes every hash after it.
func ChainHash(prev, document string) string {
	sum := sha256.Sum256([]byte(prev + "\n" + document))
	return hex.EncodeToString(sum[:])
}

// GenesisHash is the previous hash of the first voucher.
var GenesisHash = strings.Repeat("0", 64)

// VerifyVoucher checks a voucher's signature offline (vouchers do not expire).
func VerifyVoucher(document string, keys auth.KeySource) (VoucherContent, error) {
	var v VoucherContent
	tok, err := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), jwt.WithStrictDecoding()).
		ParseWithClaims(document, &v, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			return keys.PublicKey(kid)
		})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return v, certificates.ErrBadSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return v, certificates.ErrUnknownKey
	default:
		return v, certificates.ErrMalformed
	}
	if typ, _ := tok.Header["typ"].(string); typ != VoucherType {
		return v, errors.New("this signed document is not a voucher")
	}
	return v, nil
}

// ChainEntry is one voucher log entry as stored.
type ChainEntry struct {
	Seq      int64
	Document string
	PrevHash string
	Hash     string
}

// VerifyChain checks a whole log: consecutive sequence numbers from 1, each entry's previous hash
// the hash of the entry before, each hash recomputed, each document's signature and its signed
// previous hash. It names the first entry that fails.
func VerifyChain(entries []ChainEntry, keys auth.KeySource) error {
	prev := GenesisHash
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			return fmt.Errorf("voucher log: entry %d is numbered %d: an entry was removed or inserted", i+1, e.Seq)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("voucher log: entry %d does not follow entry %d", e.Seq, e.Seq-1)
		}
		if ChainHash(prev, e.Document) != e.Hash {
			return fmt.Errorf("voucher log: entry %d was altered (its hash does not match its content)", e.Seq)
		}
		v, err := VerifyVoucher(e.Document, keys)
		if err != nil {
			return fmt.Errorf("voucher log: entry %d: %w", e.Seq, err)
		}
		// The stored hashes could be recomputed by whoever rewrote the table; the signed sequence
		// number and previous hash cannot, so a re-chained log still fails here.
		if v.Seq != e.Seq || v.PrevHash != prev {
			return fmt.Errorf("voucher log: entry %d's signed position differs from its place in the log", e.Seq)
		}
		prev = e.Hash
	}
	return nil
}
