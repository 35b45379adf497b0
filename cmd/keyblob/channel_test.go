package main

import (
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() { scriptCmds["waitfile"] = cmdWaitfile }

// waitfileTimeout bounds how long waitfile waits.
const waitfileTimeout = 30 * time.Second

// cmdWaitfile is the script command
//
//	waitfile FILE [VAR]     wait until FILE exists and is not empty (a
//	                        background server wrote its address), then
//	                        set VAR to its first line
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile FILE [VAR]")
	}
	deadline := time.Now().Add(waitfileTimeout)
	for {
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil && len(data) > 0 {
			if len(args) == 2 {
				line, _, _ := strings.Cut(string(data), "\n")
				ts.Setenv(args[1], line)
			}
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within %v", args[0], waitfileTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
