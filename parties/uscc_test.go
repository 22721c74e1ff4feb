package parties_test

import (
	"errors"
	"testing"

	"github.com/datavenue/datavenue/parties"
)

func TestValidateUSCC(t *testing.T) {
	tests := []struct {
		name string
		code string
		want error
	}{
		{"published example", "91350100M000100Y43", nil},
		{"wrong check character", "91350100M000100Y44", parties.ErrUSCCCheck},
		{"too short", "91350100M000100Y4", parties.ErrUSCCLength},
		{"too long", "91350100M000100Y430", parties.ErrUSCCLength},
		{"letter I is not in the alphabet", "91350100M0001I0Y43", parties.ErrUSCCCharacter},
		{"lower case", "91350100m000100Y43", parties.ErrUSCCCharacter},
		{"division code with a letter", "9135A100M000100Y43", parties.ErrUSCCDivision},
		{"multi-byte characters", "９１350100M000100Y4", parties.ErrUSCCLength},
		{"empty", "", parties.ErrUSCCLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parties.ValidateUSCC(tt.code); !errors.Is(got, tt.want) {
				t.Fatalf("ValidateUSCC(%q) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestUSCCCheckCharRoundTrip(t *testing.T) {
	// Every body with a computed check character validates; changing any one character of it
	// is caught (the mod-31 scheme detects all single substitutions).
	body := "91110108MA01ABCDE"
	c, err := parties.USCCCheckChar(body)
	if err != nil {
		t.Fatal(err)
	}
	code := body + string(c)
	if err := parties.ValidateUSCC(code); err != nil {
		t.Fatalf("ValidateUSCC(%q) = %v, want nil", code, err)
	}
	alphabet := "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for i := 0; i < 17; i++ {
		for j := 0; j < len(alphabet); j++ {
			if alphabet[j] == code[i] || (i >= 2 && i < 8 && alphabet[j] > '9') {
				continue
			}
			mutated := code[:i] + string(alphabet[j]) + code[i+1:]
			if parties.ValidateUSCC(mutated) == nil {
				t.Fatalf("ValidateUSCC(%q) accepted a code with position %d changed", mutated, i+1)
			}
		}
	}
}
