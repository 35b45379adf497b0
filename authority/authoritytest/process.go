package authoritytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/authority/client"
)

// StartTimeout bounds how long StartServer waits for a server to listen
// and answer /healthz.
const StartTimeout = 60 * time.Second

// Server is a server process started by StartServer. Its methods are not
// safe for concurrent use.
type Server struct {
	cfg  ServerConfig
	exe  string
	log  *os.File
	cmd  *exec.Cmd
	done chan error
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
}

// StartServer runs the program exe (os.Executable of a program that
// calls ServeIfHelper) as the server of cfg, its stderr appended to the
// file logPath, and waits until it answers.
func StartServer(exe string, cfg ServerConfig, logPath string) (*Server, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, exe: exe, log: log}
	if err := s.start(); err != nil {
		log.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	os.Remove(s.cfg.AddrFile)
	raw, err := json.Marshal(s.cfg)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.exe)
	cmd.Env = append(os.Environ(), EnvServer+"="+string(raw))
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	return s.waitReady()
}

// waitReady polls for the address file, then /healthz, until the server
// answers, exits or StartTimeout passes.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(StartTimeout)
	for delay := time.Millisecond; time.Now().Before(deadline); delay = min(2*delay, 50*time.Millisecond) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("the server exited while starting (%v); see %s", err, s.log.Name())
		case <-time.After(delay):
		}
		addr, err := os.ReadFile(s.cfg.AddrFile)
		if err != nil {
			continue
		}
		s.URL = "http://" + strings.TrimSpace(string(addr))
		if resp, err := http.Get(s.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	s.Kill()
	return fmt.Errorf("the server did not answer within %v; see %s", StartTimeout, s.log.Name())
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	return nil
}

// Restart kills the server (SIGKILL) and starts it again on the same
// store and the same address, so that URL stays the same.
func (s *Server) Restart() error {
	s.Kill()
	s.cfg.Listen = strings.TrimPrefix(s.URL, "http://")
	return s.start()
}

// Stop asks the server to shut down (SIGTERM, or a kill where there is
// no SIGTERM), waits for it, and closes its log.
func (s *Server) Stop() error {
	defer s.log.Close()
	if s.cmd == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.cmd.Process.Kill()
	}
	select {
	case err := <-s.done:
		s.cmd = nil
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("the server exited with %v; see %s", err, s.log.Name())
		}
		return err
	case <-time.After(30 * time.Second):
		return s.Kill()
	}
}

// LogPath is the file the server's output goes to.
func (s *Server) LogPath() string { return s.log.Name() }

// NewClient returns a client of the server at url whose recipient is
// key, with its own connection pool sized for many concurrent
// requests.
func NewClient(url string, key *keyblob.Recipient) (*client.Client, error) {
	c, err := client.New(url, key)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	c.HTTP = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c, nil
}

// Enroll enrols every identity at c, one after the other, and returns
// their recovery codes in order.
func Enroll(ctx context.Context, c *client.Client, ids []*keyblob.Identity) ([]api.RecoveryCode, error) {
	codes := make([]api.RecoveryCode, len(ids))
	for i, id := range ids {
		code, _, err := c.Enroll(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("enrolling identity %d: %w", i, err)
		}
		codes[i] = code
	}
	return codes, nil
}
