package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/keyblob/keyblob"
)

// The transparency log (spec/escrow-api.md section 6.6): an RFC 9162
// Merkle tree whose leaf i is entry Seq i+1, checkpoints in the C2SP
// tlog-checkpoint format signed as C2SP signed notes, tiles as C2SP
// tlog-tiles serves them.
const (
	// leafLabel starts every leaf's data.
	leafLabel = "keyblob/v1 audit leaf\x00"
	// TileHeight is the height of the tiles the authority serves, and
	// TileSize the size of a full tile.
	TileHeight = 8
	TileSize   = tlog.HashSize << TileHeight
	// MaxCheckpoint bounds a signed checkpoint note.
	MaxCheckpoint = 4096
	// MaxProof bounds the hashes of a proof: a tree of 2^63 entries
	// needs at most 2*63.
	MaxProof = 128
)

// ErrLogInconsistent is matched (errors.Is) by every *InconsistentError.
var ErrLogInconsistent = errors.New("the authority's log is not consistent")

// LeafData returns the data of e's leaf: leafLabel || Salt || Hash. The
// leaf's hash is tlog.RecordHash of it, SHA-256(0x00 || data) as RFC 9162
// hashes leaves.
func LeafData(e *AuditEntry) []byte {
	b := make([]byte, 0, len(leafLabel)+len(e.Salt)+len(e.Hash))
	b = append(b, leafLabel...)
	b = append(b, e.Salt[:]...)
	return append(b, e.Hash[:]...)
}

// LeafHash returns the hash of e's leaf.
func LeafHash(e *AuditEntry) tlog.Hash { return tlog.RecordHash(LeafData(e)) }

// Checkpoint is a tree head in the C2SP tlog-checkpoint format: the log's
// origin, its size (the entries it holds) and its root hash.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
}

// Origin returns the origin line, and signed-note key name, of the log
// of the authority whose fingerprint is fp: "keyblob.authority/" and fp
// in base64url.
func Origin(fp keyblob.Fingerprint) string {
	return "keyblob.authority/" + base64.RawURLEncoding.EncodeToString(fp[:])
}

// Text returns the checkpoint's note text: the origin, the size in
// decimal and the root in base64, each on a line.
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// ParseCheckpoint reads the note text Text writes for an origin, and
// nothing else: no extension lines, a canonical decimal size, a 32-byte
// root in padded base64.
func ParseCheckpoint(origin, text string) (Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] != origin {
		return Checkpoint{}, fmt.Errorf("%w checkpoint: want the lines %q, a size and a root hash", errMalformed, origin)
	}
	size, err := strconv.ParseUint(lines[1], 10, 63)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w checkpoint size %q", errMalformed, lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w checkpoint root hash %q", errMalformed, lines[2])
	}
	return Checkpoint{Origin: origin, Size: size, Root: tlog.Hash(root)}, nil
}

// NoteVerifier returns the signed-note verifier of the authority's
// checkpoints: its Ed25519 signature key under the name Origin. It fails
// for an authority whose signature key is not Ed25519, which cannot
// sign checkpoints.
func NoteVerifier(authority *keyblob.Recipient) (note.Verifier, error) {
	if authority.SignatureAlg() != keyblob.SignatureEd25519 {
		return nil, fmt.Errorf("a backup authority's log needs an Ed25519 signature key; this one's is %s", authority.SignatureAlg())
	}
	vkey, err := note.NewEd25519VerifierKey(Origin(authority.Fingerprint()), authority.SigningKeyBytes())
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// signer signs notes as an authority's identity.
type signer struct {
	note.Verifier
	id *keyblob.Identity
}

func (s signer) Sign(msg []byte) ([]byte, error) { return s.id.SignNote(msg) }

// SignCheckpoint returns c as a signed note, signed by the authority id.
func SignCheckpoint(id *keyblob.Identity, c Checkpoint) ([]byte, error) {
	v, err := NoteVerifier(id.Recipient())
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: string(c.Text())}, signer{v, id})
}

