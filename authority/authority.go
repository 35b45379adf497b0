package authority

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/authority/api"
	"github.com/keyblob/keyblob/password"
)

// Service limits (spec/escrow-api.md section 9).
const (
	DefaultThrottleAfter = 5
	DefaultTTL           = 24 * time.Hour
	casRetries           = 16
)

// Config configures a Service. Store and Identity are required; the
// other zero values are meaningful.
type Config struct {
	// Store keeps the records (sqlitestore or pgstore).
	Store Store
	// Identity is the authority's; it must exchange and sign.
	Identity *keyblob.Identity
	// Operators may approve recovery requests; each must have a
	// signature key.
	Operators []*keyblob.Recipient
	// Quorum is the number of distinct operators that must approve a
	// recovery (0: none required).
	Quorum int
	// Argon2 are the parameters of new verifiers (its Salt is ignored);
	// the zero value is password.Defaults().
	Argon2 password.Params
	// RecoveryTTL is how long a recovery request stays open once it can
	// be completed; 0 means DefaultTTL.
	RecoveryTTL time.Duration
	// RecoveryDelay is how long after it was made a recovery request can
	// be completed, the time in which the owner can cancel it (0: at
	// once).
	RecoveryDelay time.Duration
	// ThrottleAfter is the number of failed code checks after which an
	// owner's next check waits ThrottleBase, doubling with each further
	// failure up to ThrottleMax (spec/escrow-api.md section 5.4); zero
	// values mean DefaultThrottleAfter, a minute and a day.
	ThrottleAfter int
	ThrottleBase  time.Duration
	ThrottleMax   time.Duration
	// CodeChecks bounds the concurrent Argon2id computations; 0 means
	// runtime.NumCPU(). A request that waits more than CodeCheckWait
	// (0: 2 seconds) for one is ErrUnavailable.
	CodeChecks    int
	CodeCheckWait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// UpkeepInterval is how often Run does its upkeep; 0 means a minute.
	UpkeepInterval time.Duration
	// Logger receives Run's upkeep failures; nil means slog.Default().
	Logger *slog.Logger
}

// Service is the backup authority's logic (spec/escrow-api.md section 7),
// without HTTP: each method checks its signed request, changes the store
// and returns records and receipts, or one of the sentinel errors of
// errors.go. It is safe for concurrent use, and several Services (in
// several processes) may share one Store.
type Service struct {
	store      Store
	id         *keyblob.Identity
	fp         keyblob.Fingerprint
	operators  map[keyblob.Fingerprint]*keyblob.Recipient
	quorum     int
	params     password.Params
	ttl        time.Duration
	sem        chan struct{}
	wait       time.Duration
	now        func() time.Time
	sealedSize int
	recipients *recipientCache
	upkeep     time.Duration
	log        *slog.Logger
	signed     signedCheckpoint
	treeCache  *hashCache
	delay      time.Duration
	throttle   throttle
	// checkTime is how long a code check takes, in nanoseconds (a moving
	// average): what a refusal without a check waits.
	checkTime atomic.Int64
}

// New checks c and returns its Service. The Service keeps c's Store,
// Identity and Operators, and does not change them.
func New(c *Config) (*Service, error) {
	if c.Store == nil || c.Identity == nil {
		return nil, errors.New("a backup authority needs a store and an identity")
	}
	if !c.Identity.CanExchange() || !c.Identity.CanSign() {
		return nil, errors.New("the authority's identity must have an exchange key and a signature key")
	}
	if _, err := api.NoteVerifier(c.Identity.Recipient()); err != nil {
		return nil, err
	}
	s := &Service{store: c.Store, id: c.Identity, fp: c.Identity.Recipient().Fingerprint(),
		quorum: c.Quorum, params: c.Argon2, ttl: c.RecoveryTTL, now: c.Now, wait: c.CodeCheckWait,
		operators: map[keyblob.Fingerprint]*keyblob.Recipient{}, recipients: newRecipientCache(recipientCacheSize),
		upkeep: c.UpkeepInterval, log: c.Logger, treeCache: new(hashCache), delay: c.RecoveryDelay,
		throttle: throttle{after: c.ThrottleAfter, base: c.ThrottleBase, max: c.ThrottleMax}}
	if s.delay < 0 {
		return nil, errors.New("the recovery delay cannot be negative")
	}
	if err := s.setDefaults(c); err != nil {
		return nil, err
	}
	for _, op := range c.Operators {
		if !op.CanVerify() {
			return nil, fmt.Errorf("operator %s has no signature key", op.Fingerprint())
		}
		s.operators[op.SigningFingerprint()] = op
	}
	if s.quorum < 0 || s.quorum > len(s.operators) {
		return nil, fmt.Errorf("a quorum of %d needs as many operators (there are %d)", s.quorum, len(s.operators))
	}
	return s, nil
}

