// Package settlement turns trades into money movements (DOMAIN.md D15–D17, G4, G6, G8). This file
// is the revenue split by contribution (D16, G6: 谁投入、谁贡献、谁受益); orders, vouchers, the ledger,
// treasury obligations and reconciliation are in the package's other files.
package settlement

import (
	"errors"
	"math/big"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue/money"
)

// Errors of Split.
var (
	ErrNoWeight       = errors.New("settlement: a split needs at least one party with a positive share")
	ErrNegativeWeight = errors.New("settlement: a party's share or input cost cannot be negative")
	ErrNegativeTotal  = errors.New("settlement: a split amount cannot be negative")
)

// Split divides total among parties in proportion to their weights (agreed ratios, or each party's
// input cost summed over the stages production, collection, processing and circulation), exactly
// to the fen, by the largest-remainder method:
//
//  1. each party gets the whole fen of its exact share, total × weight ÷ Σweights, rounded down;
//  2. the fen left over (fewer than the number of parties) go one each to the parties with the
//     largest fractional parts; ties go to the larger weight, then to the party listed first.
//
// So the parts always add up to the total, none is negative, each differs from its exact share by
// less than one fen, a party with zero weight gets nothing, a larger weight never gets less, and
// the same input always gives the same split.
func Split(total money.Yuan, weights []decimal.Decimal) ([]money.Yuan, error) {
	if total.Decimal().IsNegative() {
		return nil, ErrNegativeTotal
	}
	// Scale the weights to integers (decimal exponents are negative at most to their precision).
	exp := int32(0)
	for _, w := range weights {
		if w.IsNegative() {
			return nil, ErrNegativeWeight
		}
		if w.Exponent() < exp {
			exp = w.Exponent()
		}
	}
	ints := make([]*big.Int, len(weights))
	sum := new(big.Int)
	for i, w := range weights {
		ints[i] = w.Shift(-exp).BigInt()
		sum.Add(sum, ints[i])
	}
	if sum.Sign() == 0 {
		return nil, ErrNoWeight
	}
	fen := big.NewInt(total.Fen())
	type part struct {
		index int
		whole int64
		frac  *big.Int // numerator of the fractional part, over sum
	}
	parts := make([]part, len(weights))
	assigned := int64(0)
	for i := range weights {
		num := new(big.Int).Mul(fen, ints[i])
		q, r := new(big.Int).QuoRem(num, sum, new(big.Int))
		parts[i] = part{index: i, whole: q.Int64(), frac: r}
		assigned += q.Int64()
	}
	left := total.Fen() - assigned
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := parts[order[a]], parts[order[b]]
		if c := pa.frac.Cmp(pb.frac); c != 0 {
			return c > 0
		}
		if c := ints[pa.index].Cmp(ints[pb.index]); c != 0 {
			return c > 0
		}
		return pa.index < pb.index
	})
	for k := int64(0); k < left; k++ {
		parts[order[k]].whole++
	}
	out := make([]money.Yuan, len(parts))
	for i, p := range parts {
		out[i] = money.FromFen(p.whole)
	}
	return out, nil
}

// Stages are the input-cost stages of D16/G6.
var Stages = []string{"production", "collection", "processing", "circulation"}

// CostWeights turns each party's input cost per stage into its weight: the sum of its costs.
func CostWeights(costs []map[string]money.Yuan) []decimal.Decimal {
	out := make([]decimal.Decimal, len(costs))
	for i, c := range costs {
		sum := decimal.Zero
		for _, stage := range Stages {
			if v, ok := c[stage]; ok {
				sum = sum.Add(v.Decimal())
			}
		}
		out[i] = sum
	}
	return out
}
