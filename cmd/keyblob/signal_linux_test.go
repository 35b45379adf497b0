package main

import (
	"syscall"
	"testing"
)

// TestSIGKILLDuringOpenLeavesNothing kills open, decrypt and seal with
// SIGKILL, which no handler can catch, while they are writing their -o
// output: on Linux the output is an unnamed O_TMPFILE file until it is
// committed, so the output directory must hold no file at all.
func TestSIGKILLDuringOpenLeavesNothing(t *testing.T) {
	f := newOutputFixture(t, 4<<20)
	for _, c := range interruptedCommands {
		t.Run(c.name, func(t *testing.T) {
			if code := interrupt(t, f, c, syscall.SIGKILL); code != -1 {
				t.Errorf("exit status %d, want death by SIGKILL", code)
			}
		})
	}
}