// OpenCheckpoint verifies msg, a signed checkpoint note, with the
// authority's key and returns its checkpoint. Signatures by other keys
// (witnesses) are allowed and ignored; a bad signature by the
// authority's key, or none, is an error.
func OpenCheckpoint(authority *keyblob.Recipient, msg []byte) (Checkpoint, error) {
	if len(msg) > MaxCheckpoint {
		return Checkpoint{}, fmt.Errorf("%w checkpoint: more than %d bytes", errMalformed, MaxCheckpoint)
	}
	v, err := NoteVerifier(authority)
	if err != nil {
		return Checkpoint{}, err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil || !canonicalSignatures(msg[len(n.Text)+1:]) {
		return Checkpoint{}, fmt.Errorf("the checkpoint's signature: %w", keyblob.ErrAuth)
	}
	return ParseCheckpoint(v.Name(), n.Text)
}

// canonicalSignatures reports whether the signature lines of a note that
// opened (sigs: what follows the blank line) are each in the one
// spelling C2SP signed-note allows, and none is repeated: note.Open
// accepts base64 whose unused bits are set, and a line twice, so one
// note would otherwise have several encodings.
func canonicalSignatures(sigs []byte) bool {
	seen := map[string]bool{}
	for line := range strings.Lines(string(sigs)) {
		i := strings.LastIndexByte(line, ' ')
		b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(line[i+1:], "\n"))
		if i < 0 || err != nil || base64.StdEncoding.EncodeToString(b)+"\n" != line[i+1:] || seen[line] {
			return false
		}
		seen[line] = true
	}
	return true
}

// VerifyInclusion checks that proof shows e's leaf in the tree c.
func VerifyInclusion(c Checkpoint, e *AuditEntry, proof tlog.RecordProof) error {
	if e.Seq == 0 || e.Seq > c.Size {
		return fmt.Errorf("%w: entry %d is not in a log of %d entries", ErrLogInconsistent, e.Seq, c.Size)
	}
	if err := tlog.CheckRecord(proof, int64(c.Size), c.Root, int64(e.Seq-1), LeafHash(e)); err != nil {
		return fmt.Errorf("%w: entry %d is not in the log of %d entries the checkpoint signs", ErrLogInconsistent, e.Seq, c.Size)
	}
	return nil
}

// InconsistentError says that a log is not an extension of a checkpoint
// seen before: a history rewritten, forked or truncated.
type InconsistentError struct {
	Seen     Checkpoint
	SeenTime time.Time
	Now      Checkpoint
}

func (e *InconsistentError) Error() string {
	return fmt.Sprintf("%s with the log of %d entries it signed before, seen %s: it now shows %d entries",
		ErrLogInconsistent, e.Seen.Size, FormatTime(e.SeenTime), e.Now.Size)
}

// Is makes errors.Is(err, ErrLogInconsistent) true.
func (e *InconsistentError) Is(target error) bool { return target == ErrLogInconsistent }

// VerifyConsistency checks that proof shows the tree now to extend the
// tree seen, first seen at seenTime; it returns an *InconsistentError if
// not. A log that shrank is inconsistent whatever the proof.
func VerifyConsistency(seen Checkpoint, seenTime time.Time, now Checkpoint, proof tlog.TreeProof) error {
	bad := &InconsistentError{Seen: seen, SeenTime: seenTime, Now: now}
	switch {
	case seen.Origin != now.Origin || now.Size < seen.Size:
		return bad
	case now.Size == seen.Size && now.Root != seen.Root:
		return bad
	case seen.Size == 0 || now.Size == seen.Size:
		return nil
	}
	if tlog.CheckTree(proof, int64(now.Size), now.Root, int64(seen.Size), seen.Root) != nil {
		return bad
	}
	return nil
}

// Hash is a hash of the log's tree.
type Hash = tlog.Hash

// ProofV1 is a consistency or inclusion proof on the wire.
type ProofV1 struct {
	Proof []string `json:"proof"`
}

// EncodeProof returns a proof's hashes as the protocol writes them.
func EncodeProof(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = EncodeBytes(h[:])
	}
	return out
}

// DecodeProof reads the hashes EncodeProof writes, at most MaxProof.
func DecodeProof(name string, s []string) ([]tlog.Hash, error) {
	if len(s) > MaxProof {
		return nil, fmt.Errorf("%w %s: %d hashes (at most %d)", errMalformed, name, len(s), MaxProof)
	}
	out := make([]tlog.Hash, len(s))
	for i, v := range s {
		b, err := DecodeBytes(name, v, tlog.HashSize)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%w %s: hash %d", errMalformed, name, i)
		}
		out[i] = tlog.Hash(b)
	}
	return out, nil
}
