package seal

import (
	"bytes"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
)

// TestTamperCorpus damages a few genuine messages in every way it can think
// of — single-bit flips over the whole header and much of the payload and
// trailer, truncations, chunk swaps, duplicates and drops, trailing data,
// trailers removed and replaced, parts of other messages, broken armor —
// and opens every damaged message through the streaming Reader and through
// the file path (WriteTo from a regular file). Each must fail, without a
// panic, the same way on both paths, and release nothing but whole
// authenticated chunks of the genuine plaintext.
//
// For signed messages the released prefix is STREAM-authenticated only:
// it comes from the session key, which every recipient knows. The sender's
// signature is checked at EOF, so a consumer must discard what it read
// when the open fails; the test counts how often a signed message released
// all of its (genuine) plaintext before its signature check failed.
func TestTamperCorpus(t *testing.T) {
	bases := tamperBases(t)
	var groups []*tamperGroup
	total := 0
	for _, b := range bases {
		for _, g := range b.groups() {
			groups = append(groups, g)
			total += len(g.cases)
		}
	}
	want := total
	if testing.Short() {
		want = 500
	}
	step := max(1, total/want)
	run := 0
	for _, g := range groups {
		if step > 1 {
			var kept []tamperCase
			for i := 0; i < len(g.cases); i += step {
				kept = append(kept, g.cases[i])
			}
			g.cases = kept
		}
		run += len(g.cases)
	}
	if !testing.Short() && run < 10000 {
		t.Fatalf("the corpus has %d cases, want at least 10000", run)
	}

	stats := &tamperStats{classes: map[string]map[string]int{}}
	start := time.Now()
	t.Run("corpus", func(t *testing.T) {
		for _, g := range groups {
			t.Run(g.base.name+"/"+g.family, func(t *testing.T) {
				t.Parallel()
				sc := newScratch(t)
				failed := 0
				for _, c := range g.cases {
					if !runTamperCase(t, g.base, c, sc, stats) {
						if failed++; failed == 20 {
							t.Fatal("stopping this group after 20 failing cases")
						}
					}
				}
			})
		}
	})
	elapsed := time.Since(start)

	t.Logf("tamper corpus: %d damaged messages (of %d generated), %d opens, in %v", stats.cases, total, stats.opens, elapsed.Round(time.Millisecond))
	for _, b := range bases {
		t.Logf("  %-16s %s", b.name, formatClasses(stats.classes[b.name]))
	}
	t.Logf("  rejected: %d of %d (100%% required); panics: %d", stats.rejected, stats.cases, stats.panics)
	t.Logf("  released whole authenticated chunks before failing: %d opens; signed messages that released all their STREAM-authenticated plaintext before the signature check failed at EOF: %d opens",
		stats.releasedChunks, stats.releasedSigned)
}

// A tamperBase is a genuine message to damage.
type tamperBase struct {
	name    string
	msg     []byte // the binary message
	genuine []byte // the message as opened: msg, or its armor
	plain   []byte
	armored bool // the message is opened armored
	opts    func() *OpenOptions
	// passphrase: every open runs Argon2id, so the base gets fewer cases.
	passphrase bool
	p          parts
	sibling    parts // the same plaintext sealed again with the same options
	mallory    *keyblob.Identity
}

type tamperCase struct {
	name string
	make func() []byte // the damaged message, armored if the base is
}

type tamperGroup struct {
	base   *tamperBase
	family string
	cases  []tamperCase
}

