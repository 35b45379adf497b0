package keyblob

import (
	"bytes"
	"errors"
	"testing"
)

func TestWrapSecret(t *testing.T) {
	for _, kind := range []string{KindHybrid, KindX25519, KindRSA2048} {
		t.Run(kind, func(t *testing.T) {
			id, err := GenerateIdentity(kind)
			if err != nil {
				t.Fatal(err)
			}
			secret := bytes.Repeat([]byte{7}, SecretSize)
			label := []byte("keyblob/v1 test secret\x00ctx")
			w, err := WrapSecret(id.Recipient(), secret, label)
			if err != nil {
				t.Fatal(err)
			}
			got, err := id.UnwrapSecret(w, label)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("round trip: %x, %v", got, err)
			}
			if _, err := id.UnwrapSecret(w, append(label, 'x')); !errors.Is(err, ErrAuth) {
				t.Errorf("another label: %v, want ErrAuth", err)
			}
			for i := range len(w) * 8 {
				if i%97 != 0 {
					continue
				}
				f := bytes.Clone(w)
				f[i/8] ^= 1 << (i % 8)
				if _, err := id.UnwrapSecret(f, label); !errors.Is(err, ErrAuth) {
					t.Errorf("bit %d flipped: %v, want ErrAuth", i, err)
				}
			}
			if _, err := id.UnwrapSecret(w[:len(w)-1], label); !errors.Is(err, ErrAuth) {
				t.Errorf("truncated: %v, want ErrAuth", err)
			}
		})
	}
}

func TestWrapSecretRefuses(t *testing.T) {
	id, err := GenerateIdentity(KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	r := id.Recipient()
	if _, err := WrapSecret(r, make([]byte, 31), []byte("l")); err == nil {
		t.Error("31-byte secret wrapped")
	}
	if _, err := WrapSecret(r, make([]byte, SecretSize), []byte("keyblob/v1 key blob\x00x")); err == nil {
		t.Error("key blob label accepted")
	}
	if _, err := id.UnwrapSecret(make([]byte, 80), []byte("keyblob/v1 key blob")); err == nil {
		t.Error("key blob label accepted by UnwrapSecret")
	}
}
