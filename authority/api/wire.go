package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/keyblob/keyblob"
)

// The wire types of protocol version 1 (spec/escrow-api.md section 7 and
// spec/escrow-api.yaml): JSON bodies, with byte strings as base64url
// without padding, fingerprints in their text form, serials and request
// ids as 32 hexadecimal digits and times in RFC 3339. Request members are
// pointers so that a missing member and a null are told from an empty one.

// InfoV1 is the body of GET /v1/authority.
type InfoV1 struct {
	Protocol           string `json:"protocol"`
	Recipient          string `json:"recipient"`
	Fingerprint        string `json:"fingerprint"`
	Signer             string `json:"signer"`
	Time               string `json:"time"`
	MaxSkewSeconds     int    `json:"max_skew_seconds"`
	MaxBodyBytes       int    `json:"max_body_bytes"`
	MaxPage            int    `json:"max_page"`
	MaxFailures        int    `json:"max_failures"`
	ApprovalsRequired  int    `json:"approvals_required"`
	RecoveryTTLSeconds int64  `json:"recovery_ttl_seconds"`
}

// OwnerV1 is an Owner on the wire.
type OwnerV1 struct {
	ID        string `json:"id"`
	Recipient string `json:"recipient"`
	Signer    string `json:"signer"`
	Created   string `json:"created"`
}

// DepositV1 is a Deposit on the wire (without its blob).
type DepositV1 struct {
	Seq         uint64 `json:"seq"`
	Owner       string `json:"owner"`
	Serial      string `json:"serial"`
	Description string `json:"description"`
	Signer      string `json:"signer"`
	Created     string `json:"created"`
	Deposited   string `json:"deposited"`
	BlobSHA256  string `json:"blob_sha256"`
}

// AuditEntryV1 is an AuditEntry on the wire.
type AuditEntryV1 struct {
	Seq    uint64  `json:"seq"`
	Time   string  `json:"time"`
	Kind   string  `json:"kind"`
	Owner  string  `json:"owner"`
	Actor  *string `json:"actor"`
	Ref    *string `json:"ref"`
	Detail string  `json:"detail"`
	Prev   string  `json:"prev"`
	Hash   string  `json:"hash"`
	Salt   string  `json:"salt"`
}

// ReceiptV1 is a Receipt on the wire.
type ReceiptV1 struct {
	Entry      AuditEntryV1 `json:"entry"`
	Signature  string       `json:"signature"`
	Checkpoint string       `json:"checkpoint"`
	Inclusion  []string     `json:"inclusion"`
	// Consistency, in an answer to a request that stated HeaderLogSize,
	// proves that Checkpoint's tree extends the tree of that size; null
	// otherwise. It is not part of what the receipt's signature covers:
	// the proof verifies itself.
	Consistency *ConsistencyV1 `json:"consistency"`
}

// ApprovalV1 is an Approval on the wire.
type ApprovalV1 struct {
	Operator string `json:"operator"`
	Time     string `json:"time"`
}

// RecoveryV1 is a RecoveryStatus on the wire.
type RecoveryV1 struct {
	ID                string       `json:"id"`
	Owner             string       `json:"owner"`
	OldSigner         string       `json:"old_signer"`
	To                string       `json:"to"`
	ToSigner          string       `json:"to_signer"`
	Serial            *string      `json:"serial"`
	State             string       `json:"state"`
	Created           string       `json:"created"`
	Completable       string       `json:"completable"`
	Expires           string       `json:"expires"`
	Completed         *string      `json:"completed"`
	ApprovalsRequired int          `json:"approvals_required"`
	Approvals         []ApprovalV1 `json:"approvals"`
}

// RecoveredKey is one deposit released by a recovery: its listing fields
// and the key blob re-wrapped to the new identity, signed by the
// authority.
type RecoveredKey struct {
	Seq         uint64
	Serial      keyblob.Serial
	Description string
	Created     time.Time
	Deposited   time.Time
	Blob        *keyblob.KeyBlob
}

// KeyV1 is a RecoveredKey on the wire.
type KeyV1 struct {
	Seq         uint64 `json:"seq"`
	Serial      string `json:"serial"`
	Description string `json:"description"`
	Created     string `json:"created"`
	Deposited   string `json:"deposited"`
	Blob        string `json:"blob"`
}

// Request bodies.
type (
	EnrollRequestV1 struct {
		Recipient  *string `json:"recipient"`
		SealedCode *string `json:"sealed_code"`
	}
	DepositRequestV1 struct {
		Blob *string `json:"blob"`
	}
	RecoveryRequestV1 struct {
		Owner      *string `json:"owner"`
		To         *string `json:"to"`
		Serial     *string `json:"serial,omitempty"`
		SealedCode *string `json:"sealed_code"`
	}
	CompleteRequestV1 struct {
		SealedCode *string `json:"sealed_code"`
	}
	ApprovalRequestV1 struct{}
	CancelRequestV1   struct{}
)

