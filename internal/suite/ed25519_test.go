package suite

import (
	"crypto/rand"
	"testing"

	"filippo.io/edwards25519"
)

// TestPrimeOrder checks primeOrder on points of every kind of order:
// prime-order points pass; the identity, the small-order points and
// prime-order points plus a small-order one (mixed order) do not.
func TestPrimeOrder(t *testing.T) {
	// (0, -1) has order 2; with the identity it is one of the eight
	// small-order points that the blob tests name.
	order2 := make([]byte, 32)
	order2[0] = 0xec
	for i := 1; i < 31; i++ {
		order2[i] = 0xff
	}
	order2[31] = 0x7f
	small, err := new(edwards25519.Point).SetBytes(order2)
	if err != nil {
		t.Fatal(err)
	}
	if primeOrder(edwards25519.NewIdentityPoint()) || primeOrder(small) {
		t.Fatal("a small-order point passed")
	}
	for i := range 32 {
		b := make([]byte, 64)
		rand.Read(b)
		s, _ := edwards25519.NewScalar().SetUniformBytes(b)
		p := new(edwards25519.Point).ScalarBaseMult(s)
		if !primeOrder(p) {
			t.Fatalf("point %d of prime order refused", i)
		}
		if primeOrder(new(edwards25519.Point).Add(p, small)) {
			t.Fatalf("point %d plus a point of order 2 passed", i)
		}
	}
}
