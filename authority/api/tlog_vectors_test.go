package api

// Vectors of the transparency log (spec/escrow-api.md sections 6.6 and
// 6.7), in the style of testdata/audit/chain.txt: TestGenerateLogVectors
// (run with -update) writes the files of testdata/tlog, and
// TestLogVectors, which always runs, checks every one of them against the
// code. Each file is '#' comment lines and records separated by blank
// lines; a record is "name: value" lines, a name repeated where a value is
// a list (a proof's hashes). Bytes are hexadecimal, text is Go-quoted.
//
//	key.txt          the authority: its key seeds, recipient line, origin and note key
//	leaves.txt       nine audit entries' salts, leaf data and leaf hashes
//	trees.txt        the tree of the first n leaves, n from 0 to 9: root and tile
//	proofs.txt       every inclusion and consistency proof in those trees
//	checkpoints.txt  each tree's checkpoint text and signed note
//	receipts.txt     a receipt as the protocol sends it
//	refused.txt      notes, proofs and receipts that must be refused
//
// Everything is deterministic: the keys are SHA-256 of fixed strings,
// the salts too, and Ed25519 signatures are deterministic, so running the
// generator twice writes identical files.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tlogDir = "testdata/tlog"
	// vectorLeaves is the size of the largest tree of the vectors.
	vectorLeaves = 9
)

// vectorSalt returns the salt of entry seq in the vectors: the first 16
// bytes of SHA-256 of a fixed string.
func vectorSalt(seq uint64) [16]byte {
	h := sha256.Sum256(fmt.Appendf(nil, "keyblob/v1 tlog vectors: the salt of entry %d", seq))
	return [16]byte(h[:16])
}

// logEntries returns the entries of the log vectors: the eight of
// testdata/audit/chain.txt and a ninth deposit after them, with their
// vector salts.
func logEntries(t testing.TB) []AuditEntry {
	t.Helper()
	es := chain(t, vectorEntries())
	last := es[len(es)-1]
	ninth, err := AuditEntry{Time: time.Date(2025, 1, 2, 3, 4, 12, 0, time.UTC), Kind: AuditDeposit,
		Owner: fp("bob"), Actor: fp("bob"), Ref: [16]byte{0x99, 9},
		Detail: `{"serial":"99090000000000000000000000000000","blob_sha256":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU","description":"","created":"2025-01-02T03:04:12Z"}`,
	}.Chain(AuditHead{Seq: last.Seq, Hash: last.Hash})
	if err != nil {
		t.Fatal(err)
	}
	es = append(es, ninth)
	for i := range es {
		es[i].Salt = vectorSalt(es[i].Seq)
	}
	return es
}

// memTree is a tree in memory: tlog's stored hashes, by index.
type memTree []tlog.Hash

// ReadHashes implements tlog.HashReader.
func (m memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d is not stored", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// treeOf returns the tree of the leaves whose hashes are given.
func treeOf(t testing.TB, leaves []tlog.Hash) memTree {
	t.Helper()
	var m memTree
	for n, h := range leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(n), h, m)
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, hs...)
	}
	return m
}

// leafHashes returns the leaf hashes of entries.
func leafHashes(es []AuditEntry) []tlog.Hash {
	out := make([]tlog.Hash, len(es))
	for i := range es {
		out[i] = LeafHash(&es[i])
	}
	return out
}

