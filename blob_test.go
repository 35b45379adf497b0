package keyblob

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"

	"github.com/keyblob/keyblob/internal/format"
)

// rawBlob is a key blob's fields, free to change, for the tests and the
// vector generator that make tampered or invalid blobs. Nothing made from
// it is checked: it is the one way round newKeyBlob, and only tests have it.
type rawBlob struct {
	ExchangeAlg ExchangeAlg
	Recipient   Fingerprint
	SessionAlg  SessionAlg
	Serial      Serial
	Created     time.Time
	Description string
	SignerKey   *Recipient
	Wrapped     []byte
	Signature   []byte
}

// rawOf returns the fields of b, with copies of its byte slices.
func rawOf(b *KeyBlob) *rawBlob {
	f := b.f
	return &rawBlob{f.exchangeAlg, f.recipient, f.sessionAlg, f.serial, f.created, f.description,
		f.signerKey, bytes.Clone(f.wrapped), bytes.Clone(f.signature)}
}

func (r *rawBlob) fields() *blobFields {
	return &blobFields{r.ExchangeAlg, r.Recipient, r.SessionAlg, r.Serial, r.Created, r.Description,
		r.SignerKey, r.Wrapped, r.Signature}
}

// Marshal encodes the fields as newKeyBlob does, without its checks.
func (r *rawBlob) Marshal() []byte {
	var c cryptobyte.Builder
	r.fields().signedPart(&c)
	if r.SignerKey != nil {
		addVec16(&c, r.Signature)
	}
	return c.BytesOrPanic()
}

// blob returns the unchecked KeyBlob of the fields.
func (r *rawBlob) blob() *KeyBlob { return &KeyBlob{f: *r.fields(), enc: r.Marshal()} }

func (r *rawBlob) label() []byte       { return r.fields().label() }
func (r *rawBlob) signedBytes() []byte { return r.fields().signedBytes() }

func mustExport(t testing.TB, key *SessionKey, to *Recipient, opts *ExportOptions) *KeyBlob {
	t.Helper()
	b, err := Export(key, to, opts)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return b
}

func mustParseBlob(t testing.TB, data []byte) *KeyBlob {
	t.Helper()
	b, err := ParseKeyBlob(data)
	if err != nil {
		t.Fatalf("ParseKeyBlob: %v", err)
	}
	return b
}

// blobErrorClass names the outcome of parsing and importing a blob, as the
// test vectors do.
func blobErrorClass(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, ErrMalformedBlob), errors.Is(err, format.ErrUnsupportedVersion):
		return "malformed"
	case errors.Is(err, ErrAuth):
		return "auth failure"
	case errors.Is(err, ErrIncorrectIdentity):
		return "incorrect identity"
	case errors.Is(err, ErrNotSigned):
		return "not signed"
	case errors.Is(err, ErrWrongSigner):
		return "wrong signer"
	}
	return "unexpected error: " + err.Error()
}

// parseAndImport parses data and imports it with id, requiring verify's
// signature when verify is not nil.
func parseAndImport(data []byte, id *Identity, verify *Recipient) (*SessionKey, error) {
	b, err := ParseKeyBlob(data)
	if err != nil {
		return nil, err
	}
	return Import(b, id, &ImportOptions{Verify: verify})
}

