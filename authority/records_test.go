package authority

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// fp is a fingerprint named for a test.
func fp(name string) keyblob.Fingerprint { return sha256.Sum256([]byte(name)) }

func TestValidate(t *testing.T) {
	now := time.Now()
	owner := func() Owner {
		return Owner{ID: fp("a"), Recipient: "r", Signer: fp("a"), Verifier: []byte{1}, Created: now}
	}
	deposit := func() Deposit {
		return Deposit{Owner: fp("a"), Serial: keyblob.Serial{1}, Blob: []byte{1}, Signer: fp("a"), Created: now, Deposited: now}
	}
	recovery := func() Recovery {
		return Recovery{ID: api.RequestID{1}, Owner: fp("a"), OldSigner: fp("a"), To: "r", ToSigner: fp("b"),
			State: RecoveryPending, Created: now, Completable: now, Expires: now}
	}
	tests := []struct {
		name string
		ok   bool
		v    interface{ Validate() error }
	}{
		{"owner", true, func() *Owner { o := owner(); return &o }()},
		{"owner max", true, func() *Owner {
			o := owner()
			o.Recipient, o.Verifier = strings.Repeat("\x00", api.MaxRecipientLine), make([]byte, api.MaxVerifier)
			return &o
		}()},
		{"owner zero id", false, func() *Owner { o := owner(); o.ID = keyblob.Fingerprint{}; return &o }()},
		{"owner zero signer", false, func() *Owner { o := owner(); o.Signer = keyblob.Fingerprint{}; return &o }()},
		{"owner empty recipient", false, func() *Owner { o := owner(); o.Recipient = ""; return &o }()},
		{"owner long recipient", false, func() *Owner { o := owner(); o.Recipient = strings.Repeat("r", api.MaxRecipientLine+1); return &o }()},
		{"owner no verifier", false, func() *Owner { o := owner(); o.Verifier = nil; return &o }()},
		{"owner negative failures", false, func() *Owner { o := owner(); o.Failures = -1; return &o }()},
		{"owner zero time", false, func() *Owner { o := owner(); o.Created = time.Time{}; return &o }()},
		{"deposit", true, func() *Deposit { d := deposit(); return &d }()},
		{"deposit long description", false, func() *Deposit { d := deposit(); d.Description = strings.Repeat("d", api.MaxDescription+1); return &d }()},
		{"deposit huge blob", false, func() *Deposit { d := deposit(); d.Blob = make([]byte, api.MaxBlob+1); return &d }()},
		{"deposit empty blob", false, func() *Deposit { d := deposit(); d.Blob = nil; return &d }()},
		{"deposit time 2263", false, func() *Deposit { d := deposit(); d.Deposited = time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC); return &d }()},
		{"recovery", true, func() *Recovery { r := recovery(); return &r }()},
		{"recovery completed", true, func() *Recovery { r := recovery(); r.State, r.Completed = RecoveryCompleted, now; return &r }()},
		{"recovery completed no time", false, func() *Recovery { r := recovery(); r.State = RecoveryCompleted; return &r }()},
		{"recovery pending with time", false, func() *Recovery { r := recovery(); r.Completed = now; return &r }()},
		{"recovery bad state", false, func() *Recovery { r := recovery(); r.State = 3; return &r }()},
		{"recovery zero id", false, func() *Recovery { r := recovery(); r.ID = api.RequestID{}; return &r }()},
		{"recovery no to", false, func() *Recovery { r := recovery(); r.To = ""; return &r }()},
		{"approval", true, &Approval{Operator: fp("o"), Time: now}},
		{"approval zero operator", false, &Approval{Time: now}},
		{"nonce", true, &Nonce{Signer: fp("s"), Expires: now}},
		{"nonce zero signer", false, &Nonce{Expires: now}},
	}
	for _, tt := range tests {
		err := tt.v.Validate()
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, api.ErrInvalid)) {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
	}
	for _, n := range []int{0, api.MaxPage + 1, -1} {
		if !errors.Is(CheckPage(n), api.ErrInvalid) {
			t.Errorf("CheckPage(%d) accepted", n)
		}
	}
	if CheckPage(1) != nil || CheckPage(api.MaxPage) != nil {
		t.Error("CheckPage refused a page size in bounds")
	}
}
