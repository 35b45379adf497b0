package api

// The negative log vectors, testdata/tlog/refused.txt: signed notes,
// proofs and receipts that a client, a monitor or `authority audit
// verify` must refuse, each with the error it must refuse it with.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
)

// The errors a refused vector names ("expect"), by name.
var refusals = map[string]error{
	"auth":         keyblob.ErrAuth,
	"malformed":    keyblob.ErrMalformed,
	"inconsistent": ErrLogInconsistent,
}

// edSigner signs notes with an Ed25519 key under any name and key hash.
type edSigner struct {
	name string
	hash uint32
	sign func([]byte) ([]byte, error)
}

func (s edSigner) Name() string                    { return s.name }
func (s edSigner) KeyHash() uint32                 { return s.hash }
func (s edSigner) Sign(msg []byte) ([]byte, error) { return s.sign(msg) }

// otherKey is an Ed25519 key that is not the authority's.
func otherKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("keyblob/v1 tlog vectors: another Ed25519 key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// otherSigner signs with otherKey under name, with the key hash hashOf
// names (a key hash of another key, when it is not otherKey's).
func otherSigner(name string, hashOf ed25519.PublicKey) edSigner {
	sk := otherKey()
	return edSigner{name, noteKeyHash(name, hashOf), func(m []byte) ([]byte, error) { return ed25519.Sign(sk, m), nil }}
}

// authoritySigner signs with the authority's key under name.
func authoritySigner(t testing.TB, name string) edSigner {
	id := logIdentity(t)
	return edSigner{name, noteKeyHash(name, id.Recipient().SigningKeyBytes()), id.SignNote}
}

func signNote(t testing.TB, text string, signers ...note.Signer) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// flipped returns b with bit bit of byte i flipped.
func flipped(b []byte, i, bit int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1 << bit
	return out
}

// refusedNotes are the checkpoint notes to refuse, after the note of the
// tree of vectorLeaves entries.
func refusedNotes(t testing.TB, m *logMaterial) []record {
	good, c := m.notes[vectorLeaves], m.cps[vectorLeaves]
	text := string(c.Text())
	sigLine := string(good[len(text)+1:]) // "— name base64\n"
	name, b64, _ := strings.Cut(strings.TrimPrefix(sigLine, "\u2014 "), " ")
	sigAt := len(text) + 1 + len("\u2014 ") + len(name) + 1 // the signature's base64
	ours := authoritySigner(t, m.origin)
	otherOrigin := Origin(fp("another authority"))
	root := base64.StdEncoding.EncodeToString(c.Root[:])
	lines := func(size, root string, more ...string) string {
		return strings.Join(append([]string{m.origin, size, root}, more...), "\n") + "\n"
	}
	ff := bytes.Repeat([]byte{0xff}, 32)
	cases := []struct {
		name, expect, why string
		note              []byte
	}{
		{"flipped bit in the size", "auth", "the size line says 8: the signature does not verify", flipped(good, len(m.origin)+1, 0)},
		{"flipped bit in the root", "auth", "the root line changed: the signature does not verify", flipped(good, len(m.origin)+3, 1)},
		{"flipped bit in the origin", "auth", "the origin line changed: the signature does not verify", flipped(good, 3, 0)},
		{"flipped bit in the signature", "auth", "the Ed25519 signature does not verify", flipped(good, sigAt+20, 1)},
		{"flipped bit in the key hash", "auth", "no known key has that key hash", flipped(good, sigAt+1, 1)},
		{"flipped bit in the key name", "auth", "no known key has that name", flipped(good, len(text)+1+len("\u2014 ")+5, 0)},
		{"flipped bit in the blank line", "auth", "no blank line before the signatures: not a note", flipped(good, len(text), 1)},
		{"truncated by one byte", "auth", "the signature line does not end in a newline", good[:len(good)-1]},
		{"truncated signature line", "auth", "half a signature", []byte(text + "\n" + sigLine[:len(sigLine)/2] + "\n")},
		{"truncated: no signature", "auth", "a blank line and no signature", []byte(text + "\n")},
		{"truncated: text only", "auth", "the checkpoint text without a signature block", []byte(text)},
		{"empty", "auth", "nothing", []byte{}},
		{"trailing byte", "auth", "a byte after the signature block's last newline", append(bytes.Clone(good), 'x')},
		{"trailing newline", "auth", "a blank line after the signature", append(bytes.Clone(good), '\n')},
		{"trailing line", "auth", "a line after the signature that is not a signature", append(bytes.Clone(good), "x\n"...)},
		{"non-canonical base64 in the signature", "auth", "an unused bit of the signature's last base64 character set: the same bytes, another spelling",
			flipped(good, len(good)-3, 1)},
		{"repeated signature line", "auth", "the authority's signature line twice: another spelling of one note",
			append(bytes.Clone(good), sigLine...)},
		{"CRLF line ends", "auth", "a carriage return is a control character", bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n"))},
		{"wrong origin", "malformed", "another authority's origin, signed by this authority's key under its name",
			signNote(t, strings.Replace(text, m.origin, otherOrigin, 1), ours)},
		{"wrong origin and key name", "auth", "another authority's origin, signed by this authority's key under that name",
			signNote(t, strings.Replace(text, m.origin, otherOrigin, 1), authoritySigner(t, otherOrigin))},
		{"wrong key name", "auth", "the authority's signature under another authority's name",
			[]byte(text + "\n\u2014 " + otherOrigin + " " + b64)},
		{"key name without its fingerprint", "auth", "the authority's signature under the name \"keyblob.authority\"",
			[]byte(text + "\n\u2014 keyblob.authority " + b64)},
		{"another key under the authority's name", "auth", "another Ed25519 key, named as the authority, with its own key hash",
			signNote(t, text, otherSigner(m.origin, otherKey().Public().(ed25519.PublicKey)))},
		{"another key with the authority's key hash", "auth", "another key's signature under the authority's name and key hash",
			signNote(t, text, otherSigner(m.origin, logIdentity(t).Recipient().SigningKeyBytes()))},
		{"only a witness signature", "auth", "no signature by the authority",
			signNote(t, text, otherSigner("witness.example", otherKey().Public().(ed25519.PublicKey)))},
		{"extension line", "malformed", "C2SP allows extension lines; this protocol has none", signNote(t, lines("9", root, "extension"), ours)},
		{"non-canonical size", "malformed", "the size with a leading zero", signNote(t, lines("09", root), ours)},
		{"size of 2^63", "malformed", "sizes are below 2^63", signNote(t, lines("9223372036854775808", root), ours)},
		{"negative size", "malformed", "a signed size", signNote(t, lines("-9", root), ours)},
		{"root without padding", "malformed", "the root in unpadded base64", signNote(t, lines("9", strings.TrimRight(root, "=")), ours)},
		{"root in base64url", "malformed", "the root in the URL alphabet", signNote(t, lines("9", base64.URLEncoding.EncodeToString(ff)), ours)},
		{"root of 31 bytes", "malformed", "a root hash is 32 bytes", signNote(t, lines("9", base64.StdEncoding.EncodeToString(c.Root[:31])), ours)},
		{"root of 33 bytes", "malformed", "a root hash is 32 bytes", signNote(t, lines("9", base64.StdEncoding.EncodeToString(append(c.Root[:], 0))), ours)},
		{"no root", "malformed", "two lines", signNote(t, m.origin+"\n9\n", ours)},
	}
	var recs []record
	for _, tc := range cases {
		recs = append(recs, record{{"name", tc.name}, {"check", "checkpoint"}, {"expect", tc.expect},
			{"why", tc.why}, {"note", strconv.Quote(string(tc.note))}})
	}
	return recs
}

// refusedInclusions are inclusion proofs to refuse: each of an entry of
// logEntries (with the salt given) in the tree of size entries whose root
// is given.
func refusedInclusions(t testing.TB, m *logMaterial) []record {
	p := m.inclusion(t, 3, vectorLeaves)
	cases := []struct {
		name, why string
		seq, size uint64
		hashes    []tlog.Hash
		saltFlip  bool
	}{
		{name: "flipped bit in a hash", why: "the proof's first hash changed", seq: 3, hashes: flipHash(p, 0)},
		{name: "truncated", why: "the proof's last hash dropped", seq: 3, hashes: p[:len(p)-1]},
		{name: "trailing hash", why: "a hash after the proof", seq: 3, hashes: append(append(tlog.RecordProof{}, p...), p[0])},
		{name: "another entry's proof", why: "the proof of entry 4 given for entry 3", seq: 3, hashes: m.inclusion(t, 4, vectorLeaves)},
		{name: "another tree's proof", why: "the proof in the tree of 8 checked in the tree of 9", seq: 3, hashes: m.inclusion(t, 3, 8)},
		{name: "another salt", why: "the entry's salt changed: another leaf", seq: 3, hashes: p, saltFlip: true},
		{name: "entry beyond the tree", why: "entry 9 in the tree of 8 entries", seq: 9, size: 8, hashes: m.inclusion(t, 8, 8)},
	}
	var recs []record
	for _, tc := range cases {
		if tc.size == 0 {
			tc.size = vectorLeaves
		}
		salt := m.es[tc.seq-1].Salt
		if tc.saltFlip {
			salt[0] ^= 1
		}
		root := m.cps[tc.size].Root
		r := record{{"name", tc.name}, {"check", "inclusion"}, {"expect", "inconsistent"}, {"why", tc.why},
			{"seq", strconv.FormatUint(tc.seq, 10)}, {"salt", hex.EncodeToString(salt[:])},
			{"size", strconv.FormatUint(tc.size, 10)}, {"root", hex.EncodeToString(root[:])}}
		r.addHashes(tc.hashes)
		recs = append(recs, r)
	}
	return recs
}

// flipHash returns p with bit 0 of hash i flipped.
func flipHash(p []tlog.Hash, i int) []tlog.Hash {
	out := append([]tlog.Hash{}, p...)
	out[i][0] ^= 1
	return out
}

// refusedConsistencies are consistency proofs to refuse, between the
// checkpoints (old, old root) seen and (size, root) shown.
func refusedConsistencies(t testing.TB, m *logMaterial) []record {
	p := m.consistency(t, 3, vectorLeaves)
	other := m.cps[vectorLeaves].Root
	other[31] ^= 0x80
	cases := []struct {
		name, why     string
		old, size     uint64
		oldRoot, root tlog.Hash
		hashes        []tlog.Hash
	}{
		{"flipped bit in a hash", "the proof's first hash changed", 3, 9, m.cps[3].Root, m.cps[9].Root, flipHash(p, 0)},
		{"truncated", "the proof's last hash dropped", 3, 9, m.cps[3].Root, m.cps[9].Root, p[:len(p)-1]},
		{"trailing hash", "a hash after the proof", 3, 9, m.cps[3].Root, m.cps[9].Root, append(append(tlog.TreeProof{}, p...), p[0])},
		{"another pair's proof", "the proof from 4 to 9 given from 3 to 9", 3, 9, m.cps[3].Root, m.cps[9].Root, m.consistency(t, 4, 9)},
		{"rewritten history", "the tree of 3 seen had another root", 3, 9, m.cps[4].Root, m.cps[9].Root, p},
		{"rewritten tree", "the tree of 9 shown has another root", 3, 9, m.cps[3].Root, other, p},
		{"log shrank", "a tree of 9 seen, a tree of 5 shown: no proof makes that consistent", 9, 5, m.cps[9].Root, m.cps[5].Root, m.consistency(t, 5, 9)},
		{"fork at the same size", "two roots for the tree of 9", 9, 9, m.cps[9].Root, other, nil},
	}
	var recs []record
	for _, tc := range cases {
		r := record{{"name", tc.name}, {"check", "consistency"}, {"expect", "inconsistent"}, {"why", tc.why},
			{"old", strconv.FormatUint(tc.old, 10)}, {"old root", hex.EncodeToString(tc.oldRoot[:])},
			{"size", strconv.FormatUint(tc.size, 10)}, {"root", hex.EncodeToString(tc.root[:])}}
		r.addHashes(tc.hashes)
		recs = append(recs, r)
	}
	return recs
}

// refusedWire are proofs on the wire (the strings of ProofV1) that
// DecodeProof refuses.
func refusedWire(t testing.TB, m *logMaterial) []record {
	good := EncodeProof(m.inclusion(t, 3, vectorLeaves))
	ff := bytes.Repeat([]byte{0xff}, 32)
	last := []byte(good[0])
	last[len(last)-1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[strings.IndexByte(
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last[len(last)-1])|1]
	tooMany := make([]string, MaxProof+1)
	for i := range tooMany {
		tooMany[i] = good[0]
	}
	cases := []struct {
		name, why string
		wire      []string
	}{
		{"padded", "base64url with padding", []string{good[0] + "="}},
		{"standard alphabet", "'/' is not base64url", []string{base64.RawStdEncoding.EncodeToString(ff)}},
		{"unused bits set", "the last character's unused bits are not zero", []string{string(last)}},
		{"truncated hash", "31 bytes", []string{EncodeBytes(ff[:31])}},
		{"trailing byte", "33 bytes", []string{EncodeBytes(append(bytes.Clone(ff), 0))}},
		{"trailing space", "white space after a hash", []string{good[0] + " "}},
		{"empty hash", "an empty string", []string{good[0], ""}},
		{"too many hashes", "more than MaxProof hashes", tooMany},
	}
	var recs []record
	for _, tc := range cases {
		r := record{{"name", tc.name}, {"check", "proof"}, {"expect", "malformed"}, {"why", tc.why}}
		for _, s := range tc.wire {
			r.add("wire", strconv.Quote(s))
		}
		recs = append(recs, r)
	}
	return recs
}

// refusedReceipts are receipts of entry 2 to refuse.
func refusedReceipts(t testing.TB, m *logMaterial) []record {
	id := logIdentity(t)
	mk := func(seq uint64, msg []byte, proof tlog.RecordProof, edit func(*ReceiptV1)) string {
		r, err := SignReceipt(id, m.es[seq-1], msg, proof)
		if err != nil {
			t.Fatal(err)
		}
		v := r.V1()
		if edit != nil {
			edit(&v)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	nine, proof := m.notes[vectorLeaves], m.inclusion(t, 2, vectorLeaves)
	forged := signNote(t, string(m.cps[vectorLeaves].Text()), otherSigner(m.origin, otherKey().Public().(ed25519.PublicKey)))
	otherSalt := m.es[1].Salt
	otherSalt[0] ^= 1
	cases := []struct{ name, expect, why, json string }{
		{"another entry's proof", "inconsistent", "the inclusion proof of entry 3", mk(2, nine, m.inclusion(t, 3, vectorLeaves), nil)},
		{"checkpoint without the entry", "inconsistent", "the checkpoint of the tree of 1 entry", mk(2, m.notes[1], nil, nil)},
		{"another salt", "inconsistent", "the salt changed: the receipt's signature still verifies, the inclusion proof does not",
			mk(2, nine, proof, func(v *ReceiptV1) { v.Entry.Salt = EncodeBytes(otherSalt[:]) })},
		{"checkpoint by another key", "auth", "the checkpoint signed by another key under the authority's name", mk(2, forged, proof, nil)},
		{"edited entry", "auth", "the entry's detail edited: its hash and the signature do not verify",
			mk(2, nine, proof, func(v *ReceiptV1) { v.Entry.Detail += " " })},
		{"flipped bit in the signature", "auth", "the receipt's signature does not verify", mk(2, nine, proof, func(v *ReceiptV1) {
			b, _ := DecodeBytes("signature", v.Signature, 64)
			v.Signature = EncodeBytes(flipped(b, 7, 3))
		})},
	}
	var recs []record
	for _, tc := range cases {
		recs = append(recs, record{{"name", tc.name}, {"check", "receipt"}, {"expect", tc.expect}, {"why", tc.why}, {"json", tc.json}})
	}
	return recs
}

func writeRefused(t testing.TB, m *logMaterial) {
	var recs []record
	for _, f := range []func(testing.TB, *logMaterial) []record{refusedNotes, refusedInclusions, refusedConsistencies, refusedWire, refusedReceipts} {
		recs = append(recs, f(t, m)...)
	}
	writeRecords(t, "refused.txt", []string{
		"Signed notes, proofs and receipts that must be refused, " + vectorsMadeBy,
		"check: checkpoint (OpenCheckpoint with the authority of key.txt), inclusion (of entry seq of leaves.txt,",
		"with the salt given, in the tree of size entries with root), consistency (of the tree seen, old and old root,",
		"with the tree shown, size and root), proof (DecodeProof of the wire strings) or receipt (ReceiptV1.Parse",
		"then VerifyReceipt). expect: the error: auth (keyblob.ErrAuth), malformed (keyblob.ErrMalformed),",
		"inconsistent (api.ErrLogInconsistent). Variants of the vectors of checkpoints.txt, proofs.txt and receipts.txt.",
	}, recs)
}

// refusedMust are the cases refused.txt must hold, by check.
var refusedMust = map[string][]string{
	"checkpoint": {"flipped bit in the size", "flipped bit in the signature", "truncated by one byte", "trailing byte",
		"wrong origin", "wrong key name", "another key under the authority's name", "extension line"},
	"inclusion":   {"flipped bit in a hash", "truncated", "trailing hash"},
	"consistency": {"flipped bit in a hash", "truncated", "trailing hash", "log shrank", "fork at the same size"},
	"proof":       {"padded", "truncated hash", "trailing byte"},
	"receipt":     {"another entry's proof", "checkpoint by another key", "another salt"},
}

// TestLogVectorsRefused checks that the code refuses every negative
// vector, with the error the vector names.
func TestLogVectorsRefused(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range readRecords(t, "refused.txt") {
		check, name := f.one("check"), f.one("name")
		if seen[check+": "+name] {
			t.Fatalf("%s %q twice", check, name)
		}
		seen[check+": "+name] = true
		want, ok := refusals[f.one("expect")]
		if !ok {
			t.Fatalf("%s: expect %q", name, f.one("expect"))
		}
		t.Run(check+"/"+name, func(t *testing.T) {
			if err := refuse(t, f); !errors.Is(err, want) {
				t.Fatalf("%s (%s): %v, want %v", name, f.one("why"), err, want)
			}
		})
	}
	for check, names := range refusedMust {
		for _, name := range names {
			if !seen[check+": "+name] {
				t.Errorf("refused.txt has no %s case %q", check, name)
			}
		}
	}
}

// refuse runs the check of a negative vector and returns its error.
func refuse(t *testing.T, f fields) error {
	authority := logIdentity(t).Recipient()
	origin := Origin(authority.Fingerprint())
	switch f.one("check") {
	case "checkpoint":
		_, err := OpenCheckpoint(authority, []byte(f.text("note")))
		return err
	case "inclusion":
		e := logEntries(t)[f.uint("seq")-1]
		copy(e.Salt[:], f.bytes("salt"))
		return VerifyInclusion(Checkpoint{Origin: origin, Size: f.uint("size"), Root: f.hash("root")}, &e, f.hashes())
	case "consistency":
		seen := Checkpoint{Origin: origin, Size: f.uint("old"), Root: f.hash("old root")}
		return VerifyConsistency(seen, time.Time{}, Checkpoint{Origin: origin, Size: f.uint("size"), Root: f.hash("root")}, f.hashes())
	case "proof":
		var wire []string
		for _, s := range f.values["wire"] {
			u, err := strconv.Unquote(s)
			if err != nil {
				t.Fatal(err)
			}
			wire = append(wire, u)
		}
		_, err := DecodeProof("proof", wire)
		return err
	case "receipt":
		var v ReceiptV1
		if err := DecodeJSON([]byte(f.one("json")), &v); err != nil {
			t.Fatal(err)
		}
		r, err := v.Parse()
		if err != nil {
			return err
		}
		_, err = VerifyReceipt(authority, &r)
		return err
	}
	t.Fatalf("check %q", f.one("check"))
	return nil
}

// vectorNote returns the signed note of the largest tree of
// checkpoints.txt.
func vectorNote(t *testing.T) []byte {
	recs := readRecords(t, "checkpoints.txt")
	f := recs[len(recs)-1]
	if f.uint("size") != vectorLeaves {
		t.Fatalf("the last checkpoint is of %d entries", f.uint("size"))
	}
	return []byte(f.text("note"))
}

// TestSignedNoteBitFlips flips every bit of the vectors' signed note:
// OpenCheckpoint refuses every one but those of the signature's last
// base64 character that leave the signature's bytes as they were.
func TestSignedNoteBitFlips(t *testing.T) {
	good := vectorNote(t)
	authority := logIdentity(t).Recipient()
	for i := range good {
		for bit := range 8 {
			msg := flipped(good, i, bit)
			if _, err := OpenCheckpoint(authority, msg); err == nil {
				t.Errorf("bit %d of byte %d flipped (%q): the note still opens", bit, i, msg[i])
			}
		}
	}
}

// TestSignedNoteTruncation checks that OpenCheckpoint refuses every
// strict prefix of the vectors' signed note, and the note with any byte
// appended.
func TestSignedNoteTruncation(t *testing.T) {
	good := vectorNote(t)
	authority := logIdentity(t).Recipient()
	for n := range len(good) {
		if _, err := OpenCheckpoint(authority, good[:n]); !errors.Is(err, keyblob.ErrAuth) {
			t.Errorf("the first %d bytes: OpenCheckpoint = %v", n, err)
		}
	}
	for b := range 256 {
		if _, err := OpenCheckpoint(authority, append(bytes.Clone(good), byte(b))); err == nil {
			t.Errorf("byte %#x appended: the note still opens", b)
		}
	}
	if _, err := OpenCheckpoint(authority, good); err != nil {
		t.Fatal(err)
	}
}