func TestExportImport(t *testing.T) {
	created := time.Date(2025, 3, 4, 5, 6, 7, 890, time.FixedZone("X", 3600))
	for _, kind := range Kinds() {
		for _, signed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/signed=%v", kind, signed), func(t *testing.T) {
				alice := testIdentity(t, "alice", kind)
				bob := testIdentity(t, "bob", kind)
				key := NewSessionKey()
				opts := &ExportOptions{Description: "backup of the 2025 archive — Schlüssel", Time: created}
				var verify *Recipient
				if signed {
					opts.Signer, verify = alice, alice.Recipient()
				}
				blob := mustExport(t, key, bob.Recipient(), opts)

				want := &rawBlob{
					ExchangeAlg: bob.Recipient().ExchangeAlg(),
					Recipient:   bob.Recipient().ExchangeFingerprint(),
					SessionAlg:  SessionAES256GCM,
					Serial:      key.Serial(),
					Created:     time.Unix(created.Unix(), 0).UTC(),
					Description: opts.Description,
					Wrapped:     blob.Wrapped(),
					Signature:   blob.Signature(),
				}
				if signed {
					want.SignerKey = alice.Recipient().signingOnly()
				}
				if diff := cmp.Diff(want, rawOf(blob), cmpRecipients); diff != "" {
					t.Errorf("exported blob (-want +got):\n%s", diff)
				}
				if blob.Created().Location() != time.UTC {
					t.Errorf("Created is in %s, want UTC", blob.Created().Location())
				}
				lo, hi, _ := blob.ExchangeAlg().wrappedSizeRange()
				if n := len(blob.Wrapped()); n < lo || n > hi || (blob.ExchangeAlg() == ExchangeRSAOAEP && n != bob.Recipient().exchange.Bits()/8) {
					t.Errorf("wrapped key of %d bytes", n)
				}

				bin := blob.Marshal()
				armored := blob.MarshalPEM()
				for name, data := range map[string][]byte{"binary": bin, "armored": armored} {
					parsed := mustParseBlob(t, data)
					if diff := cmp.Diff(rawOf(blob), rawOf(parsed), cmpRecipients); diff != "" {
						t.Errorf("%s: parsed blob differs (-exported +parsed):\n%s", name, diff)
					}
					if !bytes.Equal(parsed.Marshal(), bin) || !bytes.Equal(parsed.MarshalPEM(), armored) {
						t.Errorf("%s: Parse then Marshal does not give the same bytes", name)
					}
					got, err := Import(parsed, bob, &ImportOptions{Verify: verify})
					if err != nil {
						t.Fatalf("%s: Import: %v", name, err)
					}
					if !got.Equal(key) {
						t.Errorf("%s: imported key differs from the exported one", name)
					}
				}
				if got, err := Import(blob, bob, nil); err != nil || !got.Equal(key) {
					t.Errorf("Import without options: %v", err)
				}
				if blob.Signed() != signed {
					t.Errorf("Signed() = %v, want %v", blob.Signed(), signed)
				}
			})
		}
	}
}

// TestKeyBlobImmutable: what the accessors and Marshal return are copies,
// and the zero KeyBlob marshals and imports without a panic.
func TestKeyBlobImmutable(t *testing.T) {
	alice := testIdentity(t, "alice", KindX25519)
	bob := testIdentity(t, "bob", KindX25519)
	key := NewSessionKey()
	b := mustExport(t, key, bob.Recipient(), &ExportOptions{Signer: alice})
	bin := b.Marshal()
	for _, out := range [][]byte{b.Marshal(), b.Wrapped(), b.Signature()} {
		out[len(out)-1] ^= 1
	}
	if !bytes.Equal(b.Marshal(), bin) || !bytes.Equal(rawOf(b).Marshal(), bin) {
		t.Errorf("changing what the blob returned changed the blob")
	}
	if got, err := Import(b, bob, &ImportOptions{Verify: alice.Recipient()}); err != nil || !got.Equal(key) {
		t.Errorf("Import after changing the copies: %v", err)
	}
	var zero KeyBlob
	if len(zero.Marshal()) != 0 || zero.Signed() || zero.SignerKey() != nil {
		t.Errorf("the zero KeyBlob is not empty")
	}
	if k, err := Import(&zero, bob, nil); err == nil || k != nil {
		t.Errorf("Import of the zero KeyBlob gave a key")
	}
}

// TestExportCrossKind wraps to one kind and signs with another.
func TestExportCrossKind(t *testing.T) {
	for _, to := range blobKinds {
		for _, by := range blobKinds {
			t.Run(to+"/signed-by-"+by, func(t *testing.T) {
				bob := testIdentity(t, "bob", to)
				alice := testIdentity(t, "alice", by)
				key := NewSessionKey()
				data := mustExport(t, key, bob.Recipient(), &ExportOptions{Signer: alice}).Marshal()
				got, err := parseAndImport(data, bob, alice.Recipient())
				if err != nil || !got.Equal(key) {
					t.Errorf("Import: %v", err)
				}
			})
		}
	}
}

