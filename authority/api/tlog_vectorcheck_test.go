package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestLogVectors checks that the code reproduces every vector of
// testdata/tlog, each computed from the file's own inputs where it can.
func TestLogVectors(t *testing.T) {
	leaves := readRecords(t, "leaves.txt")
	var hs []tlog.Hash
	for _, f := range leaves {
		hs = append(hs, f.hash("leaf hash"))
	}
	tree := treeOf(t, hs)
	t.Run("key", func(t *testing.T) { checkKey(t, readRecords(t, "key.txt")) })
	t.Run("leaves", func(t *testing.T) { checkLeaves(t, leaves) })
	t.Run("trees", func(t *testing.T) { checkTrees(t, tree, readRecords(t, "trees.txt")) })
	t.Run("proofs", func(t *testing.T) { checkProofs(t, tree, readRecords(t, "proofs.txt")) })
	t.Run("checkpoints", func(t *testing.T) { checkCheckpoints(t, tree, readRecords(t, "checkpoints.txt")) })
	t.Run("receipts", func(t *testing.T) { checkReceipts(t, readRecords(t, "receipts.txt")) })
}

func checkKey(t *testing.T, recs []fields) {
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	f := recs[0]
	id := identityFromSeeds(t, f.text("x25519 seed"), f.text("ed25519 seed"))
	pub := id.Recipient().SigningKeyBytes()
	fpr := id.Recipient().Fingerprint()
	origin := "keyblob.authority/" + base64.RawURLEncoding.EncodeToString(fpr[:])
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	switch {
	case err != nil:
		t.Fatal(err)
	case f.text("x25519 seed") != logX25519Seed || f.text("ed25519 seed") != logEd25519Seed:
		t.Error("the seeds are not those of logIdentity")
	case !bytes.Equal(pub, f.bytes("ed25519 public key")):
		t.Errorf("public key %x", pub)
	case id.Recipient().String() != f.one("recipient") || id.Recipient().Fingerprint().String() != f.one("fingerprint"):
		t.Errorf("recipient %s, fingerprint %s", id.Recipient(), id.Recipient().Fingerprint())
	case origin != f.one("origin") || Origin(id.Recipient().Fingerprint()) != origin:
		t.Errorf("origin %s, Origin %s", origin, Origin(id.Recipient().Fingerprint()))
	case fmt.Sprintf("%08x", noteKeyHash(origin, pub)) != f.one("key hash") || vkey != f.one("verifier key"):
		t.Errorf("key hash %08x, verifier key %s", noteKeyHash(origin, pub), vkey)
	}
	v, err := NoteVerifier(id.Recipient())
	if err != nil || v.Name() != origin || fmt.Sprintf("%08x", v.KeyHash()) != f.one("key hash") {
		t.Fatalf("NoteVerifier = %v, %v", v, err)
	}
}

func checkLeaves(t *testing.T, recs []fields) {
	es, chained := logEntries(t), readVectors(t)
	if len(recs) != vectorLeaves || len(es) != vectorLeaves {
		t.Fatalf("%d leaves, %d entries, want %d", len(recs), len(es), vectorLeaves)
	}
	for i, f := range recs {
		e := &es[i]
		data := slices.Concat([]byte("keyblob/v1 audit leaf\x00"), f.bytes("salt"), f.bytes("hash"))
		wantHash := sha256.Sum256(slices.Concat([]byte{0}, data))
		switch {
		case f.uint("seq") != e.Seq || f.one("kind") != e.Kind.String():
			t.Errorf("leaf %d: seq %d kind %s", i, e.Seq, e.Kind)
		case !bytes.Equal(f.bytes("hash"), e.Hash[:]) || !bytes.Equal(f.bytes("salt"), e.Salt[:]):
			t.Errorf("leaf %d: entry hash %x salt %x", e.Seq, e.Hash, e.Salt)
		case i < len(chained) && chained[i].entry.Hash != e.Hash:
			t.Errorf("leaf %d: the hash is not that of testdata/audit/chain.txt", e.Seq)
		case !bytes.Equal(LeafData(e), data) || !bytes.Equal(f.bytes("leaf data"), data):
			t.Errorf("leaf %d: LeafData %x, want %x", e.Seq, LeafData(e), data)
		case LeafHash(e) != tlog.Hash(wantHash) || f.hash("leaf hash") != tlog.Hash(wantHash):
			t.Errorf("leaf %d: LeafHash %x, want %x", e.Seq, LeafHash(e), wantHash)
		}
	}
}

func checkTrees(t *testing.T, tree memTree, recs []fields) {
	if len(recs) != vectorLeaves+1 {
		t.Fatalf("%d trees, want %d", len(recs), vectorLeaves+1)
	}
	empty := sha256.Sum256(nil)
	for _, f := range recs {
		n := f.uint("size")
		if root := rootOf(t, tree, n); root != f.hash("root") || n == 0 && root != tlog.Hash(empty) {
			t.Errorf("size %d: root %x, want %x", n, root, f.bytes("root"))
		}
		if n == 0 {
			continue
		}
		tile, err := tlog.ParseTilePath(f.one("tile"))
		if err != nil || tile.H != TileHeight || tile.Path() != f.one("tile") {
			t.Fatalf("size %d: tile %q: %v", n, f.one("tile"), err)
		}
		data, err := tlog.ReadTileData(tile, tree)
		if err != nil || !bytes.Equal(data, f.bytes("tile data")) || len(data) != int(n)*tlog.HashSize {
			t.Errorf("size %d: tile data %x, %v", n, data, err)
		}
	}
}

