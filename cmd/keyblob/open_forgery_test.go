package main

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/seal"
)

// forgePayload is what a co-recipient of a signed message can do with the
// session key every recipient knows: keep the sender's header and
// signature trailer, and replace the payload with another sealed under the
// same payload key (spec/sealed.md, 2.3). Every chunk of the forged
// payload passes GCM; only the signature at the end does not.
func forgePayload(t *testing.T, msg []byte, key *keyblob.SessionKey, text []byte) []byte {
	t.Helper()
	h, err := seal.ReadHeader(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	nonce, mac := h.Nonce(), h.MAC()
	pk, err := hkdf.Key(sha256.New, key.Bytes(), nonce[:], "keyblob/v1 sealed payload"+string(mac[:]), 32)
	if err != nil {
		t.Fatal(err)
	}
	c, err := stream.NewCipher(pk)
	if err != nil {
		t.Fatal(err)
	}
	var payload bytes.Buffer
	w := stream.NewWriter(c, &payload, 1)
	if _, err := w.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Join([][]byte{msg[:h.Size()], payload.Bytes(), msg[len(msg)-h.SignatureSize():]}, nil)
}

// TestOpenPayloadForgeryToStdout: carol, a co-recipient, replaces the
// payload of a message alice signed to bob and carol. Bob's open, with
// or without --from, through stdin or from a file, must print none of
// the forged text to stdout, and exit 1.
func TestOpenPayloadForgeryToStdout(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	t.Setenv("KEYBLOB_HOME", path("home"))
	t.Setenv(passphraseEnv, "")
	spoolDir := path("tmp")
	if err := os.Mkdir(spoolDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", spoolDir)

	alice := strings.TrimSpace(runIn(t, "keygen", "-o", path("alice.key")))
	bob := strings.TrimSpace(runIn(t, "keygen", "-t", "x25519", "-o", path("bob.key")))
	carol := strings.TrimSpace(runIn(t, "keygen", "-t", "x25519", "-o", path("carol.key")))
	genuine := make([]byte, 200000)
	rand.Read(genuine)
	if err := os.WriteFile(path("msg"), genuine, 0o600); err != nil {
		t.Fatal(err)
	}
	runIn(t, "seal", "-q", "-s", path("alice.key"), "-r", bob, "-r", carol, "-o", path("msg.sealed"), path("msg"))
	msg, err := os.ReadFile(path("msg.sealed"))
	if err != nil {
		t.Fatal(err)
	}

	// Carol's forgery.
	keyPEM := runIn(t, "open", "-q", "-i", path("carol.key"), "--export-session-key", path("msg.sealed"))
	key, err := keyblob.ParseSessionKey([]byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	text := bytes.Repeat([]byte("pay mallory 1000 EUR. "), 10000)
	forged := forgePayload(t, msg, key, text)
	if err := os.WriteFile(path("forged.sealed"), forged, 0o600); err != nil {
		t.Fatal(err)
	}
	checkForgeryIsReal(t, forged, path("bob.key"), text)

	// open runs bob's open of the message in file, from stdin or as a
	// file argument, and returns the exit status, stdout and stderr.
	open := func(from []string, file string, asFile bool) (int, []byte, string) {
		args := append([]string{"open", "-q", "-i", path("bob.key")}, from...)
		var stdin io.Reader = strings.NewReader("")
		if asFile {
			args = append(args, path(file))
		} else {
			data, err := os.ReadFile(path(file))
			if err != nil {
				t.Fatal(err)
			}
			stdin = bytes.NewReader(data)
		}
		var stdout, stderr bytes.Buffer
		code := run(args, stdin, &stdout, &stderr)
		return code, stdout.Bytes(), stderr.String()
	}
	for _, tt := range []struct {
		name   string
		from   []string
		asFile bool
	}{
		{"stdin, from alice", []string{"--from", alice}, false},
		{"stdin, no from", nil, false},
		{"file, from alice", []string{"--from", alice}, true},
		{"file, no from", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := open(tt.from, "forged.sealed", tt.asFile)
			if code != 1 || !strings.Contains(stderr, "authentication failed") {
				t.Errorf("exit %d: %s; want exit 1 with an authentication failure", code, stderr)
			}
			if len(stdout) != 0 {
				t.Errorf("%d bytes reached stdout before the signature was checked (forged text among them: %v)",
					len(stdout), bytes.Contains(stdout, text[:100]))
			}
			// The genuine message still opens to stdout.
			code, stdout, stderr = open(tt.from, "msg.sealed", tt.asFile)
			if code != 0 || !bytes.Equal(stdout, genuine) {
				t.Errorf("the genuine message: exit %d, %d bytes: %s", code, len(stdout), stderr)
			}
		})
	}
	if entries, _ := os.ReadDir(spoolDir); len(entries) != 0 {
		t.Errorf("the spool directory holds %d entries after the opens, want none", len(entries))
	}
}

// checkForgeryIsReal shows that the attack works at the STREAM layer: the
// library's Reader returns the forged text before it reports the failed
// signature. What the CLI makes of that is the test.
func checkForgeryIsReal(t *testing.T, forged []byte, idFile string, text []byte) {
	t.Helper()
	data, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	id, err := keyblob.ParseIdentity(data)
	if err != nil {
		t.Fatal(err)
	}
	o, err := seal.Open(bytes.NewReader(forged), &seal.OpenOptions{Identities: []*keyblob.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o.Reader())
	if err == nil || !bytes.Equal(got, text) {
		t.Fatalf("the forged payload: %d bytes, %v; want the whole forged text, then an error", len(got), err)
	}
}