func TestVerify(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			alice := testIdentity(t, "alice", kind)
			bob := testIdentity(t, "bob", kind)
			mallory := testIdentity(t, "mallory", kind)
			other := testIdentity(t, "alice", otherKind(kind))
			exchangeOnly, err := newRecipient(alice.Recipient().exchange, nil)
			if err != nil {
				t.Fatal(err)
			}
			signed := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Signer: alice})
			unsigned := mustExport(t, NewSessionKey(), bob.Recipient(), nil)
			tests := []struct {
				name   string
				blob   *KeyBlob
				signer *Recipient
				want   error
			}{
				{"right signer", signed, alice.Recipient(), nil},
				{"another signer", signed, mallory.Recipient(), ErrWrongSigner},
				{"the recipient", signed, bob.Recipient(), ErrWrongSigner},
				{"another kind", signed, other.Recipient(), ErrWrongSigner},
				{"no signature key", signed, exchangeOnly, ErrWrongSigner},
				{"unsigned", unsigned, alice.Recipient(), ErrNotSigned},
			}
			for _, tt := range tests {
				err := tt.blob.Verify(tt.signer)
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
				}
				key, err := Import(tt.blob, bob, &ImportOptions{Verify: tt.signer})
				if !errors.Is(err, tt.want) || (tt.want == nil) != (key != nil) {
					t.Errorf("%s: Import = %v, want %v", tt.name, err, tt.want)
				}
			}
		})
	}
}

func otherKind(kind string) string {
	if kind == KindX25519 {
		return KindHybrid
	}
	return KindX25519
}

func TestImportIncorrectIdentity(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			bob := testIdentity(t, "bob", kind)
			blob := mustExport(t, NewSessionKey(), bob.Recipient(), nil)
			for _, wrong := range []*Identity{testIdentity(t, "alice", kind), testIdentity(t, "bob", otherKind(kind))} {
				key, err := Import(blob, wrong, nil)
				if !errors.Is(err, ErrIncorrectIdentity) || key != nil {
					t.Errorf("Import with %s identity = %v, want ErrIncorrectIdentity", wrong.Kind(), err)
				}
			}
			// A blob that names bob but was wrapped to alice's key does not
			// unwrap: the wrap is bound to the fingerprint it names.
			alice := testIdentity(t, "alice", kind)
			forged := rawOf(mustExport(t, NewSessionKey(), alice.Recipient(), nil))
			forged.Recipient = bob.Recipient().ExchangeFingerprint()
			if _, err := Import(mustParseBlob(t, forged.Marshal()), bob, nil); !errors.Is(err, ErrAuth) {
				t.Errorf("a blob relabelled for bob: %v, want ErrAuth", err)
			}
		})
	}
}

// TestSubstitution is the attack of CryptoAPI's "Storing Session Keys": someone who can write to the
// storage makes their own session key, exports it to the victim's public
// key and puts it in place of the real blob. Requiring the expected signer
// on import defeats it; without it, the attack works.
func TestSubstitution(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			alice := testIdentity(t, "alice", kind)
			bob := testIdentity(t, "bob", kind)
			mallory := testIdentity(t, "mallory", kind)
			aliceKey := NewSessionKey()
			real := mustExport(t, aliceKey, bob.Recipient(), &ExportOptions{Signer: alice, Description: "shared"})
			malloryKey := NewSessionKey()

			signedByMallory := mustExport(t, malloryKey, bob.Recipient(), &ExportOptions{Signer: mallory, Description: "shared"})
			unsigned := mustExport(t, malloryKey, bob.Recipient(), &ExportOptions{Description: "shared"})

			// Mallory signs, then claims to be alice.
			claimsAlice := rawOf(mustExport(t, malloryKey, bob.Recipient(), &ExportOptions{Signer: mallory}))
			claimsAlice.SignerKey = alice.Recipient().signingOnly()

			// Mallory keeps alice's header and signature and swaps in her
			// own wrapped key, made with the very same header.
			swapped := *rawOf(real)
			swapped.Wrapped = wrapWithHeader(t, malloryKey, real, bob.Recipient())

			// Mallory copies alice's signer and signature onto her own blob.
			copiedSig := *rawOf(unsigned)
			copiedSig.SignerKey, copiedSig.Signature = real.SignerKey(), real.Signature()

			tests := []struct {
				name string
				blob *rawBlob
				want error
			}{
				{"signed by mallory", rawOf(signedByMallory), ErrWrongSigner},
				{"unsigned", rawOf(unsigned), ErrNotSigned},
				{"mallory's signature under alice's name", claimsAlice, ErrAuth},
				{"alice's signature over mallory's wrapped key", &swapped, ErrAuth},
				{"alice's signature copied", &copiedSig, ErrAuth},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					data := tt.blob.Marshal()
					key, err := parseAndImport(data, bob, alice.Recipient())
					if !errors.Is(err, tt.want) {
						t.Errorf("Import with Verify alice = %v, want %v", err, tt.want)
					}
					if key != nil {
						t.Errorf("Import returned a key along with its error")
					}
					// Without a required signer the substituted key is
					// accepted: this is the attack.
					if k, err := parseAndImport(data, bob, nil); err == nil && !bytes.Equal(k.Bytes(), malloryKey.Bytes()) {
						t.Errorf("without Verify the import gave neither an error nor mallory's key")
					}
				})
			}
			got, err := parseAndImport(real.Marshal(), bob, alice.Recipient())
			if err != nil || !got.Equal(aliceKey) {
				t.Errorf("the real blob does not import: %v", err)
			}

			// "Storing Session Keys" proper: bob stores his own key, wrapped to and signed
			// by himself, and checks his own signature when reading it back.
			stored := mustExport(t, aliceKey, bob.Recipient(), &ExportOptions{Signer: bob})
			if got, err := parseAndImport(stored.Marshal(), bob, bob.Recipient()); err != nil || !got.Equal(aliceKey) {
				t.Errorf("bob's stored blob: %v", err)
			}
			if _, err := parseAndImport(unsigned.Marshal(), bob, bob.Recipient()); !errors.Is(err, ErrNotSigned) {
				t.Errorf("substituted unsigned blob in bob's store: %v, want ErrNotSigned", err)
			}
		})
	}
	t.Run("cross-kind claim", func(t *testing.T) {
		alice := testIdentity(t, "alice", KindX25519)
		bob := testIdentity(t, "bob", KindX25519)
		mallory := testIdentity(t, "mallory", KindRSA2048)
		b := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Signer: mallory})
		if _, err := parseAndImport(b.Marshal(), bob, alice.Recipient()); !errors.Is(err, ErrWrongSigner) {
			t.Errorf("an RSA-PSS signature checked against an Ed25519 signer: %v, want ErrWrongSigner", err)
		}
	})
}

