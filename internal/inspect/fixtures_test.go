package inspect

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/password"
	"github.com/keyblob/keyblob/seal"
)

// cheap are Argon2id parameters that cost little, for tests.
var cheap = password.Params{Time: 1, MemoryKiB: password.MinMemoryKiB, Threads: 1}

// A fixture is a real file made with the library, and what it is.
type fixture struct {
	name string
	data []byte
	kind string // the Name of its kind, "" for none
	form Form
	typ  string // the report type Inspect makes; "" if it refuses the file
	err  string // the start of Inspect's error, if it refuses the file
}

// fixtures makes one file of every kind and form keyblob writes, and the
// files that are no keyblob file or only start as one.
func fixtures(t testing.TB) []fixture {
	var fs []fixture
	// The larger RSA kinds make the same files as rsa-2048, more slowly.
	for _, kind := range []string{keyblob.KindX25519, keyblob.KindHybrid, keyblob.KindRSA2048} {
		fs = append(fs, keyFixtures(t, kind)...)
	}
	fs = append(fs, objectFixtures(t)...)
	fs = append(fs, storeFixtures(t)...)
	fs = append(fs, certFixtures(t)...)
	fs = append(fs, authorityFixtures(t)...)
	return append(fs, nearMisses(t)...)
}

// keyFixtures are an identity of kind and its recipient, in every form.
func keyFixtures(t testing.TB, kind string) []fixture {
	id, err := keyblob.GenerateIdentity(kind)
	check(t, err)
	pem, err := id.MarshalPEM()
	check(t, err)
	line := id.Recipient().String() + "\n"
	fs := []fixture{
		{kind + ".key", pem, "identity", PEM, "identity", ""},
		{kind + " commented.key", []byte("# bob's laptop\n\n" + string(pem)), "identity", PEM, "identity", ""},
		{kind + ".pub", []byte(line), "recipient (public key)", Line, "recipient", ""},
		{kind + " commented.pub", []byte("# bob\n\n" + line), "recipient (public key)", Line, "recipient", ""},
		{kind + " team.txt", []byte("# team\n" + line + recipientLine(t) + "\n"), "recipient (public key)", Line, "recipients", ""},
	}
	if pub, err := id.Recipient().MarshalPEM(); err == nil { // not every kind has a PEM public key
		fs = append(fs, fixture{kind + ".pub.pem", pub, "recipient (public key)", PEM, "recipient", ""})
	}
	return fs
}

// objectFixtures are session keys, key blobs, encrypted files and sealed
// messages, binary and armored.
func objectFixtures(t testing.TB) []fixture {
	bob, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	check(t, err)
	carol, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	check(t, err)
	signer, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	check(t, err)
	key := keyblob.NewSessionKey()
	derived, err := keyblob.DeriveSessionKey([]byte("correct horse"), cheap)
	check(t, err)
	blob, err := keyblob.Export(key, bob.Recipient(), &keyblob.ExportOptions{Description: "db: prod", Signer: signer})
	check(t, err)
	plain, err := keyblob.Export(key, carol.Recipient(), nil)
	check(t, err)
	enc := encrypt(t, key, 100_000)
	sealed := sealTo(t, false, &seal.Options{Recipients: []*keyblob.Recipient{bob.Recipient(), carol.Recipient()}, Signer: signer})
	armored := sealTo(t, true, &seal.Options{Recipients: []*keyblob.Recipient{bob.Recipient()}, Expires: time.Now().Add(time.Hour)})
	return []fixture{
		{"key.sk", key.Marshal(), "session key", Binary, "session_key", ""},
		{"key.sk.pem", key.MarshalPEM(), "session key", PEM, "session_key", ""},
		{"derived.sk", derived.Marshal(), "session key", Binary, "session_key", ""},
		{"blob.kb", blob.Marshal(), "key blob", Binary, "key_blob", ""},
		{"blob.kb.pem", blob.MarshalPEM(), "key blob", PEM, "key_blob", ""},
		{"hybrid.kb", plain.Marshal(), "key blob", Binary, "key_blob", ""},
		{"file.enc", enc, "encrypted file", Binary, "encrypted_file", ""},
		{"file.enc.pem", format.Armor(format.PEMEncrypted, enc), "encrypted file", Armored, "encrypted_file", ""},
		{"msg.kb", sealed, "sealed message", Binary, "sealed_message", ""},
		{"msg.kb.pem", armored, "sealed message", Armored, "sealed_message", ""},
		{"passphrase.kb", sealTo(t, false, &seal.Options{Passphrase: []byte("pw"), Params: &cheap}), "sealed message", Binary, "sealed_message", ""},
		{"params", []byte("# keyblob session derive parameters (not secret)\n" + paramsOf(t, derived).String() + "\n"), "session derive parameters", Line, "derive_parameters", ""},
		// What the streaming armor readers do not read.
		{"msg after comments", append([]byte("# note\n"), armored...), "sealed message", PEM, "", "a sealed message after other text"},
		{"msg after text", append([]byte("note\n"), armored...), "sealed message", Embedded, "", "a sealed message after other text"},
		{"enc after text", append([]byte("note\n"), format.Armor(format.PEMEncrypted, enc)...), "encrypted file", Embedded, "", "a encrypted file after other text"},
		// Cut short, or one byte changed: the kind is told, the parser refuses.
		{"blob cut", blob.Marshal()[:40], "key blob", Binary, "", "malformed key blob"},
		{"key cut", key.Marshal()[:format.HeaderSize+3], "session key", Binary, "", "malformed session key"},
		{"enc header cut", enc[:format.HeaderSize+4], "encrypted file", Binary, "", "malformed encrypted file"},
		{"msg cut", sealed[:format.HeaderSize+4], "sealed message", Binary, "", "malformed header"},
	}
}

