package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/atomicfile"
	"github.com/keyblob/keyblob/internal/format"
	"github.com/keyblob/keyblob/replay/sqlitecache"
	"github.com/keyblob/keyblob/seal"
)

// sealFlags are the flags of keyblob seal.
type sealFlags struct {
	recipients, recipientFiles []string
	certs                      recipientCAFlags // --ca, --crl for -r CERT
	passphrase                 bool
	passFile                   string // --message-passphrase-file
	signer                     string
	escrow                     string // a stored authority's name
	expires                    time.Duration
	armor, quiet, force        bool
	out                        string
}

func newSealCmd(e *env) *cobra.Command {
	var f sealFlags
	c := &cobra.Command{
		Use:   "seal [-r RECIPIENT]... [-R FILE]... [--ca CA [--crl FILE]...] [-p] [--message-passphrase-file FILE] [-s IDENTITY [--escrow AUTHORITY]] [--expires DURATION] [-a] [-o OUT] [IN]",
		Short: "Encrypt a message to recipients: session key, payload and key blobs in one file",
		Long: `seal makes a new session key, encrypts IN (stdin if not given or -) with it,
and exports the key as a key blob to every recipient, all in one sealed
message written to OUT (stdout if not given): binary, or PEM with -a.

Recipients (-r, repeatable) are recipient lines, files holding one, or PEM
public key files; -R reads a file of recipient lines ('#' comments allowed).
A -r certificate (chain) file, PEM or DER, is verified with --ca CA (a CA
certificate file or a stored CA's name) and --crl FILE, for a person at
this time, and the message is sealed to the recipient it certifies.
-p seals to a passphrase instead (Argon2id; it must be the only recipient),
asked on the terminal, or read from --message-passphrase-file FILE (which
implies -p). --passphrase-file and KEYBLOB_PASSPHRASE_FILE unlock stored
identities (-s NAME) and are never used as a message passphrase.
-s signs the message, header and payload, so that 'open --from' can check
who sent it. Every message carries its creation time and a random serial;
--expires (e.g. 90m, 24h, 7d, 1d12h; at most 3650d) makes every open
refuse it after that.

--escrow AUTHORITY (a name from 'keyblob authority add') also deposits the
message's session key with that backup authority, owned and signed by the
-s identity (which must be enrolled), before anything is written: if the
deposit fails, nothing is sealed. With -o the key's serial (the message's)
is printed on stdout; without, on stderr.`,
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error { return e.seal(c.Context(), &f, firstArg(args)) },
	}
	fl := c.Flags()
	fl.StringArrayVarP(&f.recipients, "recipient", "r", nil, "seal to `RECIPIENT` (repeatable)")
	fl.StringArrayVarP(&f.recipientFiles, "recipients-file", "R", nil, "seal to every recipient in `FILE` (repeatable)")
	addRecipientCAFlags(c, &f.certs, "-r")
	fl.BoolVarP(&f.passphrase, "passphrase", "p", false, "seal to a passphrase, asked on the terminal")
	fl.StringVar(&f.passFile, messagePassphraseFlag, "", "seal to the passphrase on the first line of `FILE` (implies -p)")
	fl.StringVarP(&f.signer, "sign", "s", "", "sign as the identity in `FILE`")
	fl.StringVar(&f.escrow, "escrow", "", "also deposit the session key with the backup `AUTHORITY`, owned by -s")
	requireWith(c, "escrow", "sign")
	durationFlag(c, &f.expires, "expires", "refuse to open after this long (e.g. 90m, 24h, 7d, 1d12h; at most 3650d)")
	fl.BoolVarP(&f.armor, "armor", "a", false, "write PEM instead of binary")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	outputFlag(c, &f.out, &f.force, "write to `FILE` instead of stdout")
	return c
}

func (e *env) seal(ctx context.Context, f *sealFlags, inName string) error {
	opts, err := e.sealOptions(f)
	if err != nil {
		return err
	}
	if err := e.sealEscrow(ctx, f, opts); err != nil {
		return err
	}
	in, err := e.openInput(inName)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := e.createOutput(f.out, outputOptions{mode: modePublic, binary: !f.armor, replace: f.force})
	if err != nil {
		return err
	}
	if err := e.sealTo(out, in, opts, f); err != nil {
		out.Abort()
		return err
	}
	if err := out.Commit(); err != nil || f.escrow == "" {
		return err
	}
	if isStdio(f.out) {
		fmt.Fprintf(e.stderr, "keyblob: deposited the session key %s with %s\n", opts.SessionKey.Serial(), f.escrow)
	} else {
		fmt.Fprintln(e.stdout, opts.SessionKey.Serial())
	}
	return nil
}