func checkProofs(t *testing.T, tree memTree, recs []fields) {
	var inclusions, consistencies int
	for _, f := range recs {
		size := f.uint("size")
		root := rootOf(t, tree, size)
		switch f.one("proof") {
		case "inclusion":
			inclusions++
			checkInclusion(t, tree, root, f)
		case "consistency":
			consistencies++
			checkConsistency(t, tree, root, f)
		default:
			t.Fatalf("proof %q", f.one("proof"))
		}
	}
	if inclusions != vectorLeaves*(vectorLeaves+1)/2 || consistencies != vectorLeaves*(vectorLeaves-1)/2 {
		t.Fatalf("%d inclusion and %d consistency proofs", inclusions, consistencies)
	}
}

func checkInclusion(t *testing.T, tree memTree, root tlog.Hash, f fields) {
	seq, size, want := f.uint("seq"), f.uint("size"), f.hashes()
	p, err := tlog.ProveRecord(int64(size), int64(seq-1), tree)
	if err != nil || !slices.Equal(p, want) {
		t.Errorf("inclusion of %d in %d: %v, %v", seq, size, p, err)
	}
	if err := tlog.CheckRecord(want, int64(size), root, int64(seq-1), tree[tlog.StoredHashIndex(0, int64(seq-1))]); err != nil {
		t.Errorf("inclusion of %d in %d does not check: %v", seq, size, err)
	}
	wire, err := DecodeProof("proof", EncodeProof(want))
	if err != nil || !slices.Equal(wire, want) {
		t.Errorf("inclusion of %d in %d: wire form %v, %v", seq, size, wire, err)
	}
}

func checkConsistency(t *testing.T, tree memTree, root tlog.Hash, f fields) {
	old, size, want := f.uint("old"), f.uint("size"), f.hashes()
	p, err := tlog.ProveTree(int64(size), int64(old), tree)
	if err != nil || !slices.Equal(p, want) {
		t.Errorf("consistency of %d with %d: %v, %v", old, size, p, err)
	}
	seen, now := Checkpoint{Origin: "o", Size: old, Root: rootOf(t, tree, old)}, Checkpoint{Origin: "o", Size: size, Root: root}
	if err := VerifyConsistency(seen, time.Time{}, now, want); err != nil {
		t.Errorf("consistency of %d with %d does not check: %v", old, size, err)
	}
}

func checkCheckpoints(t *testing.T, tree memTree, recs []fields) {
	if len(recs) != vectorLeaves+1 {
		t.Fatalf("%d checkpoints, want %d", len(recs), vectorLeaves+1)
	}
	id := logIdentity(t)
	origin := Origin(id.Recipient().Fingerprint())
	for _, f := range recs {
		c := Checkpoint{Origin: origin, Size: f.uint("size"), Root: rootOf(t, tree, f.uint("size"))}
		text, msg := f.text("text"), f.text("note")
		want := fmt.Sprintf("%s\n%d\n%s\n", origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
		if string(c.Text()) != text || text != want || c.Root != f.hash("root") {
			t.Errorf("size %d: text %q, want %q", c.Size, c.Text(), text)
		}
		if p, err := ParseCheckpoint(origin, text); err != nil || p != c {
			t.Errorf("size %d: ParseCheckpoint = %v, %v", c.Size, p, err)
		}
		signed, err := SignCheckpoint(id, c)
		if err != nil || string(signed) != msg || !strings.HasPrefix(msg, text+"\n\u2014 "+origin+" ") {
			t.Errorf("size %d: SignCheckpoint = %q, %v; want %q", c.Size, signed, err, msg)
		}
		if got, err := OpenCheckpoint(id.Recipient(), []byte(msg)); err != nil || got != c {
			t.Errorf("size %d: OpenCheckpoint = %v, %v", c.Size, got, err)
		}
	}
}

func checkReceipts(t *testing.T, recs []fields) {
	m := newLogMaterial(t)
	for _, f := range recs {
		seq, size := f.uint("seq"), f.uint("size")
		if got := m.receiptJSON(t, seq, size); string(got) != f.one("json") {
			t.Errorf("receipt of %d: %s\nwant %s", seq, got, f.one("json"))
		}
		var v ReceiptV1
		if err := DecodeJSON([]byte(f.one("json")), &v); err != nil {
			t.Fatal(err)
		}
		r, err := v.Parse()
		if err != nil {
			t.Fatal(err)
		}
		c, err := VerifyReceipt(logIdentity(t).Recipient(), &r)
		if err != nil || c != m.cps[size] || r.Entry != m.es[seq-1] {
			t.Errorf("receipt of %d: VerifyReceipt = %v, %v", seq, c, err)
		}
	}
	if len(recs) == 0 {
		t.Fatal("no receipt vectors")
	}
}
