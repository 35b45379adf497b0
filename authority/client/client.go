package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
)

// Client speaks the protocol to one authority, named by its URL and by
// the recipient line the user was given for it (never the one the
// authority reports). It signs requests with the identities its methods
// are given, verifies every receipt and re-wrapped blob with the
// authority's recipient, and returns the server's refusals as *APIError,
// which matches (errors.Is) the sentinel of its code. A Client is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	authority *keyblob.Recipient
	// HTTP is the client requests go through; nil means
	// http.DefaultClient.
	HTTP *http.Client
	// Now is the clock requests are dated by; nil means time.Now.
	Now func() time.Time
	// Log keeps the newest checkpoint of the authority's log the client
	// verified; nil means memory of the Client's own.
	Log LogMemory
	// Notice, if not nil, is told what an answer says besides its result:
	// that wrong recovery codes were sent for the owner, whose code
	// checks wait until a time.
	Notice func(msg string)

	once sync.Once
	mem  *memory
	// seenSize is the size of the newest checkpoint verified, sent with
	// signed requests (api.HeaderLogSize).
	seenSize atomic.Uint64
	checkMu  sync.Mutex
	checked  bool
}

// New returns a client of the authority at baseURL (http or https)
// whose recipient is authority.
func New(baseURL string, authority *keyblob.Recipient) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%w authority URL %q (want http:// or https://HOST[/PATH])", keyblob.ErrMalformed, baseURL)
	}
	if !authority.CanExchange() || !authority.CanVerify() {
		return nil, fmt.Errorf("%w: the authority's recipient must have an exchange key and a signature key", api.ErrUnusableIdentity)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, authority: authority}, nil
}

// APIError is a refusal by the server: its status and error code, and
// its message, for people.
type APIError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the answer's Retry-After (whole seconds), 0 if none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("the authority refused: %s (%s, %d)", e.Message, e.Code, e.Status)
}