// TestResignedBlob performs the unknown key-share attack of the hardening
// review: Mallory takes Alice's signed blob to Bob, replaces the signer and
// signature with her own (or strips them), and hands it to Bob as hers.
// The signer is bound into the wrap, so the blob no longer unwraps, with
// or without a required signer.
func TestResignedBlob(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			alice := testIdentity(t, "alice", kind)
			bob := testIdentity(t, "bob", kind)
			mallory := testIdentity(t, "mallory", kind)
			real := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Signer: alice})

			resigned := *rawOf(real)
			resigned.SignerKey = mallory.Recipient().signingOnly()
			sig, err := mallory.Sign(blobContext, resigned.signedBytes())
			if err != nil {
				t.Fatal(err)
			}
			resigned.Signature = sig
			if err := resigned.blob().Verify(mallory.Recipient()); err != nil {
				t.Fatalf("mallory's signature itself should verify: %v", err)
			}
			stripped := *rawOf(real)
			stripped.SignerKey, stripped.Signature = nil, nil

			for _, tt := range []struct {
				name   string
				blob   *rawBlob
				verify *Recipient
			}{
				{"re-signed, verify mallory", &resigned, mallory.Recipient()},
				{"re-signed, no verify", &resigned, nil},
				{"stripped, no verify", &stripped, nil},
			} {
				t.Run(tt.name, func(t *testing.T) {
					key, err := parseAndImport(tt.blob.Marshal(), bob, tt.verify)
					if !errors.Is(err, ErrAuth) || key != nil {
						t.Errorf("import = %v, %v; want ErrAuth and no key", key, err)
					}
				})
			}
		})
	}
}

// TestImportChecksSignatureWithoutVerify: a blob whose signature is present
// but invalid is refused even when no signer is required.
func TestImportChecksSignatureWithoutVerify(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			alice := testIdentity(t, "alice", kind)
			bob := testIdentity(t, "bob", kind)
			b := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Signer: alice})
			bad := rawOf(b)
			bad.Signature[len(bad.Signature)/2] ^= 0x10
			if key, err := parseAndImport(bad.Marshal(), bob, nil); !errors.Is(err, ErrAuth) || key != nil {
				t.Errorf("import of a blob with a bad signature, no verify = %v, %v; want ErrAuth", key, err)
			}
			if _, err := parseAndImport(b.Marshal(), bob, nil); err != nil {
				t.Errorf("the genuine blob, no verify: %v", err)
			}
		})
	}
}

// cmpRecipients compares recipients by their keys.
var cmpRecipients = cmp.Comparer(func(a, b *Recipient) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
})

