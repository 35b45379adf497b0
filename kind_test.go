package keyblob

import (
	"strings"
	"testing"

	"github.com/keyblob/keyblob/internal/suite"
)

// TestKindsTable checks the kinds table: each kind is named after its
// exchange key, Kinds lists them in table order in a fresh slice, and an
// unknown kind is refused with the list.
func TestKindsTable(t *testing.T) {
	want := []string{KindHybrid, KindX25519, KindRSA2048, KindRSA3072, KindRSA4096}
	got := Kinds()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Kinds() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Kinds()[0] != KindHybrid {
		t.Errorf("changing the slice Kinds returned changed the kinds")
	}
	for _, k := range kinds {
		if name := suite.KeyName(k.exchange.Key, k.bits); name != k.name {
			t.Errorf("kind %q is not named after its exchange key %q", k.name, name)
		}
		if k.bits != 0 && (k.exchange.Key != k.signature.Key || k.bits < suite.MinRSABits || k.bits > suite.MaxRSABits) {
			t.Errorf("kind %q: a sized kind must use one kind of key of a supported size", k.name)
		}
	}
	if _, err := GenerateIdentity("rsa-1024"); err == nil || !strings.Contains(err.Error(), strings.Join(want, ", ")) {
		t.Errorf("GenerateIdentity(rsa-1024) = %v, want the list of kinds", err)
	}
}

// TestAlgorithmConstants checks that keyblob's algorithm numbers and names
// are those of the tables, entry for entry.
func TestAlgorithmConstants(t *testing.T) {
	exchanges := map[ExchangeAlg]*suite.Exchange{ExchangeHybrid: suite.Hybrid, ExchangeX25519: suite.X25519, ExchangeRSAOAEP: suite.RSAOAEP}
	for _, e := range suite.Exchanges() {
		a := ExchangeAlg(e.ID)
		if exchanges[a] != e || a.String() != e.Name || a.PostQuantum() != e.PostQuantum {
			t.Errorf("exchange algorithm %d does not match its table entry %s", e.ID, e.Name)
		}
	}
	signatures := map[SignatureAlg]*suite.Signature{SignatureEd25519: suite.Ed25519, SignatureRSAPSS: suite.RSAPSS}
	for _, s := range suite.Signatures() {
		if a := SignatureAlg(s.ID); signatures[a] != s || a.String() != s.Name {
			t.Errorf("signature algorithm %d does not match its table entry %s", s.ID, s.Name)
		}
	}
	if len(exchanges) != len(suite.Exchanges()) || len(signatures) != len(suite.Signatures()) {
		t.Errorf("the constants and the tables have different numbers of algorithms")
	}
}
