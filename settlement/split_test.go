package settlement_test

import (
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

func TestSplitExamples(t *testing.T) {
	for _, tt := range []struct {
		name    string
		total   string
		weights []string
		want    []string
	}{
		{"thirds", "100.00", []string{"1", "1", "1"}, []string{"33.34", "33.33", "33.33"}},
		{"agreed ratios", "10000.00", []string{"0.6", "0.3", "0.1"}, []string{"6000.00", "3000.00", "1000.00"}},
		{"tie goes to the larger weight", "0.05", []string{"1", "2", "2"}, []string{"0.01", "0.02", "0.02"}},
		{"zero weight gets nothing", "0.01", []string{"0", "5"}, []string{"0.00", "0.01"}},
		{"one fen, many parties", "0.01", []string{"1", "1", "1", "1"}, []string{"0.01", "0.00", "0.00", "0.00"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ws []decimal.Decimal
			for _, w := range tt.weights {
				ws = append(ws, decimal.RequireFromString(w))
			}
			got, err := settlement.Split(money.MustParse(tt.total), ws)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Fatalf("Split(%s, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
				}
			}
		})
	}
	if _, err := settlement.Split(money.MustParse("1.00"), []decimal.Decimal{decimal.Zero}); err != settlement.ErrNoWeight {
		t.Fatalf("all zero weights: %v", err)
	}
	if _, err := settlement.Split(money.MustParse("1.00"), []decimal.Decimal{decimal.NewFromInt(-1), decimal.NewFromInt(2)}); err != settlement.ErrNegativeWeight {
		t.Fatalf("negative weight: %v", err)
	}
}

// The split's guarantees hold over random agreements and amounts.
func TestSplitProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "parties")
		ws := make([]decimal.Decimal, n)
		positive := false
		for i := range ws {
			ws[i] = decimal.New(rapid.Int64Range(0, 10_000_000).Draw(t, "weight"), -int32(rapid.IntRange(0, 4).Draw(t, "places")))
			positive = positive || ws[i].IsPositive()
		}
		if !positive {
			ws[0] = decimal.NewFromInt(1)
		}
		total := money.FromFen(rapid.Int64Range(0, 900_000_000_000_000).Draw(t, "fen"))
		parts, err := settlement.Split(total, ws)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := settlement.Split(total, ws)
		sum := int64(0)
		wsum := decimal.Zero
		for _, w := range ws {
			wsum = wsum.Add(w)
		}
		for i, p := range parts {
			if p.Fen() < 0 {
				t.Fatalf("part %d is negative: %s", i, p)
			}
			if p.Cmp(again[i]) != 0 {
				t.Fatal("the same input split differently")
			}
			sum += p.Fen()
			// |part − exact share| < 1 fen, in exact rational arithmetic.
			exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(total.Fen()), ws[i].Shift(8).BigInt()), wsum.Shift(8).BigInt())
			diff := new(big.Rat).Sub(new(big.Rat).SetInt64(p.Fen()), exact)
			if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
				t.Fatalf("part %d = %d fen, exact share %s", i, p.Fen(), exact.FloatString(4))
			}
			if ws[i].IsZero() && p.Fen() != 0 {
				t.Fatalf("zero weight got %s", p)
			}
			for j := range parts {
				if ws[i].GreaterThan(ws[j]) && parts[i].Fen() < parts[j].Fen() {
					t.Fatalf("larger weight %s got %s, smaller %s got %s", ws[i], parts[i], ws[j], parts[j])
				}
			}
		}
		if sum != total.Fen() {
			t.Fatalf("parts sum to %d fen, total %d", sum, total.Fen())
		}
	})
}