// Is matches the sentinel of the error's code (spec section 8).
func (e *APIError) Is(target error) bool {
	sentinel := api.ErrorOf(e.Code)
	return sentinel != nil && sentinel == target
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// call sends one request, signed by id unless id is nil, and decodes
// a success into out. seal, if set, is called with the request's Auth to
// fill in the body (a sealed code is bound to the nonce).
func (c *Client) call(ctx context.Context, id *keyblob.Identity, method, target string, body any, out any, seal func(*api.Auth) error) (int, error) {
	if err := c.checkOnce(ctx); err != nil {
		return 0, err
	}
	auth := &api.Auth{}
	if id != nil {
		auth = api.NewAuth(id, c.now())
	}
	if seal != nil {
		if err := seal(auth); err != nil {
			return 0, err
		}
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	if id != nil {
		if err := auth.Sign(id, c.authority.Fingerprint(), method, c.base.Path+target, raw); err != nil {
			return 0, err
		}
	}
	return c.do(ctx, method, target, raw, id != nil, auth, out)
}

func (c *Client) do(ctx context.Context, method, target string, raw []byte, signed bool, auth *api.Auth, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.Scheme+"://"+c.base.Host+c.base.Path+target, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if signed {
		api.SetAuthHeaders(req.Header, auth)
		if n := c.seenSize.Load(); n > 0 {
			req.Header.Set(api.HeaderLogSize, strconv.FormatUint(n, 10))
		}
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, err
	}
	if err := httpsOnly(resp, b, req); err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode, Code: "internal", Message: http.StatusText(resp.StatusCode)}
		if secs, err := strconv.ParseUint(resp.Header.Get("Retry-After"), 10, 32); err == nil {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
		json.Unmarshal(b, &errorTarget{e})
		return resp.StatusCode, e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%w response from the authority: %v", keyblob.ErrMalformed, err)
	}
	return resp.StatusCode, nil
}

// httpsOnly is the error of a plain http:// request that reached an
// HTTPS port: Go's TLS server answers it with a 400 and this text, which
// is no API error.
func httpsOnly(resp *http.Response, body []byte, req *http.Request) error {
	if resp.StatusCode == http.StatusBadRequest && bytes.HasPrefix(body, []byte("Client sent an HTTP request to an HTTPS server")) {
		return fmt.Errorf("%s answers in HTTPS, not plain HTTP: use its https:// URL", req.URL.Host)
	}
	return nil
}

// errorTarget decodes an ErrorV1 body into an APIError.
type errorTarget struct{ E *APIError }

// UnmarshalJSON reads {"error": CODE, "message": TEXT}.
func (t *errorTarget) UnmarshalJSON(b []byte) error {
	var v api.ErrorV1
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t.E.Code, t.E.Message = v.Error, v.Message
	return nil
}

// Info returns the authority's public parameters, unauthenticated; it
// is the one exchange that does not check the log first (CheckLog), so
// that a caller can learn whether it holds the authority's key.
func (c *Client) Info(ctx context.Context) (*api.InfoV1, error) {
	var out api.InfoV1
	_, err := c.do(ctx, http.MethodGet, "/v1/authority", nil, false, nil, &out)
	return &out, err
}

// checkReceipt verifies rc, that its entry is of kind about owner, and
// that its checkpoint is consistent with the log the client saw.
func (c *Client) checkReceipt(ctx context.Context, v *api.ReceiptV1, kind api.AuditKind, owner keyblob.Fingerprint, ref [16]byte) (api.Receipt, error) {
	rc, err := v.Parse()
	if err == nil {
		_, err = api.VerifyReceipt(c.authority, &rc)
	}
	if err == nil {
		if _, err = c.advance(ctx, rc.Checkpoint, v.Consistency); errors.Is(err, api.ErrLogInconsistent) {
			return api.Receipt{}, err
		}
	}
	if err == nil && (rc.Entry.Kind != kind || rc.Entry.Owner != owner || rc.Entry.Ref != ref) {
		err = fmt.Errorf("the receipt records something else: %w", keyblob.ErrAuth)
	}
	if err != nil {
		return api.Receipt{}, fmt.Errorf("the authority's receipt does not verify: %w", err)
	}
	return rc, nil
}

// Enroll registers id with the authority and returns its new recovery
// code (show it to the user once) and the receipt of the enrolment.
func (c *Client) Enroll(ctx context.Context, id *keyblob.Identity) (api.RecoveryCode, api.Receipt, error) {
	code := api.NewRecoveryCode()
	fp := id.Recipient().SigningFingerprint()
	line := id.Recipient().String()
	in := api.EnrollRequestV1{Recipient: &line}
	var out api.EnrollResponseV1
	_, err := c.call(ctx, id, http.MethodPost, "/v1/enroll", &in, &out, func(a *api.Auth) error {
		sealed, err := api.SealCode(c.authority, code, api.PurposeEnroll, fp, fp, a.Nonce)
		s := api.EncodeBytes(sealed)
		in.SealedCode = &s
		return err
	})
	if err != nil {
		return api.RecoveryCode{}, api.Receipt{}, err
	}
	rc, err := c.checkReceipt(ctx, &out.Receipt, api.AuditEnroll, fp, [16]byte{})
	return code, rc, err
}

// Deposit exports key to the authority, signed by id, with description,
// and deposits it. It returns the deposit as the authority lists it, its
// receipt, and whether it is the blob just sent (false: the authority
// already had another blob of that serial from this owner).
func (c *Client) Deposit(ctx context.Context, id *keyblob.Identity, key *keyblob.SessionKey, description string) (api.DepositV1, api.Receipt, bool, error) {
	b, err := keyblob.Export(key, c.authority, &keyblob.ExportOptions{Description: description, Signer: id})
	if err != nil {
		return api.DepositV1{}, api.Receipt{}, false, err
	}
	return c.DepositBlob(ctx, id, b)
}

// DepositBlob deposits a blob already wrapped to the authority and signed
// by id, as Deposit does.
func (c *Client) DepositBlob(ctx context.Context, id *keyblob.Identity, b *keyblob.KeyBlob) (api.DepositV1, api.Receipt, bool, error) {
	raw := b.Marshal()
	s := api.EncodeBytes(raw)
	var out api.DepositResponseV1
	if _, err := c.call(ctx, id, http.MethodPost, "/v1/deposits", &api.DepositRequestV1{Blob: &s}, &out, nil); err != nil {
		return api.DepositV1{}, api.Receipt{}, false, err
	}
	owner, err := api.ParseFingerprint("owner", out.Deposit.Owner)
	if err != nil {
		return api.DepositV1{}, api.Receipt{}, false, err
	}
	rc, err := c.checkReceipt(ctx, &out.Receipt, api.AuditDeposit, owner, b.Serial())
	if err != nil {
		return api.DepositV1{}, api.Receipt{}, false, err
	}
	if out.ThrottledUntil != nil && c.Notice != nil {
		c.Notice("wrong recovery codes were sent for this owner: its code checks wait until " + *out.ThrottledUntil +
			" ('keyblob escrow log' shows the attempts; if you did not send them, someone is trying to recover your keys)")
	}
	var d api.DepositDetail
	json.Unmarshal([]byte(rc.Entry.Detail), &d)
	h := sha256.Sum256(raw)
	return out.Deposit, rc, d.BlobSHA256 == api.EncodeBytes(h[:]) && out.Deposit.BlobSHA256 == d.BlobSHA256, nil
}

// Deposits lists every deposit of id's owner, page by page.
func (c *Client) Deposits(ctx context.Context, id *keyblob.Identity) ([]api.DepositV1, error) {
	var all []api.DepositV1
	err := c.pages(ctx, id, "/v1/deposits", func(raw json.RawMessage) (*string, error) {
		var out api.DepositListV1
		err := json.Unmarshal(raw, &out)
		all = append(all, out.Deposits...)
		return out.Next, err
	})
	return all, err
}

// pages reads a list route to its end.
func (c *Client) pages(ctx context.Context, id *keyblob.Identity, path string, add func(json.RawMessage) (*string, error)) error {
	return c.pagesFrom(ctx, id, path, 0, add)
}

// pagesFrom reads a list route from after to its end.
func (c *Client) pagesFrom(ctx context.Context, id *keyblob.Identity, path string, from uint64, add func(json.RawMessage) (*string, error)) error {
	after := strconv.FormatUint(from, 10)
	for {
		var raw json.RawMessage
		if _, err := c.call(ctx, id, http.MethodGet, path+"?after="+after+"&limit="+strconv.Itoa(api.MaxPage), nil, &raw, nil); err != nil {
			return err
		}
		next, err := add(raw)
		if err != nil {
			return fmt.Errorf("%w response from the authority: %v", keyblob.ErrMalformed, err)
		}
		if next == nil {
			return nil
		}
		after = *next
	}
}

// RequestRecovery asks for owner's keys (owner: the owner id or any
// signature key ever bound to it) with its recovery code, to be
// re-wrapped to newID; serial, if not nil, names the one key.
func (c *Client) RequestRecovery(ctx context.Context, newID *keyblob.Identity, owner keyblob.Fingerprint, code api.RecoveryCode, serial *keyblob.Serial) (api.RecoveryV1, error) {
	ownerS, to := owner.String(), newID.Recipient().String()
	in := api.RecoveryRequestV1{Owner: &ownerS, To: &to}
	if serial != nil {
		s := serial.String()
		in.Serial = &s
	}
	var out api.RecoveryResponseV1
	_, err := c.call(ctx, newID, http.MethodPost, "/v1/recoveries", &in, &out, func(a *api.Auth) error {
		sealed, err := api.SealCode(c.authority, code, api.PurposeRecovery, owner, a.Signer, a.Nonce)
		s := api.EncodeBytes(sealed)
		in.SealedCode = &s
		return err
	})
	if err != nil {
		return api.RecoveryV1{}, err
	}
	return out.Recovery, c.checkRecoveryReceipt(ctx, &out.Receipt, api.AuditRecoveryRequest, &out.Recovery)
}

func (c *Client) checkRecoveryReceipt(ctx context.Context, v *api.ReceiptV1, kind api.AuditKind, r *api.RecoveryV1) error {
	owner, err := api.ParseFingerprint("owner", r.Owner)
	if err != nil {
		return err
	}
	id, err := api.ParseRequestID(r.ID)
	if err != nil {
		return err
	}
	_, err = c.checkReceipt(ctx, v, kind, owner, id)
	return err
}

// Recovery shows a recovery request, to its new identity or an operator.
func (c *Client) Recovery(ctx context.Context, signer *keyblob.Identity, id api.RequestID) (api.RecoveryV1, error) {
	var out api.RecoveryViewV1
	_, err := c.call(ctx, signer, http.MethodGet, "/v1/recoveries/"+id.String(), nil, &out, nil)
	return out.Recovery, err
}

// Approve records operator's approval of request id.
func (c *Client) Approve(ctx context.Context, operator *keyblob.Identity, id api.RequestID) (api.RecoveryV1, error) {
	var out api.RecoveryResponseV1
	if _, err := c.call(ctx, operator, http.MethodPost, "/v1/recoveries/"+id.String()+"/approvals", &api.ApprovalRequestV1{}, &out, nil); err != nil {
		return api.RecoveryV1{}, err
	}
	return out.Recovery, c.checkRecoveryReceipt(ctx, &out.Receipt, api.AuditApproval, &out.Recovery)
}

// Cancel cancels the pending recovery request id of owner's keys, as
// owner (its current identity); it cannot be undone.
func (c *Client) Cancel(ctx context.Context, owner *keyblob.Identity, id api.RequestID) (api.RecoveryV1, error) {
	var out api.RecoveryResponseV1
	if _, err := c.call(ctx, owner, http.MethodPost, "/v1/recoveries/"+id.String()+"/cancel", &api.CancelRequestV1{}, &out, nil); err != nil {
		return api.RecoveryV1{}, err
	}
	return out.Recovery, c.checkRecoveryReceipt(ctx, &out.Receipt, api.AuditCancel, &out.Recovery)
}

// Complete completes the approved recovery id, binding its owner to
// newID, with newCode as the owner's recovery code from now on (send the
// same one again when retrying).
func (c *Client) Complete(ctx context.Context, newID *keyblob.Identity, id api.RequestID, owner keyblob.Fingerprint, newCode api.RecoveryCode) (api.RecoveryV1, error) {
	var in api.CompleteRequestV1
	var out api.CompleteResponseV1
	_, err := c.call(ctx, newID, http.MethodPost, "/v1/recoveries/"+id.String()+"/complete", &in, &out, func(a *api.Auth) error {
		sealed, err := api.SealCode(c.authority, newCode, api.PurposeNewCode, owner, a.Signer, a.Nonce)
		s := api.EncodeBytes(sealed)
		in.SealedCode = &s
		return err
	})
	if err != nil {
		return api.RecoveryV1{}, err
	}
	return out.Recovery, c.checkRecoveryReceipt(ctx, &out.Receipt, api.AuditRecovery, &out.Recovery)
}

// Keys fetches every key of the completed recovery id, checking that each
// blob is signed by the authority, wrapped to newID and of the serial
// listed. Import them with keyblob.Import and the authority as Verify.
func (c *Client) Keys(ctx context.Context, newID *keyblob.Identity, id api.RequestID) ([]api.RecoveredKey, error) {
	var all []api.RecoveredKey
	err := c.pages(ctx, newID, "/v1/recoveries/"+id.String()+"/keys", func(raw json.RawMessage) (*string, error) {
		var out api.KeyListV1
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, err
		}
		for _, v := range out.Keys {
			k, err := c.parseKey(newID, &v)
			if err != nil {
				return nil, err
			}
			all = append(all, k)
		}
		return out.Next, nil
	})
	return all, err
}

