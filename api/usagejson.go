package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/subscriptions"
)

// decodeBatch reads a usage batch. It is the one large body decoded on a hot path, and the
// generic decoder's key check (duplicate and miscased keys) reads it token by token, costing more
// than the rest of ingestion. So fastBatch takes the plain shape a gateway sends,
// {"records":[{"record_id":"…", …}, …]}: exact keys, each once, ASCII string values without
// escapes. Anything else (an escape, a number, an unknown or repeated key, bad syntax) goes the
// generic way, which decides and words the answer: the fast path only ever accepts bodies the
// generic one accepts, with the same result.
func decodeBatch(c *fiber.Ctx) (subscriptions.BatchInput, error) {
	var in subscriptions.BatchInput
	if c.Get(fiber.HeaderContentType) == fiber.MIMEApplicationJSON {
		if fast, ok := fastBatch(c.Body()); ok {
			return fast, nil
		}
	}
	return in, decodeJSON(c, &in)
}

// batchParser scans a batch body; every method reports false at the first byte it does not
// expect, and the body then takes the generic path.
type batchParser struct {
	b []byte
	i int
}

func (p *batchParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t') {
		p.i++
	}
}

// is skips white space and the byte c, if it comes next.
func (p *batchParser) is(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (p *batchParser) str() (string, bool) {
	if !p.is('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return string(p.b[start : p.i-1]), true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// record reads one record object: the five keys, each once, string values.
func (p *batchParser) record() (subscriptions.RecordInput, bool) {
	var r subscriptions.RecordInput
	if !p.is('{') {
		return r, false
	}
	seen := 0
	for first := true; ; first = false {
		if p.is('}') {
			return r, true
		}
		if !first && !p.is(',') {
			return r, false
		}
		key, ok := p.str()
		if !ok || !p.is(':') {
			return r, false
		}
		v, ok := p.str()
		if !ok {
			return r, false
		}
		var bit int
		switch key {
		case "record_id":
			r.RecordID, bit = v, 1
		case "subscription_id":
			r.SubscriptionID, bit = v, 2
		case "unit":
			r.Unit, bit = v, 4
		case "quantity":
			r.Quantity, bit = v, 8
		case "used_at":
			r.UsedAt, bit = v, 16
		default:
			return r, false
		}
		if seen&bit != 0 {
			return r, false
		}
		seen |= bit
	}
}

// fastBatch parses the plain shape of a batch; ok is false for anything else.
func fastBatch(body []byte) (subscriptions.BatchInput, bool) {
	p := &batchParser{b: body}
	var in subscriptions.BatchInput
	if !p.is('{') {
		return in, false
	}
	if key, ok := p.str(); !ok || key != "records" || !p.is(':') || !p.is('[') {
		return in, false
	}
	in.Records = make([]subscriptions.RecordInput, 0, 64)
	for first := true; !p.is(']'); first = false {
		if !first && !p.is(',') {
			return in, false
		}
		r, ok := p.record()
		if !ok {
			return in, false
		}
		in.Records = append(in.Records, r)
	}
	if !p.is('}') {
		return in, false
	}
	p.ws()
	return in, p.i == len(p.b)
}
