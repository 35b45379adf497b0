package channel_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/channel"
)

// readIdentity reads a test identity of the module.
func readIdentity(name string) *keyblob.Identity {
	data, err := os.ReadFile("../testdata/keys/" + name + ".key")
	if err != nil {
		log.Fatal(err)
	}
	id, err := keyblob.ParseIdentity(data)
	if err != nil {
		log.Fatal(err)
	}
	return id
}

// A v2 echo server that accepts only alice, and alice's client, which
// pins the server's recipient.
func Example() {
	bob, alice := readIdentity("bob-hybrid"), readIdentity("alice-hybrid")

	l, err := channel.Listen("tcp", "127.0.0.1:0", &channel.Config{
		Identity:   bob,
		Authorized: channel.AuthorizedKeys(alice.Recipient()),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client's close record
	}()

	c, err := channel.Dial("tcp", l.Addr().String(), &channel.Config{
		Identity: alice,
		Peer:     bob.Recipient(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(c, "hello over v2")
	c.CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil {
		log.Fatal(err)
	}
	st := c.ConnectionState()
	fmt.Printf("%s (%v, mutual %v)\n", reply, st.Profile, st.Mutual)
	c.Close()
	<-done
	// Output: hello over v2 (v2, mutual true)
}

// The seed profile: the server sends a fresh RSA key per session from
// the Listener's pool, signed by its identity; the client verifies it.
func ExampleListen() {
	bob := readIdentity("bob-hybrid")
	l, err := channel.Listen("tcp", "127.0.0.1:0", &channel.Config{Profile: channel.Seed, Identity: bob})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprint(c, "hello over seed")
	}()

	c, err := channel.Dial("tcp", l.Addr().String(), &channel.Config{Profile: channel.Seed, Peer: bob.Recipient()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	msg, err := io.ReadAll(c) // io.EOF only after the server's close record
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s with a %d-bit session key\n", msg, c.ConnectionState().SeedKeyBits)
	<-done
	// Output: hello over seed with a 2048-bit session key
}

// Without a server recipient a client refuses to connect, unless it is
// told to authenticate no server.
func ExampleDial() {
	_, err := channel.Dial("tcp", "127.0.0.1:1", &channel.Config{})
	fmt.Println(err)
	// Output: no server recipient: set Config.Peer or VerifyServerCertificate, or Config.Insecure to authenticate no server
}

// A v2 echo server within the default limits, shut down gracefully once
// its client is done.
func ExampleServer() {
	bob := readIdentity("bob-x25519")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &channel.Server{
		Config: &channel.Config{Identity: bob},
		Handler: func(c *channel.Conn) error {
			if _, err := io.Copy(c, c); err != nil {
				return err
			}
			return c.CloseWrite()
		},
		MaxSessions: 100,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c, err := channel.Dial("tcp", ln.Addr().String(), &channel.Config{Peer: bob.Recipient()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(c, "hello, server")
	c.CloseWrite()
	reply, err := io.ReadAll(c)
	c.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-served)
	// Output:
	// hello, server
	// channel server closed
}
