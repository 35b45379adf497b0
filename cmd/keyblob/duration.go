package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// maxDuration is the longest --expires or --max-age: ten years.
const maxDuration = 3650 * 24 * time.Hour

// durationUnits are the units of the one duration grammar, in the order
// they must appear: a DURATION is one or more NUMBER UNIT pairs, each
// unit at most once and largest first ("90m", "24h", "7d", "1d12h"),
// NUMBER being decimal digits. Fractions, signs and other units are not
// part of it, so every duration has few spellings and none surprises.
var durationUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'d', 24 * time.Hour},
	{'h', time.Hour},
	{'m', time.Minute},
	{'s', time.Second},
}

// durationGrammar says what parseDuration accepts, for messages and help.
const durationGrammar = "a number and a unit (d, h, m or s), repeated largest unit first, such as 90m, 24h, 7d or 1d12h"

// parseDuration parses a DURATION of the grammar above, positive and at
// most maxDuration.
func parseDuration(s string) (time.Duration, error) {
	var total time.Duration
	next := 0 // the first unit still allowed
	for rest := s; rest != ""; {
		n, unit, tail, err := durationTerm(rest, next)
		if err != nil {
			return 0, err
		}
		next = unit + 1
		if n > int64(maxDuration/durationUnits[unit].d) {
			return 0, fmt.Errorf("longer than the maximum, %s (ten years)", formatDuration(maxDuration))
		}
		total += time.Duration(n) * durationUnits[unit].d
		rest = tail
	}
	switch {
	case total > maxDuration:
		return 0, fmt.Errorf("longer than the maximum, %s (ten years)", formatDuration(maxDuration))
	case total <= 0:
		return 0, errors.New("want a positive duration: " + durationGrammar)
	}
	return total, nil
}

// durationTerm reads one NUMBER UNIT from s, whose unit must be
// durationUnits[next] or a smaller one, and returns the number, the
// unit's index and the rest of s.
func durationTerm(s string, next int) (int64, int, string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) || i > 12 {
		return 0, 0, "", errors.New("want " + durationGrammar)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, 0, "", errors.New("want " + durationGrammar)
	}
	for u := next; u < len(durationUnits); u++ {
		if durationUnits[u].unit == s[i] {
			return n, u, s[i+1:], nil
		}
	}
	return 0, 0, "", errors.New("want " + durationGrammar)
}

// formatDuration writes d in the grammar: "3650d", "1d12h", "90m" is
// written "1h30m".
func formatDuration(d time.Duration) string {
	out := ""
	for _, u := range durationUnits {
		if n := d / u.d; n > 0 {
			out += strconv.FormatInt(int64(n), 10) + string(u.unit)
			d -= n * u.d
		}
	}
	if out == "" {
		return "0s"
	}
	return out
}

// durationValue is a flag holding a DURATION, checked as it is parsed.
type durationValue struct{ d *time.Duration }

func (v durationValue) Type() string { return "DURATION" }

func (v durationValue) String() string {
	if *v.d == 0 {
		return ""
	}
	return formatDuration(*v.d)
}

// Set parses s (parseDuration).
func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// durationFlag adds --name DURATION to c; zero means not given.
func durationFlag(c *cobra.Command, d *time.Duration, name, usage string) {
	c.Flags().Var(durationValue{d}, name, usage)
}

// delayValue is a flag holding a DURATION that may be zero ("0s"): a
// delay that can be switched off.
type delayValue struct{ d *time.Duration }

func (v delayValue) Type() string { return "DURATION" }

func (v delayValue) String() string {
	if *v.d == 0 {
		return "0s"
	}
	return formatDuration(*v.d)
}

// Set parses s: 0s, or a DURATION (parseDuration).
func (v delayValue) Set(s string) error {
	if s == "0s" {
		*v.d = 0
		return nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}
