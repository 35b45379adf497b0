package inspect

import (
	"fmt"
	"io"

	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/seal"
)

// describeSealed reads a sealed message's header, binary or through the
// streaming armor reader, and counts the rest.
func describeSealed(rep *Report, in *input) error {
	if err := in.streamed(); err != nil {
		return err
	}
	r := in.all()
	if in.class.Form == Armored {
		r = seal.NewArmorReader(r)
	}
	h, err := seal.ReadHeader(r)
	if err != nil {
		return err
	}
	rest, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	rep.setType("sealed_message")
	rep.add("encoding", "encoding", in.encoding())
	rep.add("created", "created", h.Created())
	if h.Expires().IsZero() {
		rep.addShown("expires", "expires", nil, "never")
	} else {
		rep.add("expires", "expires", h.Expires())
	}
	rep.add("serial", "serial", h.Serial())
	describeStanzas(rep, h)
	describeSender(rep, h)
	describeSealedSizes(rep, h, rest)
	return nil
}

// describeStanzas lists the recipients and whether all are post-quantum.
func describeStanzas(rep *Report, h *seal.Header) {
	rep.addJSON("passphrase", h.Passphrase())
	if h.Passphrase() {
		rep.addShown("recipients", "recipient", []object{}, "passphrase (Argon2id)")
		rep.addJSON("unknown_stanzas", []int{})
		rep.addShown("post_quantum", "post-quantum", nil, "no key exchange (passphrase)")
		return
	}
	list, unknown := []object{}, []int{}
	var lines []string
	pq := true
	for _, s := range h.Stanzas() {
		b := s.Blob()
		if b == nil {
			unknown = append(unknown, int(s.Type()))
			lines = append(lines, fmt.Sprintf("unknown stanza type 0x%02x", s.Type()))
			continue
		}
		list = append(list, keyFacts{exchange: b.ExchangeAlg(), exchangeFP: b.Recipient()}.object())
		lines = append(lines, fmt.Sprintf("%s (%s)", b.Recipient(), b.ExchangeAlg()))
		pq = pq && b.ExchangeAlg().PostQuantum()
	}
	rep.addShown("recipients", "recipient", list, lines...)
	rep.addJSON("unknown_stanzas", unknown)
	rep.add("post_quantum", "post-quantum", pq && len(list) > 0)
}

// describeSender records whether and by whom the message says it is
// signed. Nothing is checked: inspect has no keys.
func describeSender(rep *Report, h *seal.Header) {
	rep.add("signed", "signed", h.Signed())
	if !h.Signed() {
		rep.addJSON("signer", nil)
		return
	}
	rep.addText("signature", h.Signer().SignatureAlg().String())
	rep.addShown("signer", "signed by", factsOf(h.Signer()).object(), h.Signer().SigningFingerprint().String())
	rep.addText("checked", "no: inspect has no keys; 'open --from SENDER' checks it")
}

// describeSealedSizes reports the sizes that follow from the rest of the
// message after the header: the payload, and the plaintext it holds.
func describeSealedSizes(rep *Report, h *seal.Header, rest int64) {
	rep.add("header_size", "header size", h.Size())
	payload := rest - int64(h.SignatureSize())
	rep.add("payload_size", "payload size", payload)
	plain, err := stream.PlaintextSize(payload)
	describePlaintextSize(rep, plain, err == nil, "the message is truncated or extended")
}
