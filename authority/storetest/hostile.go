package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// hostileStrings returns more than a thousand strings that break naive
// storage: NUL and other control bytes, invalid UTF-8 (lone
// continuation bytes, overlong forms, surrogates, code points past
// U+10FFFF), SQL and JSON metacharacters, Unicode format and bidi
// controls, line and paragraph separators, combining and case-folding
// characters, every single byte, and random byte strings up to 1024
// bytes. None is empty, and none is longer than 1024 bytes, so every
// text field of every record can hold each of them.
func hostileStrings() []string {
	out := []string{
		"\x00", "a\x00b", "\x00\x00\x00", "\x00end", "end\x00", "\xff", "\xfe\xff", "\xff\xfe", "\xef\xbb\xbf",
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		"\x80", "\xbf", "\xc3", "a\xc3", "\xe2\x82", "'", "''", "\"", "`", ";", "--", "/*", "*/", "' OR '1'='1",
		"'; DROP TABLE owners; --", "\"; DROP TABLE audit; --", "\\", "\\x00", "\\\\", "%", "_", "%_%", "$1", "$$",
		"$tag$ x $tag$", "?", ":name", "@p1", "E'\\\\'", "\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\u200d",
		"\u200e", "\ufeff", "\ufffd", "\uffff", "\ufffe", "\U0010ffff", "\U000e0001", "\r", "\n", "\r\n", "\n\r", "\t",
		"\v", "\f", "\x1b[31mred\x1b[0m", "\x7f", "\u0085", "\u00a0", "\u2028", "\u2029", "\U0001f511", "e\u0301",
		"\ufb01", "\u0130", "\u00df", "\u03a3\u03c3\u03c2", " ", "  leading", "trailing  ", "NULL", "null", "NaN",
		"true", "0", "-1", "1e309", "{}", "[]", "{\"a\":", "<script>alert(1)</script>", "&amp;", "\x01\x02\x03",
		"keyblob:x25519:AAAA", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "..\\..\\etc\\passwd",
		strings.Repeat("\x00", 1024), strings.Repeat("\xff", 1024), strings.Repeat("'", 1024), strings.Repeat("é", 512),
		strings.Repeat("\U0001f511", 256), strings.Repeat("a", 1023) + "\xc3",
	}
	for b := range 256 {
		out = append(out, string([]byte{byte(b)}), "x"+string([]byte{byte(b)})+"y")
	}
	r := rand.New(rand.NewPCG(11, 2025))
	for range 500 {
		b := make([]byte, 1+r.IntN(1024))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		out = append(out, string(b))
	}
	// Mixtures of the above, glued together.
	for range 200 {
		var sb strings.Builder
		for sb.Len() < 200 {
			sb.WriteString(out[r.IntN(120)])
		}
		out = append(out, sb.String()[:min(sb.Len(), 1024)])
	}
	return out
}

