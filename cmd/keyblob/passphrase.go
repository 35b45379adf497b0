package main

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/keyblob/keyblob/internal/format"
)

// passphraseEnv names a file holding the store passphrase, for scripts.
const passphraseEnv = "KEYBLOB_PASSPHRASE_FILE"

// messagePassphraseFlag is the flag of seal and open that names a file
// holding a message passphrase.
const messagePassphraseFlag = "message-passphrase-file"

// readPassphrase returns the store passphrase, which unlocks stored
// identities (and derives session keys), for what (said in the prompt,
// and in the error when there is no terminal): from file, or from the file
// named by KEYBLOB_PASSPHRASE_FILE, or else from the terminal without echo
// (twice when confirm is set). It never reads a passphrase from stdin,
// which carries data. It is never used for a sealed message: see
// readMessagePassphrase.
func (e *env) readPassphrase(what, file string, confirm bool) ([]byte, error) {
	if file == "" {
		file = e.env(passphraseEnv)
	}
	var pass []byte
	var err error
	if file != "" {
		pass, err = readPassphraseFile(file, "check --passphrase-file or "+passphraseEnv)
	} else {
		pass, err = askPassphrase(what, confirm, "give --passphrase-file FILE, or set "+passphraseEnv)
	}
	if err == nil && confirm {
		e.warnShortPassphrase(what, pass)
	}
	return pass, err
}

// readMessagePassphrase returns the passphrase of a sealed message, for
// what: from file (--message-passphrase-file), or else from the terminal.
// It never uses --passphrase-file or KEYBLOB_PASSPHRASE_FILE: a message's
// sender must not get an oracle for the store passphrase, nor choose the
// Argon2id cost of trying it.
func (e *env) readMessagePassphrase(what, file string, confirm bool) ([]byte, error) {
	var pass []byte
	var err error
	if file != "" {
		pass, err = readPassphraseFile(file, "check --"+messagePassphraseFlag)
	} else {
		pass, err = askPassphrase(what, confirm, "give --"+messagePassphraseFlag+" FILE ("+
			"--passphrase-file and "+passphraseEnv+" unlock stored identities only, never messages)")
	}
	if err == nil && confirm {
		e.warnShortPassphrase(what, pass)
	}
	return pass, err
}

// minPassphrase is the length, in characters, under which a new
// passphrase draws a warning. A passphrase protects data that anyone who
// gets a copy can attack offline, at the cost of one Argon2id per guess
// (spec/keystore.md 10.1, 10.5): 12 characters is about where a random
// choice, or three or four random words, stops being within reach of such
// a search, and NIST SP 800-63B asks verifiers to accept at least 15 for
// single-factor use. It is a warning, not a refusal: the choice is the
// user's, and scripts and tests may have reasons.
const minPassphrase = 12

// warnShortPassphrase warns on stderr when a new passphrase for what
// (confirm was set: it is being chosen, not used) is shorter than
// minPassphrase characters (UTF-8; other bytes count one each), whether
// it came from the terminal or from a file. The passphrase itself is
// never printed.
func (e *env) warnShortPassphrase(what string, pass []byte) {
	if n := utf8.RuneCount(pass); n < minPassphrase {
		fmt.Fprintf(e.stderr, "keyblob: warning: the passphrase for %s has only %d characters: "+
			"whoever gets a copy of what it protects can guess it offline; choose at least %d (several random words)\n",
			what, n, minPassphrase)
	}
}

// askPassphrase asks for the passphrase of what on the terminal without
// echo, twice when confirm is set. Without a terminal the error carries
// hint, which says how else to give it.
func askPassphrase(what string, confirm bool, hint string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, withHint(fmt.Errorf("a passphrase for %s is needed and there is no terminal to ask for it", what), "%s", hint)
	}
	defer tty.Close()
	pass, err := prompt(tty, "Passphrase for "+what+": ")
	if err != nil || !confirm {
		return pass, err
	}
	again, err := prompt(tty, "Again, to confirm: ")
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(pass, again) != 1 {
		return nil, errors.New("the passphrases do not match")
	}
	return pass, nil
}

func prompt(tty *os.File, text string) ([]byte, error) {
	fmt.Fprint(tty, text)
	pass, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	if len(pass) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return pass, nil
}

// readPassphraseFile reads a passphrase file: its first line, without the
// line end. The file is bounded like key files (--passphrase-file
// /dev/zero must not read forever). hint says where the name came from.
func readPassphraseFile(name, hint string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, withHint(fmt.Errorf("passphrase file: %w", err), "%s", hint)
	}
	defer f.Close()
	data, err := format.ReadAll(f, maxSmallFile)
	if err != nil {
		return nil, fmt.Errorf("passphrase file %s: %w", name, err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", name)
	}
	return line, nil
}

// homeEnv overrides where keyblob keeps its state.
const homeEnv = "KEYBLOB_HOME"

// keyblobHome returns $KEYBLOB_HOME, or the user's config directory plus
// /keyblob.
func (e *env) keyblobHome() (string, error) {
	if h := e.env(homeEnv); h != "" {
		return h, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", withHint(err, "set %s to the directory keyblob should use", homeEnv)
	}
	return filepath.Join(dir, "keyblob"), nil
}