// wrapWithHeader wraps key to r with the header fields of b.
func wrapWithHeader(t *testing.T, key *SessionKey, b *KeyBlob, r *Recipient) []byte {
	t.Helper()
	w, err := r.exchange.Wrap(key.key[:], b.f.label())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestHeaderIsBound changes each field of an unsigned blob, keeping the
// wrapped key, and checks that the blob no longer imports.
func TestHeaderIsBound(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			bob := testIdentity(t, "bob", kind)
			base := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Description: "d"})
			tests := []struct {
				name   string
				change func(b *rawBlob)
				want   error
			}{
				{"serial", func(b *rawBlob) { b.Serial[15] ^= 1 }, ErrAuth},
				{"created", func(b *rawBlob) { b.Created = b.Created.Add(time.Second) }, ErrAuth},
				{"description", func(b *rawBlob) { b.Description = "e" }, ErrAuth},
				{"description removed", func(b *rawBlob) { b.Description = "" }, ErrAuth},
				{"recipient", func(b *rawBlob) { b.Recipient[0] ^= 1 }, ErrIncorrectIdentity},
				{"wrapped", func(b *rawBlob) { b.Wrapped[len(b.Wrapped)-1] ^= 1 }, ErrAuth},
			}
			for _, tt := range tests {
				b := rawOf(base)
				tt.change(b)
				key, err := parseAndImport(b.Marshal(), bob, nil)
				if !errors.Is(err, tt.want) || key != nil {
					t.Errorf("%s changed: Import = %v, want %v", tt.name, err, tt.want)
				}
			}
		})
	}
}

// TestBlobBitFlips flips bits of valid blobs: no flip may give a key.
// Signed blobs are imported with their signer required; unsigned ones
// without, so that the binding of every field into the wrap is tested.
func TestBlobBitFlips(t *testing.T) {
	for _, kind := range blobKinds {
		alice := testIdentity(t, "alice", kind)
		bob := testIdentity(t, "bob", kind)
		opts := &ExportOptions{Signer: alice, Description: "flip me ü"}
		signed := mustExport(t, NewSessionKey(), bob.Recipient(), opts).Marshal()
		unsigned := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Description: opts.Description}).Marshal()
		t.Run(kind+"/signed", func(t *testing.T) {
			// Every bit of every byte; RSA-2048 checks are cheap when the
			// signature fails first, so RSA gets one bit per byte.
			bits := 8
			if kind == KindRSA2048 {
				bits = 1
			}
			for i := range signed {
				for bit := range bits {
					if bits == 1 {
						bit = i % 8
					}
					checkFlip(t, signed, i, bit, bob, alice.Recipient())
				}
			}
		})
		t.Run(kind+"/unsigned", func(t *testing.T) {
			// One bit per byte; RSA-OAEP decryption is slow, so RSA samples
			// every fifth byte and every byte of the header.
			for i := range unsigned {
				if kind == KindRSA2048 && i%5 != 0 && i > 100 {
					continue
				}
				checkFlip(t, unsigned, i, (i*3)%8, bob, nil)
			}
		})
	}
}

func checkFlip(t *testing.T, data []byte, i, bit int, id *Identity, verify *Recipient) {
	t.Helper()
	flipped := bytes.Clone(data)
	flipped[i] ^= 1 << bit
	key, err := parseAndImport(flipped, id, verify)
	if err == nil || key != nil {
		t.Fatalf("flipping bit %d of byte %d: Import returned a key (err %v)", bit, i, err)
	}
	if c := blobErrorClass(err); strings.HasPrefix(c, "unexpected") {
		t.Fatalf("flipping bit %d of byte %d: %s", bit, i, c)
	}
}

func TestBlobTruncatedAndExtended(t *testing.T) {
	for _, kind := range blobKinds {
		t.Run(kind, func(t *testing.T) {
			alice := testIdentity(t, "alice", kind)
			bob := testIdentity(t, "bob", kind)
			for _, opts := range []*ExportOptions{nil, {Signer: alice, Description: "x"}} {
				blob := mustExport(t, NewSessionKey(), bob.Recipient(), opts)
				bin := blob.Marshal()
				for i := range len(bin) {
					if _, err := ParseKeyBlob(bin[:i]); !errors.Is(err, ErrMalformedBlob) {
						t.Fatalf("prefix of %d of %d bytes: %v, want ErrMalformedBlob", i, len(bin), err)
					}
				}
				for _, extra := range [][]byte{{0}, {1}, bytes.Repeat([]byte{0xff}, 100), bin} {
					if _, err := ParseKeyBlob(append(bytes.Clone(bin), extra...)); !errors.Is(err, ErrMalformedBlob) {
						t.Errorf("%d appended bytes: %v, want ErrMalformedBlob", len(extra), err)
					}
				}
				armored := blob.MarshalPEM()
				for i := range len(armored) {
					if bytes.Equal(bytes.TrimSpace(armored[:i]), bytes.TrimSpace(armored)) {
						continue // only the final newline is missing: white space is allowed
					}
					if _, err := ParseKeyBlob(armored[:i]); !errors.Is(err, ErrMalformedBlob) {
						t.Fatalf("armored prefix of %d of %d bytes: %v, want ErrMalformedBlob", i, len(armored), err)
					}
				}
			}
		})
	}
}

