package api

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// FuzzRequestBodies decodes any bytes as the body of every route that takes one, into the very
// type its handler decodes: the answer is a value or a client error (malformed or invalid, with
// the field named), never a panic or an internal error. The custom decoders (amounts, dates,
// enumerations) are where a crash would hide.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{`{}`, `{"amount":"10000.01"}`, `{"amount":1e400}`, `{"amount":"１２"}`, `{"valid_until":"2026-02-30"}`,
		`{"parties":[{"role":"holder","ratio":"0.5","costs":{"production":"1.00"}}]}`, `[]`, `null`, `{"a":1}{}`, "\"\\ud800\"",
		`{"name":"\u0000' OR 1=1 --"}`, `{"price_band":{"min":"1","max":"0"}}`} {
		f.Add([]byte(s))
	}
	var types []reflect.Type
	for _, r := range (&handlers{}).routes() {
		if r.Op.Request != nil {
			types = append(types, reflect.TypeOf(r.Op.Request))
		}
	}
	if len(types) < 20 {
		f.Fatalf("only %d request types found", len(types))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			v := reflect.New(typ).Interface()
			err := decodeBody(body, v)
			if err == nil {
				continue
			}
			var fe *fiber.Error
			if errors.As(err, &fe) {
				t.Fatalf("%s: a fiber error from decoding: %v", typ, err)
			}
			if k := datavenue.KindOf(err); k != datavenue.KindMalformed && k != datavenue.KindInvalid {
				t.Fatalf("%s: decoding %q gave %v (kind %v)", typ, body, err, k)
			}
			if p := problemFor(err); p.Status >= 500 {
				t.Fatalf("%s: status %d", typ, p.Status)
			}
		}
	})
}
