package inspect

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/keystore"
	"github.com/keyblob/keyblob/password"
)

// What inspect says about the key store's own files (spec/keystore.md)
// and the parameter files of session derive. Contacts (recipient lines)
// and stored keys (key blobs) are described as those.

// describeStoredIdentity describes the public part of a stored identity,
// read without its passphrase and not authenticated by it. Stored
// identities are PEM only.
func describeStoredIdentity(rep *Report, in *input) error {
	if in.class.Form == Binary {
		return fmt.Errorf("a stored identity without its armor: stored identity files are PEM (%s)", keystore.StoredIdentityLabel)
	}
	return in.text(rep, describeStoredIdentityData)
}

func describeStoredIdentityData(rep *Report, data []byte) error {
	f, err := keystore.ParseIdentityFile(data)
	if err != nil {
		return err
	}
	cur := f.Current()
	rep.setType("stored_identity")
	rep.add("encoding", "encoding", "PEM")
	rep.add("name", "name", f.Name)
	describeKeys(rep, cur.Recipient)
	gens := make([]object, len(f.Generations))
	lines := make([]string, len(f.Generations))
	for i, g := range f.Generations {
		gens[i] = generationObject(g.Created, g.Recipient)
		lines[i] = fmt.Sprintf("%d: %s %s (%s)", i+1, textOf(g.Created), g.Recipient.Fingerprint(), g.Recipient.Kind())
	}
	rep.addText("generations", strconv.Itoa(len(f.Generations)))
	rep.addShown("generations", "generation", gens, lines...)
	rep.addShown("params", "passphrase", paramsObject(f.Params), "Argon2id "+costs(f.Params))
	rep.addText("checked", "no: the public part is authenticated only when the identity is unlocked")
	return nil
}

// generationObject is the JSON form of a generation of a stored identity.
func generationObject(created time.Time, r *keyblob.Recipient) object {
	keys := keyFacts{}
	if r != nil {
		keys = factsOf(r)
	}
	return object{{key: "created", value: created}, {key: "recipient", value: keys.object()}}
}

// describeGenerationRecord describes the record of the generations of a
// stored identity (spec/keystore.md 4.6).
func describeGenerationRecord(rep *Report, in *input) error {
	return in.text(rep, describeGenerationRecordData)
}

func describeGenerationRecordData(rep *Report, data []byte) error {
	name, fps, err := keystore.ParseGenerationRecord(data)
	if err != nil {
		return err
	}
	rep.setType("generation_record")
	rep.add("name", "name", name)
	list := make([]string, len(fps))
	lines := make([]string, len(fps))
	for i, fp := range fps {
		list[i] = fp.String()
		lines[i] = fmt.Sprintf("%d: %s", i+1, fp)
	}
	rep.addText("generations", strconv.Itoa(len(fps)))
	rep.addShown("fingerprints", "generation", list, lines...)
	return nil
}

// describeParamsFile describes a parameter file (spec/keystore.md 9.3),
// read as session derive --params reads it: the first line that is not
// blank or a comment.
func describeParamsFile(rep *Report, in *input) error {
	return in.text(rep, describeParamsData)
}

func describeParamsData(rep *Report, data []byte) error {
	p, err := parseParamsFile(data)
	if err != nil {
		return err
	}
	rep.setType("derive_parameters")
	rep.addShown("params", "argon2id", paramsObject(p), costs(p))
	rep.addText("salt", fmt.Sprintf("%x", p.Salt))
	return nil
}

// parseParamsFile parses the text of a parameter file.
func parseParamsFile(data []byte) (password.Params, error) {
	for line := range bytes.Lines(data) {
		if line = bytes.TrimSpace(line); len(line) > 0 && line[0] != '#' {
			return password.ParseText(string(line))
		}
	}
	return password.Params{}, fmt.Errorf("holds no parameters")
}

// costs says what Argon2id parameters cost, for the text form.
func costs(p password.Params) string {
	mem := fmt.Sprintf("%d KiB", p.MemoryKiB)
	if p.MemoryKiB%1024 == 0 {
		mem = fmt.Sprintf("%d MiB", p.MemoryKiB>>10)
	}
	return fmt.Sprintf("%d passes over %s, %d lanes", p.Time, mem, p.Threads)
}
