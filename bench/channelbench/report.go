package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

type row struct {
	name  string
	value float64
}

type results struct {
	size     int64
	dur      time.Duration
	clients  int
	bulk, hs []row
	rsaBound float64
}

func (r *results) get(rows []row, name string) float64 {
	for _, x := range rows {
		if x.name == name {
			return x.value
		}
	}
	return 0
}

// A target is one of issue #10's ratios.
type target struct {
	what     string
	num, den float64
	want     float64
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "## keyblob channel vs crypto/tls 1.3 (%s, %d CPUs, %s/%s)\n\n", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "Bulk: %d MiB one way over 127.0.0.1, MB/s = 10^6 bytes/s.\n\n", r.size>>20)
	fmt.Fprintln(w, "| bulk | MB/s | × TLS 1.3 | × TCP |\n|---|---:|---:|---:|")
	tls, tcp := r.get(r.bulk, "TLS 1.3"), r.get(r.bulk, "TCP")
	for _, x := range r.bulk {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f |\n", x.name, x.value, x.value/tls, x.value/tcp)
	}
	fmt.Fprintf(w, "\nHandshakes: %d clients for %v, each a new TCP connection, a full handshake and a one-byte echo, closed with RST.\n\n", r.clients, r.dur)
	fmt.Fprintln(w, "| handshakes | per second | × TLS 1.3 |\n|---|---:|---:|")
	tlsHS := r.get(r.hs, "TLS 1.3")
	for _, x := range r.hs {
		fmt.Fprintf(w, "| %s | %.0f | %.2f |\n", x.name, x.value, x.value/tlsHS)
	}
	fmt.Fprintf(w, "| RSA-2048 DecryptOAEP bound (all %d cores) | %.0f | |\n\n", runtime.GOMAXPROCS(0), r.rsaBound)
	fmt.Fprintln(w, "| target | ratio | want | met |\n|---|---:|---:|---|")
	for _, t := range []target{
		{"v2 bulk / TLS 1.3 bulk", r.get(r.bulk, "v2"), tls, 1.2},
		{"v2 handshakes / TLS 1.3 handshakes", r.get(r.hs, "v2"), tlsHS, 1.0},
		{"seed identity-key handshakes / RSA-2048 decryption bound", r.get(r.hs, "seed identity key"), r.rsaBound, 0.8},
	} {
		ratio := t.num / t.den
		met := "no"
		if ratio >= t.want {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %.2f | ≥ %.1f | %s |\n", t.what, ratio, t.want, met)
	}
}
