package main

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressMin is the input size from which a progress bar is shown.
const progressMin = 64 << 20

// progressQuiet is how long a bar stays hidden after it starts: the bar
// computes its rate as bytes over time since it started, so a first
// reading after a few microseconds and a buffer's worth of bytes would say
// "132 GB/s". Until then the bytes done are only counted.
const progressQuiet = 500 * time.Millisecond

// progress is a progress bar on stderr, or nothing. Its add method is safe
// for concurrent use; the zero value shows nothing.
type progress struct {
	bar     *progressbar.ProgressBar
	mu      sync.Mutex
	shown   time.Time // when the bar may first be drawn
	pending int64     // bytes done before then
}

// newProgress shows a bar for an input of size bytes when stderr is a
// terminal, the input is large and quiet is not set.
func (e *env) newProgress(size int64, what string, quiet bool) *progress {
	if quiet || size < progressMin || !isTerminal(e.stderr) {
		return &progress{}
	}
	return newProgressBar(e.stderr, size, what)
}

// newProgressBar draws a bar for size bytes on w, from progressQuiet on.
func newProgressBar(w io.Writer, size int64, what string) *progress {
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	bar.Add64(0) // starts the bar's rolling rate now, not at the first reading
	return &progress{bar: bar, shown: time.Now().Add(progressQuiet)}
}

// add records n bytes done; before progressQuiet has passed it only counts
// them.
func (p *progress) add(n int) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending += int64(n)
	if time.Now().Before(p.shown) {
		return
	}
	p.bar.Add64(p.pending)
	p.pending = 0
}

// callback returns add, or nil when no bar is shown.
func (p *progress) callback() func(int) {
	if p.bar == nil {
		return nil
	}
	return p.add
}

// finish clears the bar.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
