package channel

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// pendingSet is a Server's connections in their handshake, oldest
// first. When it is full, a new connection makes the oldest give way:
// a real client finishes its handshake in milliseconds, so the
// connections that linger are the ones that send nothing, and they
// cannot lock real clients out however many addresses they come from.
type pendingSet struct {
	mu  sync.Mutex
	max int
	l   *list.List // of *Conn
}

// errEvicted is the error of a handshake closed to make room.
var errEvicted = errors.New("closed to make room for a newer handshake (too many in progress)")

func newPendingSet(max int) *pendingSet { return &pendingSet{max: max, l: list.New()} }

// add adds c, returning the oldest connection it displaced, if any,
// which the caller closes.
func (p *pendingSet) add(c *Conn) (*list.Element, *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var old *Conn
	if p.l.Len() >= p.max {
		old = p.l.Remove(p.l.Front()).(*Conn)
	}
	return p.l.PushBack(c), old
}

// remove removes c's element, if it is still there.
func (p *pendingSet) remove(e *list.Element) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Value != nil {
		p.l.Remove(e)
		e.Value = nil
	}
}

func (p *pendingSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.l.Len()
}

// A handshake's admission facts, for the resources it may wait for (a
// fresh seed key): its source and network (sourceKeys) and when it was
// accepted.
type admitted struct {
	source, network string
	at              time.Time
}

type admittedKey struct{}

func withAdmitted(ctx context.Context, a admitted) context.Context {
	return context.WithValue(ctx, admittedKey{}, a)
}

// admittedOf returns ctx's admission facts; a handshake of no Server is
// accepted now, from nowhere in particular.
func admittedOf(ctx context.Context) admitted {
	if a, ok := ctx.Value(admittedKey{}).(admitted); ok {
		return a
	}
	return admitted{at: time.Now()}
}
