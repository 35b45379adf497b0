//go:build linux

package channel

// Spec test for spec/channel.md section 2: an end that fails closes the
// transport without sending anything, and when bytes it did not read are
// pending, TCP resets the connection (RST) instead of closing it: the peer
// then reports the transport's reset error, not ErrTruncated and not the
// end of the stream.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestSpecFailingEndResets(t *testing.T) {
	ccfg, scfg := pair(t, V2, "x25519", false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	written := make(chan struct{})
	serverErr := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		sc, _ := ServerConn(raw, scfg)
		if err := sc.Handshake(); err != nil {
			serverErr <- err
			return
		}
		<-written
		_, err = sc.Read(make([]byte, 16))
		serverErr <- err
	}()
	cc, err := Dial("tcp", ln.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.Handshake(); err != nil {
		t.Fatal(err)
	}
	// A forged record, then far more than the server reads ahead.
	forged := append([]byte{0, 0, 0, 40}, bytes.Repeat([]byte{0x17}, 40)...)
	if _, err := cc.NetConn().Write(append(forged, make([]byte, 64<<10)...)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(written)
	if err := <-serverErr; err != ErrAuth {
		t.Fatalf("server: %v, want ErrAuth", err)
	}
	cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = cc.Read(make([]byte, 16))
	if !errors.Is(err, syscall.ECONNRESET) || errors.Is(err, ErrTruncated) || err == io.EOF {
		t.Fatalf("client: %v, want a connection reset", err)
	}
}
