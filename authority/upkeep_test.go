package authority_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyblob/keyblob/authority"
	"github.com/keyblob/keyblob/authority/api"
)

// TestRunPurgesNonces checks that a Service's Run forgets the nonces that
// expired, without the embedder doing anything but running it, and that
// it returns when its context ends.
func TestRunPurgesNonces(t *testing.T) {
	st := sqliteStore(t)
	var now atomic.Int64
	now.Store(time.Unix(1_750_000_000, 0).UnixNano())
	svc, err := authority.New(&authority.Config{Store: st, Identity: identity(t, "authority"), Argon2: fastArgon2,
		Now: func() time.Time { return time.Unix(0, now.Load()) }, UpkeepInterval: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := authority.Nonce{Signer: identity(t, "signer").Recipient().SigningFingerprint(), Value: [16]byte{1}, Expires: time.Unix(0, now.Load()).Add(api.MaxSkew)}
	if err := st.UseNonce(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := svc.Upkeep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.UseNonce(ctx, n); !errors.Is(err, api.ErrReplay) {
		t.Fatalf("a nonce inside the window was purged: UseNonce = %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	now.Store(n.Expires.Add(time.Second).UnixNano())
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		err := st.UseNonce(ctx, n)
		if err == nil {
			break
		}
		if !errors.Is(err, api.ErrReplay) || time.Now().After(deadline) {
			t.Fatalf("Run did not purge the expired nonce: UseNonce = %v", err)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}
