package parties

import (
	"errors"
	"strings"
)

// usccAlphabet is the character set of the unified social credit code (GB 32100-2015, table 1):
// digits and upper-case letters without I, O, Z, S and V, which are easily misread. A character's
// value is its index here.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the weights W_i = 3^(i-1) mod 31 of the first 17 positions (GB 32100-2015, 5.3).
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// Errors reported by ValidateUSCC; the API maps them to field errors.
var (
	ErrUSCCLength    = errors.New("a unified social credit code has 18 characters")
	ErrUSCCCharacter = errors.New("a unified social credit code uses digits and capital letters other than I, O, Z, S, V")
	ErrUSCCDivision  = errors.New("characters 3 to 8 of a unified social credit code are the digits of an administrative division code")
	ErrUSCCCheck     = errors.New("the check character of the unified social credit code does not match")
)

// USCCCheckChar computes the 18th (check) character for the first 17 characters of a code.
func USCCCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, ErrUSCCLength
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccAlphabet, first17[i])
		if v < 0 {
			return 0, ErrUSCCCharacter
		}
		sum += v * usccWeights[i]
	}
	// The check character is the one that makes the weighted sum a multiple of 31: C18 = 31 - (sum mod
	// 31), with 31 itself written as 0 (the outer mod).
	return usccAlphabet[(31-sum%31)%31], nil
}

// ValidateUSCC checks a unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters
// from the code's alphabet, an administrative division code of six digits in positions 3–8, and
// the check character in position 18. It does not check that the code was ever issued.
func ValidateUSCC(code string) error {
	if len(code) != 18 {
		return ErrUSCCLength
	}
	// Positions 3 to 8 (indexes 2 to 7) are the administrative division code, digits only. A letter
	// of the alphabet there gets the specific division error; anything else is a bad character.
	for i := 2; i < 8; i++ {
		if code[i] < '0' || code[i] > '9' {
			if strings.IndexByte(usccAlphabet, code[i]) < 0 {
				return ErrUSCCCharacter
			}
			return ErrUSCCDivision
		}
	}
	want, err := USCCCheckChar(code[:17])
	if err != nil {
		return err
	}
	// The check character must itself be in the alphabet: a code ending in, say, "I" is a bad
	// character, not a wrong check.
	if strings.IndexByte(usccAlphabet, code[17]) < 0 {
		return ErrUSCCCharacter
	}
	if code[17] != want {
		return ErrUSCCCheck
	}
	return nil
}
