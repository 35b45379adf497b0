package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// statusEnv names the file where the keyblob command run by a script
// records its exit status, for the script command "status".
const statusEnv = "KEYBLOB_TEST_STATUS"

// nowEnv names the variable that fixes the clock of the keyblob command
// run by a script: an RFC 3339 time, which a script sets with "env" and
// moves forward between commands, so that expiry and age checks do not
// depend on how fast the machine is. Only this test binary reads it.
const nowEnv = "KEYBLOB_TEST_NOW"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keyblob": func() {
			// "running" first: a run that dies before returning (a
			// panic) must not leave the status of an earlier run.
			status := os.Getenv(statusEnv)
			if status != "" {
				os.WriteFile(status, []byte("running"), 0o644)
			}
			e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, clock: scriptClock()}
			code := runEnv(e, os.Args[1:])
			if status != "" {
				os.WriteFile(status, []byte(strconv.Itoa(code)), 0o644)
			}
			os.Exit(code)
		},
	})
}

// scriptClock returns the fixed clock $KEYBLOB_TEST_NOW names, or nil (the
// system clock) when it is unset. A time that does not parse ends the
// command with status 3, which no keyblob run returns, before it starts.
func scriptClock() func() time.Time {
	v := os.Getenv(nowEnv)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "test: %s: %v\n", nowEnv, err)
		os.Exit(3)
	}
	return func() time.Time { return t }
}

// TestScripts runs the command-line scripts in testdata/script. The
// commands that scripts may use besides the standard ones are listed in
// scriptCmds.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			home := filepath.Join(e.WorkDir, ".home")
			if err := os.Mkdir(home, 0o700); err != nil {
				return err
			}
			e.Setenv("HOME", home)
			e.Setenv("KEYBLOB_HOME", home)
			e.Setenv(statusEnv, filepath.Join(e.WorkDir, ".tmp", "keyblob-status"))
			return nil
		},
		Cmds: scriptCmds,
	})
}

// scriptCmds are the script commands written in Go, so that scripts need
// no dd, head or python:
//
//	status CODE             the last keyblob run exited with CODE
//	filemode FILE MODE      FILE has permission bits MODE (octal)
//	size FILE N             FILE is N bytes long
//	mkrandom FILE SIZE      write SIZE random bytes to FILE
//	flipbit FILE OFFSET [BIT]
//	                        flip bit BIT (default 0) of the byte at OFFSET;
//	                        a negative OFFSET counts from the end
//	truncate FILE SIZE      cut FILE to SIZE bytes; negative counts from the end
//	appendbytes FILE N      append N zero bytes to FILE
//	leaks SECRET FILE       FILE (or stdout/stderr) shows secret material of
//	                        the PEM file SECRET; use as "! leaks"
//	validjson FILE          FILE (or stdout) is one valid JSON value
//	notemp [DIR]            no temporary output file (.NAME.tmp-*) is left in DIR
//	mkcert ca|issue|crl ... a CA, a certificate or a CRL made with package
//	                        cert (see cmdMkcert)
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"status":      cmdStatus,
	"filemode":    cmdFilemode,
	"size":        cmdSize,
	"mkrandom":    cmdMkrandom,
	"flipbit":     cmdFlipbit,
	"truncate":    cmdTruncate,
	"appendbytes": cmdAppendbytes,
	"leaks":       cmdLeaks,
	"validjson":   cmdValidJSON,
	"notemp":      cmdNotemp,
	"mkcert":      cmdMkcert,
}

func usage(ts *testscript.TestScript, neg bool, n int, args []string, syntax string) {
	if neg {
		ts.Fatalf("unsupported: ! %s", syntax)
	}
	if len(args) != n {
		ts.Fatalf("usage: %s", syntax)
	}
}

func parseInt(ts *testscript.TestScript, s string) int64 {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		ts.Fatalf("bad number %q: %v", s, err)
	}
	return n
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 1, args, "status CODE")
	file := ts.Getenv(statusEnv)
	got, err := os.ReadFile(file)
	if err != nil {
		ts.Fatalf("no keyblob run recorded since the last status check")
	}
	os.Remove(file)
	if string(got) != args[0] {
		ts.Fatalf("keyblob exit status is %s, want %s", got, args[0])
	}
}