// Response bodies.
type (
	EnrollResponseV1 struct {
		Owner   OwnerV1   `json:"owner"`
		Receipt ReceiptV1 `json:"receipt"`
	}
	DepositResponseV1 struct {
		Deposit DepositV1 `json:"deposit"`
		Receipt ReceiptV1 `json:"receipt"`
		// ThrottledUntil, if not nil, says that wrong recovery codes were
		// sent for the owner and its code checks wait until then.
		ThrottledUntil *string `json:"throttled_until"`
	}
	DepositListV1 struct {
		Deposits []DepositV1 `json:"deposits"`
		Next     *string     `json:"next"`
	}
	AuditListV1 struct {
		Entries []AuditEntryV1 `json:"entries"`
		Next    *string        `json:"next"`
		// Checkpoint is a signed checkpoint whose tree holds every
		// entry, and Inclusion[i] the proof that it holds Entries[i].
		Checkpoint string     `json:"checkpoint"`
		Inclusion  [][]string `json:"inclusion"`
		// Owner, Through and Signature are the signed PageClaim: the
		// entries are all of Owner's after the request's "after" up to
		// and including Through.
		Owner     string `json:"owner"`
		Through   uint64 `json:"through"`
		Signature string `json:"signature"`
	}
	RecoveryResponseV1 struct {
		Recovery RecoveryV1 `json:"recovery"`
		Receipt  ReceiptV1  `json:"receipt"`
	}
	RecoveryViewV1 struct {
		Recovery RecoveryV1 `json:"recovery"`
	}
	CompleteResponseV1 struct {
		Recovery RecoveryV1 `json:"recovery"`
		Owner    OwnerV1    `json:"owner"`
		Receipt  ReceiptV1  `json:"receipt"`
	}
	KeyListV1 struct {
		Keys []KeyV1 `json:"keys"`
		Next *string `json:"next"`
	}
	ErrorV1 struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
)

// DecodeJSON decodes body, one JSON object in UTF-8 with nothing after it
// but white space and no member twice, into v, refusing unknown members.
// Every failure wraps keyblob.ErrMalformed.
func DecodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w request body: not UTF-8", errMalformed)
	}
	if err := checkMembers(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w request body: %v", errMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w request body: data after the object", errMalformed)
	}
	return nil
}

// checkMembers requires one object whose top-level member names are
// distinct.
func checkMembers(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("%w request body: not a JSON object", errMalformed)
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok || seen[name] {
			return fmt.Errorf("%w request body: a member twice or a bad name", errMalformed)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w request body: %v", errMalformed, err)
		}
	}
	return nil
}

// Required returns *p, or a malformed-body error naming the member
// name when p is nil (the member was missing or null).
func Required(name string, p *string) (string, error) {
	if p == nil {
		return "", fmt.Errorf("%w request body: no %q member", errMalformed, name)
	}
	return *p, nil
}

// DecodeBytes decodes a canonical base64url string without padding of
// at most max bytes; what names the member in errors.
func DecodeBytes(what, s string, max int) ([]byte, error) {
	if base64.RawURLEncoding.DecodedLen(len(s)) > max {
		return nil, fmt.Errorf("%w %s: too long", errMalformed, what)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || EncodeBytes(b) != s {
		return nil, fmt.Errorf("%w %s: not canonical base64url without padding", errMalformed, what)
	}
	return b, nil
}

// ParseRecipient parses a recipient line of at most MaxRecipientLine
// bytes; what names the member in errors, which wrap keyblob.ErrMalformed.
func ParseRecipient(what, s string) (*keyblob.Recipient, error) {
	if len(s) > MaxRecipientLine {
		return nil, fmt.Errorf("%w %s: a recipient line of more than %d bytes", errMalformed, what, MaxRecipientLine)
	}
	r, err := keyblob.ParseRecipientLine(s)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", errMalformed, what, err)
	}
	return r, nil
}

// ParseFingerprint parses a non-zero fingerprint in its canonical text
// form; what names the member in errors.
func ParseFingerprint(what, s string) (keyblob.Fingerprint, error) {
	if len(s) > 64 {
		return keyblob.Fingerprint{}, fmt.Errorf("%w %s", errMalformed, what)
	}
	f, err := keyblob.ParseFingerprint(s)
	if err != nil || f.IsZero() || f.String() != s {
		return keyblob.Fingerprint{}, fmt.Errorf("%w %s: not a fingerprint", errMalformed, what)
	}
	return f, nil
}

