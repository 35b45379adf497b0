package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressMin is the input size from which a progress bar is shown.
const progressMin = 64 << 20

// progress is a progress bar on stderr, or nothing. Its add method is safe
// for concurrent use; the zero value shows nothing.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress shows a bar for an input of size bytes when stderr is a
// terminal, the input is large and quiet is not set.
func (e *env) newProgress(size int64, what string, quiet bool) *progress {
	if quiet || size < progressMin || !isTerminal(e.stderr) {
		return &progress{}
	}
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(e.stderr.(*os.File)),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return &progress{bar: bar}
}

// add records n bytes done.
func (p *progress) add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
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
