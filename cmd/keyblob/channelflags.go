package main

// The channel flags with a grammar, as pflag.Values: a bad word is a
// usage error through cobra's flag error path, and the shell completes
// the words.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/keyblob/keyblob/channel"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// wordsValue is a flag value of a fixed set of words.
type wordsValue interface {
	pflag.Value
	words() []string
}

// wordsFlag defines v as flag name of c and completes its words.
func wordsFlag(c *cobra.Command, v wordsValue, name, usage string) {
	c.Flags().Var(v, name, usage)
	c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return v.words(), cobra.ShellCompDirectiveNoFileComp
	})
}

// profileFlag defines --profile.
func profileFlag(c *cobra.Command, v *profileValue) {
	wordsFlag(c, v, "profile", "channel profile: "+strings.Join(channel.Profiles(), "|"))
}

// profileValue is --profile: a channel profile by name (zero: v2).
type profileValue struct{ p channel.Profile }

func (v *profileValue) Set(s string) (err error) { v.p, err = channel.ParseProfile(s); return err }
func (v *profileValue) String() string           { return v.p.String() }
func (v *profileValue) Type() string             { return "profile" }
func (v *profileValue) words() []string          { return channel.Profiles() }

// seedKeyValue is --seed-key: fresh (the zero value) or identity.
type seedKeyValue struct{ k channel.SeedKey }

var seedKeyWords = []string{"fresh", "identity"}

func (v *seedKeyValue) Set(s string) error {
	switch s {
	case "fresh":
		v.k = channel.SeedKeyFresh
	case "identity":
		v.k = channel.SeedKeyIdentity
	default:
		return fmt.Errorf("want fresh or identity")
	}
	return nil
}
func (v *seedKeyValue) String() string  { return seedKeyWords[min(int(v.k), 1)] }
func (v *seedKeyValue) Type() string    { return "fresh|identity" }
func (v *seedKeyValue) words() []string { return seedKeyWords }

// rsaBitsValue is --rsa-bits: 2048, 3072 or 4096.
type rsaBitsValue int

func (v *rsaBitsValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || (n != 2048 && n != 3072 && n != 4096) {
		return fmt.Errorf("want 2048, 3072 or 4096")
	}
	*v = rsaBitsValue(n)
	return nil
}
func (v *rsaBitsValue) String() string  { return strconv.Itoa(int(*v)) }
func (v *rsaBitsValue) Type() string    { return "bits" }
func (v *rsaBitsValue) words() []string { return []string{"2048", "3072", "4096"} }
