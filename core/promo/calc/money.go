package calc

import (
	"math"
	"math/big"
	"strconv"
)

// maxAmount is the largest amount a Calculation holds.
const maxAmount = math.MaxInt64

// addInt adds two non-negative amounts; ok is false on overflow.
func addInt(a, b int64) (sum int64, ok bool) {
	if a > maxAmount-b {
		return 0, false
	}
	return a + b, true
}

// mulInt multiplies two non-negative numbers; ok is false on overflow.
func mulInt(a, b int64) (product int64, ok bool) {
	if a != 0 && b > maxAmount/a {
		return 0, false
	}
	return a * b, true
}

// mulSat multiplies two non-negative numbers, saturating at maxAmount: for
// amounts that are only ever compared with smaller ones.
func mulSat(a, b int64) int64 {
	if p, ok := mulInt(a, b); ok {
		return p
	}
	return maxAmount
}

// percentRat returns p (0 ≤ p ≤ 100) as the exact decimal it is written as:
// 12.3 stays 123/10 rather than float64's nearest binary fraction, so that
// halves round as the decimal says.
func percentRat(p float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(p, 'f', -1, 64))
	if !ok { // unreachable for finite p; fall back to the binary value
		r = new(big.Rat).SetFloat64(p)
	}
	return r
}

// percentOf returns v × p / 100 for v ≥ 0 and 0 ≤ p ≤ 100, rounded half away
// from zero to a whole number. The result is at most v.
func percentOf(v int64, p *big.Rat) int64 {
	n := new(big.Int).Mul(big.NewInt(v), p.Num())
	d := new(big.Int).Mul(big.NewInt(100), p.Denom())
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if r.Lsh(r, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}
