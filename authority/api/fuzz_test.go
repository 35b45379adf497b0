package api_test

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob/authority/api"
)

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"owner":"x","to":"y","serial":null,"sealed_code":"AA"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in api.RecoveryRequestV1
		api.DecodeJSON(b, &in)
		var e api.EnrollRequestV1
		api.DecodeJSON(b, &e)
	})
}

func FuzzParseAuth(f *testing.F) {
	f.Add("SHA256:"+"A", "1", "AAAAAAAAAAAAAAAAAAAAAA", "AA")
	f.Fuzz(func(t *testing.T, signer, tm, nonce, sig string) {
		api.ParseAuth(signer, tm, nonce, sig)
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	f.Add(api.NewRecoveryCode().String())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := api.ParseRecoveryCode(s)
		if err == nil {
			if d, err := api.ParseRecoveryCode(c.String()); err != nil || d != c {
				t.Fatalf("round trip of %q", s)
			}
		}
	})
}

// FuzzParseCheckpoint reads checkpoint text: ParseCheckpoint never
// panics, and a text it accepts is exactly the one Text writes for the
// checkpoint it returns, under the origin asked for.
func FuzzParseCheckpoint(f *testing.F) {
	origin := api.Origin(api.LogIdentity(f).Recipient().Fingerprint())
	root := tlog.RecordHash([]byte("leaf"))
	for _, c := range []api.Checkpoint{
		{Origin: origin},
		{Origin: origin, Size: 9, Root: root},
		{Origin: "", Size: 1<<63 - 1, Root: root},
	} {
		f.Add(c.Origin, string(c.Text()))
	}
	f.Add(origin, origin+"\n01\n"+base64.StdEncoding.EncodeToString(root[:])+"\n")
	f.Add(origin, origin+"\n1\n"+base64.StdEncoding.EncodeToString(root[:])+"\nextension\n")
	f.Fuzz(func(t *testing.T, origin, text string) {
		c, err := api.ParseCheckpoint(origin, text)
		if err != nil {
			return
		}
		if c.Origin != origin || string(c.Text()) != text {
			t.Fatalf("ParseCheckpoint(%q, %q) = %+v, which writes %q", origin, text, c, c.Text())
		}
	})
}

// FuzzOpenCheckpoint opens signed notes under the fixed key of
// LogIdentity: OpenCheckpoint never panics, and a note it opens has the
// text Text writes for its checkpoint and the authority's signature
// SignCheckpoint makes (Ed25519 signatures are deterministic, and Go's
// verifier accepts one encoding of each). A note whose signature block is
// that one line, in canonical base64, is byte for byte the note
// SignCheckpoint writes; other blocks are allowed by the signed-note
// format: witnesses' lines, which OpenCheckpoint ignores, and a line
// repeated or in base64 with unused bits set, which
// golang.org/x/mod/sumdb/note accepts.
func FuzzOpenCheckpoint(f *testing.F) {
	id := api.LogIdentity(f)
	origin := api.Origin(id.Recipient().Fingerprint())
	for size := range uint64(4) {
		msg, err := api.SignCheckpoint(id, api.Checkpoint{Origin: origin, Size: size, Root: tlog.RecordHash([]byte{byte(size)})})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
		f.Add(append(slices.Clone(msg), "\u2014 witness.example "+base64.StdEncoding.EncodeToString(make([]byte, 68))+"\n"...))
		f.Add(unusedBitSet(msg))
	}
	f.Add([]byte("not a note\n\n\u2014 x AAAA\n"))
	v, err := api.NoteVerifier(id.Recipient())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := api.OpenCheckpoint(id.Recipient(), msg)
		if err != nil {
			return
		}
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			t.Fatalf("OpenCheckpoint opened a note note.Open refuses: %v", err)
		}
		if string(c.Text()) != n.Text {
			t.Fatalf("opened text %q, which Text writes as %q", n.Text, c.Text())
		}
		again, err := api.SignCheckpoint(id, c)
		if err != nil {
			t.Fatal(err)
		}
		if sig, want := ourSignature(t, msg, v), ourSignature(t, again, v); !bytes.Equal(sig, want) {
			t.Fatalf("opened the signature %x; SignCheckpoint signs %x", sig, want)
		}
		block := msg[len(n.Text)+1:]
		if strings.Count(string(block), "\n") == 1 && canonicalSignature(n.Sigs[0].Base64) && !bytes.Equal(msg, again) {
			t.Fatalf("opened\n%s\nSignCheckpoint writes\n%s", msg, again)
		}
	})
}

// unusedBitSet returns msg with the lowest unused bit of its last
// signature's base64 set: the same signature bytes, written otherwise.
func unusedBitSet(msg []byte) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out := slices.Clone(msg)
	if i := bytes.LastIndex(out, []byte("=\n")) - 1; i >= 0 {
		if j := strings.IndexByte(alphabet, out[i]); j >= 0 {
			out[i] = alphabet[j|1]
		}
	}
	return out
}

// ourSignature returns the signature bytes of v's first line in msg, a
// note that opened.
func ourSignature(t *testing.T, msg []byte, v note.Verifier) []byte {
	t.Helper()
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	if err != nil || len(b) < 4 {
		t.Fatalf("signature %q", n.Sigs[0].Base64)
	}
	return b[4:]
}

// canonicalSignature reports whether s is the canonical padded base64 of
// the bytes it decodes to.
func canonicalSignature(s string) bool {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && base64.StdEncoding.EncodeToString(b) == s
}

// FuzzDecodeProof reads proofs: DecodeProof never panics, what it
// accepts is exactly what EncodeProof writes for the hashes it returns,
// and EncodeProof's output of any hashes decodes to them.
func FuzzDecodeProof(f *testing.F) {
	h := tlog.RecordHash([]byte("leaf"))
	f.Add(strings.Join(api.EncodeProof([]tlog.Hash{h, h}), "\n"), h[:])
	f.Add(api.EncodeProof([]tlog.Hash{h})[0]+"=", []byte{})
	f.Add(strings.Repeat("AAAA\n", api.MaxProof+1), bytes.Repeat(h[:], 3))
	f.Fuzz(func(t *testing.T, lines string, raw []byte) {
		s := strings.Split(lines, "\n")
		if p, err := api.DecodeProof("proof", s); err == nil {
			if got := api.EncodeProof(p); !slices.Equal(got, s) || len(s) > api.MaxProof {
				t.Fatalf("DecodeProof(%q) = %v, which encodes as %q", s, p, got)
			}
		}
		var hashes []tlog.Hash
		for ; len(raw) >= tlog.HashSize && len(hashes) < api.MaxProof; raw = raw[tlog.HashSize:] {
			hashes = append(hashes, tlog.Hash(raw[:tlog.HashSize]))
		}
		p, err := api.DecodeProof("proof", api.EncodeProof(hashes))
		if err != nil || !slices.Equal(p, hashes) {
			t.Fatalf("DecodeProof(EncodeProof(%v)) = %v, %v", hashes, p, err)
		}
	})
}