func TestBlobArmor(t *testing.T) {
	alice := testIdentity(t, "alice", KindX25519)
	bob := testIdentity(t, "bob", KindX25519)
	key := NewSessionKey()
	blob := mustExport(t, key, bob.Recipient(), &ExportOptions{Signer: alice})
	armored := string(blob.MarshalPEM())
	if !strings.HasPrefix(armored, "-----BEGIN KEYBLOB KEY BLOB-----\n") || !strings.HasSuffix(armored, "-----END KEYBLOB KEY BLOB-----\n") {
		t.Fatalf("armor is not a KEYBLOB KEY BLOB PEM block:\n%s", armored)
	}
	lines := strings.Split(armored, "\n")
	accepted := []struct {
		name string
		data string
	}{
		{"canonical", armored},
		{"surrounding white space", "\n\n  " + armored + "\n\t\n"},
		{"CRLF line ends", strings.ReplaceAll(armored, "\n", "\r\n")},
		{"no final newline", strings.TrimSuffix(armored, "\n")},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAndImport([]byte(tt.data), bob, alice.Recipient())
			if err != nil || !got.Equal(key) {
				t.Errorf("ParseKeyBlob/Import: %v", err)
			}
		})
	}
	rejected := []struct {
		name string
		data string
	}{
		{"other label", strings.ReplaceAll(armored, "KEYBLOB KEY BLOB", "KEYBLOB SESSION KEY")},
		{"lower-case label", strings.ReplaceAll(armored, "KEYBLOB KEY BLOB", "keyblob key blob")},
		{"mismatched END label", strings.Replace(armored, "END KEYBLOB KEY BLOB", "END KEYBLOB BLOB", 1)},
		{"header", strings.Replace(armored, "-----\n", "-----\nComment: hello\n\n", 1)},
		{"trailing text", armored + "hello\n"},
		{"leading text", "hello\n" + armored},
		{"two blocks", armored + armored},
		{"76-character lines", rewrap(armored, 76)},
		{"line break moved", rewrap(armored, 60)},
		{"space inside base64", strings.Replace(armored, lines[1], lines[1][:10]+" "+lines[1][10:], 1)},
		{"blank line inside", strings.Replace(armored, lines[1]+"\n", lines[1]+"\n\n", 1)},
		{"missing END", strings.Join(lines[:len(lines)-2], "\n") + "\n"},
		{"base64 padding bits", nonCanonicalPadding(t, armored)},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseKeyBlob([]byte(tt.data))
			if !errors.Is(err, ErrMalformedBlob) {
				t.Errorf("ParseKeyBlob = %v (blob %v), want ErrMalformedBlob", err, b != nil)
			}
		})
	}
}

// nonCanonicalPadding sets unused bits of the last base64 character, which
// decodes to the same bytes.
func nonCanonicalPadding(t *testing.T, armored string) string {
	t.Helper()
	lines := strings.Split(armored, "\n")
	last := lines[len(lines)-3]
	i := strings.IndexByte(last, '=')
	if i < 1 {
		t.Skip("the armored blob has no base64 padding to play with")
	}
	c := last[i-1]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	lines[len(lines)-3] = last[:i-1] + string(alphabet[strings.IndexByte(alphabet, c)+1]) + last[i:]
	return strings.Join(lines, "\n")
}