func tamperBases(t *testing.T) []*tamperBase {
	alice, bob := testIdentity(t, "alice-x25519"), testIdentity(t, "bob-x25519")
	erin, grace := testIdentity(t, "erin-x25519"), testIdentity(t, "grace-x25519")
	mallory := testIdentity(t, "mallory-x25519")
	pass := []byte("tamper")
	byBob := func() *OpenOptions { return &OpenOptions{Identities: []*keyblob.Identity{bob}, Workers: 1} }
	specs := []struct {
		name       string
		size       int
		opts       *Options
		open       func() *OpenOptions
		armored    bool
		passphrase bool
	}{
		{"multi-recipient", 1500, &Options{Recipients: recipientsOf(bob, erin, grace)}, func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{erin}, Workers: 1}
		}, false, false},
		{"signed", 5000, &Options{Recipients: recipientsOf(bob), Signer: alice}, func() *OpenOptions {
			return &OpenOptions{Identities: []*keyblob.Identity{bob}, From: alice.Recipient(), Workers: 1}
		}, false, false},
		{"passphrase", 300, &Options{Passphrase: pass, Params: &cheapParams}, func() *OpenOptions {
			return &OpenOptions{Passphrase: func() ([]byte, error) { return pass, nil }, Workers: 1}
		}, false, true},
		{"empty", 0, &Options{Recipients: recipientsOf(bob)}, byBob, false, false},
		{"multi-chunk", 3*stream.ChunkSize + 1000, &Options{Recipients: recipientsOf(bob), Signer: alice}, byBob, false, false},
		{"long", 5*stream.ChunkSize + 777, &Options{Recipients: recipientsOf(bob)}, byBob, false, false},
		{"armored", 3000, &Options{Recipients: recipientsOf(bob, erin), Signer: alice}, byBob, true, false},
	}
	var bases []*tamperBase
	for i, s := range specs {
		plain := testPlaintext(s.size, uint64(100+i))
		msg := sealMsg(t, plain, s.opts)
		b := &tamperBase{
			name: s.name, msg: msg, plain: plain, armored: s.armored, opts: s.open,
			passphrase: s.passphrase, p: split(t, msg), sibling: split(t, sealMsg(t, plain, s.opts)),
			mallory: mallory,
		}
		b.genuine = b.wrap(msg)
		bases = append(bases, b)
		// Each base opens, on both paths.
		got, err := openBoth(t, s.name, b.genuine, s.open)
		wantPlain(t, s.name, got, err, plain)
	}
	if t.Failed() {
		t.FailNow()
	}
	return bases
}

// wrap returns a binary message as the base is opened: armored or not.
func (b *tamperBase) wrap(msg []byte) []byte {
	if !b.armored {
		return msg
	}
	var buf bytes.Buffer
	a, _ := NewArmorWriter(&buf)
	a.Write(msg)
	a.Close()
	return buf.Bytes()
}

