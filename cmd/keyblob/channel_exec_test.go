package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
)

// newIdentityFile writes a new x25519 identity to dir/name (0600).
func newIdentityFile(t *testing.T, dir, name string) *keyblob.Identity {
	t.Helper()
	id, err := keyblob.GenerateIdentity("x25519")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestChannelServeExecUsage checks the command lines that serve refuses
// before it listens (exit 2): a program that cannot be found, an empty
// --exec, and arguments anywhere but after "--" with --exec.
func TestChannelServeExecUsage(t *testing.T) {
	dir := t.TempDir()
	newIdentityFile(t, dir, "server.key")
	key := filepath.Join(dir, "server.key")
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing program", []string{"--exec", missing}, "--exec " + missing + ": cannot run it: "},
		{"missing program with arguments", []string{"--exec", missing, "--", "a b"}, "--exec " + missing + ": cannot run it: "},
		{"not in PATH", []string{"--exec", "keyblob-no-such-program-x"}, "--exec keyblob-no-such-program-x: cannot run it: "},
		{"empty", []string{"--exec", ""}, "keyblob: error: --exec needs a command\n"},
		{"blank", []string{"--exec", "  "}, "keyblob: error: --exec needs a command\n"},
		{"empty before --", []string{"--exec", "", "--", "x"}, "keyblob: error: --exec needs a command\n"},
		{"arguments with --echo", []string{"--echo", "--", "x"}, "takes no arguments but those of --exec PROG -- ARG..."},
		{"arguments before --", []string{"--exec", "sh", "x", "--", "y"}, "takes no arguments but those of --exec PROG -- ARG..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"channel", "serve", "--listen", "127.0.0.1:0", "-i", key}, tt.args...)
			code, stdout, stderr := runCmd(t, args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tt.want)
			}
			if strings.Contains(stderr, "listening") || strings.Contains(stderr, "--forward") {
				t.Errorf("stderr:\n%s", stderr)
			}
		})
	}
}

// TestExecArgv checks how --exec and the arguments after "--" make the
// command's argument vector.
func TestExecArgv(t *testing.T) {
	tests := []struct {
		exec string
		args []string
		dash bool
		want []string
	}{
		{"head -c 5", nil, false, []string{"head", "-c", "5"}},
		{"  head  -c\t5 ", nil, false, []string{"head", "-c", "5"}},
		{"sh", []string{"-c", "echo $1", "sh", "two words"}, true, []string{"sh", "-c", "echo $1", "sh", "two words"}},
		{"my prog", nil, true, []string{"my prog"}},
		{"", nil, false, nil},
	}
	for _, tt := range tests {
		f := serveFlags{execCmd: tt.exec, execArgs: tt.args, execDash: tt.dash}
		if got := f.execArgv(); !slices.Equal(got, tt.want) {
			t.Errorf("--exec %q, args %q, dash %v: argv %q, want %q", tt.exec, tt.args, tt.dash, got, tt.want)
		}
	}
}

// TestChildEnv checks that an --exec command gets only the allowed
// variables of the server's environment.
func TestChildEnv(t *testing.T) {
	vars := map[string]string{
		"PATH": "/bin", "HOME": "/h", "LANG": "C", "LC_TIME": "C", "TZ": "UTC", "TMPDIR": "/t", "USER": "u", "LOGNAME": "u",
		"KEYBLOB_PASSPHRASE_FILE": "/p", "KEYBLOB_HOME": "/k", "SSH_AUTH_SOCK": "/s", "LD_PRELOAD": "/x.so", "TERM": "xterm",
	}
	e := &env{getenv: func(k string) string { return vars[k] }}
	got := e.childEnv()
	want := []string{"PATH=/bin", "HOME=/h", "USER=u", "LOGNAME=u", "TZ=UTC", "TMPDIR=/t", "LANG=C", "LC_TIME=C"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}