// testHostileStrings stores every hostile string in every text and byte
// field (recipient line, verifier, description, key blob, new identity,
// audit detail) from goroutines on two instances, and reads each back
// byte for byte.
func testHostileStrings(t *testing.T, e *env) {
	stores := []authority.Store{e.s, e.reopen()}
	all := hostileStrings()
	if len(all) < 1000 {
		t.Fatalf("only %d hostile strings", len(all))
	}
	const workers = 4
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(all) && errs[w] == nil; i += workers {
				errs[w] = roundTrip(t, stores[w%2], stores[(w+1)%2], all[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	verify(t, e.s, uint64(3*len(all)))
	testBounds(t, e)
}

// roundTrip stores s in every field through one store and reads it back
// through the other.
func roundTrip(t *testing.T, s, other authority.Store, s0 string) error {
	ctx := t.Context()
	o := newOwner()
	o.Recipient, o.Verifier = s0, []byte(s0)
	if _, err := s.CreateOwner(ctx, o, entry(api.AuditEnroll, o.ID, s0)); err != nil {
		return fmt.Errorf("CreateOwner with a hostile string (%s): %w", digest(s0), err)
	}
	o.Version = 1
	d := authority.Deposit{Owner: o.ID, Serial: serial(), Description: s0, Blob: []byte(s0), Signer: o.Signer,
		Created: now(), Deposited: now()}
	de, err := s.PutDeposit(ctx, nonce(), d, entry(api.AuditDeposit, o.ID, s0))
	if err != nil {
		return fmt.Errorf("PutDeposit with a hostile string (%s): %w", digest(s0), err)
	}
	d.Seq = de.Seq
	r := newRecovery(o)
	r.To = s0
	if _, err := s.CreateRecovery(ctx, r, o, entry(api.AuditRecoveryRequest, o.ID, s0)); err != nil {
		return fmt.Errorf("CreateRecovery with a hostile string (%s): %w", digest(s0), err)
	}
	r.Version, o.Version = 1, 2
	return readBack(t, other, o, d, r, s0)
}

func readBack(t *testing.T, s authority.Store, o authority.Owner, d authority.Deposit, r authority.Recovery, s0 string) error {
	ctx := t.Context()
	gotO, err1 := s.Owner(ctx, o.ID)
	gotD, err2 := s.Deposit(ctx, o.ID, d.Serial)
	gotR, err3 := s.Recovery(ctx, r.ID)
	entries, err4 := s.Audit(ctx, o.ID, 0, 10)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("reading back a hostile string (%s): %w", digest(s0), err)
	}
	switch {
	case gotO.Recipient != s0 || string(gotO.Verifier) != s0 || gotO.Version != o.Version:
		return fmt.Errorf("the owner's recipient or verifier changed: stored %s, read %s and %s",
			digest(s0), digest(gotO.Recipient), digest(string(gotO.Verifier)))
	case gotD.Description != s0 || string(gotD.Blob) != s0 || gotD.Seq != d.Seq:
		return fmt.Errorf("the deposit's description or blob changed: stored %s, read %s and %s",
			digest(s0), digest(gotD.Description), digest(string(gotD.Blob)))
	case gotR.To != s0:
		return fmt.Errorf("the request's new identity changed: stored %s, read %s", digest(s0), digest(gotR.To))
	case len(entries) != 3:
		return fmt.Errorf("%d audit entries for the owner, want 3", len(entries))
	}
	for _, e := range entries {
		if e.Detail != s0 {
			return fmt.Errorf("an audit detail changed: stored %s, read %s", digest(s0), digest(e.Detail))
		}
	}
	return nil
}

// testBounds stores strings at, and just past, each field's bounds, and
// one of a MiB: each is stored and read back exactly, or refused with
// ErrInvalid.
func testBounds(t *testing.T, e *env) {
	ctx := t.Context()
	fill := func(n int) string { return strings.Repeat("\x00\xff'", n/3+1)[:n] }
	fields := []struct {
		name   string
		lo, hi int
		try    func(s string) (string, error)
	}{
		{"recipient line", 1, api.MaxRecipientLine, func(s string) (string, error) {
			o := newOwner()
			o.Recipient = s
			if _, err := e.s.CreateOwner(ctx, o, entry(api.AuditEnroll, o.ID, "")); err != nil {
				return "", err
			}
			got, err := e.s.Owner(ctx, o.ID)
			return got.Recipient, err
		}},
		{"verifier", 1, api.MaxVerifier, func(s string) (string, error) {
			o := newOwner()
			o.Verifier = []byte(s)
			if _, err := e.s.CreateOwner(ctx, o, entry(api.AuditEnroll, o.ID, "")); err != nil {
				return "", err
			}
			got, err := e.s.Owner(ctx, o.ID)
			return string(got.Verifier), err
		}},
		{"description", 0, api.MaxDescription, func(s string) (string, error) {
			return depositField(t, e.s, func(d *authority.Deposit) { d.Description = s }, func(d authority.Deposit) string { return d.Description })
		}},
		{"key blob", 1, api.MaxBlob, func(s string) (string, error) {
			return depositField(t, e.s, func(d *authority.Deposit) { d.Blob = []byte(s) }, func(d authority.Deposit) string { return string(d.Blob) })
		}},
		{"new identity", 1, api.MaxRecipientLine, func(s string) (string, error) {
			o := mustCreate(t, e.s, newOwner())
			r := newRecovery(o)
			r.To = s
			if _, err := e.s.CreateRecovery(ctx, r, o, entry(api.AuditRecoveryRequest, o.ID, "")); err != nil {
				return "", err
			}
			got, err := e.s.Recovery(ctx, r.ID)
			return got.To, err
		}},
		{"audit detail", 0, api.MaxDetail, func(s string) (string, error) {
			o := mustCreate(t, e.s, newOwner())
			got, err := e.s.AppendAudit(ctx, entry(api.AuditRelease, o.ID, s))
			if err != nil {
				return "", err
			}
			entries, err := e.s.Audit(ctx, o.ID, got.Seq-1, 1)
			if err != nil || len(entries) != 1 {
				return "", fmt.Errorf("reading the entry back: %d entries, %v", len(entries), err)
			}
			return entries[0].Detail, nil
		}},
	}
	for _, f := range fields {
		for _, n := range []int{0, 1, f.hi - 1, f.hi, f.hi + 1, 1 << 20} {
			s := fill(n)
			got, err := f.try(s)
			switch ok := n >= f.lo && n <= f.hi; {
			case ok && err != nil:
				t.Fatalf("%s of %d bytes: %v", f.name, n, err)
			case ok && got != s:
				t.Fatalf("%s of %d bytes: read back %s", f.name, n, digest(got))
			case !ok && !errors.Is(err, api.ErrInvalid):
				t.Fatalf("%s of %d bytes: got %v, want ErrInvalid", f.name, n, err)
			}
		}
	}
}

func depositField(t *testing.T, s authority.Store, set func(*authority.Deposit), get func(authority.Deposit) string) (string, error) {
	o := mustCreate(t, s, newOwner())
	d := authority.Deposit{Owner: o.ID, Serial: serial(), Blob: []byte{1}, Signer: o.Signer, Created: now(), Deposited: now()}
	set(&d)
	if _, err := s.PutDeposit(t.Context(), nonce(), d, entry(api.AuditDeposit, o.ID, "")); err != nil {
		return "", err
	}
	got, err := s.Deposit(t.Context(), o.ID, d.Serial)
	return get(got), err
}
