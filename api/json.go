package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// decodeJSON reads a request body strictly: JSON media type, one JSON value, no unknown fields.
// A body that cannot be parsed is 400; one that parses but has a wrong type or an unknown field is
// 422 with the field named, so a client sees exactly what to fix.
func decodeJSON(c *fiber.Ctx, v any) error {
	// Any +json media type is JSON too (application/merge-patch+json, a vendor type); anything
	// else is 415 before the body is looked at.
	mediaType, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (mediaType != fiber.MIMEApplicationJSON && !strings.HasSuffix(mediaType, "+json")) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "the request body must be application/json")
	}
	return decodeBody(c.Body(), v)
}

// decodeBody reads one JSON object into v, refusing unknown fields and trailing data.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return datavenue.Malformed("empty_body", "the request body is empty; send a JSON object")
	}
	if err := checkKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// A second value after the first ({"a":1}{"a":2}) would be ignored by Decode: refused, so that
	// what the venue acts on is the whole body a signature or a log saw.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return datavenue.Malformed("malformed_json", "the request body has data after the JSON value")
	}
	return nil
}

// jsonError turns the decoder's errors into problems: a wrong type at a named field is the
// client's value (422 with the field), anything that is not JSON, or not an object, is its
// encoding (400). The decoder's own messages are not passed on: they name Go types.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return datavenue.Malformed("malformed_json", "the request body must be a JSON object")
		}
		return datavenue.Invalid("validation_failed", "the request has invalid fields", datavenue.FieldError{
			Field: field, Code: "invalid_type", Message: field + " must be a JSON " + jsonTypeName(typeErr.Type.Kind().String()),
		})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return datavenue.Invalid("validation_failed", "the request has invalid fields", datavenue.FieldError{
			Field: field, Code: "unknown_field", Message: field + " is not a field of this request",
		})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return datavenue.Malformed("malformed_json", "the request body is not valid JSON")
	}
	return datavenue.Malformed("malformed_json", "the request body is not valid JSON")
}

// jsonTypeName says which JSON type a Go kind expects, in the client's terms rather than Go's
// (a "slice" is an array; every numeric kind is a number).
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}