func (s *Service) setDefaults(c *Config) error {
	if s.params == (password.Params{}) {
		s.params = password.Defaults()
	}
	if err := s.params.Check(); err != nil {
		return err
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	n := c.CodeChecks
	if n <= 0 {
		n = runtime.NumCPU()
	}
	s.sem = make(chan struct{}, n)
	if s.wait <= 0 {
		s.wait = 2 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.upkeep <= 0 {
		s.upkeep = time.Minute
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	// The sealed code's size is that of any wrap to this key.
	probe, err := keyblob.WrapSecret(s.id.Recipient(), make([]byte, keyblob.SecretSize), []byte("keyblob/v1 escrow size probe"))
	if err != nil {
		return err
	}
	s.sealedSize = len(probe)
	s.throttle.defaults()
	// One code check's time, until real ones are measured.
	var zero api.RecoveryCode
	start := time.Now()
	_, err = newVerifier(s.params, keyblob.Fingerprint{}, &zero)
	s.checkTime.Store(int64(time.Since(start)))
	return err
}

// Fingerprint returns the authority fingerprint (its exchange key's).
func (s *Service) Fingerprint() keyblob.Fingerprint { return s.fp }

// Ping reports whether the store answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// Info is the authority's public parameters (spec section 7.2).
type Info struct {
	Recipient         *keyblob.Recipient
	Time              time.Time
	ApprovalsRequired int
	RecoveryTTL       time.Duration
}

// Info returns the authority's public parameters, with the approvals the
// recovery policy in force requires.
func (s *Service) Info(ctx context.Context) (Info, error) {
	p, err := s.Policy(ctx)
	return Info{Recipient: s.id.Recipient(), Time: s.now().UTC(), ApprovalsRequired: p.Quorum, RecoveryTTL: s.ttl}, err
}

// verify is steps 2 and 3 of section 4 with the resolved key.
func (s *Service) verify(r *api.Request, key *keyblob.Recipient) error {
	return api.VerifyRequest(s.fp, r, key)
}

// fresh is steps 4 and 5 of section 4: the time window, then the nonce's
// first use.
func (s *Service) fresh(ctx context.Context, a *api.Auth) error {
	if err := s.inWindow(a); err != nil {
		return err
	}
	return s.useNonce(ctx, a)
}

// inWindow is step 4 of section 4, the time window.
func (s *Service) inWindow(a *api.Auth) error {
	now := s.now()
	if a.Time > now.Unix()+int64(api.MaxSkew/time.Second) || a.Time < now.Unix()-int64(api.MaxSkew/time.Second) {
		return fmt.Errorf("%w (the server's time is %d)", api.ErrRequestExpired, now.Unix())
	}
	return nil
}

// nonce is the store's record of a's nonce.
func nonce(a *api.Auth) Nonce {
	return Nonce{Signer: a.Signer, Value: a.Nonce, Expires: time.Unix(a.Time, 0).Add(api.MaxSkew)}
}

// useNonce is step 5 of section 4, the nonce's first use, on its own.
func (s *Service) useNonce(ctx context.Context, a *api.Auth) error {
	return nonceErr(s.store.UseNonce(ctx, nonce(a)))
}

// nonceErr reports the store's ErrReplay as ErrReplay, other failures
// as storeErr does.
func nonceErr(err error) error {
	if errors.Is(err, api.ErrReplay) {
		return api.ErrReplay
	}
	return storeErr(err)
}

// failAfterNonce uses a's nonce up, as every request that passed step 4
// does, and returns failure, unless the nonce was used before.
func (s *Service) failAfterNonce(ctx context.Context, a *api.Auth, failure error) error {
	if err := s.useNonce(ctx, a); err != nil {
		return err
	}
	return failure
}

// authenticate verifies r with key and checks its freshness.
func (s *Service) authenticate(ctx context.Context, r *api.Request, key *keyblob.Recipient) error {
	if err := s.verify(r, key); err != nil {
		return err
	}
	return s.fresh(ctx, r.Auth)
}

// storeErr reports a store failure that is none of the outcomes the
// caller expects as ErrUnavailable, keeping its text for the log, or, if
// the database cannot write (WriteError), as ErrStoreUnavailable.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	}
	if errors.Is(err, api.ErrStoreUnavailable) { // a *WriteError: the database cannot write
		return fmt.Errorf("store: %w", err)
	}
	return fmt.Errorf("%w: store: %v", api.ErrUnavailable, err)
}

// currentOwner resolves the signer of r as an owner's current identity
// and checks the request, nonce included (section 4).
func (s *Service) currentOwner(ctx context.Context, r *api.Request) (Owner, *keyblob.Recipient, error) {
	o, key, err := s.signingOwner(ctx, r)
	if err != nil {
		return o, key, err
	}
	return o, key, s.useNonce(ctx, r.Auth)
}

// signingOwner is currentOwner up to step 4 of section 4: the caller
// uses the nonce up.
func (s *Service) signingOwner(ctx context.Context, r *api.Request) (Owner, *keyblob.Recipient, error) {
	if r.Auth == nil {
		return Owner{}, nil, api.ErrUnauthenticated
	}
	o, err := s.store.Owner(ctx, r.Auth.Signer)
	switch {
	case errors.Is(err, api.ErrNotFound):
		return o, nil, api.ErrUnauthenticated
	case err != nil:
		return o, nil, storeErr(err)
	case o.Signer != r.Auth.Signer:
		return o, nil, api.ErrUnauthenticated // a retired identity
	}
	key, err := s.recipients.parse(o.Recipient)
	if err != nil {
		return o, nil, fmt.Errorf("%w: stored recipient of owner: %v", api.ErrInternal, err)
	}
	if err := s.verify(r, key); err != nil {
		return o, nil, err
	}
	return o, key, s.inWindow(r.Auth)
}

// argon runs f holding one of the concurrent code checks.
func (s *Service) argon(ctx context.Context, f func() error) error {
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case s.sem <- struct{}{}:
	case <-timer.C:
		return &api.RetryError{Err: fmt.Errorf("%w: too many concurrent code checks", api.ErrBusy), After: time.Second}
	case <-ctx.Done():
		return storeErr(ctx.Err())
	}
	defer func() { <-s.sem }()
	start := time.Now()
	err := f()
	// A moving average over about 16 checks.
	old := s.checkTime.Load()
	s.checkTime.Store(old + (int64(time.Since(start))-old)/16)
	return err
}

// checkSealedSize is the parse-time check of a sealed code's size.
func (s *Service) checkSealedSize(sealed []byte) error {
	if len(sealed) != s.sealedSize {
		return fmt.Errorf("%w sealed code: %d bytes, not %d", errMalformed, len(sealed), s.sealedSize)
	}
	return nil
}

func (s *Service) entry(kind api.AuditKind, owner, actor keyblob.Fingerprint, ref [16]byte, detail any) (api.AuditEntry, error) {
	d, err := marshalDetail(detail)
	if err != nil {
		return api.AuditEntry{}, fmt.Errorf("%w: audit detail: %v", api.ErrInternal, err)
	}
	return api.AuditEntry{Time: s.now().UTC(), Kind: kind, Owner: owner, Actor: actor, Ref: ref, Detail: d}, nil
}

// errMalformed is keyblob's one malformed-input sentinel.
var errMalformed = keyblob.ErrMalformed
