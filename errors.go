// Package datavenue holds the vocabulary that every part of the venue shares: one error type with
// a few kinds and stable codes, the roles a caller can hold, the caller on whose behalf a change is
// made, and typed identifiers. It imports no transport or driver, so domain packages can use it
// freely and the HTTP layer maps it to responses in one table.
package datavenue

import (
	"errors"
	"fmt"
)

// Kind is the class of an error; the HTTP layer turns each kind into one status code.
type Kind uint8

// The kinds of error. Domain code picks the kind; it never picks an HTTP status.
const (
	KindInternal     Kind = iota // a bug or an unexpected failure: details go to the log only
	KindMalformed                // the request could not be read at all (bad JSON, bad header)
	KindInvalid                  // the request was read but breaks a rule; Fields says where
	KindUnauthorized             // no valid credentials
	KindForbidden                // valid credentials, but not allowed
	KindNotFound                 // the thing does not exist, or the caller may not know it does
	KindConflict                 // the request clashes with the current state
	KindTooLarge                 // the body is over the size limit
	KindRateLimited              // too many requests; retry later
	KindUnavailable              // a dependency (PostgreSQL, Redis) is down; retry later
)

// FieldError says which input field is wrong and why, in a form a client can show next to the field.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the venue's one error type. Message is safe to show to the client; Cause is for the log
// only, so driver messages and internals never reach a response.
type Error struct {
	Kind    Kind
	Code    string // stable, machine-readable: clients switch on it, so it never changes once used
	Message string
	Fields  []FieldError
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// AsError finds the venue error in err's chain; anything else counts as an internal error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: "internal", Message: "internal error", Cause: err}
}

// KindOf reports the kind of err (KindInternal when it is not a venue error).
func KindOf(err error) Kind { return AsError(err).Kind }

// CodeOf reports the stable code of err ("internal" when it is not a venue error).
func CodeOf(err error) string { return AsError(err).Code }

// Invalid reports a rule broken by the input; fields point at the offending inputs.
func Invalid(code, message string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message, Fields: fields}
}

// Malformed reports input that could not be read at all.
func Malformed(code, message string) *Error {
	return &Error{Kind: KindMalformed, Code: code, Message: message}
}

// NotFound reports a missing resource.
func NotFound(code, message string) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: message}
}

// Conflict reports a clash with the current state.
func Conflict(code, message string) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: message}
}

// Forbidden reports an authenticated caller acting outside its rights.
func Forbidden(code, message string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: message}
}

// Unauthorized reports missing or bad credentials.
func Unauthorized(code, message string) *Error {
	return &Error{Kind: KindUnauthorized, Code: code, Message: message}
}

// Unavailable reports a dependency that is down; cause goes to the log.
func Unavailable(code, message string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: code, Message: message, Cause: cause}
}

// Internal wraps an unexpected failure; the client sees only "internal error".
func Internal(cause error) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Message: "internal error", Cause: cause}
}

// Fields collects field errors while validating input, and turns them into one Invalid error.
type Fields []FieldError

// Add records that field is wrong.
func (f *Fields) Add(field, code, message string) {
	*f = append(*f, FieldError{Field: field, Code: code, Message: message})
}

// Err returns nil when no field was wrong, else one validation error listing all of them.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid("validation_failed", "the request has invalid fields", f...)
}