func cmdFilemode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	if err != nil {
		ts.Fatalf("bad mode %q: %v", args[1], err)
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := st.Mode().Perm()
	if (got == fs.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o (want %s%#o)", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

func cmdSize(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: size FILE N")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if want := parseInt(ts, args[1]); (st.Size() == want) == neg {
		ts.Fatalf("%s is %d bytes (want %s%d)", args[0], st.Size(), map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

func cmdMkrandom(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "mkrandom FILE SIZE")
	data := make([]byte, parseInt(ts, args[1]))
	rand.Read(data)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
}

// position resolves an offset that may count from the end of size bytes.
func position(ts *testscript.TestScript, s string, size int64) int64 {
	n := parseInt(ts, s)
	if n < 0 {
		n += size
	}
	if n < 0 || n > size {
		ts.Fatalf("offset %s is outside a file of %d bytes", s, size)
	}
	return n
}

func cmdFlipbit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: flipbit FILE OFFSET [BIT]")
	}
	bit := int64(0)
	if len(args) == 3 {
		if bit = parseInt(ts, args[2]); bit < 0 || bit > 7 {
			ts.Fatalf("bit %d is not 0-7", bit)
		}
	}
	name := ts.MkAbs(args[0])
	data, err := os.ReadFile(name)
	ts.Check(err)
	off := position(ts, args[1], int64(len(data)))
	if off == int64(len(data)) {
		ts.Fatalf("offset %s is past the end of %s", args[1], args[0])
	}
	data[off] ^= 1 << bit
	ts.Check(os.WriteFile(name, data, 0o644))
}

func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "truncate FILE SIZE")
	name := ts.MkAbs(args[0])
	st, err := os.Stat(name)
	ts.Check(err)
	ts.Check(os.Truncate(name, position(ts, args[1], st.Size())))
}

func cmdAppendbytes(ts *testscript.TestScript, neg bool, args []string) {
	usage(ts, neg, 2, args, "appendbytes FILE N")
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_WRONLY|os.O_APPEND, 0)
	ts.Check(err)
	_, err = f.Write(make([]byte, parseInt(ts, args[1])))
	ts.Check(err)
	ts.Check(f.Close())
}

// secretForms lists the ways the secret material of a PEM file could show
// up in text: the base64 body and its lines, and the body and its last 32
// bytes (the key of a session key or an X25519/Ed25519/X-Wing PKCS #8
// key) in hex and base64.
func secretForms(data []byte) []string {
	var forms []string
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		body := base64.StdEncoding.EncodeToString(block.Bytes)
		forms = append(forms, body, hex.EncodeToString(block.Bytes))
		for len(body) > 0 {
			line := body[:min(64, len(body))]
			body = body[len(line):]
			if len(strings.TrimRight(line, "=")) >= 12 {
				forms = append(forms, line)
			}
		}
		if len(block.Bytes) >= 32 {
			key := block.Bytes[len(block.Bytes)-32:]
			forms = append(forms, hex.EncodeToString(key),
				base64.StdEncoding.EncodeToString(key)[:40],
				base64.RawURLEncoding.EncodeToString(key)[:40])
		}
	}
	return forms
}

func cmdLeaks(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: leaks SECRET FILE")
	}
	forms := secretForms([]byte(ts.ReadFile(args[0])))
	if len(forms) == 0 {
		ts.Fatalf("%s holds no PEM block", args[0])
	}
	text := ts.ReadFile(args[1])
	for _, s := range forms {
		if strings.Contains(text, s) {
			if neg {
				ts.Fatalf("%s shows secret material of %s: %q", args[1], args[0], s)
			}
			return
		}
	}
	if !neg {
		ts.Fatalf("%s shows no secret material of %s", args[1], args[0])
	}
}

func cmdValidJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: validjson FILE")
	}
	if json.Valid([]byte(ts.ReadFile(args[0]))) == neg {
		ts.Fatalf("%s: JSON validity is %v", args[0], !neg)
	}
}

func cmdNotemp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: notemp [DIR]")
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	left, err := filepath.Glob(filepath.Join(ts.MkAbs(dir), ".*.tmp-*"))
	ts.Check(err)
	if len(left) > 0 {
		ts.Fatalf("temporary files left behind: %s", fmt.Sprint(left))
	}
}

// TestEnvInjected checks that commands read the environment through env,
// not the process's: an injected SOURCE_DATE_EPOCH reaches man, and an
// injected KEYBLOB_HOME reaches the key store.
func TestEnvInjected(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"SOURCE_DATE_EPOCH": "not-a-number", homeEnv: filepath.Join(dir, "nohome")}
	var stderr strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	if got := runEnv(e, []string{"man", filepath.Join(dir, "man")}); got != 1 || !strings.Contains(stderr.String(), `SOURCE_DATE_EPOCH="not-a-number"`) {
		t.Errorf("man with an injected bad SOURCE_DATE_EPOCH: status %d, stderr %q", got, stderr.String())
	}
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars[passphraseEnv] = pass
	stderr.Reset()
	e = &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	if got := runEnv(e, []string{"id", "new", "alice"}); got != 0 {
		t.Fatalf("id new with an injected KEYBLOB_HOME: status %d, stderr %q", got, stderr.String())
	}
	if _, err := os.Stat(vars[homeEnv]); err != nil {
		t.Errorf("id new did not make the store in the injected KEYBLOB_HOME: %v", err)
	}
}
