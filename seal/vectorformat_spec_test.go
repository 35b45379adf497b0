package seal

// Spec test for the vector files of spec/sealed.md section 7: every file
// of testdata/sealed follows the format as written, and a `seen` value of
// a replay vector is section 6's replay id of the message, computed here
// by hand.

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
)

var sealedHeaderValue = map[string]*regexp.Regexp{
	"expect":         regexp.MustCompile(`^[a-zA-Z ]+$`),
	"identity":       regexp.MustCompile(`^[a-z0-9-]+\.key$`),
	"passphrase":     regexp.MustCompile(`^.+$`),
	"session key":    regexp.MustCompile(`^[a-z0-9-]+\.session$`),
	"from":           regexp.MustCompile(`^[a-z0-9-]+\.pub$`),
	"now":            regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`),
	"max-age":        regexp.MustCompile(`^[1-9][0-9]*$`),
	"seen":           regexp.MustCompile(`^[0-9a-f]{64}$`),
	"payload sha256": regexp.MustCompile(`^[0-9a-f]{64}$`),
	"comment":        regexp.MustCompile(`^.*$`),
}

func TestSpecSealedVectorFormat(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sealedDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	replays := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		headers, body := specHeaders(t, path, data)
		bin, err := os.ReadFile(strings.TrimSuffix(path, ".txt") + ".bin")
		if err == nil {
			if len(body) != 0 {
				t.Errorf("%s: a body and a .bin file", path)
			}
			body = bin
		}
		if (headers["expect"] == "success") != (headers["payload sha256"] != "") {
			t.Errorf("%s: payload sha256 without success, or the reverse", path)
		}
		if headers["expect"] == "replay" && headers["identity"] != "" {
			checkSeen(t, path, headers, body)
			replays++
		}
	}
	if replays == 0 {
		t.Error("no replay vector with an identity")
	}
}

// specHeaders splits a vector file as section 7 says and checks each
// header's value against its form.
func specHeaders(t *testing.T, path string, data []byte) (map[string]string, []byte) {
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no empty line", path)
	}
	headers := map[string]string{}
	for _, line := range strings.Split(string(head), "\n") {
		name, value, _ := strings.Cut(line, ": ")
		form, known := sealedHeaderValue[name]
		if _, dup := headers[name]; !known || dup || !form.MatchString(value) {
			t.Fatalf("%s: header line %q", path, line)
		}
		headers[name] = value
	}
	n := 0
	for _, name := range []string{"identity", "passphrase", "session key", "from"} {
		if v, ok := headers[name]; ok && name != "passphrase" {
			if _, err := os.Stat(filepath.Join(sealedKeysDir, v)); err != nil {
				t.Errorf("%s: %s %s: %v", path, name, v, err)
			}
		}
		if _, ok := headers[name]; ok && name != "from" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s: %d of identity, passphrase and session key", path, n)
	}
	return headers, body
}

// checkSeen recomputes the replay id: HKDF-SHA256 of the session key,
// empty salt, info "keyblob/v1 sealed replay id" || serial.
func checkSeen(t *testing.T, path string, headers map[string]string, body []byte) {
	src, err := Dearmor(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(src)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	id, err := keyblob.ParseIdentity(readKeyFile(t, headers["identity"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range h.Stanzas() {
		if st.Blob() == nil || st.Blob().Recipient() != id.Recipient().ExchangeFingerprint() {
			continue
		}
		key, err := keyblob.Import(st.Blob(), id, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		serial := h.Serial()
		rid, err := hkdf.Key(sha256.New, key.Bytes(), nil, "keyblob/v1 sealed replay id"+string(serial[:]), 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(rid); got != headers["seen"] {
			t.Errorf("%s: seen %s, replay id %s", path, headers["seen"], got)
		}
		return
	}
	t.Errorf("%s: no stanza for the identity", path)
}
