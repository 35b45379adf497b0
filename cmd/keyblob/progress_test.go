package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressNoEarlyRate checks that a bar says nothing (no "GB/s" from
// a few microseconds) until progressQuiet has passed, then shows the
// bytes done, the earlier ones included, with a rate of the right size.
func TestProgressNoEarlyRate(t *testing.T) {
	var w bytes.Buffer
	p := newProgressBar(&w, 64<<20, "sealing")
	p.add(4 << 20)
	p.add(4 << 20)
	if w.Len() != 0 {
		t.Fatalf("the bar was drawn before %v: %q", progressQuiet, w.String())
	}
	time.Sleep(progressQuiet + 10*time.Millisecond)
	p.add(1 << 20)
	// 9 MiB of 64 MiB in about progressQuiet: 14%, some MB/s (18 at 0.5 s).
	if got := w.String(); !strings.Contains(got, " 14% ") || !strings.Contains(got, " MB/s)") {
		t.Errorf("after %v the bar shows %q; want 14%% done and a rate in MB/s", progressQuiet, got)
	}
}
