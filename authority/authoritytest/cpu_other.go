//go:build !linux

package authoritytest

import (
	"errors"
	"time"
)

// CPU returns the CPU time the running server has used; only Linux's
// /proc tells it here.
func (s *Server) CPU() (time.Duration, error) {
	return 0, errors.New("the server's CPU time is measured only on Linux")
}
