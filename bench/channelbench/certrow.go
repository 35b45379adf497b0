package main

import (
	"crypto/x509"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/cert"
	"github.com/keyblob/keyblob/channel"
)

// v2CertProto is v2 with the server known by a certificate (spec/channel.md
// section 4.8): a CA (an Ed25519-signing hybrid identity) certifies the
// server for db.example.com, and each client asks for the chain and
// verifies it with cert.Verify (one Ed25519 signature, validity, name,
// usage) before phase 1: one more round trip than v2 with a pinned key,
// as TLS 1.3 sends its certificate.
func v2CertProto(server *keyblob.Identity) (protocol, error) {
	caID, err := keyblob.GenerateIdentity(keyblob.KindHybrid)
	if err != nil {
		return protocol{}, err
	}
	now := time.Now()
	caDER, err := cert.NewCA(caID, "Bench CA", 24*time.Hour, now)
	if err != nil {
		return protocol{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return protocol{}, err
	}
	leaf, err := cert.Certify(ca, caID, server, cert.Names{DNS: []string{"db.example.com"}}, time.Hour, now)
	if err != nil {
		return protocol{}, err
	}
	verify := func(chain [][]byte) (*channel.Certified, error) {
		certs, err := cert.ParseDERChain(chain)
		if err != nil {
			return nil, err
		}
		v, err := cert.Verify(certs, cert.VerifyOptions{Roots: []*x509.Certificate{ca}, Name: "db.example.com", Usage: cert.Server})
		if err != nil {
			return nil, err
		}
		return &channel.Certified{Recipient: v.Recipient, Name: "db.example.com"}, nil
	}
	return channelProto("v2 certificate",
		&channel.Config{Identity: server, Certificate: [][]byte{leaf, caDER}},
		&channel.Config{VerifyServerCertificate: verify}), nil
}
