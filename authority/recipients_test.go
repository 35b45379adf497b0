package authority

import (
	"sync"
	"testing"

	"github.com/keyblob/keyblob"
)

func testRecipients(t *testing.T, n int) []string {
	t.Helper()
	lines := make([]string, n)
	for i := range lines {
		id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = id.Recipient().String()
	}
	return lines
}

// TestRecipientCache checks that the cache returns each line's own
// parse, shares it between calls, keeps no more than its bound and no
// line that does not parse.
func TestRecipientCache(t *testing.T) {
	lines := testRecipients(t, 5)
	c := newRecipientCache(3)
	for round := range 3 {
		for _, line := range lines {
			r, err := c.parse(line)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := keyblob.ParseRecipientLine(line)
			if !r.Equal(want) || r.String() != line {
				t.Fatalf("round %d: the cache gave %s for %s", round, r, line)
			}
			again, _ := c.parse(line)
			if again != r {
				t.Fatalf("round %d: a line just parsed was parsed again", round)
			}
			if c.len() > 3 {
				t.Fatalf("the cache holds %d lines, bound 3", c.len())
			}
		}
	}
	bad := lines[0][:len(lines[0])-1] + "x"
	for range 2 {
		if _, err := c.parse(bad); err == nil {
			t.Fatal("a line with a bad checksum parsed")
		}
	}
	if _, ok := c.lines[bad]; ok {
		t.Fatal("a line that does not parse was kept")
	}
}

// TestRecipientCacheConcurrent parses lines from many goroutines at once
// (run with -race), more lines than the bound.
func TestRecipientCacheConcurrent(t *testing.T) {
	lines := testRecipients(t, 8)
	c := newRecipientCache(4)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				line := lines[(g+i)%len(lines)]
				r, err := c.parse(line)
				if err != nil || r.String() != line {
					t.Errorf("parse: %v, %v", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if c.len() > 4 {
		t.Fatalf("the cache holds %d lines, bound 4", c.len())
	}
}
