package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/datavenue/datavenue"
)

// encoding/json takes the last of two equal keys and matches keys to fields whatever their case,
// so {"amount":"1","amount":"9"} and {"AMOUNT":"9"} both read as an amount of 9: a body a proxy,
// a signature or a log reads differently from the venue (issue 11, finding 6). checkKeys walks
// the body next to the type it is decoded into and refuses, before decoding, any object with a
// key twice and any key that is not exactly one of its struct's field names. Keys of maps (free
// data such as a product's schema) may be anything, but still only once.

// unmarshalerType and textUnmarshalerType find the types that decode themselves (money, dates);
// fieldCache keeps each struct's field table, since every request of a route walks the same type.
var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	fieldCache          sync.Map // reflect.Type -> map[string]reflect.Type
)

// checkKeys runs before the decoder, on the raw body. UseNumber keeps the walk from converting
// numbers it does not need; only the key errors it finds are returned.
func checkKeys(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := walkValue(dec, reflect.TypeOf(v), "", 0)
	if e, ok := err.(*datavenue.Error); ok {
		return e
	}
	return nil // a syntax error: decoding reports it, in its own words
}

// keyError is a 422 naming the field, like the decoder's own field errors: a duplicate or
// miscased key is a fault in the request's content, not in its JSON syntax.
func keyError(path, code, message string) error {
	return datavenue.Invalid("validation_failed", "the request has invalid fields", datavenue.FieldError{Field: path, Code: code, Message: message})
}

// maxDepth bounds how deeply a request body may nest (no request needs more than a few levels).
const maxDepth = 32

// walkValue reads one value; t is the Go type it is decoded into (nil: anything).
func walkValue(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return datavenue.Malformed("json_too_deep", "the request body nests objects or arrays more than 32 levels deep")
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		t = nil // decodes itself: only duplicates are checked inside
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = structFields(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		// A key that is not a field is refused here only when it differs from one by case (the
		// message then names the right spelling); any other unknown key is walked as free data
		// and left to the decoder's DisallowUnknownFields, which names it the same way.
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := keyTok.(string)
			at := joinPath(path, key)
			if seen[key] {
				return keyError(at, "duplicate_key", key+" appears twice in the same object")
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return keyError(at, "unknown_field", key+" is not a field of this request (field names are case-sensitive: "+name+")")
						}
					}
				}
				next = ft
			}
			if err := walkValue(dec, next, at, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		// Array elements share the array's path: the field named in an error is the array.
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, elem, path, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

// joinPath names a nested field with dots ("pricing.method"), as the errors[] of a problem do.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields is a struct's JSON field names (promoted fields of embedded structs included) and
// their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			// encoding/json's rule: a field of the outer struct wins over a promoted one of the
			// same name, whichever is declared first.
			for k, v := range structFields(ft) {
				if _, taken := out[k]; !taken {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldCache.Store(t, out)
	return out
}
