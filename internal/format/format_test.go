package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPrefixAndSniff(t *testing.T) {
	for _, typ := range []byte{TypeBlob, TypeEncrypted, TypeSessionKey, TypeSealed} {
		p := Prefix(typ)
		if len(p) != HeaderSize {
			t.Fatalf("prefix of %q is %d bytes", typ, len(p))
		}
		got, ok := Sniff(append(p, 1, 2, 3))
		if !ok || got != typ {
			t.Errorf("Sniff(Prefix(%q)) = %q, %v", typ, got, ok)
		}
		if err := CheckPrefix(p, typ, "thing"); err != nil {
			t.Errorf("CheckPrefix of its own prefix: %v", err)
		}
	}
}

func TestCheckPrefixRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no keyblob magic"},
		{"short", []byte("kblb"), "no keyblob magic"},
		{"other magic", []byte("age-en"), "no keyblob magic"},
		{"other type", Prefix(TypeEncrypted), "it is an encrypted file"},
		{"unknown type", append([]byte(Magic), 'z', 1), "unknown type 0x7a"},
		{"version 2", append([]byte(Magic), TypeBlob, 2), "version 2"},
		{"version 0", append([]byte(Magic), TypeBlob, 0), "version 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPrefix(tt.data, TypeBlob, "key blob")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := CheckPrefix(append([]byte(Magic), TypeBlob, 2), TypeBlob, "key blob"); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 2: %v is not ErrUnsupportedVersion", err)
	}
}

func TestReadAll(t *testing.T) {
	data := bytes.Repeat([]byte{1}, 100)
	if got, err := ReadAll(bytes.NewReader(data), 100); err != nil || len(got) != 100 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	if _, err := ReadAll(bytes.NewReader(data), 99); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v, want ErrTooLarge", err)
	}
}
