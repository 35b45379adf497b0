package main

import (
	"fmt"
	"log"
	"slices"
	"testing"

	"github.com/keyblob/keyblob/internal/pgtest"
)

// postgres returns a new database in the run's throwaway cluster,
// starting the cluster the first time.
func (b *bench) postgres() (string, error) {
	if b.cluster == nil {
		log.Print("starting a throwaway PostgreSQL (initdb, pg_ctl)")
		if err := b.tb.try(func() { b.cluster = pgtest.Start(b.tb) }); err != nil {
			return "", err
		}
	}
	var dsn string
	err := b.tb.try(func() { dsn = b.cluster.NewDatabase(b.tb) })
	return dsn, err
}

// fakeTB is the testing.TB that package pgtest needs, outside a test: a
// Fatalf or Skipf stops the function try runs, with its message as the
// error, and Cleanup functions run when the program ends.
type fakeTB struct {
	testing.TB // nil: only the methods below are called
	cleanups   []func()
}

// stop is what a Fatalf or Skipf panics with.
type stop struct{ msg string }

func (t *fakeTB) Helper()                           {}
func (t *fakeTB) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *fakeTB) Fatalf(format string, args ...any) { panic(stop{fmt.Sprintf(format, args...)}) }
func (t *fakeTB) Skipf(format string, args ...any)  { panic(stop{fmt.Sprintf(format, args...)}) }
func (t *fakeTB) TempDir() string                   { panic("fakeTB.TempDir is not implemented") }
func (t *fakeTB) Name() string                      { return "authorityload" }
func (t *fakeTB) Logf(format string, args ...any)   { log.Printf(format, args...) }

// try runs f, returning a Fatalf or Skipf of it as an error.
func (t *fakeTB) try(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s, ok := v.(stop)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("%s", s.msg)
		}
	}()
	f()
	return nil
}

// cleanup runs the Cleanup functions, the last registered first.
func (t *fakeTB) cleanup() {
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
	t.cleanups = nil
}
