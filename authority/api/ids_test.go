package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

func TestRequestID(t *testing.T) {
	id := api.RequestID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	s := id.String()
	if s != "0123456789abcdeffedcba9876543210" {
		t.Fatal(s)
	}
	if got, err := api.ParseRequestID(s); err != nil || got != id {
		t.Fatalf("ParseRequestID(%q) = %v, %v", s, got, err)
	}
	for _, bad := range []string{"", s[:31], s + "0", strings.ToUpper(s), " " + s[1:], s[:30] + "0g"} {
		if _, err := api.ParseRequestID(bad); !errors.Is(err, keyblob.ErrMalformed) {
			t.Errorf("ParseRequestID(%q) = %v", bad, err)
		}
	}
}
