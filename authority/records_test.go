package authority

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
)

func TestRequestID(t *testing.T) {
	id := RequestID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	s := id.String()
	if s != "0123456789abcdeffedcba9876543210" {
		t.Fatal(s)
	}
	if got, err := ParseRequestID(s); err != nil || got != id {
		t.Fatalf("ParseRequestID(%q) = %v, %v", s, got, err)
	}
	for _, bad := range []string{"", s[:31], s + "0", strings.ToUpper(s), " " + s[1:], s[:30] + "0g"} {
		if _, err := ParseRequestID(bad); !errors.Is(err, keyblob.ErrMalformed) {
			t.Errorf("ParseRequestID(%q) = %v", bad, err)
		}
	}
}

func TestValidate(t *testing.T) {
	now := time.Now()
	owner := func() Owner {
		return Owner{ID: fp("a"), Recipient: "r", Signer: fp("a"), Verifier: []byte{1}, Created: now}
	}
	deposit := func() Deposit {
		return Deposit{Owner: fp("a"), Serial: keyblob.Serial{1}, Blob: []byte{1}, Signer: fp("a"), Created: now, Deposited: now}
	}
	recovery := func() Recovery {
		return Recovery{ID: RequestID{1}, Owner: fp("a"), OldSigner: fp("a"), To: "r", ToSigner: fp("b"),
			State: RecoveryPending, Created: now, Expires: now}
	}
	tests := []struct {
		name string
		ok   bool
		v    interface{ Validate() error }
	}{
		{"owner", true, func() *Owner { o := owner(); return &o }()},
		{"owner max", true, func() *Owner {
			o := owner()
			o.Recipient, o.Verifier = strings.Repeat("\x00", MaxRecipientLine), make([]byte, MaxVerifier)
			return &o
		}()},
		{"owner zero id", false, func() *Owner { o := owner(); o.ID = keyblob.Fingerprint{}; return &o }()},
		{"owner zero signer", false, func() *Owner { o := owner(); o.Signer = keyblob.Fingerprint{}; return &o }()},
		{"owner empty recipient", false, func() *Owner { o := owner(); o.Recipient = ""; return &o }()},
		{"owner long recipient", false, func() *Owner { o := owner(); o.Recipient = strings.Repeat("r", MaxRecipientLine+1); return &o }()},
		{"owner no verifier", false, func() *Owner { o := owner(); o.Verifier = nil; return &o }()},
		{"owner negative failures", false, func() *Owner { o := owner(); o.Failures = -1; return &o }()},
		{"owner zero time", false, func() *Owner { o := owner(); o.Created = time.Time{}; return &o }()},
		{"deposit", true, func() *Deposit { d := deposit(); return &d }()},
		{"deposit long description", false, func() *Deposit { d := deposit(); d.Description = strings.Repeat("d", MaxDescription+1); return &d }()},
		{"deposit huge blob", false, func() *Deposit { d := deposit(); d.Blob = make([]byte, MaxBlob+1); return &d }()},
		{"deposit empty blob", false, func() *Deposit { d := deposit(); d.Blob = nil; return &d }()},
		{"deposit time 2263", false, func() *Deposit { d := deposit(); d.Deposited = time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC); return &d }()},
		{"recovery", true, func() *Recovery { r := recovery(); return &r }()},
		{"recovery completed", true, func() *Recovery { r := recovery(); r.State, r.Completed = RecoveryCompleted, now; return &r }()},
		{"recovery completed no time", false, func() *Recovery { r := recovery(); r.State = RecoveryCompleted; return &r }()},
		{"recovery pending with time", false, func() *Recovery { r := recovery(); r.Completed = now; return &r }()},
		{"recovery bad state", false, func() *Recovery { r := recovery(); r.State = 3; return &r }()},
		{"recovery zero id", false, func() *Recovery { r := recovery(); r.ID = RequestID{}; return &r }()},
		{"recovery no to", false, func() *Recovery { r := recovery(); r.To = ""; return &r }()},
		{"approval", true, &Approval{Operator: fp("o"), Time: now}},
		{"approval zero operator", false, &Approval{Time: now}},
		{"nonce", true, &Nonce{Signer: fp("s"), Expires: now}},
		{"nonce zero signer", false, &Nonce{Expires: now}},
	}
	for _, tt := range tests {
		err := tt.v.Validate()
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
	}
	for _, n := range []int{0, MaxPage + 1, -1} {
		if !errors.Is(CheckPage(n), ErrInvalid) {
			t.Errorf("CheckPage(%d) accepted", n)
		}
	}
	if CheckPage(1) != nil || CheckPage(MaxPage) != nil {
		t.Error("CheckPage refused a page size in bounds")
	}
}
