package api_test

import (
	"errors"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// TestPageClaim signs a page and checks that every field of the claim
// and every entry is bound: a change to any one fails verification, and
// a claim the entries do not fit is refused before any signature.
func TestPageClaim(t *testing.T) {
	id, err := keyblob.GenerateIdentity(keyblob.KindX25519)
	if err != nil {
		t.Fatal(err)
	}
	owner := keyblob.Fingerprint{1}
	es := []api.AuditEntry{{Seq: 3, Owner: owner, Hash: [32]byte{3}}, {Seq: 7, Owner: owner, Hash: [32]byte{7}}}
	claim := api.PageClaim{Signer: keyblob.Fingerprint{2}, Nonce: [16]byte{9}, Owner: owner, After: 2, Through: 9,
		Checkpoint: api.Checkpoint{Size: 9, Root: api.Hash{5}}}
	sig, err := api.SignPage(id, &claim, es)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.VerifyPage(id.Recipient(), &claim, es, sig); err != nil {
		t.Fatalf("the page as signed: %v", err)
	}
	changes := map[string]func(c *api.PageClaim, es []api.AuditEntry){
		"signer":       func(c *api.PageClaim, _ []api.AuditEntry) { c.Signer[0]++ },
		"nonce":        func(c *api.PageClaim, _ []api.AuditEntry) { c.Nonce[15]++ },
		"after":        func(c *api.PageClaim, _ []api.AuditEntry) { c.After = 1 },
		"through":      func(c *api.PageClaim, _ []api.AuditEntry) { c.Through = 8 },
		"tree size":    func(c *api.PageClaim, _ []api.AuditEntry) { c.Checkpoint.Size = 10 },
		"tree root":    func(c *api.PageClaim, _ []api.AuditEntry) { c.Checkpoint.Root[31]++ },
		"entry hash":   func(_ *api.PageClaim, es []api.AuditEntry) { es[1].Hash[0]++ },
		"entry seq":    func(_ *api.PageClaim, es []api.AuditEntry) { es[0].Seq = 4 },
		"entry owner":  func(_ *api.PageClaim, es []api.AuditEntry) { es[0].Owner[5]++ },
		"claim owner":  func(c *api.PageClaim, _ []api.AuditEntry) { c.Owner[5]++ },
		"past through": func(c *api.PageClaim, _ []api.AuditEntry) { c.Through = 6 },
		"past tree":    func(c *api.PageClaim, _ []api.AuditEntry) { c.Through, c.Checkpoint.Size = 9, 8 },
	}
	for name, change := range changes {
		c, e := claim, append([]api.AuditEntry{}, es...)
		change(&c, e)
		if err := api.VerifyPage(id.Recipient(), &c, e, sig); err == nil {
			t.Errorf("%s changed: verifies", name)
		}
	}
	dropped := es[1:]
	if err := api.VerifyPage(id.Recipient(), &claim, dropped, sig); !errors.Is(err, keyblob.ErrAuth) {
		t.Errorf("an entry dropped: %v, want ErrAuth", err)
	}
	if _, err := api.SignPage(id, &api.PageClaim{After: 5, Through: 4}, nil); !errors.Is(err, keyblob.ErrMalformed) {
		t.Errorf("through before after: %v, want ErrMalformed", err)
	}
}
