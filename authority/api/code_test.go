package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// TestParseRecoveryCode checks that ParseRecoveryCode reads a code as
// printed, in lower case or without its dashes, and refuses every other
// text as ErrMalformedCode: a code whose last character is not canonical
// with a message that says so, and no message with any of the code in it.
func TestParseRecoveryCode(t *testing.T) {
	c := api.NewRecoveryCode()
	text := c.String()
	last := len(text) - 1
	// The code with its last character replaced by one that decodes to
	// the same bytes but for the 4 unused bits.
	typo := text[:last] + map[byte]string{'A': "B", 'Q': "R"}[text[last]]
	for _, ok := range []string{text, strings.ToLower(text), strings.ReplaceAll(text, "-", ""), " " + text + " "} {
		got, err := api.ParseRecoveryCode(ok)
		if err != nil || got != c {
			t.Errorf("ParseRecoveryCode(%q) = %v, want the code", ok, err)
		}
	}
	tests := []struct {
		name, text string
		lastChar   bool // the message says the last character is wrong
	}{
		{"last character", typo, true},
		{"last character, lower case", strings.ToLower(typo), true},
		{"last character, no dashes", strings.ReplaceAll(typo, "-", ""), true},
		{"a character short", text[:last], false},
		{"a character more", text + "A", false},
		{"a group more", text + "-AAAA", false},
		{"not base32", text[:last] + "1", false},
		{"a line break inside", text[:5] + "\n" + text[5:], false},
		{"empty", "", false},
		{"too long", strings.Repeat("A", 300), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.ParseRecoveryCode(tt.text)
			if !errors.Is(err, api.ErrMalformedCode) || !errors.Is(err, keyblob.ErrMalformed) {
				t.Fatalf("ParseRecoveryCode(%q) = %v, want ErrMalformedCode", tt.text, err)
			}
			msg := err.Error()
			if said := strings.Contains(msg, "probably a typo in the last group"); said != tt.lastChar {
				t.Errorf("ParseRecoveryCode(%q): %q; want a message about the last character: %v", tt.text, msg, tt.lastChar)
			}
			if tt.lastChar && strings.Contains(msg, "want 52") {
				t.Errorf("ParseRecoveryCode(%q): %q asks for the length the code has", tt.text, msg)
			}
			if strings.Contains(msg, text[:4]) || strings.Contains(msg, typo[last-3:]) {
				t.Errorf("ParseRecoveryCode(%q): %q shows part of the code", tt.text, msg)
			}
		})
	}
}