// sealEscrow makes the message's session key and, with --escrow, deposits
// it (CryptoAPI's "export the session key again, to the authority's
// key"), signed by the -s identity, before the message is written.
func (e *env) sealEscrow(ctx context.Context, f *sealFlags, opts *seal.Options) error {
	if f.escrow == "" {
		return nil
	}
	opts.SessionKey = keyblob.NewSessionKey()
	desc := "sealed message"
	if !isStdio(f.out) {
		desc += " " + filepath.Base(f.out)
	}
	return e.escrowKey(ctx, f.escrow, opts.Signer, opts.SessionKey, desc)
}

// sealTo writes the sealed message: a regular input file is read at
// offsets, and a new output file written at offsets (see inputSource and
// outputSink); the armor is written in order.
func (e *env) sealTo(out *output, in io.Reader, opts *seal.Options, f *sealFlags) error {
	dst := outputSink(out)
	var armor *seal.ArmorWriter
	if f.armor {
		var err error
		if armor, err = seal.NewArmorWriter(out.target()); err != nil {
			return err
		}
		dst = seal.Sink{W: armor}
	}
	if err := e.sealPayload(dst, in, opts, f.quiet); err != nil {
		return fmt.Errorf("sealing: %w", err)
	}
	if armor != nil {
		return armor.Close()
	}
	return nil
}

func (e *env) sealPayload(dst seal.Sink, in io.Reader, opts *seal.Options, quiet bool) error {
	src, size := inputSource(in)
	bar := e.newProgress(size, "sealing", quiet)
	defer bar.finish()
	opts.Progress = bar.callback()
	_, err := seal.Seal(dst, src, opts)
	return err
}

// inputSource returns what seal reads: a regular file at offsets, from
// its current position to its end, and its size; anything else (a pipe,
// a terminal, a device) as a stream, of unknown size 0.
func inputSource(in io.Reader) (seal.Source, int64) {
	if file, off, size, ok := regularInput(in); ok {
		return seal.Source{At: io.NewSectionReader(file, off, size), Size: size}, size
	}
	return seal.Source{R: in}, 0
}

// outputSink returns where seal and open write: a new output file at
// offsets, as the workers finish chunks (it is a fresh file of ours, never
// opened for appending); stdout, a device or a pipe in order.
func outputSink(out *output) seal.Sink {
	if out.tmp != nil {
		return seal.Sink{At: out.tmp}
	}
	return seal.Sink{W: out.target()}
}

// regularBinary reports whether in is a regular file that starts, at its
// current position, with the binary magic of a keyblob object, and returns
// it from there to its end, to be read at offsets, and that size.
func regularBinary(in io.Reader) (*io.SectionReader, int64, bool) {
	file, off, size, ok := regularInput(in)
	if !ok {
		return nil, 0, false
	}
	start := make([]byte, format.HeaderSize)
	n, _ := file.ReadAt(start, off)
	if _, binary := format.Sniff(start[:n]); !binary {
		return nil, 0, false
	}
	return io.NewSectionReader(file, off, size), size, true
}

// regularInput reports whether in is a regular file, and from where to
// where it is to be read.
func regularInput(in io.Reader) (*os.File, int64, int64, bool) {
	f, ok := inputFile(in)
	if !ok {
		return nil, 0, 0, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, 0, 0, false
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, 0, false
	}
	return f, off, st.Size() - off, true
}

func (e *env) sealOptions(f *sealFlags) (*seal.Options, error) {
	opts := &seal.Options{Time: e.now()}
	var err error
	if opts.Recipients, err = e.loadRecipients(f.recipients, f.recipientFiles, &f.certs); err != nil {
		return nil, err
	}
	if err := e.sealKeys(f, opts); err != nil {
		return nil, err
	}
	if f.expires != 0 {
		opts.Expires = opts.Time.Add(f.expires)
	}
	return opts, nil
}

// sealKeys sets the passphrase and signer of a seal.
func (e *env) sealKeys(f *sealFlags, opts *seal.Options) error {
	passphrase := f.passphrase || f.passFile != ""
	switch {
	case passphrase && len(opts.Recipients) > 0:
		return usagef("-p cannot be combined with -r or -R: a passphrase must be the only recipient")
	case !passphrase && len(opts.Recipients) == 0:
		return usagef("seal needs at least one -r RECIPIENT, -R FILE, or -p (see 'keyblob seal --help')")
	case passphrase:
		pass, err := e.readMessagePassphrase("the new message", f.passFile, true)
		if err != nil {
			return err
		}
		opts.Passphrase = pass
	}
	if f.signer != "" {
		id, err := e.loadIdentity(f.signer)
		if err != nil {
			return err
		}
		if !id.CanSign() {
			return withHint(fmt.Errorf("identity %s has no signature key", f.signer), "-s needs an identity with an Ed25519 or RSA key")
		}
		opts.Signer = id
	}
	return nil
}

