package api

import (
	"errors"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

func TestConsoleToken(t *testing.T) {
	op, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	var auth keyblob.Fingerprint
	auth[0] = 7
	now := time.Unix(1_700_000_000, 0)
	s, err := NewConsoleToken(op, auth, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseConsoleToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Auth.Signer != op.Recipient().SigningFingerprint() || !tok.Expires().Equal(now.Add(5*time.Minute)) {
		t.Errorf("parsed %+v", tok)
	}
	if err := VerifyConsoleToken(auth, tok, op.Recipient()); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := VerifyConsoleToken(auth, tok, other.Recipient()); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("other key: %v", err)
	}
	var elsewhere keyblob.Fingerprint
	if err := VerifyConsoleToken(elsewhere, tok, op.Recipient()); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("other authority: %v", err)
	}
	for _, c := range []struct {
		at time.Time
		ok bool
	}{{now, true}, {now.Add(-time.Second), true}, {now.Add(5*time.Minute - time.Second), true},
		{now.Add(5 * time.Minute), false}, {now.Add(-MaxSkew - time.Second), false}} {
		if err := CheckConsoleTime(tok, c.at); (err == nil) != c.ok {
			t.Errorf("at %s: %v", c.at, err)
		}
	}
	// A flipped bit anywhere fails parsing or the signature; every strict
	// prefix fails; trailing bytes and non-canonical text fail.
	raw := []byte(s)
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		if tok, err := ParseConsoleToken(string(b)); err == nil && VerifyConsoleToken(auth, tok, op.Recipient()) == nil {
			t.Errorf("bit flip at %d accepted", i)
		}
	}
	for i := range len(s) {
		if tok, err := ParseConsoleToken(s[:i]); err == nil && VerifyConsoleToken(auth, tok, op.Recipient()) == nil {
			t.Errorf("prefix of %d accepted", i)
		}
	}
	for _, bad := range []string{s + "A", s + "=", "", "!!!!"} {
		if tok, err := ParseConsoleToken(bad); err == nil && VerifyConsoleToken(auth, tok, op.Recipient()) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, v := range []time.Duration{0, time.Millisecond, MaxConsoleValidity + time.Second, 1500 * time.Millisecond} {
		if _, err := NewConsoleToken(op, auth, now, v); err == nil {
			t.Errorf("validity %s accepted", v)
		}
	}
}
