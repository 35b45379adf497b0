package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/keystore"
)

// Shell completion ('keyblob completion bash|zsh|fish|powershell', from
// cobra) completes the names of the key store where a command takes them,
// and the identity kinds. It only lists names: it never unlocks anything,
// so it never asks for a passphrase, and a missing or unreadable store
// completes nothing, silently.

// A completer lists the candidates for the word being completed.
type completer func(e *env, toComplete string) ([]string, cobra.ShellCompDirective)

// flagCompletions say how the value of each flag completes, by flag name,
// wherever a command defines the flag. byCommand overrides it for one
// command (by its cmdName).
var (
	flagCompletions = map[string]completer{
		"identity":  namesOrFiles(identityNames),
		"sign":      namesOrFiles(identityNames),
		"recipient": namesOrFiles(recipientNames),
		"verify":    namesOrFiles(recipientNames),
		"from":      namesOrFiles(recipientNames),
		"type":      kinds,
		"authority": namesOnly(authorityNames),
		"escrow":    namesOnly(authorityNames),
	}
	byCommand = map[string]map[string]completer{
		"key put":         {"identity": namesOnly(identityNames)}, // a stored identity, never a file
		"channel connect": {"server": namesOrFiles(recipientNames)},
	}
)

// argCompletions say how the NAME argument of store commands completes.
var argCompletions = map[string]completer{
	"id show":      namesOnly(identityNames),
	"id rm":        namesOnly(identityNames),
	"id rotate":    namesOnly(identityNames),
	"id export":    namesOnly(identityNames),
	"contact rm":   namesOnly(contactNames),
	"contact show": namesOnly(contactNames),
	"authority rm": namesOnly(authorityNames),
	"key get":      namesOnly(keyNames),
	"key rm":       namesOnly(keyNames),
}

// registerCompletions sets the completions of every command under root.
// It looks flags up by name, so it must run once the tree is built.
func registerCompletions(root *cobra.Command, e *env) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		name := cmdName(c)
		for flag, comp := range flagCompletions {
			if c.Flags().Lookup(flag) == nil {
				continue
			}
			if over, ok := byCommand[name][flag]; ok {
				comp = over
			}
			// Fails only for a flag registered twice, which this walk
			// of a tree does not do.
			_ = c.RegisterFlagCompletionFunc(flag, comp.flagFunc(e))
		}
		if comp, ok := argCompletions[name]; ok {
			c.ValidArgsFunction = comp.argFunc(e)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func (comp completer) flagFunc(e *env) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return comp(e, toComplete)
	}
}

// argFunc completes the first argument only: NAME.
func (comp completer) argFunc(e *env) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return comp(e, toComplete)
	}
}

// namesOrFiles completes store names, and file names too: when no name
// matches, the shell completes files (ShellCompDirectiveDefault).
func namesOrFiles(list func(*keystore.Store) ([]string, error)) completer {
	return func(e *env, toComplete string) ([]string, cobra.ShellCompDirective) {
		return matching(e.storeNames(list), toComplete), cobra.ShellCompDirectiveDefault
	}
}

// namesOnly completes store names and never files.
func namesOnly(list func(*keystore.Store) ([]string, error)) completer {
	return func(e *env, toComplete string) ([]string, cobra.ShellCompDirective) {
		return matching(e.storeNames(list), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func kinds(e *env, toComplete string) ([]string, cobra.ShellCompDirective) {
	return matching(keyblob.Kinds(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// matching keeps the candidates that start with prefix.
func matching(candidates []string, prefix string) []string {
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// storeNames lists names of the existing store, or none if there is no
// store or it cannot be read: completion must never fail loudly.
func (e *env) storeNames(list func(*keystore.Store) ([]string, error)) []string {
	home, err := e.keyblobHome()
	if err != nil {
		return nil
	}
	s, err := keystore.Open(home, nil)
	if err != nil {
		return nil
	}
	names, err := list(s)
	if err != nil {
		return nil
	}
	return names
}

func identityNames(s *keystore.Store) ([]string, error) {
	ids, err := s.Identities()
	var names []string
	for _, info := range ids {
		names = append(names, info.Name)
	}
	return names, err
}

func contactNames(s *keystore.Store) ([]string, error) {
	cs, err := s.Contacts()
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names, err
}

func authorityNames(s *keystore.Store) ([]string, error) {
	as, err := s.Authorities()
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	return names, err
}

// recipientNames are the names a recipient may be given by: contacts and
// identities, which share one name space, sorted, each with what it is as
// its description ("bob\tcontact"), which zsh and fish show.
func recipientNames(s *keystore.Store) ([]string, error) {
	ids, err := identityNames(s)
	if err != nil {
		return nil, err
	}
	cs, err := contactNames(s)
	var names []string
	for _, name := range ids {
		names = append(names, name+"\t"+keystore.KindIdentity)
	}
	for _, name := range cs {
		names = append(names, name+"\t"+keystore.KindContact)
	}
	slices.Sort(names)
	return names, err
}

func keyNames(s *keystore.Store) ([]string, error) {
	keys, err := s.Keys()
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	return names, err
}
