package matching

import "errors"

// CodeOf returns the refusal code of a bid error, or "" (the tests' way to read one; the API reads
// the venue error a BidError converts to).
func CodeOf(err error) string {
	var be *BidError
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}
