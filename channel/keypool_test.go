package channel

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestKeyPoolBounds checks that a pool never generates in the caller:
// an empty pool makes a taker wait at most Wait and then refuses it
// with ErrOverloaded, the refill keeps to its rate, and the newest
// waiter is served first.
func TestKeyPoolBounds(t *testing.T) {
	p, err := NewKeyPool(KeyPoolConfig{Size: 1, Rate: 4, Wait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	taken := 0
	start := time.Now()
	for time.Since(start) < 1500*time.Millisecond {
		switch _, err := p.take(ctx); {
		case err == nil:
			taken++
		case !errors.Is(err, ErrOverloaded):
			t.Fatalf("take: %v", err)
		}
	}
	// 1.5 s at 4 keys a second, and a burst of 1: at most 7.
	if taken == 0 || taken > 7 {
		t.Errorf("took %d keys in 1.5 s from a pool of rate 4", taken)
	}
}

// TestKeyPoolNewestFirst checks that the key that comes goes to the
// session that waited least.
func TestKeyPoolNewestFirst(t *testing.T) {
	p, err := NewKeyPool(KeyPoolConfig{Size: 1, Rate: 1, Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.take(context.Background()); err != nil { // the first key
		t.Fatal(err)
	}
	order := make(chan int, 2)
	for i := range 2 {
		go func() {
			if _, err := p.take(context.Background()); err == nil {
				order <- i
			}
		}()
		time.Sleep(100 * time.Millisecond) // waiter 1 queues after waiter 0
	}
	if first := <-order; first != 1 {
		t.Errorf("waiter %d got the key first, want the newest (1)", first)
	}
	<-order
}

// TestKeyPoolContext checks that a taker's context ends its wait.
func TestKeyPoolContext(t *testing.T) {
	p, err := NewKeyPool(KeyPoolConfig{Size: 1, Rate: 0.01, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.take(context.Background()) // the first key, or a refusal
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.take(ctx); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("take after its context ended: %v, want ErrOverloaded", err)
	}
}