// loadRecipients reads -r arguments (certificates checked with certs)
// and -R files.
func (e *env) loadRecipients(args, files []string, certs *recipientCAFlags) ([]*keyblob.Recipient, error) {
	var rs []*keyblob.Recipient
	for _, arg := range args {
		r, err := e.loadRecipientCert(arg, certs)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if err := certs.done(); err != nil {
		return nil, err
	}
	for _, name := range files {
		data, err := e.readLimited(name, "recipients file", keyblob.MaxRecipientsFileSize)
		if err != nil {
			return nil, err
		}
		more, err := keyblob.ParseRecipients(data)
		if err != nil {
			err = fmt.Errorf("recipients file %s: %w", name, err)
			if errors.Is(err, keyblob.ErrRecipientChecksum) {
				return nil, withHint(err, "%s", typoHint)
			}
			return nil, withHint(err, "a recipients file has one recipient line per line; '#' starts a comment")
		}
		if len(more) == 0 {
			return nil, fmt.Errorf("recipients file %s has no recipients", name)
		}
		rs = append(rs, more...)
	}
	return rs, nil
}

// openFlags are the flags of keyblob open.
type openFlags struct {
	identities []string
	keyFile    string
	passphrase bool
	passFile   string // --message-passphrase-file
	from       string
	fromCerts  recipientCAFlags // --ca, --crl for --from CERT
	once       bool
	maxAge     time.Duration
	replayDB   string
	exportKey  bool
	force      bool
	quiet      bool
	out        string
}

func newOpenCmd(e *env) *cobra.Command {
	var f openFlags
	c := &cobra.Command{
		Use:   "open [-i IDENTITY]... [-p] [--message-passphrase-file FILE] [-k SESSIONKEY] [--from SENDER [--ca CA [--crl FILE]...]] [--once [--replay-db FILE]] [--max-age DURATION] [-o OUT] [IN]",
		Short: "Open a sealed message",
		Long: `open decrypts the sealed message IN (stdin if not given or -; binary or
PEM) to OUT (stdout if not given) with one of the identities (-i,
repeatable), or a session key (-k, alone). A message sealed with a
passphrase opens only when asked to: -p asks for the passphrase on the
terminal, --message-passphrase-file FILE reads it (--passphrase-file and
KEYBLOB_PASSPHRASE_FILE unlock stored identities, never messages). On any
failure OUT is not created and the exit status is 1.

--from SENDER requires a valid signature by SENDER (a recipient, as for -r,
or a certificate checked with --ca and --crl);
without it, a signature is checked and reported when present.
--once accepts each message once: a cache under $KEYBLOB_HOME (or
--replay-db FILE, only with --once) remembers an identifier that only the
message's session key gives, and messages older than --max-age (default
24h with --once) or dated in the future are refused. --max-age alone
refuses old messages without a cache.
A signed message, or one opened with --once, is written to stdout or a
device only once it is authentic (and accepted): until then its plaintext
is held in a private, nameless temporary file in $TMPDIR.
--export-session-key writes the message's session key to OUT instead of
the plaintext: it opens this one message, and no other ('open -k').`,
		Args: argsAtMost(1),
		RunE: func(c *cobra.Command, args []string) error { return e.open(&f, firstArg(args)) },
	}
	fl := c.Flags()
	fl.StringArrayVarP(&f.identities, "identity", "i", nil, "open with the identity in `FILE` (repeatable)")
	fl.StringVarP(&f.keyFile, "key", "k", "", "open with the session key in `FILE`")
	fl.BoolVarP(&f.passphrase, "passphrase", "p", false, "open a passphrase message, asking on the terminal")
	fl.StringVar(&f.passFile, messagePassphraseFlag, "", "open a passphrase message with the passphrase on the first line of `FILE`")
	fl.StringVar(&f.from, "from", "", "require a valid signature by `SENDER`")
	addRecipientCAFlags(c, &f.fromCerts, "--from")
	fl.BoolVar(&f.once, "once", false, "accept each message only once (replay cache)")
	durationFlag(c, &f.maxAge, "max-age", "refuse messages older than this (e.g. 90m, 7d; default 24h with --once; at most 3650d)")
	fl.StringVar(&f.replayDB, "replay-db", "", "with --once, the replay cache `FILE` (default $KEYBLOB_HOME/replay.db)")
	fl.BoolVar(&f.exportKey, "export-session-key", false, "write the message's session key instead of its plaintext")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	outputFlag(c, &f.out, &f.force, "write to `FILE` instead of stdout")
	requireWith(c, "replay-db", "once")
	return c
}

func (e *env) open(f *openFlags, inName string) error {
	if err := f.check(); err != nil {
		return err
	}
	opts, closeCache, err := e.openOptions(f)
	if err != nil {
		return err
	}
	defer closeCache()
	in, err := e.openInput(inName)
	if err != nil {
		return err
	}
	defer in.Close()
	peeked, head := peekInput(in)
	src, err := e.identityFromStore(f, peeked, opts)
	if err != nil {
		return wrongInput(err, head, inName, "sealed message")
	}
	o, size, err := openMessage(src, opts)
	if err != nil {
		return wrongInput(openError(err), head, inName, "sealed message")
	}
	if f.exportKey {
		data := o.SessionKey().MarshalPEM()
		return e.writeOutput(f.out, data, outputOptions{mode: modeSecret, key: true, replace: f.force})
	}
	if err := e.openTo(o, f, size); err != nil {
		return err
	}
	e.reportSignature(o)
	return nil
}

// identityFromStore is open's identity selection when no -i, -k, -p or
// --message-passphrase-file is given: the stored identity a stanza of the
// message is wrapped to (storedIdentityFor). It returns the input to open.
func (e *env) identityFromStore(f *openFlags, in io.Reader, opts *seal.OpenOptions) (io.Reader, error) {
	if len(f.identities) > 0 || f.keyFile != "" || f.passphrase || f.passFile != "" {
		return in, nil
	}
	ids, src, err := e.storedIdentityFor(in)
	opts.Identities = ids
	return src, err
}

// check refuses flags that conflict, rather than let one quietly win.
func (f *openFlags) check() error {
	passphrase := f.passphrase || f.passFile != ""
	switch {
	case f.once && f.exportKey:
		return usagef("--once and --export-session-key do not mix: exporting the key does not accept the message; open it with --once, or open -k KEY --once later")
	case f.keyFile != "" && len(f.identities) > 0:
		return usagef("-k/--key and -i/--identity do not mix: a session key opens its message by itself; give one or the other")
	case f.keyFile != "" && passphrase:
		return usagef("-k/--key and -p/--passphrase (or --%s) do not mix: a session key opens its message by itself; give one or the other", messagePassphraseFlag)
	}
	return nil
}

// openMessage opens the header, through the armor when there is one
// (seal.Dearmor). A regular file that starts with the binary magic is
// opened at offsets (seal.OpenAt), so that its payload is read in
// parallel. It returns the size of a regular input, 0 otherwise.
func openMessage(in io.Reader, opts *seal.OpenOptions) (*seal.Opener, int64, error) {
	if file, size, ok := regularBinary(in); ok {
		o, err := seal.OpenAt(file, size, opts)
		return o, size, err
	}
	src, err := seal.Dearmor(in)
	if err != nil {
		return nil, 0, err
	}
	o, err := seal.Open(src, opts)
	return o, 0, err
}

// reportSignature says on stderr who signed a message, once the signature
// has verified: the contact or stored identity that holds the key, and its
// fingerprint (signerName).
func (e *env) reportSignature(o *seal.Opener) {
	if o.Header().Signed() {
		fmt.Fprintf(e.stderr, "keyblob: good signature by %s\n", e.signerName(o.Header().Signer()))
	}
}

// openTo writes the plaintext of o to the output -o names. A file output
// is a temporary file until the message is authentic and accepted; so is
// the plaintext that must be held (see mustHold) on its way to stdout or
// a device.
func (e *env) openTo(o *seal.Opener, f *openFlags, size int64) error {
	out, err := e.createOutput(f.out, outputOptions{mode: modeSecret, replace: f.force})
	if err != nil {
		return err
	}
	if out.streamed() && mustHold(o, f.once) {
		err = e.openSpooled(o, out, f.quiet, size)
	} else {
		err = e.writePlain(o, outputSink(out), f.quiet, size)
		if errors.Is(err, seal.ErrAuth) && out.streamed() {
			err = withHint(err, "discard what was written to the output: the message is not authentic")
		}
	}
	if err != nil {
		out.Abort()
		return err
	}
	return out.Commit()
}

// mustHold reports whether no plaintext of o may reach a streamed output
// before WriteTo has returned nil: when the message is signed ("good
// signature by" is what the user trusts, and every recipient can make
// chunks that pass under the session key) or opened with --once (until
// it is recorded, it may be a replay). An unsigned message without --once
// streams chunk by chunk, each authenticated by its GCM tag.
func mustHold(o *seal.Opener, once bool) bool { return once || o.Header().Signed() }

// writePlain writes the plaintext of o to dst, with a progress bar.
func (e *env) writePlain(o *seal.Opener, dst seal.Sink, quiet bool, size int64) error {
	bar := e.newProgress(size, "opening", quiet)
	o.SetProgress(bar.callback())
	_, err := o.Decrypt(dst)
	bar.finish()
	return openError(err)
}

// openSpooled decrypts into a private spool file, which has no name and
// disappears with the process whatever ends it, and copies it to out only
// once WriteTo has returned nil: the signature verified and the replay
// slot reserved. A failure of that copy leaves the message used (--once
// fails closed).
func (e *env) openSpooled(o *seal.Opener, out *output, quiet bool, size int64) error {
	spool, err := atomicfile.Spool("")
	if err != nil {
		return withHint(fmt.Errorf("making a private temporary file for the plaintext: %w", err),
			"set TMPDIR to a writable directory with room for the plaintext, or use -o FILE")
	}
	defer spool.Close()
	// The spool is a fresh file of ours: written at offsets.
	if err := e.writePlain(o, seal.Sink{At: spool}, quiet, size); err != nil {
		return spoolError(err, spool.Name())
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// From the *os.File, so that the copy can be done by the kernel.
	if _, err := io.Copy(out.target(), spool); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

// spoolError names the spool, whose name means nothing to the user, by
// where it is: "a private temporary file in /tmp".
func spoolError(err error, spool string) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != spool {
		return err
	}
	return fmt.Errorf("holding the plaintext in a private temporary file in %s: %s: %w", os.TempDir(), pe.Op, pe.Err)
}

func (e *env) openOptions(f *openFlags) (*seal.OpenOptions, func(), error) {
	opts := &seal.OpenOptions{Now: e.now}
	if err := e.openKeys(f, opts); err != nil {
		return nil, nil, err
	}
	opts.MaxAge = f.maxAge
	if !f.once {
		return opts, func() {}, nil
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 24 * time.Hour
	}
	cache, err := e.openReplayCache(f.replayDB)
	if err != nil {
		return nil, nil, err
	}
	opts.Cache = cache
	return opts, func() { cache.Close() }, nil
}

func (e *env) openKeys(f *openFlags, opts *seal.OpenOptions) error {
	for _, name := range f.identities {
		ids, err := e.loadIdentities(name)
		if err != nil {
			return err
		}
		opts.Identities = append(opts.Identities, ids...)
	}
	if f.keyFile != "" {
		k, err := e.loadSessionKey(f.keyFile)
		if err != nil {
			return err
		}
		opts.SessionKey = k
	}
	if f.from != "" {
		r, err := e.loadRecipientCert(f.from, &f.fromCerts)
		if err != nil {
			return err
		}
		// Without a signature key, every message would be refused as
		// "signed by someone else ..., not by" a zero fingerprint.
		if !r.CanVerify() {
			return withHint(fmt.Errorf("--from %s: the recipient has no signature key (it can only receive)", f.from),
				"--from needs the sender's public key with its Ed25519 or RSA signature key")
		}
		opts.From = r
		if opts.FromAlso, err = e.olderGenerations(f.from); err != nil {
			return err
		}
	}
	if err := f.fromCerts.done(); err != nil {
		return err
	}
	if f.passphrase || f.passFile != "" {
		opts.Passphrase = func() ([]byte, error) { return e.readMessagePassphrase("this message", f.passFile, false) }
	}
	return nil
}

// olderGenerations returns the older generations of a stored identity
// named by --from, so that messages it signed before a rotation are
// accepted; nothing for files, lines and contacts.
func (e *env) olderGenerations(arg string) ([]*keyblob.Recipient, error) {
	if !storedName(arg) || strings.HasPrefix(arg, keyblob.RecipientPrefix) {
		return nil, nil
	}
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	rs, err := s.Senders(arg)
	if err != nil {
		return nil, storeError(err)
	}
	return rs[1:], nil
}

func (e *env) openReplayCache(path string) (*sqlitecache.Cache, error) {
	if path == "" {
		home, err := e.keyblobHome()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(home, "replay.db")
	}
	c, err := sqlitecache.Open(path)
	if err != nil {
		return nil, withFallbackHint(err, "--replay-db FILE chooses another replay cache")
	}
	return c, nil
}
