package channel

import (
	"fmt"
	"strings"
)

// A Profile is one of the channel protocols. The zero Profile in a Config
// means V2.
type Profile uint8

// The profiles (spec/channel.md sections 3 and 4).
const (
	// Seed is the source design: RSA key transport, AES-128-CBC and a
	// truncated HMAC-SHA256 over direction, sequence number, IV and
	// ciphertext.
	Seed Profile = 1
	// V2 is the three-phase KEM exchange with forward secrecy and
	// AES-256-GCM records. It is the default.
	V2 Profile = 2
)

// profile is one entry of the profile table: everything that differs
// between the profiles, looked up by id.
type profile struct {
	id   Profile
	name string
	// newClient and newServer make the handshake state of each role for
	// a checked config.
	newClient, newServer func(*Config) (handshake, error)
	// check refuses configs the profile cannot run, for each role.
	check func(c *Config, server bool) error
}

// profiles is the table, in id order.
var profiles = []*profile{seedProfile, v2Profile}

var seedProfile = &profile{
	id: Seed, name: "seed",
	newClient: newSeedClient, newServer: newSeedServer, check: checkSeed,
}

var v2Profile = &profile{
	id: V2, name: "v2",
	newClient: newV2Client, newServer: newV2Server, check: checkV2,
}

// lookup returns the table entry of p, the zero Profile meaning V2.
func (p Profile) lookup() *profile {
	if p == 0 {
		p = V2
	}
	for _, e := range profiles {
		if e.id == p {
			return e
		}
	}
	return nil
}

// String returns the profile's name, "seed" or "v2".
func (p Profile) String() string {
	if e := p.lookup(); e != nil {
		return e.name
	}
	return fmt.Sprintf("unknown profile %d", uint8(p))
}

// Profiles returns the names of the profiles, the default first.
func Profiles() []string { return []string{v2Profile.name, seedProfile.name} }

// ParseProfile returns the profile of a name Profiles lists.
func ParseProfile(name string) (Profile, error) {
	for _, e := range profiles {
		if e.name == name {
			return e.id, nil
		}
	}
	return 0, fmt.Errorf("unknown channel profile %q (want %s)", name, strings.Join(Profiles(), " or "))
}
