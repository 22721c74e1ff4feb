package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature. The scheme is the payment callback's
// (settlement.CallbackSignature), so an integrator verifies both the same way:
//
//	Datavenue-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 under the subscription's secret of "<t>.<body>">
//
// The timestamp is signed with the body: a receiver that refuses t more than Tolerance from its
// own clock cannot be fed a captured delivery later. Each attempt is signed afresh.
const SignatureHeader = "Datavenue-Signature"

// Tolerance is how far from the receiver's clock a signed timestamp should be accepted.
const Tolerance = 5 * time.Minute

// Sign returns the signature header of body sent at at.
func Sign(secret, body []byte, at time.Time) string {
	t := strconv.FormatInt(at.Unix(), 10)
	return "t=" + t + ",v1=" + mac(secret, t, body)
}

func mac(secret []byte, t string, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(t))
	h.Write([]byte("."))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors of Verify.
var (
	ErrSignatureMalformed = errors.New("webhooks: signature header is not t=<unix seconds>,v1=<hex>")
	ErrSignatureExpired   = errors.New("webhooks: signed timestamp too far from now")
	ErrSignatureMismatch  = errors.New("webhooks: signature does not match the body and timestamp")
)

// Verify is what a receiver does with a delivery (and what the tests do, as an integrator
// would): the header's t within tolerance of now, and one of its v1 values the HMAC of "t.body"
// under the secret, compared in constant time.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var t string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	want := []byte(mac(secret, t, body))
	for _, sig := range sigs {
		if hmac.Equal(want, []byte(sig)) {
			return nil
		}
	}
	return ErrSignatureMismatch
}
