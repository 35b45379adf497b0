package main

import (
	"database/sql"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["stopatend"] = cmdStopAtEnd
	scriptCmds["sqlexec"] = cmdSQLExec
	scriptCmds["waitlog"] = cmdWaitLog
}

// cmdWaitLog is the script command
//
//	waitlog FILE REGEXP     wait until FILE (a server's log) has a match
//	                        of REGEXP
func cmdWaitLog(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "waitlog FILE REGEXP")
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(waitfileTimeout)
	for {
		data, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(data) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s has no %q after %v:\n%s", args[0], args[1], waitfileTimeout, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdStopAtEnd is the script command
//
//	stopatend PIDFILE       at the end of the script, even a failed one,
//	                        send SIGTERM to the process whose id PIDFILE
//	                        holds by then (a server a shell script started
//	                        in the background), if it does
//
// so that a walk-through that starts a server and fails halfway leaves no
// server running.
func cmdStopAtEnd(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 1, args, "stopatend PIDFILE")
	path := ts.MkAbs(args[0])
	ts.Defer(func() {
		data, err := os.ReadFile(path)
		if err != nil {
			return
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
			if p, err := os.FindProcess(pid); err == nil {
				p.Signal(syscall.SIGTERM)
			}
		}
	})
}

// cmdSQLExec is the script command
//
//	sqlexec DB SQL          run the statement SQL on the SQLite database
//	                        file DB (with modernc.org/sqlite, no sqlite3
//	                        binary), and fail unless it changed a row
func cmdSQLExec(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "sqlexec DB SQL")
	db, err := sql.Open("sqlite", ts.MkAbs(args[0]))
	ts.Check(err)
	defer db.Close()
	res, err := db.Exec(args[1])
	ts.Check(err)
	n, err := res.RowsAffected()
	ts.Check(err)
	if n == 0 {
		ts.Fatalf("sqlexec: %q changed no row", args[1])
	}
}