// storeFixtures are the key store's own files: a stored identity and the
// record of its generations.
func storeFixtures(t testing.TB) []fixture {
	s, err := keystore.Create(filepath.Join(t.TempDir(), "store"), &keystore.Options{Params: cheap})
	check(t, err)
	pass := []byte("correct horse battery staple")
	_, err = s.NewIdentity("me", keyblob.KindX25519, pass)
	check(t, err)
	_, _, err = s.Rotate("me", pass)
	check(t, err)
	id := readFile(t, filepath.Join(s.Dir(), "identities", "me.id"))
	gens := readFile(t, filepath.Join(s.Dir(), "identities", "me.gens"))
	return []fixture{
		{"me.id", id, "stored identity", PEM, "stored_identity", ""},
		{"me.gens", gens, "generation record", Line, "generation_record", ""},
	}
}

// nearMisses are files that are no keyblob file, or only start as one.
func nearMisses(t testing.TB) []fixture {
	header := func(typ byte) []byte { return append([]byte(format.Magic), typ, format.Version1) }
	return []fixture{
		{"empty", nil, "", Unknown, "", "not a keyblob file"},
		{"text", []byte("hello, world\n"), "", Unknown, "", "not a keyblob file"},
		{"comments only", []byte("# keyblob:\n\n"), "", Unknown, "", "not a keyblob file"},
		{"magic only", []byte(format.Magic), "", Unknown, "", "not a keyblob file"},
		{"magic, no version", []byte(format.Magic + string(format.TypeBlob)), "", Unknown, "", "not a keyblob file"},
		{"prefix cut", []byte(keyblob.RecipientPrefix[:len(keyblob.RecipientPrefix)-1] + "x25519:AAAA\n"), "", Unknown, "", "not a keyblob file"},
		{"params prefix cut", []byte(strings.TrimSpace(paramsPrefix) + "\n"), "", Unknown, "", "not a keyblob file"},
		{"bad recipient", []byte(keyblob.RecipientPrefix + "x25519:AAAA\n"), "recipient (public key)", Line, "", "line 1: malformed recipient line"},
		{"unknown type", header(0x7f), "", Binary, "", "a keyblob object of unknown type 0x7f, which this version"},
		{"bare stored identity", header(format.TypeIdentity), "stored identity", Binary, "", "a stored identity without its armor"},
		{"bad certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "certificate", PEM, "", "certificate 1: malformed certificate"},
		{"crl", []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"), "", PEM, "", `a PEM file of type "X509 CRL"`},
		{"encrypted pkcs8", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "encrypted private key", PEM, "", "an encrypted PKCS#8 private key"},
		{"begin cut", []byte("-----BEGIN PRIVATE KEY\nAAAA\n"), "", PEM, "", "malformed PEM"},
		{"lower-case label", []byte("-----BEGIN private key-----\nAAAA\n"), "", PEM, "", "malformed PEM"},
		{"bad identity", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "identity", PEM, "", ""},
	}
}

// recipientLine is the line of a new X25519 identity.
func recipientLine(t testing.TB) string {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	check(t, err)
	return id.Recipient().String()
}

func encrypt(t testing.TB, key *keyblob.SessionKey, n int) []byte {
	var buf bytes.Buffer
	w, err := keyblob.Encrypt(&buf, key, nil)
	check(t, err)
	_, err = w.Write(bytes.Repeat([]byte("x"), n))
	check(t, err)
	check(t, w.Close())
	return buf.Bytes()
}

func sealTo(t testing.TB, armor bool, opts *seal.Options) []byte {
	var buf bytes.Buffer
	if !armor {
		_, err := seal.Seal(seal.Sink{W: &buf}, seal.Source{R: strings.NewReader("hello")}, opts)
		check(t, err)
		return buf.Bytes()
	}
	w, err := seal.NewArmorWriter(&buf)
	check(t, err)
	_, err = seal.Seal(seal.Sink{W: w}, seal.Source{R: strings.NewReader("hello")}, opts)
	check(t, err)
	check(t, w.Close())
	return buf.Bytes()
}

func paramsOf(t testing.TB, k *keyblob.SessionKey) password.Params {
	p, ok := k.Params()
	if !ok {
		t.Fatal("a derived key without parameters")
	}
	return p
}

func readFile(t testing.TB, name string) []byte {
	data, err := os.ReadFile(name)
	check(t, err)
	return data
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