func TestBlobFieldChecks(t *testing.T) {
	bob := testIdentity(t, "bob", KindX25519)
	alice := testIdentity(t, "alice", KindX25519)
	signed := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Signer: alice}).Marshal()
	// Offsets in a blob with an empty description.
	const (
		offVersion  = 5
		offExAlg    = 6
		offSessAlg  = 6 + 1 + 32
		offCreated  = offSessAlg + 1 + 16
		offDescLen  = offCreated + 8
		offSigAlg   = offDescLen + 2
		offSigner   = offSigAlg + 1 + 2
		offWrapLen  = offSigner + 32
		offSigLen   = offWrapLen + 2 + 80
		signedTotal = offSigLen + 2 + 64
	)
	if len(signed) != signedTotal {
		t.Fatalf("signed X25519 blob of %d bytes, want %d", len(signed), signedTotal)
	}
	set := func(off int, v ...byte) []byte {
		b := bytes.Clone(signed)
		copy(b[off:], v)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"version 2", set(offVersion, 2), "version 2"},
		{"version 0", set(offVersion, 0), "version 0"},
		{"type session key", set(4, 'k'), "it is a session key"},
		{"unknown type", set(4, 'z'), "unknown type 0x7a"},
		{"bad magic", set(0, 'K'), "no keyblob magic"},
		{"exchange none", set(offExAlg, 0), "malformed key blob: none"},
		{"exchange hybrid", set(offExAlg, 1), "wrapped key of 80 bytes for MLKEM768-X25519 HPKE"},
		{"exchange RSA", set(offExAlg, 3), "wrapped key of 80 bytes for RSA-OAEP-SHA256"},
		{"exchange unknown", set(offExAlg, 4), "unknown exchange algorithm 4"},
		{"session alg 0", set(offSessAlg, 0), "unknown session key algorithm 0"},
		{"session alg 2", set(offSessAlg, 2), "unknown session key algorithm 2"},
		{"created beyond int64", set(offCreated, 0x80), "creation time out of range"},
		{"signature alg none", set(offSigAlg, 0), "trailing data"},
		{"signature alg RSA-PSS", set(offSigAlg, 2), "bad RSA public key"},
		{"signature alg unknown", set(offSigAlg, 3), "unknown signature algorithm 3"},
		{"signer key of small order", set(offSigner, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), "point of prime order"},
		{"signer key length 33", set(offSigner-2, 0, 33), "malformed key blob"},
		{"signature length 63", append(set(offSigLen, 0, 63), 0)[:signedTotal-1], "a signature of 63 bytes"},
		{"description length too long", set(offDescLen, 0xff, 0xff), "malformed key blob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyBlob(tt.data)
			if !errors.Is(err, ErrMalformedBlob) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseKeyBlob = %v, want ErrMalformedBlob mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := ParseKeyBlob(set(offVersion, 2)); !errors.Is(err, format.ErrUnsupportedVersion) {
		t.Errorf("version 2: %v, want ErrUnsupportedVersion too", err)
	}
	if _, err := ParseKeyBlob(make([]byte, maxBlobSize+1)); !errors.Is(err, ErrMalformedBlob) {
		t.Errorf("oversized input: %v, want ErrMalformedBlob", err)
	}
}

// TestBlobCreated checks the creation time: whole seconds, UTC, and every
// value up to the largest int64 round trips.
func TestBlobCreated(t *testing.T) {
	bob := testIdentity(t, "bob", KindX25519)
	before := time.Now().Truncate(time.Second)
	b := mustExport(t, NewSessionKey(), bob.Recipient(), nil)
	if b.Created().Before(before) || b.Created().After(time.Now()) || b.Created().Nanosecond() != 0 {
		t.Errorf("default creation time %v is not now in whole seconds", b.Created())
	}
	bin := b.Marshal()
	off := 6 + 1 + 32 + 1 + 16
	for _, sec := range []uint64{0, 1, 1 << 32, math.MaxInt64} {
		data := bytes.Clone(bin)
		binary.BigEndian.PutUint64(data[off:], sec)
		p, err := ParseKeyBlob(data)
		if err != nil {
			t.Fatalf("created %d: %v", sec, err)
		}
		if uint64(p.Created().Unix()) != sec || !bytes.Equal(p.Marshal(), data) {
			t.Errorf("created %d does not round trip (got %d)", sec, p.Created().Unix())
		}
	}
	epoch := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Time: time.Unix(0, 999)})
	if epoch.Created().Unix() != 0 {
		t.Errorf("Time 1970-01-01T00:00:00.000000999Z exported as %v", epoch.Created())
	}
}

