package keyblob_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/keyblob/keyblob"
)

// ExampleExport sends an encrypted message with its session key, as in
// "Sending an Encrypted Session Key": alice makes a random session key,
// encrypts with it, and exports it to bob's exchange key, signed; bob
// imports it, requiring alice's signature, and decrypts.
func ExampleExport() {
	alice, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		log.Fatal(err)
	}
	bob, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		log.Fatal(err)
	}
	// Each side knows the other's recipient line.
	bobRecipient, err := keyblob.ParseRecipientLine(bob.Recipient().String())
	if err != nil {
		log.Fatal(err)
	}
	aliceRecipient, err := keyblob.ParseRecipientLine(alice.Recipient().String())
	if err != nil {
		log.Fatal(err)
	}

	// Alice: CryptGenKey, encrypt, CryptExportKey.
	key := keyblob.NewSessionKey()
	var message bytes.Buffer
	w, err := keyblob.Encrypt(&message, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "meet me at noon")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	blob, err := keyblob.Export(key, bobRecipient, &keyblob.ExportOptions{
		Description: "message of the day",
		Signer:      alice,
	})
	if err != nil {
		log.Fatal(err)
	}
	armored := blob.MarshalPEM()

	// Bob: CryptImportKey, requiring alice's signature, then decrypt.
	received, err := keyblob.ParseKeyBlob(armored)
	if err != nil {
		log.Fatal(err)
	}
	sessionKey, err := keyblob.Import(received, bob, &keyblob.ImportOptions{Verify: aliceRecipient})
	if err != nil {
		log.Fatal(err)
	}
	r, err := keyblob.Decrypt(&message, sessionKey, nil)
	if err != nil {
		log.Fatal(err)
	}
	plaintext, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(received.Description())
	fmt.Println(sessionKey.Serial() == key.Serial())
	fmt.Println(string(plaintext))

	// Mallory cannot pass off her own key as alice's.
	mallory, _ := keyblob.GenerateIdentity(keyblob.KindHybrid)
	forged, _ := keyblob.Export(keyblob.NewSessionKey(), bobRecipient, &keyblob.ExportOptions{Signer: mallory})
	_, err = keyblob.Import(forged, bob, &keyblob.ImportOptions{Verify: aliceRecipient})
	fmt.Println(err != nil)
	// Output:
	// message of the day
	// true
	// meet me at noon
	// true
}

// ExampleParseIdentity reads an identity file and prints what it can do.
func ExampleParseIdentity() {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		log.Fatal(err)
	}
	file, err := id.MarshalPEM()
	if err != nil {
		log.Fatal(err)
	}
	parsed, err := keyblob.ParseIdentity(file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(parsed.Kind(), parsed.CanExchange(), parsed.CanSign())
	fmt.Println(parsed.Recipient().ExchangeAlg(), "/", parsed.Recipient().SignatureAlg())
	// Output:
	// x25519 true true
	// X25519 HPKE / Ed25519
}

// ExampleEncryptFile encrypts a file at offsets into an armored output,
// then reads it back: DearmorEncrypted takes the armored and the binary
// form, and Decrypt checks the session key before any of the payload.
func ExampleEncryptFile() {
	key := keyblob.NewSessionKey()
	plaintext := bytes.Repeat([]byte("report "), 20000) // over two 64 KiB chunks

	var armored bytes.Buffer
	a, err := keyblob.NewEncryptedArmorWriter(&armored)
	if err != nil {
		log.Fatal(err)
	}
	// A regular file is a Source{At: f, Size: size}; any io.Reader is a
	// Source{R: r}. The same for Sink{At: f} and Sink{W: w}.
	src := keyblob.Source{At: bytes.NewReader(plaintext), Size: int64(len(plaintext))}
	if _, err := keyblob.EncryptFile(keyblob.Sink{W: a}, src, key, nil); err != nil {
		log.Fatal(err)
	}
	if err := a.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(armored.String(), "\n", 2)[0])

	in, err := keyblob.DearmorEncrypted(&armored)
	if err != nil {
		log.Fatal(err)
	}
	d, err := keyblob.Decrypt(in, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	n, err := d.Decrypt(keyblob.Sink{W: &out})
	if err != nil {
		log.Fatal(err) // and discard out: the file was not authentic
	}
	fmt.Println(n, bytes.Equal(out.Bytes(), plaintext))

	_, err = keyblob.Decrypt(bytes.NewReader(out.Bytes()), key, nil)
	fmt.Println(errors.Is(err, keyblob.ErrMalformedEncryptedFile))
	// Output:
	// -----BEGIN KEYBLOB ENCRYPTED FILE-----
	// 140000 true
	// true
}
