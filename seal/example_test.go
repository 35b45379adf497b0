package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/password"
	"github.com/keyblob/keyblob/seal"
)

// Seal a message to bob, then open it as bob.
func ExampleNewWriter() {
	bob, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		log.Fatal(err)
	}

	var msg bytes.Buffer
	w, err := seal.NewWriter(&msg, &seal.Options{Recipients: []*keyblob.Recipient{bob.Recipient()}})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "Meet me at noon.\n")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	o, err := seal.Open(&msg, &seal.OpenOptions{Identities: []*keyblob.Identity{bob}})
	if err != nil {
		log.Fatal(err)
	}
	// Read to the end: only io.EOF says the whole message is authentic.
	plain, err := io.ReadAll(o.Reader())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plain))
	// Output: Meet me at noon.
}

// Sign a message, armor it, and accept it only from its sender.
func ExampleOpen_signed() {
	alice, _ := keyblob.GenerateIdentity(keyblob.KindX25519)
	bob, _ := keyblob.GenerateIdentity(keyblob.KindX25519)
	mallory, _ := keyblob.GenerateIdentity(keyblob.KindX25519)

	var text bytes.Buffer
	a, _ := seal.NewArmorWriter(&text)
	w, err := seal.NewWriter(a, &seal.Options{Recipients: []*keyblob.Recipient{bob.Recipient()}, Signer: alice})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "From alice, really.\n")
	w.Close()
	a.Close()
	fmt.Println(strings.SplitN(text.String(), "\n", 2)[0])

	open := func(from *keyblob.Identity) {
		o, err := seal.Open(seal.NewArmorReader(bytes.NewReader(text.Bytes())), &seal.OpenOptions{
			Identities: []*keyblob.Identity{bob},
			From:       from.Recipient(),
		})
		if err != nil {
			fmt.Println("refused:", errors.Is(err, seal.ErrWrongSender))
			return
		}
		plain, err := io.ReadAll(o.Reader())
		if err != nil {
			fmt.Println("refused:", err)
			return
		}
		fmt.Print(string(plain))
	}
	open(alice)
	open(mallory)
	// Output:
	// -----BEGIN KEYBLOB SEALED MESSAGE-----
	// From alice, really.
	// refused: true
}

// Seal to a passphrase. The Argon2id costs here are the lowest allowed,
// to keep the example fast; leave Params nil for the defaults.
func ExampleOptions_passphrase() {
	var msg bytes.Buffer
	cheap := password.Params{Time: 1, MemoryKiB: 8 << 10, Threads: 1}
	w, err := seal.NewWriter(&msg, &seal.Options{Passphrase: []byte("hunter2"), Params: &cheap})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "secret\n")
	w.Close()

	for _, guess := range []string{"hunter3", "hunter2"} {
		o, err := seal.Open(bytes.NewReader(msg.Bytes()), &seal.OpenOptions{
			Passphrase: func() ([]byte, error) { return []byte(guess), nil },
		})
		if errors.Is(err, seal.ErrPassphrase) {
			fmt.Println(guess, "is wrong")
			continue
		}
		plain, _ := io.ReadAll(o.Reader())
		fmt.Print(guess, " opens: ", string(plain))
	}
	// Output:
	// hunter3 is wrong
	// hunter2 opens: secret
}

// Hand out the session key of one message, which opens that message and
// no other.
func ExampleOpener_SessionKey() {
	bob, _ := keyblob.GenerateIdentity(keyblob.KindX25519)
	var msg bytes.Buffer
	w, _ := seal.NewWriter(&msg, &seal.Options{Recipients: []*keyblob.Recipient{bob.Recipient()}})
	io.WriteString(w, "for the auditor\n")
	w.Close()

	o, err := seal.Open(bytes.NewReader(msg.Bytes()), &seal.OpenOptions{Identities: []*keyblob.Identity{bob}})
	if err != nil {
		log.Fatal(err)
	}
	file := o.SessionKey().MarshalPEM() // what the auditor receives

	key, err := keyblob.ParseSessionKey(file)
	if err != nil {
		log.Fatal(err)
	}
	o, err = seal.Open(bytes.NewReader(msg.Bytes()), &seal.OpenOptions{SessionKey: key})
	if err != nil {
		log.Fatal(err)
	}
	plain, _ := io.ReadAll(o.Reader())
	fmt.Print(string(plain))
	// Output: for the auditor
}