func TestExportRejects(t *testing.T) {
	bob := testIdentity(t, "bob", KindX25519)
	x := testIdentity(t, "alice", KindX25519)
	xFile, err := x.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	exchangeOnly := mustParseIdentity(t, pemBlocksOf(t, xFile)[0])
	signingOnly := mustParseIdentity(t, pemBlocksOf(t, xFile)[1])
	key := NewSessionKey()
	tests := []struct {
		name string
		key  *SessionKey
		to   *Recipient
		opts *ExportOptions
		want string
	}{
		{"long description", key, bob.Recipient(), &ExportOptions{Description: strings.Repeat("a", MaxDescription+1)}, "over 1024"},
		{"control character", key, bob.Recipient(), &ExportOptions{Description: "a\nb"}, "control character"},
		{"invalid UTF-8", key, bob.Recipient(), &ExportOptions{Description: "\xff"}, "not valid UTF-8"},
		{"signer cannot sign", key, bob.Recipient(), &ExportOptions{Signer: exchangeOnly}, "no signature key"},
		{"recipient cannot exchange", key, signingOnly.Recipient(), nil, "no exchange key"},
		{"before 1970", key, bob.Recipient(), &ExportOptions{Time: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)}, "before 1970"},
		{"zero session key", &SessionKey{}, bob.Recipient(), nil, "cannot export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Export(tt.key, tt.to, tt.opts)
			if err == nil {
				t.Fatalf("Export succeeded with a blob of %d bytes", len(b.Marshal()))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckDescription(t *testing.T) {
	tests := []struct {
		name string
		desc string
		ok   bool
	}{
		{"empty", "", true},
		{"ASCII", "backup key for /srv/archive (2025)", true},
		{"UTF-8", "Schlüssel für das Archiv — 鍵 🔑", true},
		{"1024 bytes", strings.Repeat("x", 1024), true},
		{"1024 bytes of 4-byte runes", strings.Repeat("🔑", 256), true},
		{"1025 bytes", strings.Repeat("x", 1025), false},
		{"1026 bytes of 2-byte runes", strings.Repeat("é", 513), false},
		{"newline", "a\nb", false},
		{"tab", "a\tb", false},
		{"NUL", "a\x00b", false},
		{"DEL", "a\x7fb", false},
		{"C1 control", "a\u0085b", false},
		{"invalid UTF-8", "a\xc3", false},
		{"surrogate", "a\xed\xa0\x80", false},
		{"right-to-left override", "invoice\u202efdp.exe", false},
		{"bidi isolate", "a\u2067b", false},
		{"zero-width space", "a\u200bb", false},
		{"byte order mark", "\ufeffa", false},
		{"line separator", "a\u2028b", false},
		{"paragraph separator", "a\u2029b", false},
		{"non-breaking space", "a\u00a0b", true},
		{"right-to-left text", "שלום", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDescription(tt.desc)
			if (err == nil) != tt.ok {
				t.Errorf("CheckDescription(%q) = %v, want ok %v", tt.desc, err, tt.ok)
			}
		})
	}
	// Whatever CheckDescription accepts, a blob carries unchanged.
	bob := testIdentity(t, "bob", KindX25519)
	for _, tt := range tests {
		if !tt.ok {
			continue
		}
		b := mustParseBlob(t, mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Description: tt.desc}).Marshal())
		if b.Description() != tt.desc || !utf8.ValidString(b.Description()) {
			t.Errorf("%s: description changed to %q", tt.name, b.Description())
		}
	}
}

// TestWrapLabel checks the HPKE info / OAEP label and the signed bytes
// against their definition in spec/blob.md.
func TestWrapLabel(t *testing.T) {
	alice := testIdentity(t, "alice", KindX25519)
	bob := testIdentity(t, "bob", KindX25519)
	b := mustExport(t, NewSessionKey(), bob.Recipient(), &ExportOptions{Signer: alice, Description: "hi"})
	bin := b.Marshal()
	headerLen := 6 + 1 + 32 + 1 + 16 + 8 + 2 + len(b.Description()) + 1 + 2 + 32 // through the signer key
	if want := append([]byte("keyblob/v1 key blob\x00"), bin[:headerLen]...); !bytes.Equal(b.f.label(), want) {
		t.Errorf("label is not the separator followed by the header bytes")
	}
	sigStart := len(bin) - 2 - len(b.Signature())
	if !bytes.Equal(b.f.signedBytes(), bin[:sigStart]) {
		t.Errorf("the signed bytes are not every byte before the signature length")
	}
	msg := append([]byte("keyblob/v1 signature\x00key blob\x00"), bin[:sigStart]...)
	pub := alice.Recipient().signing
	if !pub.Verify(msg, b.Signature()) {
		t.Errorf("the signature does not verify over the message of spec/blob.md")
	}
}
