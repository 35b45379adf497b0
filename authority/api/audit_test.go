package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

var update = flag.Bool("update", false, "regenerate the vectors in testdata/ (with -run TestGenerateAuditVectors)")

const chainVectors = "testdata/audit/chain.txt"

// fp returns a fingerprint made from a name, for tests.
func fp(name string) keyblob.Fingerprint { return sha256.Sum256([]byte(name)) }

// vectorEntries are the entries of the chain vectors: one of every kind,
// with details as the service writes them, and one with every byte a
// detail might hold.
func vectorEntries() []AuditEntry {
	t := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	owner, newID, op := fp("alice"), fp("alice, new identity"), fp("operator")
	serial := [16]byte{0x48, 0x8a, 0x61, 0x5c, 0x17, 0xe3, 0xee, 0xff, 0xa5, 0x2f, 0x81, 0x35, 0x2b, 0x20, 0xa0, 0x32}
	req := [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	return []AuditEntry{
		{Time: t, Kind: AuditEnroll, Owner: owner, Actor: owner, Detail: `{"recipient":"keyblob:x25519:AgAg"}`},
		{Time: t.Add(time.Second), Kind: AuditDeposit, Owner: owner, Actor: owner, Ref: serial,
			Detail: `{"serial":"488a615c17e3eeffa52f81352b20a032","blob_sha256":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU","description":"quarterly report","created":"2025-01-02T03:04:05Z"}`},
		{Time: t.Add(2 * time.Second), Kind: AuditCodeAttempt, Owner: owner, Actor: newID, Detail: `{"attempt":1}`},
		{Time: t.Add(3 * time.Second), Kind: AuditRecoveryRequest, Owner: owner, Actor: newID, Ref: req,
			Detail: `{"to":"keyblob:x25519:AgAh","serial":null,"expires":"2025-01-03T03:04:08.123456789Z"}`},
		{Time: t.Add(4 * time.Second), Kind: AuditApproval, Owner: owner, Actor: op, Ref: req, Detail: `{"approvals":1}`},
		{Time: t.Add(5 * time.Second), Kind: AuditRecovery, Owner: owner, Actor: newID, Ref: req,
			Detail: `{"old_signer":"SHA256:a","new_signer":"SHA256:b","to":"keyblob:x25519:AgAh"}`},
		{Time: t.Add(6 * time.Second), Kind: AuditRelease, Owner: owner, Actor: newID, Ref: req,
			Detail: `{"serials":["488a615c17e3eeffa52f81352b20a032"]}`},
		{Time: time.Unix(0, 0).UTC(), Kind: AuditDeposit, Owner: fp("mallory"), Detail: "\x00\xff\"'; DROP TABLE audit; --\u202e\r\n"},
	}
}

// chain links entries from the empty log.
func chain(t testing.TB, entries []AuditEntry) []AuditEntry {
	t.Helper()
	var head AuditHead
	out := make([]AuditEntry, len(entries))
	for i, e := range entries {
		linked, err := e.Chain(head)
		if err != nil {
			t.Fatal(err)
		}
		out[i], head = linked, AuditHead{Seq: linked.Seq, Hash: linked.Hash}
	}
	return out
}

// TestGenerateAuditVectors writes testdata/audit/chain.txt. Run it with:
// go test ./authority -run TestGenerateAuditVectors -update
func TestGenerateAuditVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the vectors in testdata/")
	}
	var b bytes.Buffer
	b.WriteString("# The audit chain of spec/escrow-md section 6, made by TestGenerateAuditVectors.\n")
	b.WriteString("# Each entry: its fields, the bytes hashed (encoding), prev and hash, all hex but detail (Go-quoted).\n")
	for _, e := range chain(t, vectorEntries()) {
		enc, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\nseq: %d\ntime: %d\nkind: %s\nowner: %x\nactor: %x\nref: %x\ndetail: %s\nencoding: %x\nprev: %x\nhash: %x\n",
			e.Seq, e.Time.UnixNano(), e.Kind, e.Owner[:], e.Actor[:], e.Ref[:], strconv.Quote(e.Detail), enc, e.Prev[:], e.Hash[:])
	}
	if err := os.MkdirAll(filepath.Dir(chainVectors), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chainVectors, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// vector is one entry of the vectors file, with what it says the
// encoding is.
type vector struct {
	entry    AuditEntry
	encoding []byte
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open(chainVectors)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	fields := map[string]string{}
	flush := func() {
		if len(fields) > 0 {
			out = append(out, parseVector(t, fields))
			fields = map[string]string{}
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "" {
			flush()
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("bad vector line %q", line)
		}
		fields[name] = value
	}
	flush()
	return out
}

func parseVector(t *testing.T, f map[string]string) vector {
	t.Helper()
	unhex := func(name string) []byte {
		b, err := hex.DecodeString(f[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	seq, err1 := strconv.ParseUint(f["seq"], 10, 64)
	ns, err2 := strconv.ParseInt(f["time"], 10, 64)
	kind, err3 := ParseAuditKind(f["kind"])
	detail, err4 := strconv.Unquote(f["detail"])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	e := AuditEntry{Seq: seq, Time: time.Unix(0, ns).UTC(), Kind: kind, Detail: detail}
	copy(e.Owner[:], unhex("owner"))
	copy(e.Actor[:], unhex("actor"))
	copy(e.Ref[:], unhex("ref"))
	copy(e.Prev[:], unhex("prev"))
	copy(e.Hash[:], unhex("hash"))
	return vector{entry: e, encoding: unhex("encoding")}
}

// TestAuditVectors checks the encoding and the hash of every vector, and
// that the vectors are one intact chain.
func TestAuditVectors(t *testing.T) {
	vectors := readVectors(t)
	if len(vectors) != len(vectorEntries()) {
		t.Fatalf("%d vectors, want %d", len(vectors), len(vectorEntries()))
	}
	var entries []AuditEntry
	for _, v := range vectors {
		enc, err := v.entry.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, v.encoding) {
			t.Errorf("entry %d: encoding %x, want %x", v.entry.Seq, enc, v.encoding)
		}
		if h, _ := ChainHash(v.entry.Prev, &v.entry); h != v.entry.Hash {
			t.Errorf("entry %d: hash %x, want %x", v.entry.Seq, h, v.entry.Hash)
		}
		entries = append(entries, v.entry)
	}
	head, err := VerifyChain(seq2(entries))
	last := entries[len(entries)-1]
	if err != nil || head != (AuditHead{Seq: last.Seq, Hash: last.Hash}) {
		t.Fatalf("VerifyChain = %v, %v", head, err)
	}
}

// TestAuditEncodingLayout checks the offsets of spec/escrow-md
// section 6.2 on the first vector.
func TestAuditEncodingLayout(t *testing.T) {
	e := vectorEntries()[0]
	enc, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(
		[]byte{0x18, 0x16, 0xc1, 0x1e, 0xf6, 0x4e, 0xff, 0x15}, // 1735787045123456789 ns
		[]byte{1}, e.Owner[:], e.Actor[:], make([]byte, 16),
		[]byte{0, byte(len(e.Detail))}, []byte(e.Detail))
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoding\n%x\nwant\n%x", enc, want)
	}
	if e.Time.UnixNano() != 1735787045123456789 {
		t.Fatal("the vector's time changed")
	}
}

func seq2(entries []AuditEntry) iter.Seq2[AuditEntry, error] {
	return func(yield func(AuditEntry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// TestVerifyChainTampering edits, inserts and deletes entries of an
// intact chain in every way a database writer could, and checks that
// VerifyChain names the first entry where the log differs.
func TestVerifyChainTampering(t *testing.T) {
	good := chain(t, vectorEntries())
	forged := func(prev AuditEntry) AuditEntry { // a new entry, hashed correctly after prev
		e, err := AuditEntry{Time: time.Now(), Kind: AuditDeposit, Owner: fp("mallory"), Detail: "{}"}.Chain(
			AuditHead{Seq: prev.Seq, Hash: prev.Hash})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	renumber := func(es []AuditEntry) []AuditEntry {
		for i := range es {
			es[i].Seq = uint64(i + 1)
		}
		return es
	}
	tests := []struct {
		name   string
		tamper func([]AuditEntry) []AuditEntry
		want   *ChainError
	}{
		{"edit detail", func(es []AuditEntry) []AuditEntry { es[3].Detail += " "; return es }, &ChainError{4, Edited}},
		{"edit time", func(es []AuditEntry) []AuditEntry { es[1].Time = es[1].Time.Add(1); return es }, &ChainError{2, Edited}},
		{"edit kind", func(es []AuditEntry) []AuditEntry { es[2].Kind = AuditRecovery; return es }, &ChainError{3, Edited}},
		{"edit owner", func(es []AuditEntry) []AuditEntry { es[0].Owner[0] ^= 1; return es }, &ChainError{1, Edited}},
		{"edit actor", func(es []AuditEntry) []AuditEntry { es[4].Actor[31] ^= 0x80; return es }, &ChainError{5, Edited}},
		{"edit ref", func(es []AuditEntry) []AuditEntry { es[5].Ref[7] ^= 2; return es }, &ChainError{6, Edited}},
		{"edit last", func(es []AuditEntry) []AuditEntry { es[7].Detail = ""; return es }, &ChainError{8, Edited}},
		{"edit hash", func(es []AuditEntry) []AuditEntry { es[2].Hash[0] ^= 1; return es }, &ChainError{3, Edited}},
		{"edit and rehash", func(es []AuditEntry) []AuditEntry {
			es[2].Detail = `{"attempt":0}`
			es[2].Hash, _ = ChainHash(es[2].Prev, &es[2])
			return es
		}, &ChainError{4, Broken}},
		{"delete first", func(es []AuditEntry) []AuditEntry { return es[1:] }, &ChainError{1, Deleted}},
		{"delete middle", func(es []AuditEntry) []AuditEntry { return slices.Delete(es, 3, 4) }, &ChainError{4, Deleted}},
		{"delete and renumber", func(es []AuditEntry) []AuditEntry { return renumber(slices.Delete(es, 3, 4)) }, &ChainError{4, Broken}},
		{"delete first and renumber", func(es []AuditEntry) []AuditEntry { return renumber(es[1:]) }, &ChainError{1, Broken}},
		{"insert and renumber", func(es []AuditEntry) []AuditEntry {
			return renumber(slices.Insert(es, 2, AuditEntry{Time: time.Now(), Kind: AuditDeposit, Owner: fp("m")}))
		}, &ChainError{3, Inserted}},
		{"insert hashed and renumber", func(es []AuditEntry) []AuditEntry {
			return renumber(slices.Insert(es, 2, forged(es[1])))
		}, &ChainError{4, Broken}},
		{"repeated seq", func(es []AuditEntry) []AuditEntry { return slices.Insert(es, 2, es[1]) }, &ChainError{2, Inserted}},
		{"reordered", func(es []AuditEntry) []AuditEntry {
			es[2], es[3] = es[3], es[2]
			es[2].Seq, es[3].Seq = 3, 4
			return es
		}, &ChainError{3, Inserted}},
		{"invalid kind", func(es []AuditEntry) []AuditEntry { es[6].Kind = 0; return es }, &ChainError{7, Edited}},
		{"huge detail", func(es []AuditEntry) []AuditEntry {
			es[6].Detail = strings.Repeat("x", MaxDetail+1)
			return es
		}, &ChainError{7, Edited}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyChain(seq2(tt.tamper(slices.Clone(good))))
			var ce *ChainError
			if !errors.As(err, &ce) || *ce != *tt.want || !errors.Is(err, ErrChain) {
				t.Fatalf("VerifyChain = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyChainBitFlips flips every bit of every hashed field of one
// entry, and checks that each flip is found at that entry.
func TestVerifyChainBitFlips(t *testing.T) {
	good := chain(t, vectorEntries())
	fields := []func(*AuditEntry) []byte{
		func(e *AuditEntry) []byte { return e.Owner[:] },
		func(e *AuditEntry) []byte { return e.Actor[:] },
		func(e *AuditEntry) []byte { return e.Ref[:] },
		func(e *AuditEntry) []byte { return e.Prev[:] },
		func(e *AuditEntry) []byte { return e.Hash[:] },
	}
	for fi, field := range fields {
		for bit := range 8 * len(field(&good[1])) {
			es := slices.Clone(good)
			field(&es[1])[bit/8] ^= 1 << (bit % 8)
			if _, err := VerifyChain(seq2(es)); !errors.Is(err, ErrChain) || err.(*ChainError).Seq != 2 {
				t.Fatalf("field %d, bit %d flipped: VerifyChain = %v", fi, bit, err)
			}
		}
	}
	for bit := range 64 {
		es := slices.Clone(good)
		es[1].Time = time.Unix(0, es[1].Time.UnixNano()^(1<<bit))
		if _, err := VerifyChain(seq2(es)); err == nil || err.(*ChainError).Seq != 2 {
			t.Fatalf("time bit %d flipped: VerifyChain = %v", bit, err)
		}
	}
	for bit := range 8 * len(good[1].Detail) {
		es := slices.Clone(good)
		d := []byte(es[1].Detail)
		d[bit/8] ^= 1 << (bit % 8)
		es[1].Detail = string(d)
		if _, err := VerifyChain(seq2(es)); err == nil || err.(*ChainError).Seq != 2 {
			t.Fatalf("detail bit %d flipped: VerifyChain = %v", bit, err)
		}
	}
}

// TestVerifyChainTruncation checks every prefix of a chain: it verifies
// (a chain cannot show its own tail deleted) and its head is not the full
// log's, which is what an anchor compares; every truncated detail is an
// edit.
func TestVerifyChainTruncation(t *testing.T) {
	good := chain(t, vectorEntries())
	full := AuditHead{Seq: good[len(good)-1].Seq, Hash: good[len(good)-1].Hash}
	for n := range len(good) {
		head, err := VerifyChain(seq2(good[:n]))
		if err != nil || head == full {
			t.Fatalf("prefix of %d: head %v, %v", n, head, err)
		}
	}
	for n := range len(good[1].Detail) {
		es := slices.Clone(good)
		es[1].Detail = es[1].Detail[:n]
		if _, err := VerifyChain(seq2(es)); err == nil || err.(*ChainError).Seq != 2 {
			t.Fatalf("detail cut to %d bytes: VerifyChain = %v", n, err)
		}
	}
}

// TestVerifyChainReadError checks that an error from the entries is
// returned as it is, with the head so far.
func TestVerifyChainReadError(t *testing.T) {
	good := chain(t, vectorEntries())
	boom := errors.New("disk on fire")
	entries := func(yield func(AuditEntry, error) bool) {
		_ = yield(good[0], nil) && yield(AuditEntry{}, boom)
	}
	head, err := VerifyChain(entries)
	if err != boom || head.Seq != 1 {
		t.Fatalf("VerifyChain = %v, %v", head, err)
	}
}

func TestChainInvalid(t *testing.T) {
	bad := []AuditEntry{
		{Time: time.Now(), Kind: 0, Owner: fp("a")},
		{Time: time.Now(), Kind: 14, Owner: fp("a")},
		{Time: time.Now(), Kind: AuditEnroll},
		{Time: time.Unix(-1, 0), Kind: AuditEnroll, Owner: fp("a")},
		{Time: time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC), Kind: AuditEnroll, Owner: fp("a")},
		{Time: time.Now(), Kind: AuditEnroll, Owner: fp("a"), Detail: strings.Repeat("d", MaxDetail+1)},
	}
	for i, e := range bad {
		if _, err := e.Chain(AuditHead{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("entry %d: Chain = %v, want ErrInvalid", i, err)
		}
	}
	ok := AuditEntry{Time: time.Now(), Kind: AuditRelease, Owner: fp("a"), Detail: strings.Repeat("d", MaxDetail)}
	if _, err := ok.Chain(AuditHead{}); err != nil {
		t.Fatal(err)
	}
}

func TestAuditKindNames(t *testing.T) {
	for k := AuditEnroll; k <= AuditConsoleRefused; k++ {
		if got, err := ParseAuditKind(k.String()); err != nil || got != k {
			t.Errorf("ParseAuditKind(%q) = %v, %v", k, got, err)
		}
	}
	for _, name := range []string{"", "Enroll", "AuditKind(0)", "deposit ", "release\x00"} {
		if _, err := ParseAuditKind(name); !errors.Is(err, keyblob.ErrMalformed) {
			t.Errorf("ParseAuditKind(%q) = %v", name, err)
		}
	}
	if AuditKind(0).Valid() || AuditKind(14).Valid() || AuditKind(15).String() != "AuditKind(15)" {
		t.Error("kinds outside the table")
	}
}

// FuzzVerifyChain reads entries from random bytes: VerifyChain never
// panics, and when it accepts a log, every entry follows the one before.
func FuzzVerifyChain(f *testing.F) {
	for _, e := range chain(f, vectorEntries()) {
		enc, _ := e.Encode()
		f.Add(slices.Concat(e.Prev[:], e.Hash[:], enc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []AuditEntry
		for seq := uint64(1); len(data) >= 64+entrySize; seq++ {
			e := AuditEntry{Seq: seq, Prev: [32]byte(data[:32]), Hash: [32]byte(data[32:64])}
			rest := data[64:]
			e.Time = time.Unix(0, int64(uint64(rest[0])<<56|uint64(rest[7])))
			e.Kind = AuditKind(rest[8])
			e.Owner, e.Actor, e.Ref = [32]byte(rest[9:41]), [32]byte(rest[41:73]), [16]byte(rest[73:89])
			n := min(int(rest[89])<<8|int(rest[90]), len(rest)-entrySize)
			e.Detail = string(rest[entrySize : entrySize+n])
			entries, data = append(entries, e), rest[entrySize+n:]
		}
		head, err := VerifyChain(seq2(entries))
		if err != nil {
			return
		}
		prev := [32]byte{}
		for _, e := range entries {
			if h, err := ChainHash(prev, &e); err != nil || h != e.Hash {
				t.Fatalf("accepted a broken chain at %d", e.Seq)
			}
			prev = e.Hash
		}
		if len(entries) > 0 && head.Hash != prev {
			t.Fatal("wrong head")
		}
	})
}

func ExampleVerifyChain() {
	var log []AuditEntry
	head := AuditHead{}
	for i, kind := range []AuditKind{AuditEnroll, AuditDeposit, AuditDeposit} {
		e, err := AuditEntry{Time: time.Unix(int64(i), 0), Kind: kind, Owner: fp("alice"), Detail: "{}"}.Chain(head)
		if err != nil {
			panic(err)
		}
		log, head = append(log, e), AuditHead{Seq: e.Seq, Hash: e.Hash}
	}
	log[1].Detail = `{"edited":true}`
	_, err := VerifyChain(seq2(log))
	fmt.Println(err)
	// Output: the audit log does not verify: entry 2 was edited (its fields do not give its hash)
}
