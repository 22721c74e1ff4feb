// Package money is the venue's amount type: yuan as an exact decimal with at most two places (the
// fen), written in JSON as a string ("1234.50") and never as a float, in Go, JSON or PostgreSQL.
package money

import (
	"errors"
	"regexp"

	"github.com/shopspring/decimal"
)

// Yuan is an amount in yuan, exact to the fen.
type Yuan struct{ d decimal.Decimal }

// Errors from Parse.
var (
	ErrFormat   = errors.New(`an amount is a decimal string in yuan with at most two places, e.g. "1234.50"`)
	ErrTooLarge = errors.New("an amount has at most 15 digits before the decimal point")
)

// The accepted syntax: no sign, no exponent, no thousands separators, at most two decimals.
var (
	amountSyntax  = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,2})?$`)
	tooManyDigits = regexp.MustCompile(`^[0-9]{16,}(\.[0-9]{1,2})?$`)
)

// Parse reads a non-negative amount such as "1234.5" or "0.01".
func Parse(s string) (Yuan, error) {
	if !amountSyntax.MatchString(s) {
		if tooManyDigits.MatchString(s) {
			return Yuan{}, ErrTooLarge
		}
		return Yuan{}, ErrFormat
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Yuan{}, ErrFormat
	}
	return Yuan{d}, nil
}

// MustParse is Parse for constants in code and tests.
func MustParse(s string) Yuan {
	y, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return y
}

// FromDecimal rounds d to the fen (banker's rounding is never wanted here: half away from zero).
func FromDecimal(d decimal.Decimal) Yuan { return Yuan{d.Round(2)} }

// Zero is 0.00 yuan.
var Zero = Yuan{decimal.Zero}

// Decimal returns the exact value.
func (y Yuan) Decimal() decimal.Decimal { return y.d }

// String formats with exactly two places: "1234.50".
func (y Yuan) String() string { return y.d.StringFixed(2) }

// Add returns y + o.
func (y Yuan) Add(o Yuan) Yuan { return Yuan{y.d.Add(o.d)} }

// Cmp compares y and o (-1, 0, 1).
func (y Yuan) Cmp(o Yuan) int { return y.d.Cmp(o.d) }

// IsZero reports whether y is 0.
func (y Yuan) IsZero() bool { return y.d.IsZero() }

// MarshalJSON writes the amount as a JSON string.
func (y Yuan) MarshalJSON() ([]byte, error) { return []byte(`"` + y.String() + `"`), nil }

// UnmarshalJSON accepts only a JSON string in Parse's syntax: a JSON number would invite clients to
// send floats.
func (y *Yuan) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return ErrFormat
	}
	v, err := Parse(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*y = v
	return nil
}

// Fen returns the amount in fen (1/100 yuan) as an integer: the form amounts take inside Redis,
// where Lua numbers are doubles and exact only for integers.
func (y Yuan) Fen() int64 { return y.d.Shift(2).IntPart() }

// FromFen is the amount of n fen.
func FromFen(n int64) Yuan { return Yuan{decimal.New(n, -2)} }

// MaxFen is the largest amount the matching engine accepts: below 2^53, so that a Lua number holds
// it exactly (90,071,992,547,409.91 yuan).
const MaxFen = 1<<53 - 1
