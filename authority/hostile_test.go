package authority_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// hostile returns n strings meant to break parsers and stores.
func hostile(n int) []string {
	seeds := []string{"", " ", "\x00", "null", "'; DROP TABLE owners; --", "\"", "\\", "\xff\xfe", "%00", "../../etc",
		"SHA256:" + strings.Repeat("A", 43), strings.Repeat("a", 32), strings.Repeat("0", 32), "keyblob:x25519:AA",
		"\u202e", "\r\n", "${jndi:x}", "<script>", "{}", "[]", "9999999999999999999999", "-1", "A==", "_-_-"}
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		s := seeds[i%len(seeds)]
		switch (i / len(seeds)) % 4 {
		case 1:
			s += fmt.Sprint(i)
		case 2:
			s = strings.Repeat(s+"x", 1+i%300)
		case 3:
			s = string(rune(i)) + s
		}
		out = append(out, s)
	}
	return out
}

// TestHostileStrings puts 1,000 hostile strings in every text field of
// every route, signed by an enrolled owner: no answer is a 5xx.
func TestHostileStrings(t *testing.T) { hostileStrings(t, sqliteStore(t)) }

// TestHostileStringsPostgres runs the same on a throwaway PostgreSQL
// (skipped where PostgreSQL is not installed, unless required).
func TestHostileStringsPostgres(t *testing.T) { hostileStrings(t, postgresStore(t)) }

func hostileStrings(t *testing.T, st authority.Store) {
	ctx := context.Background()
	s := newServer(t, st, 0)
	alice := identity(t, "alice")
	if _, _, err := s.client.Enroll(ctx, alice); err != nil {
		t.Fatal(err)
	}
	fields := []struct{ method, path, member string }{
		{"POST", "/v1/enroll", "recipient"}, {"POST", "/v1/enroll", "sealed_code"},
		{"POST", "/v1/deposits", "blob"},
		{"POST", "/v1/recoveries", "owner"}, {"POST", "/v1/recoveries", "to"},
		{"POST", "/v1/recoveries", "serial"}, {"POST", "/v1/recoveries", "sealed_code"},
		{"POST", "/v1/recoveries/%s/complete", "sealed_code"},
	}
	for _, str := range hostile(1000) {
		for _, f := range fields {
			body, _ := json.Marshal(map[string]string{f.member: str})
			path := f.path
			if strings.Contains(path, "%s") {
				path = fmt.Sprintf(path, strings.Repeat("ab", 16))
			}
			check(t, s, alice, f.method, path, body)
		}
		check(t, s, alice, "GET", "/v1/deposits?after="+urlEscape(str), nil)
		check(t, s, alice, "GET", "/v1/recoveries/"+urlEscape(str), nil)
	}
	for _, d := range hostile(1000)[:200] {
		if keyblob.CheckDescription(d) != nil {
			continue
		}
		k := keyblob.NewSessionKey()
		dep, _, _, err := s.client.Deposit(ctx, alice, k, d)
		if err != nil || dep.Description != d {
			t.Fatalf("description %q: %q, %v", d, dep.Description, err)
		}
	}
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func check(t *testing.T, s *server, id *keyblob.Identity, method, target string, body []byte) {
	t.Helper()
	if len(target) > api.MaxTarget {
		return
	}
	a, err := api.SignRequest(id, s.svc.Fingerprint(), method, target, body, s.now)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, s.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		return // not a URL Go would send
	}
	req.Header.Set("Content-Type", "application/json")
	api.SetAuthHeaders(req.Header, a)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s %q: %d", method, target, body, resp.StatusCode)
	}
}
