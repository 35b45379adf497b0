package channel_test

import (
	"fmt"
	"io"
	"log"
	"os"

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
	// Output: no server recipient: set Config.Peer, or Config.Insecure to authenticate no server
}