// groups lists the damaged messages of a base, by family.
func (b *tamperBase) groups() []*tamperGroup {
	rng := mrand.New(mrand.NewPCG(uint64(len(b.msg)), 42))
	msg, p := b.msg, b.p
	hs, signed := p.h.Size(), p.h.Signed()
	trailerAt := len(msg) - len(p.trailer)
	chunks := chunksOf(p.payload)
	var groups []*tamperGroup
	var g *tamperGroup
	family := func(name string) {
		g = &tamperGroup{base: b, family: name}
		groups = append(groups, g)
	}
	add := func(name string, mk func() []byte) {
		g.cases = append(g.cases, tamperCase{name: name, make: func() []byte { return b.wrap(mk()) }})
	}
	addFlip := func(i, bit int) {
		add(fmt.Sprintf("byte %d bit %d", i, bit), func() []byte { return flipped(msg, i, bit) })
	}
	// The armored base is mostly damaged as text; its binary damage is
	// sampled more thinly.
	sparse := b.armored || b.passphrase

	family("header bits")
	for i := range hs {
		if !sparse {
			for bit := range 8 {
				addFlip(i, bit)
			}
			continue
		}
		for k := range 8 {
			bit := (i + k) % 8
			if !b.passphrase || cheapFlip(flipped(msg, i, bit)) {
				addFlip(i, bit)
				break
			}
		}
	}

	family("payload bits")
	every := 1
	switch {
	case b.passphrase:
		every = max(1, len(p.payload)/32)
	case b.armored || len(p.payload) > 4096:
		every = 3
	}
	if len(chunks) == 1 {
		for i := 0; i < len(p.payload); i += every {
			addFlip(hs+i, i%8)
		}
		addFlip(hs+len(p.payload)-1, 7)
	} else {
		for c, chunk := range chunks {
			at := hs + c*stream.EncChunkSize
			n := len(chunk)
			for _, off := range []int{0, 1, n / 2, n - 17, n - 16, n - 1} {
				addFlip(at+off, off%8)
			}
			for range 40 {
				addFlip(at+rng.IntN(n), rng.IntN(8))
			}
		}
	}

	if signed {
		family("trailer bits")
		for i := range len(p.trailer) {
			// Every bit where the payload is small; one bit a byte where
			// each open decrypts chunks.
			if sparse || len(chunks) > 1 {
				addFlip(trailerAt+i, i%8)
				continue
			}
			for bit := range 8 {
				addFlip(trailerAt+i, bit)
			}
		}
	}

	family("truncate")
	cuts := map[int]bool{}
	for n := 0; n <= hs; n++ {
		cuts[n] = true
	}
	for k := 1; k <= len(chunks); k++ {
		for d := -1; d <= 1; d++ {
			cuts[hs+k*stream.EncChunkSize+d] = true
		}
	}
	for n := trailerAt - 1; n < len(msg); n++ {
		cuts[n] = true
	}
	for _, n := range sortedKeys(cuts) {
		if n >= 0 && n < len(msg) {
			add(fmt.Sprintf("cut at %d of %d", n, len(msg)), func() []byte { return bytes.Clone(msg[:n]) })
		}
	}

	family("chunks")
	withChunks := func(name string, edit func([][]byte) [][]byte) {
		add(name, func() []byte {
			cs := edit(append([][]byte(nil), chunks...))
			return join(p.header, join(cs...), p.trailer)
		})
	}
	for i := range chunks {
		withChunks(fmt.Sprintf("chunk %d doubled", i), func(cs [][]byte) [][]byte {
			return append(cs[:i+1:i+1], cs[i:]...)
		})
		other := chunksOf(b.sibling.payload)[i]
		withChunks(fmt.Sprintf("chunk %d from the sibling", i), func(cs [][]byte) [][]byte {
			cs[i] = other
			return cs
		})
		if len(chunks) == 1 {
			continue
		}
		withChunks(fmt.Sprintf("chunk %d dropped", i), func(cs [][]byte) [][]byte {
			return append(cs[:i:i], cs[i+1:]...)
		})
		withChunks(fmt.Sprintf("chunk %d one byte short", i), func(cs [][]byte) [][]byte {
			cs[i] = cs[i][:len(cs[i])-1]
			return cs
		})
		withChunks(fmt.Sprintf("chunk %d appended again at the end", i), func(cs [][]byte) [][]byte {
			return append(cs, cs[i])
		})
		for j := i + 1; j < len(chunks); j++ {
			withChunks(fmt.Sprintf("chunks %d and %d swapped", i, j), func(cs [][]byte) [][]byte {
				cs[i], cs[j] = cs[j], cs[i]
				return cs
			})
		}
	}
	if len(chunks) > 1 {
		withChunks("chunks reversed", func(cs [][]byte) [][]byte {
			for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
				cs[i], cs[j] = cs[j], cs[i]
			}
			return cs
		})
		withChunks("last chunk first", func(cs [][]byte) [][]byte {
			return append([][]byte{cs[len(cs)-1]}, cs[:len(cs)-1]...)
		})
	}
	withChunks("empty chunk appended", func(cs [][]byte) [][]byte {
		return append(cs, make([]byte, stream.Overhead))
	})

	family("extend")
	junk := testPlaintext(stream.EncChunkSize, uint64(len(msg)))
	for _, n := range []int{1, 15, 16, 17, 64, 256, 1000} {
		add(fmt.Sprintf("%d bytes appended", n), func() []byte { return join(msg, junk[:n]) })
	}
	add("zero byte appended", func() []byte { return join(msg, []byte{0}) })
	add("last chunk appended", func() []byte { return join(msg, chunks[len(chunks)-1]) })
	add("message appended", func() []byte { return join(msg, msg) })
	add("sibling appended", func() []byte { return join(msg, b.sibling.header, b.sibling.payload, b.sibling.trailer) })
	add("byte before the trailer", func() []byte { return join(p.header, p.payload, []byte{0}, p.trailer) })
	add("full chunk of junk before the trailer", func() []byte { return join(p.header, p.payload, junk, p.trailer) })

	family("cross")
	s := b.sibling
	add("sibling's payload", func() []byte { return join(p.header, s.payload, p.trailer) })
	add("sibling's header", func() []byte { return join(s.header, p.payload, p.trailer) })
	add("sibling's payload and trailer", func() []byte { return join(p.header, s.payload, s.trailer) })
	add("header twice", func() []byte { return join(p.header, p.header, p.payload, p.trailer) })
	add("header only", func() []byte { return bytes.Clone(p.header) })
	add("no header", func() []byte { return join(p.payload, p.trailer) })
	if signed {
		add("sibling's trailer", func() []byte { return join(p.header, p.payload, s.trailer) })
		add("trailer removed", func() []byte { return join(p.header, p.payload) })
		add("trailer zeroed", func() []byte { return join(p.header, p.payload, make([]byte, len(p.trailer))) })
		add("trailer of junk", func() []byte { return join(p.header, p.payload, junk[:len(p.trailer)]) })
		add("trailer doubled", func() []byte { return join(p.header, p.payload, p.trailer, p.trailer) })
		add("signed by mallory", func() []byte {
			sig, err := b.mallory.Sign(signatureContext, join(p.header, payloadDigest(p.payload)))
			if err != nil {
				panic(err)
			}
			return join(p.header, p.payload, sig)
		})
	} else {
		add("a signature's worth of junk", func() []byte { return join(msg, junk[:64]) })
	}

	if b.armored {
		groups = append(groups, b.textGroups()...)
	}
	return groups
}