// mustHash returns f's hash or fails the test.
func mustHash(t testing.TB, f func() (tlog.Hash, error)) tlog.Hash {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rootOf returns the root of the first n leaves of m.
func rootOf(t testing.TB, m memTree, n uint64) tlog.Hash {
	t.Helper()
	return mustHash(t, func() (tlog.Hash, error) { return tlog.TreeHash(int64(n), m) })
}

// logMaterial is what the vectors are made of.
type logMaterial struct {
	es     []AuditEntry
	tree   memTree
	origin string
	cps    []Checkpoint // cps[n] is the checkpoint of the first n entries
	notes  [][]byte     // notes[n] is cps[n] signed
}

func newLogMaterial(t testing.TB) *logMaterial {
	t.Helper()
	id := logIdentity(t)
	m := &logMaterial{es: logEntries(t), origin: Origin(id.Recipient().Fingerprint())}
	m.tree = treeOf(t, leafHashes(m.es))
	for n := range uint64(vectorLeaves + 1) {
		c := Checkpoint{Origin: m.origin, Size: n, Root: rootOf(t, m.tree, n)}
		msg, err := SignCheckpoint(id, c)
		if err != nil {
			t.Fatal(err)
		}
		m.cps, m.notes = append(m.cps, c), append(m.notes, msg)
	}
	return m
}

func (m *logMaterial) inclusion(t testing.TB, seq, size uint64) tlog.RecordProof {
	t.Helper()
	p, err := tlog.ProveRecord(int64(size), int64(seq-1), m.tree)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (m *logMaterial) consistency(t testing.TB, old, size uint64) tlog.TreeProof {
	t.Helper()
	p, err := tlog.ProveTree(int64(size), int64(old), m.tree)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// receiptJSON returns the wire form of the receipt of entry seq with the
// checkpoint of size entries, as the authority sends it.
func (m *logMaterial) receiptJSON(t testing.TB, seq, size uint64) []byte {
	t.Helper()
	r, err := SignReceipt(logIdentity(t), m.es[seq-1], m.notes[size], m.inclusion(t, seq, size))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r.V1())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGenerateLogVectors writes testdata/tlog. Run it with:
// go test ./authority/api -run TestGenerateLogVectors -update
func TestGenerateLogVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the vectors in testdata/")
	}
	m := newLogMaterial(t)
	writeKey(t)
	writeLeaves(t, m)
	writeTrees(t, m)
	writeProofs(t, m)
	writeCheckpoints(t, m)
	writeReceipts(t, m)
	writeRefused(t, m)
}

const vectorsMadeBy = "made by TestGenerateLogVectors (go test ./authority/api -run TestGenerateLogVectors -update)."

func writeKey(t testing.TB) {
	id := logIdentity(t)
	origin := Origin(id.Recipient().Fingerprint())
	vkey, err := note.NewEd25519VerifierKey(origin, id.Recipient().SigningKeyBytes())
	if err != nil {
		t.Fatal(err)
	}
	var r record
	r.add("x25519 seed", strconv.Quote(logX25519Seed))
	r.add("ed25519 seed", strconv.Quote(logEd25519Seed))
	r.add("ed25519 public key", hex.EncodeToString(id.Recipient().SigningKeyBytes()))
	r.add("recipient", id.Recipient().String())
	r.add("fingerprint", id.Recipient().Fingerprint().String())
	r.add("origin", origin)
	r.add("key hash", fmt.Sprintf("%08x", noteKeyHash(origin, id.Recipient().SigningKeyBytes())))
	r.add("verifier key", vkey)
	writeRecords(t, "key.txt", []string{
		"The authority of the log vectors (spec/escrow-api.md section 6.7), " + vectorsMadeBy,
		"Its X25519 private key is SHA-256 of the x25519 seed, its Ed25519 private key (RFC 8032 seed) SHA-256 of the ed25519 seed.",
		"The origin is the checkpoints' first line and their signature's key name; the key hash is the",
		"first 4 bytes of SHA-256(origin || 0x0a || 0x01 || public key), the verifier key as golang.org/x/mod/sumdb/note writes it.",
	}, []record{r})
}

// noteKeyHash is the key hash of a signed-note Ed25519 key (C2SP
// signed-note), computed here from its definition.
func noteKeyHash(name string, pub []byte) uint32 {
	h := sha256.Sum256(slices.Concat([]byte(name), []byte{'\n', 0x01}, pub))
	return binary.BigEndian.Uint32(h[:4])
}

func writeLeaves(t testing.TB, m *logMaterial) {
	var recs []record
	for i := range m.es {
		e := &m.es[i]
		var r record
		r.add("seq", strconv.FormatUint(e.Seq, 10))
		r.add("kind", e.Kind.String())
		r.add("hash", hex.EncodeToString(e.Hash[:]))
		r.add("salt", hex.EncodeToString(e.Salt[:]))
		r.add("leaf data", hex.EncodeToString(LeafData(e)))
		h := LeafHash(e)
		r.add("leaf hash", hex.EncodeToString(h[:]))
		recs = append(recs, r)
	}
	writeRecords(t, "leaves.txt", []string{
		"The leaves of the log vectors (spec/escrow-api.md section 6.6), " + vectorsMadeBy,
		"Entries 1 to 8 are those of testdata/audit/chain.txt (same hash); entry 9 is a deposit after them.",
		"Salt: the first 16 bytes of SHA-256(\"keyblob/v1 tlog vectors: the salt of entry N\"); a store draws it at random.",
		"leaf data = \"keyblob/v1 audit leaf\" || 0x00 || salt || hash; leaf hash = SHA-256(0x00 || leaf data) (RFC 9162).",
	}, recs)
}

func writeTrees(t testing.TB, m *logMaterial) {
	var recs []record
	for n, c := range m.cps {
		var r record
		r.add("size", strconv.Itoa(n))
		r.add("root", hex.EncodeToString(c.Root[:]))
		if n > 0 {
			tile := tlog.Tile{H: TileHeight, L: 0, N: 0, W: n}
			data, err := tlog.ReadTileData(tile, m.tree)
			if err != nil {
				t.Fatal(err)
			}
			r.add("tile", tile.Path())
			r.add("tile data", hex.EncodeToString(data))
		}
		recs = append(recs, r)
	}
	writeRecords(t, "trees.txt", []string{
		"The trees of the first n leaves of leaves.txt (spec/escrow-api.md section 6.6), " + vectorsMadeBy,
		"root: the RFC 9162 root (the empty tree's is SHA-256 of nothing); tile: the level-0 hash tile of height 8",
		"that holds the n leaves (C2SP tlog-tiles path, under /v1/log/), and its bytes, the leaf hashes in order.",
	}, recs)
}

func writeProofs(t testing.TB, m *logMaterial) {
	var recs []record
	for size := uint64(1); size <= vectorLeaves; size++ {
		for seq := uint64(1); seq <= size; seq++ {
			r := record{{"proof", "inclusion"}, {"seq", strconv.FormatUint(seq, 10)}, {"size", strconv.FormatUint(size, 10)}}
			r.addHashes(m.inclusion(t, seq, size))
			recs = append(recs, r)
		}
	}
	for size := uint64(2); size <= vectorLeaves; size++ {
		for old := uint64(1); old < size; old++ {
			r := record{{"proof", "consistency"}, {"old", strconv.FormatUint(old, 10)}, {"size", strconv.FormatUint(size, 10)}}
			r.addHashes(m.consistency(t, old, size))
			recs = append(recs, r)
		}
	}
	writeRecords(t, "proofs.txt", []string{
		"Proofs in the trees of trees.txt (spec/escrow-api.md sections 6.6 and 7.12), " + vectorsMadeBy,
		"inclusion: entry seq (leaf seq - 1) in the tree of size leaves, RFC 9162 section 2.1.3;",
		"consistency: the tree of size leaves extends the tree of its first old leaves, RFC 9162 section 2.1.4.",
		"Each hash line is one hash of the proof, in order; on the wire each is base64url without padding.",
	}, recs)
}

func writeCheckpoints(t testing.TB, m *logMaterial) {
	var recs []record
	for n, c := range m.cps {
		var r record
		r.add("size", strconv.Itoa(n))
		r.add("root", hex.EncodeToString(c.Root[:]))
		r.add("text", strconv.Quote(string(c.Text())))
		r.add("note", strconv.Quote(string(m.notes[n])))
		recs = append(recs, r)
	}
	writeRecords(t, "checkpoints.txt", []string{
		"The checkpoints of the trees of trees.txt (spec/escrow-api.md section 6.7), " + vectorsMadeBy,
		"text: the C2SP tlog-checkpoint body; note: it signed as a C2SP signed note by the Ed25519 key of key.txt,",
		"under the key name origin, as GET /v1/log/checkpoint serves it.",
	}, recs)
}

func writeReceipts(t testing.TB, m *logMaterial) {
	r := record{{"seq", "2"}, {"size", strconv.Itoa(vectorLeaves)}}
	r.add("json", string(m.receiptJSON(t, 2, vectorLeaves)))
	writeRecords(t, "receipts.txt", []string{
		"A receipt (spec/escrow-api.md section 6.5), " + vectorsMadeBy,
		"json: the receipt of entry seq of leaves.txt as the authority sends it, with the signed checkpoint of the",
		"tree of size entries (checkpoints.txt) and the entry's inclusion proof in it (proofs.txt).",
	}, []record{r})
}