func (c *Client) parseKey(newID *keyblob.Identity, v *api.KeyV1) (api.RecoveredKey, error) {
	raw, err := api.DecodeBytes("blob", v.Blob, api.MaxBlob)
	if err != nil {
		return api.RecoveredKey{}, err
	}
	b, err := keyblob.ParseKeyBlob(raw)
	if err != nil {
		return api.RecoveredKey{}, err
	}
	if err := b.Verify(c.authority); err != nil {
		return api.RecoveredKey{}, fmt.Errorf("a recovered key blob: %w", err)
	}
	if b.Recipient() != newID.Recipient().ExchangeFingerprint() || b.Serial().String() != v.Serial {
		return api.RecoveredKey{}, fmt.Errorf("a recovered key blob is for another key or identity: %w", keyblob.ErrAuth)
	}
	return api.RecoveredKey{Seq: v.Seq, Serial: b.Serial(), Description: b.Description(), Created: b.Created(), Blob: b}, nil
}

// Recover runs a whole recovery to newID when the authority needs no
// approvals (or they are given): request, complete with a new code, and
// fetch the keys. It returns the keys, the owner's new recovery code
// (show it to the user once) and the request. A request left pending
// returns ErrApprovalPending with the request, to complete with Complete
// and Keys once approved.
func (c *Client) Recover(ctx context.Context, newID *keyblob.Identity, owner keyblob.Fingerprint, code api.RecoveryCode, serial *keyblob.Serial) ([]api.RecoveredKey, api.RecoveryCode, api.RecoveryV1, error) {
	r, err := c.RequestRecovery(ctx, newID, owner, code, serial)
	if err != nil {
		return nil, api.RecoveryCode{}, r, err
	}
	if r.State != "approved" {
		return nil, api.RecoveryCode{}, r, api.ErrApprovalPending
	}
	id, err := api.ParseRequestID(r.ID)
	if err != nil {
		return nil, api.RecoveryCode{}, r, err
	}
	ownerID, err := api.ParseFingerprint("owner", r.Owner)
	if err != nil {
		return nil, api.RecoveryCode{}, r, err
	}
	newCode := api.NewRecoveryCode()
	if r, err = c.Complete(ctx, newID, id, ownerID, newCode); err != nil {
		return nil, api.RecoveryCode{}, r, err
	}
	keys, err := c.Keys(ctx, newID, id)
	return keys, newCode, r, err
}
