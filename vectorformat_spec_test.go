package keyblob_test

// Spec test for the vector file format of spec/blob.md section 12: every
// file of testdata/blob, testdata/recipient and testdata/stream is read
// with the rules as written there, and only with them.

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// vectorHeaders are the header names section 12 defines, per directory.
var vectorHeaders = map[string][]string{
	"blob":      {"expect", "identity", "verify", "session key", "serial", "comment"},
	"recipient": {"expect", "kind", "exchange fingerprint", "signing fingerprint", "comment"},
	"stream":    {"expect", "key", "plaintext size", "plaintext sha256", "file", "comment"},
}

var (
	lowerHex  = regexp.MustCompile(`^([0-9a-f]{2})+$`)
	hexLine   = regexp.MustCompile(`^[0-9a-f]{1,64}$`)
	vectorKey = regexp.MustCompile(`^(alice|bob|mallory)-(hybrid|x25519|rsa-2048)$`)
)

func TestSpecVectorFileFormat(t *testing.T) {
	for dir, names := range vectorHeaders {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.txt"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %d files, %v", dir, len(files), err)
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkVectorFile(t, path, data, names)
		}
	}
}

func checkVectorFile(t *testing.T, path string, data []byte, names []string) {
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no empty line", path)
	}
	headers := map[string]string{}
	for _, line := range strings.Split(string(head), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok || strings.ToLower(name) != name || !contains(names, name) {
			t.Fatalf("%s: header line %q is not one of %v", path, line, names)
		}
		if _, dup := headers[name]; dup {
			t.Fatalf("%s: %s twice", path, name)
		}
		headers[name] = value
	}
	for _, name := range []string{"session key", "serial", "plaintext sha256"} {
		if v, ok := headers[name]; ok && !lowerHex.MatchString(v) {
			t.Errorf("%s: %s %q is not lower-case hex", path, name, v)
		}
	}
	for _, name := range []string{"identity", "verify"} {
		if v, ok := headers[name]; ok && (!vectorKey.MatchString(v) || !exists(filepath.Join("testdata", "keys", v+keyExt(name)))) {
			t.Errorf("%s: %s %q names no key file", path, name, v)
		}
	}
	if v, ok := headers["key"]; ok && v != "session.key" {
		t.Errorf("%s: key %q", path, v)
	}
	checkVectorBody(t, path, headers, body)
}

func checkVectorBody(t *testing.T, path string, headers map[string]string, body []byte) {
	if file, ok := headers["file"]; ok {
		if len(body) != 0 || !strings.HasSuffix(file, ".bin") || !exists(filepath.Join(filepath.Dir(path), file)) {
			t.Errorf("%s: file %q with a body of %d bytes", path, file, len(body))
		}
		return
	}
	hexBody, ok := bytes.CutPrefix(body, []byte("hex:"))
	if !ok {
		// Armor vectors end as they test (section 4); a recipient line
		// ends with exactly one LF.
		if filepath.Base(filepath.Dir(path)) == "recipient" && (!bytes.HasSuffix(body, []byte("\n")) || bytes.Count(body, []byte("\n")) != 1) {
			t.Errorf("%s: not one line and one LF", path)
		}
		return
	}
	lines := strings.Split(strings.TrimPrefix(string(hexBody), "\n"), "\n")
	if lines[len(lines)-1] != "" {
		t.Errorf("%s: hex body without a final LF", path)
	}
	for i, l := range lines[:len(lines)-1] {
		if !hexLine.MatchString(l) || (i < len(lines)-2 && len(l) != 64) {
			t.Errorf("%s: hex line %d %q", path, i+1, l)
		}
	}
	if _, err := hex.DecodeString(strings.Join(strings.Fields(string(hexBody)), "")); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

func keyExt(header string) string {
	if header == "identity" {
		return ".key"
	}
	return ".pub"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
