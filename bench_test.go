package keyblob

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchKinds are the kinds the export and import benchmarks run on.
var benchKinds = []string{KindHybrid, KindX25519, KindRSA2048, KindRSA4096}

// reportOps adds an operations-per-second metric, the unit the report uses.
func reportOps(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

func BenchmarkExport(b *testing.B) {
	for _, kind := range benchKinds {
		for _, signed := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/signed=%v", kind, signed), func(b *testing.B) {
				alice := testIdentity(b, "alice", kind)
				bob := testIdentity(b, "bob", kind)
				key := NewSessionKey()
				opts := &ExportOptions{Description: "benchmark"}
				if signed {
					opts.Signer = alice
				}
				for b.Loop() {
					blob, err := Export(key, bob.Recipient(), opts)
					if err != nil {
						b.Fatal(err)
					}
					_ = blob.Marshal()
				}
				reportOps(b)
			})
		}
	}
}

// BenchmarkImport parses and imports a blob; signed blobs are imported
// with their signer required, so the signature is verified too.
func BenchmarkImport(b *testing.B) {
	for _, kind := range benchKinds {
		for _, signed := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/signed=%v", kind, signed), func(b *testing.B) {
				alice := testIdentity(b, "alice", kind)
				bob := testIdentity(b, "bob", kind)
				key := NewSessionKey()
				opts := &ExportOptions{Description: "benchmark"}
				var verify *Recipient
				if signed {
					opts.Signer, verify = alice, alice.Recipient()
				}
				data := mustExport(b, key, bob.Recipient(), opts).Marshal()
				for b.Loop() {
					got, err := parseAndImport(data, bob, verify)
					if err != nil || !got.Equal(key) {
						b.Fatalf("Import: %v", err)
					}
				}
				reportOps(b)
			})
		}
	}
}

const benchFileSize = 64 << 20

func BenchmarkEncrypt(b *testing.B) {
	key := NewSessionKey()
	pt := testPlaintext(benchFileSize, 9)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(benchFileSize)
			for b.Loop() {
				w, err := Encrypt(io.Discard, key, &EncryptOptions{Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(pt); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	key := NewSessionKey()
	ct := encrypt(b, key, testPlaintext(benchFileSize, 9), 0)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(benchFileSize)
			for b.Loop() {
				r, err := Decrypt(bytes.NewReader(ct), key, &EncryptOptions{Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				if err != nil || n != benchFileSize {
					b.Fatalf("decrypted %d bytes: %v", n, err)
				}
			}
		})
	}
}
