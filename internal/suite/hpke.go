package suite

import "crypto/hpke"

// The HPKE exchange algorithms share their KDF and AEAD: HKDF-SHA256 and
// AES-256-GCM. Only the KEM differs.

// KEMSecretLabel is the HPKE exporter context of the secret of
// KEMPublic.Encapsulate, so that it is never any other derived key.
const KEMSecretLabel = "keyblob/v1 kem secret"

// kemSecretSize is the size of that secret.
const kemSecretSize = 32

// hpkePublic is the part of an HPKE public key common to every KEM.
type hpkePublic struct{ pk hpke.PublicKey }

func (p *hpkePublic) Bytes() []byte { return p.pk.Bytes() }
func (p *hpkePublic) Bits() int     { return 0 }

func (p *hpkePublic) Wrap(key, label []byte) ([]byte, error) {
	return hpke.Seal(p.pk, hpke.HKDFSHA256(), hpke.AES256GCM(), label, key)
}

func (p *hpkePublic) Encapsulate(info []byte) (enc, secret []byte, err error) {
	enc, s, err := hpke.NewSender(p.pk, hpke.HKDFSHA256(), hpke.ExportOnly(), info)
	if err != nil {
		return nil, nil, err
	}
	secret, err = s.Export(KEMSecretLabel, kemSecretSize)
	return enc, secret, err
}

// hpkePrivate is the part of an HPKE key pair common to every KEM. der is
// its PKCS #8 encoding, made once when the key is.
type hpkePrivate struct {
	sk  hpke.PrivateKey
	der []byte
}

func (k *hpkePrivate) MarshalPKCS8() ([]byte, error) { return k.der, nil }

func (k *hpkePrivate) Unwrap(wrapped, label []byte) ([]byte, error) {
	return hpke.Open(k.sk, hpke.HKDFSHA256(), hpke.AES256GCM(), label, wrapped)
}

func (k *hpkePrivate) Decapsulate(enc, info []byte) ([]byte, error) {
	r, err := hpke.NewRecipient(enc, k.sk, hpke.HKDFSHA256(), hpke.ExportOnly(), info)
	if err != nil {
		return nil, err
	}
	return r.Export(KEMSecretLabel, kemSecretSize)
}

// parseHPKEPublic decodes a raw public key of kem, refusing it as
// malformed if kem does.
func parseHPKEPublic(kem hpke.KEM, raw []byte) (hpkePublic, error) {
	pk, err := kem.NewPublicKey(raw)
	if err != nil {
		return hpkePublic{}, malformed(err.Error())
	}
	return hpkePublic{pk}, nil
}