// textGroups damages the armored text itself.
func (b *tamperBase) textGroups() []*tamperGroup {
	text := b.wrap(b.msg)
	lines := strings.SplitAfter(string(text), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last LF
	bits := &tamperGroup{base: b, family: "text bits"}
	for i := range text {
		// Every bit of the first and last lines and the start of the
		// header; a third of the base64 bytes in between.
		n := 8
		if i >= 128 && i < len(text)-128 {
			if i%3 != 0 {
				continue
			}
			n = 1
		}
		for k := range n {
			bit := (i + k) % 8
			bits.cases = append(bits.cases, tamperCase{
				name: fmt.Sprintf("text byte %d bit %d", i, bit),
				make: func() []byte { return flipped(text, i, bit) },
			})
		}
	}
	cut := &tamperGroup{base: b, family: "text truncate"}
	cuts := map[int]bool{}
	for i, c := range text {
		if c == '\n' {
			cuts[i-1], cuts[i], cuts[i+1] = true, true, true
		}
	}
	for n := len(text) - 100; n < len(text); n++ {
		cuts[n] = true
	}
	// Cutting only the final LF leaves a valid armor: the end line's line
	// end is optional (spec/sealed.md section 4).
	for _, n := range sortedKeys(cuts) {
		if n >= 0 && n < len(text)-1 {
			cut.cases = append(cut.cases, tamperCase{
				name: fmt.Sprintf("text cut at %d", n),
				make: func() []byte { return bytes.Clone(text[:n]) },
			})
		}
	}
	edits := &tamperGroup{base: b, family: "text lines"}
	edit := func(name string, f func([]string) []string) {
		edits.cases = append(edits.cases, tamperCase{name: name, make: func() []byte {
			return []byte(strings.Join(f(append([]string(nil), lines...)), ""))
		}})
	}
	for i := range lines {
		edit(fmt.Sprintf("line %d dropped", i), func(ls []string) []string { return append(ls[:i:i], ls[i+1:]...) })
		edit(fmt.Sprintf("line %d doubled", i), func(ls []string) []string { return append(ls[:i+1:i+1], ls[i:]...) })
		// White space before the begin line and after the end line is
		// allowed (spec/sealed.md section 4): indenting the first line and
		// ending the last with CR alone leave a valid armor.
		if i < len(lines)-1 {
			edit(fmt.Sprintf("line %d CR only", i), func(ls []string) []string {
				ls[i] = strings.TrimSuffix(ls[i], "\n") + "\r"
				return ls
			})
		}
		if i > 0 {
			edit(fmt.Sprintf("line %d indented", i), func(ls []string) []string { ls[i] = " " + ls[i]; return ls })
		}
		if i+1 < len(lines) {
			edit(fmt.Sprintf("lines %d and %d swapped", i, i+1), func(ls []string) []string {
				ls[i], ls[i+1] = ls[i+1], ls[i]
				return ls
			})
			edit(fmt.Sprintf("lines %d and %d joined", i, i+1), func(ls []string) []string {
				ls[i] = strings.TrimSuffix(ls[i], "\n") + ls[i+1]
				return append(ls[:i+1:i+1], ls[i+2:]...)
			})
		}
	}
	edit("garbage after the end line", func(ls []string) []string { return append(ls, "x\n") })
	edit("garbage after white space", func(ls []string) []string { return append(ls, strings.Repeat("\n", 2000)+"x") })
	edit("text before the begin line", func(ls []string) []string { return append([]string{"hi\n"}, ls...) })
	edit("header line", func(ls []string) []string {
		return append([]string{ls[0], "Comment: x\n", "\n"}, ls[1:]...)
	})
	return []*tamperGroup{bits, cut, edits}
}

// cheapFlip reports whether a damaged passphrase message asks for at most
// a few times the test's Argon2id work, so that opening it stays fast.
func cheapFlip(msg []byte) bool {
	h, err := ReadHeader(bytes.NewReader(msg))
	if err != nil || !h.Passphrase() {
		return true
	}
	p := h.Stanzas()[0].pass.params
	return uint64(p.Time)*uint64(p.MemoryKiB) <= 3*uint64(cheapParams.MemoryKiB)
}

func sortedKeys(m map[int]bool) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

type tamperStats struct {
	sync.Mutex
	cases, opens, rejected, panics int
	releasedChunks, releasedSigned int
	classes                        map[string]map[string]int // base → class → count
}

func formatClasses(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	total := 0
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		total += m[k]
	}
	return fmt.Sprintf("%5d: %s", total, strings.Join(parts, ", "))
}

