package keyblob_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/internal/stream"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/password"
	"github.com/keyblob/keyblob/replay"
	"github.com/keyblob/keyblob/replay/sqlitecache"
	"github.com/keyblob/keyblob/seal"
)

// TestSentinels lists every exported sentinel of the module with the
// sentinels it must match with errors.Is: one sentinel per outcome
// (aliases are the same value), the malformed family under ErrMalformed,
// and no package prefix in any text (docs/architecture.md, "Errors").
func TestSentinels(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   []error
	}{
		{"keyblob.ErrAuth", keyblob.ErrAuth, []error{format.ErrAuth, stream.ErrAuth, seal.ErrAuth}},
		{"seal.ErrAuth", seal.ErrAuth, []error{keyblob.ErrAuth}},
		{"stream.ErrAuth", stream.ErrAuth, []error{keyblob.ErrAuth}},
		{"keyblob.ErrNotSigned", keyblob.ErrNotSigned, []error{seal.ErrNotSigned}},
		{"seal.ErrNotSigned", seal.ErrNotSigned, []error{keyblob.ErrNotSigned}},
		{"keyblob.ErrWrongSigner", keyblob.ErrWrongSigner, []error{seal.ErrWrongSender}},
		{"seal.ErrWrongSender", seal.ErrWrongSender, []error{keyblob.ErrWrongSigner}},
		{"keyblob.ErrIncorrectIdentity", keyblob.ErrIncorrectIdentity, nil},
		{"keyblob.ErrWrongSessionKey", keyblob.ErrWrongSessionKey, nil},
		{"keyblob.ErrCannotExchange", keyblob.ErrCannotExchange, nil},
		{"keyblob.ErrCannotSign", keyblob.ErrCannotSign, nil},
		{"password.ErrPassphrase", password.ErrPassphrase, []error{keystore.ErrPassphrase, seal.ErrPassphrase}},
		{"keystore.ErrPassphrase", keystore.ErrPassphrase, []error{password.ErrPassphrase}},
		{"seal.ErrPassphrase", seal.ErrPassphrase, []error{password.ErrPassphrase}},
		{"password.ErrParams", password.ErrParams, nil},
		{"keyblob.ErrMalformed", keyblob.ErrMalformed, []error{format.ErrMalformed}},
		{"keyblob.ErrMalformedBlob", keyblob.ErrMalformedBlob, []error{keyblob.ErrMalformed}},
		{"keyblob.ErrMalformedRecipient", keyblob.ErrMalformedRecipient, []error{keyblob.ErrMalformed}},
		{"keyblob.ErrRecipientChecksum", keyblob.ErrRecipientChecksum, nil},
		{"keyblob.ErrMalformedSessionKey", keyblob.ErrMalformedSessionKey, []error{keyblob.ErrMalformed}},
		{"keyblob.ErrMalformedEncryptedFile", keyblob.ErrMalformedEncryptedFile, []error{keyblob.ErrMalformed}},
		{"seal.ErrMalformed", seal.ErrMalformed, []error{keyblob.ErrMalformed}},
		{"seal.ErrArmor", seal.ErrArmor, []error{format.ErrArmor, keyblob.ErrMalformed}},
		{"format.ErrArmor", format.ErrArmor, []error{seal.ErrArmor, keyblob.ErrMalformed}},
		{"format.ErrSpaceNotArmor", format.ErrSpaceNotArmor, nil},
		{"format.ErrUnsupportedVersion", format.ErrUnsupportedVersion, nil},
		{"format.ErrTooLarge", format.ErrTooLarge, nil},
		{"seal.ErrNoMatch", seal.ErrNoMatch, nil},
		{"seal.ErrNeedPassphrase", seal.ErrNeedPassphrase, []error{seal.ErrNoMatch}},
		{"seal.ErrExpired", seal.ErrExpired, nil},
		{"replay.ErrReplay", replay.ErrReplay, nil},
		{"replay.ErrTooOld", replay.ErrTooOld, nil},
		{"replay.ErrFuture", replay.ErrFuture, nil},
		{"sqlitecache.ErrSchema", sqlitecache.ErrSchema, nil},
		{"keystore.ErrNoStore", keystore.ErrNoStore, nil},
		{"keystore.ErrLocked", keystore.ErrLocked, nil},
		{"keystore.ErrNotFound", keystore.ErrNotFound, nil},
		{"keystore.ErrExists", keystore.ErrExists, nil},
		{"keystore.ErrBadName", keystore.ErrBadName, nil},
		{"keystore.ErrNameClash", keystore.ErrNameClash, nil},
		{"keystore.ErrRolledBack", keystore.ErrRolledBack, nil},
		{"keystore.ErrRefused", keystore.ErrRefused, nil},
	}
	malformed := []error{keyblob.ErrMalformedBlob, keyblob.ErrMalformedRecipient,
		keyblob.ErrMalformedSessionKey, keyblob.ErrMalformedEncryptedFile, seal.ErrMalformed, format.ErrArmor}
	prefixes := []string{"keyblob:", "seal:", "keystore:", "replay:", "sqlitecache:", "password:",
		"stream:", "format:", "suite:", "atomicfile:", "sqlitedb:"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("%q does not match %q", tt.err, target)
				}
			}
			for _, p := range prefixes {
				if strings.HasPrefix(tt.err.Error(), p) {
					t.Errorf("%q has a package prefix", tt.err)
				}
			}
			// Distinct outcomes stay distinct: only the malformed family
			// and the aliases listed above match one another.
			for _, other := range tests {
				if other.name == tt.name || errors.Is(tt.err, other.err) == false {
					continue
				}
				listed := false
				for _, target := range tt.is {
					if target == other.err || errors.Is(target, other.err) {
						listed = true
					}
				}
				if !listed {
					t.Errorf("%s matches %s, which is not listed", tt.name, other.name)
				}
			}
		})
	}
	for _, err := range malformed {
		if !strings.HasPrefix(err.Error(), "malformed ") {
			t.Errorf("%q does not start with \"malformed \"", err)
		}
	}
}