// ParseID parses a non-zero 16-byte id (a serial or a request id) as
// 32 lower-case hexadecimal digits; what names the member in errors.
func ParseID(what, s string) ([16]byte, error) {
	id, err := ParseRequestID(s)
	if err != nil || id == (RequestID{}) {
		return id, fmt.Errorf("%w %s: want 32 lower-case hexadecimal digits", errMalformed, what)
	}
	return id, nil
}

// ParseTime parses an RFC 3339 time and returns it in UTC; what names
// the member in errors.
func ParseTime(what, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("%w %s: not an RFC 3339 time", errMalformed, what)
	}
	return t.UTC(), nil
}

func optFP(f keyblob.Fingerprint) *string {
	if f.IsZero() {
		return nil
	}
	s := f.String()
	return &s
}

func optID(id [16]byte) *string {
	if id == ([16]byte{}) {
		return nil
	}
	s := RequestID(id).String()
	return &s
}

func entryV1(e AuditEntry) AuditEntryV1 {
	return AuditEntryV1{Seq: e.Seq, Time: FormatTime(e.Time), Kind: e.Kind.String(), Owner: e.Owner.String(),
		Actor: optFP(e.Actor), Ref: optID(e.Ref), Detail: e.Detail, Prev: EncodeBytes(e.Prev[:]), Hash: EncodeBytes(e.Hash[:]), Salt: EncodeBytes(e.Salt[:])}
}

// V1 returns e's wire form, which AuditEntryV1.Parse reads back.
func (e AuditEntry) V1() AuditEntryV1 { return entryV1(e) }

// V1 returns r's wire form, which ReceiptV1.Parse reads back: the form a
// client keeps receipts in.
func (r Receipt) V1() ReceiptV1 { return receiptV1(r) }

func receiptV1(r Receipt) ReceiptV1 {
	return ReceiptV1{Entry: entryV1(r.Entry), Signature: EncodeBytes(r.Signature),
		Checkpoint: string(r.Checkpoint), Inclusion: EncodeProof(r.Inclusion)}
}

// Parse reads an entry from the wire, for clients that verify it.
func (v *AuditEntryV1) Parse() (AuditEntry, error) {
	var e AuditEntry
	var err error
	var errs []error
	e.Seq, e.Detail = v.Seq, v.Detail
	e.Time, err = ParseTime("entry time", v.Time)
	errs = append(errs, err)
	e.Kind, err = ParseAuditKind(v.Kind)
	errs = append(errs, err)
	e.Owner, err = ParseFingerprint("entry owner", v.Owner)
	errs = append(errs, err)
	if v.Actor != nil {
		e.Actor, err = ParseFingerprint("entry actor", *v.Actor)
		errs = append(errs, err)
	}
	if v.Ref != nil {
		e.Ref, err = ParseID("entry ref", *v.Ref)
		errs = append(errs, err)
	}
	errs = append(errs, decode32(&e.Prev, v.Prev), decode32(&e.Hash, v.Hash), decodeSalt(&e.Salt, v.Salt))
	return e, errors.Join(errs...)
}

func decode32(dst *[32]byte, s string) error {
	b, err := DecodeBytes("hash", s, 32)
	if err == nil && len(b) != 32 {
		err = fmt.Errorf("%w hash: %d bytes", errMalformed, len(b))
	}
	if err == nil {
		copy(dst[:], b)
	}
	return err
}

// Parse reads a receipt from the wire.
func (v *ReceiptV1) Parse() (Receipt, error) {
	e, err := v.Entry.Parse()
	if err != nil {
		return Receipt{}, err
	}
	sig, err := DecodeBytes("receipt signature", v.Signature, MaxBody)
	if err != nil {
		return Receipt{}, err
	}
	if len(v.Checkpoint) > MaxCheckpoint {
		return Receipt{}, fmt.Errorf("%w receipt checkpoint: more than %d bytes", errMalformed, MaxCheckpoint)
	}
	proof, err := DecodeProof("receipt inclusion proof", v.Inclusion)
	return Receipt{Entry: e, Signature: sig, Checkpoint: []byte(v.Checkpoint), Inclusion: proof}, err
}

func decodeSalt(dst *[16]byte, s string) error {
	b, err := DecodeBytes("salt", s, 16)
	if err == nil && len(b) != 16 {
		err = fmt.Errorf("%w salt: %d bytes", errMalformed, len(b))
	}
	if err == nil {
		copy(dst[:], b)
	}
	return err
}

// EncodeBytes returns b as the protocol writes byte strings: base64url
// without padding.
func EncodeBytes(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// FormatTime returns t as the protocol writes times: RFC 3339 in UTC,
// to the nanosecond.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