// scratch holds the files a group of cases reuses.
type scratch struct {
	src, dst *os.File
}

func newScratch(t *testing.T) *scratch {
	dir := t.TempDir()
	src, err := os.Create(dir + "/src")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(dir + "/dst")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close(); dst.Close() })
	return &scratch{src: src, dst: dst}
}

// reset empties f and rewinds it, then writes data.
func reset(f *os.File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err := f.WriteAt(data, 0); err != nil {
			return err
		}
	}
	return nil
}

// tamperOpen is one way to open a damaged message.
type tamperOpen struct {
	name  string
	holes bool // WriteTo a file: chunks are written at their offsets
	open  func(data []byte) ([]byte, error)
}

func (b *tamperBase) openers(t *testing.T, sc *scratch) []tamperOpen {
	// src opens data from a file: at offsets, or through the armor.
	src := func(data []byte) (*Opener, error) {
		if err := reset(sc.src, data); err != nil {
			t.Fatal(err)
		}
		if b.armored {
			return Open(NewArmorReader(sc.src), b.opts())
		}
		return OpenAt(sc.src, int64(len(data)), b.opts())
	}
	stream := tamperOpen{name: "stream", open: func(data []byte) ([]byte, error) {
		var r io.Reader = bytes.NewReader(data)
		if b.armored {
			r = NewArmorReader(r)
		}
		o, err := Open(r, b.opts())
		if err != nil {
			return nil, err
		}
		return io.ReadAll(o.Reader())
	}}
	file := tamperOpen{name: "file", open: func(data []byte) ([]byte, error) {
		o, err := src(data)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		_, err = o.WriteTo(&buf)
		return buf.Bytes(), err
	}}
	toFile := tamperOpen{name: "file to file", holes: true, open: func(data []byte) ([]byte, error) {
		o, err := src(data)
		if err != nil {
			return nil, err
		}
		if err := reset(sc.dst, nil); err != nil {
			t.Fatal(err)
		}
		_, err = o.Decrypt(Sink{At: sc.dst})
		out, rerr := os.ReadFile(sc.dst.Name())
		if rerr != nil {
			t.Fatal(rerr)
		}
		return out, err
	}}
	return []tamperOpen{stream, file, toFile}
}

// runTamperCase opens one damaged message every way and checks the
// result. It reports whether all was well.
func runTamperCase(t *testing.T, b *tamperBase, c tamperCase, sc *scratch, stats *tamperStats) (ok bool) {
	ok = true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		ok = false
	}
	data := c.make()
	if bytes.Equal(data, b.genuine) {
		t.Fatalf("%s: the damage left the message as it was", c.name)
	}
	openers := b.openers(t, sc)
	// Writing to a file at offsets is sampled: it shares the file path's
	// reading and differs only in where chunks go.
	if len(data)%7 != 0 && !strings.Contains(c.name, "chunk") {
		openers = openers[:2]
	}
	var classes []string
	for _, op := range openers {
		out, panicked, err := guardedOpen(op.open, data)
		class := errorClass(err)
		stats.Lock()
		stats.opens++
		switch {
		case panicked != nil:
			stats.panics++
		case err != nil && len(out) > 0 && len(out) == len(b.plain) && b.p.h.Signed():
			stats.releasedSigned++
		case err != nil && len(out) > 0:
			stats.releasedChunks++
		}
		stats.Unlock()
		switch {
		case panicked != nil:
			fail("%s: %s: panic: %v", c.name, op.name, panicked)
			class = "panic"
		case err == nil:
			fail("%s: %s: the damaged message was accepted", c.name, op.name)
		}
		if bad := unauthenticated(out, b.plain, op.holes); bad != "" {
			fail("%s: %s: %s (%v)", c.name, op.name, bad, err)
		}
		classes = append(classes, class)
	}
	for _, class := range classes[1:] {
		if class != classes[0] {
			fail("%s: the paths disagree: %v", c.name, classes)
			break
		}
	}
	stats.Lock()
	defer stats.Unlock()
	stats.cases++
	if classes[0] != classSuccess && classes[0] != "panic" {
		stats.rejected++
	}
	if stats.classes[b.name] == nil {
		stats.classes[b.name] = map[string]int{}
	}
	stats.classes[b.name][classes[0]]++
	return ok
}

func guardedOpen(open func([]byte) ([]byte, error), data []byte) (out []byte, panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	out, err = open(data)
	return out, nil, err
}
