package main

// channel serve --exec: a command per session, the channel as its
// standard input and output, moved by splice (channel_forward.go).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/keyblob/keyblob/channel"
)

// childEnvNames are the variables of the server's environment that an
// --exec command gets; nothing else of it (no KEYBLOB_* variable: the
// passphrase file stays the server's).
var childEnvNames = []string{
	"PATH", "HOME", "USER", "LOGNAME", "TZ", "TMPDIR", "LANG",
	"LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES",
	"LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION",
}

// The variables that tell an --exec command about its session.
const (
	envChannelPeer    = "KEYBLOB_CHANNEL_PEER"        // the client's key fingerprint, empty when anonymous
	envChannelProfile = "KEYBLOB_CHANNEL_PROFILE"     // seed or v2
	envChannelRemote  = "KEYBLOB_CHANNEL_REMOTE_ADDR" // the client's host:port
	envChannelName    = "KEYBLOB_CHANNEL_PEER_NAME"   // the name the client's certificate was verified for
)

// execSpec is a checked --exec: the program found when serve started,
// its argument vector and the part of its environment that every
// session shares.
type execSpec struct {
	path string
	argv []string
	env  []string
}

// execArgv is the command of --exec: with arguments after "--", the
// --exec value is the program, verbatim, and each of them one argument;
// otherwise the value split at white space.
func (f *serveFlags) execArgv() []string {
	if f.execDash {
		return append([]string{f.execCmd}, f.execArgs...)
	}
	return strings.Fields(f.execCmd)
}

// newExecSpec checks --exec: the program must be found (exec.LookPath,
// through $PATH for a bare name) and executable now, not at the first
// session. Both failures are usage errors.
func (e *env) newExecSpec(f *serveFlags) (*execSpec, error) {
	argv := f.execArgv()
	if len(argv) == 0 || argv[0] == "" {
		return nil, usagef("--exec needs a command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return nil, usagef("--exec %s: cannot run it: %v", argv[0], err)
	}
	return &execSpec{path: path, argv: argv, env: e.childEnv()}, nil
}

// childEnv is the server's part of a command's environment: the
// variables of childEnvNames that are set, and no other.
func (e *env) childEnv() []string {
	var env []string
	for _, name := range childEnvNames {
		if v := e.env(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// command is the command of one session, told who the client is.
func (s *execSpec) command(conn *channel.Conn) *exec.Cmd {
	st := conn.ConnectionState()
	peer := ""
	if st.Peer != nil {
		peer = st.Peer.Fingerprint().String()
	}
	env := append(slices.Clip(s.env),
		envChannelPeer+"="+peer,
		envChannelProfile+"="+st.Profile.String(),
		envChannelRemote+"="+conn.RemoteAddr().String(),
		envChannelName+"="+st.PeerName)
	return &exec.Cmd{Path: s.path, Args: s.argv, Env: env, Stderr: os.Stderr}
}

// session runs the command on conn (splice, with the command as the
// target). The channel closes cleanly once the command's output has
// ended and it exited 0; a command that exits otherwise, or is killed,
// cuts the channel without its close record, so that the client reports
// the failure.
func (s *execSpec) session(conn *channel.Conn) error {
	ch, err := startChild(s.command(conn))
	if err != nil {
		channelStream{conn}.abort()
		return err
	}
	_, err = splice(channelStream{conn}, ch)
	return sessionError(err)
}

// child is a running command as a spliceEnd: reading is its standard
// output, writing its standard input. The pipes are os.Pipe files given
// to exec.Cmd as they are, so that Wait, which only closes the pipes it
// made itself, never closes one while it is read.
type child struct {
	cmd           *exec.Cmd
	stdin, stdout *os.File // this process's ends
	exited        chan struct{}
	waitErr       error // Wait's, once exited is closed
	killOnce      sync.Once
}

// startChild starts cmd on new pipes; its Stdin and Stdout must be nil.
func startChild(cmd *exec.Cmd) (*child, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close() // the command's ends: it has its own copies
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	c := &child{cmd: cmd, stdin: inW, stdout: outR, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// Read reads the command's output. At its end it waits for the command
// to exit, and it returns io.EOF only if it exited 0, else its exit
// status or signal as the error. The command's standard input is closed
// then: what more the client sends is dropped.
func (c *child) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != io.EOF {
		return n, err
	}
	<-c.exited
	c.stdin.Close()
	if c.waitErr != nil {
		return n, fmt.Errorf("command %s: %w", c.cmd.Args[0], c.waitErr)
	}
	return n, io.EOF
}

// Write writes to the command's standard input: EPIPE once it closed it.
func (c *child) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// CloseWrite closes the command's standard input.
func (c *child) CloseWrite() error { return c.stdin.Close() }

// Close kills the command if it still runs, closes the pipes and waits
// for it to exit.
func (c *child) Close() error {
	c.abort()
	<-c.exited
	return nil
}

// abort kills the command and closes the pipes, which ends reads and
// writes blocked on them even if a process the command started holds
// them.
func (c *child) abort() {
	c.killOnce.Do(func() {
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Kill()
		}
		c.stdin.Close()
		c.stdout.Close()
	})
}
