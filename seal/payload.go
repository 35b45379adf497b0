package seal

import (
	"io"

	"github.com/keyblob/keyblob/internal/stream"
)

// A Source is the plaintext that Seal reads: R, read as a stream to its
// io.EOF, or the Size bytes of At, which the workers read concurrently,
// each chunk at its offset (a regular file). Set exactly one of R and At.
// To read a file from an offset, give an io.SectionReader.
type Source struct {
	R    io.Reader
	At   io.ReaderAt
	Size int64
}

// A Sink is where Seal writes a message, or Opener.Decrypt a plaintext: W,
// written in order, or At, written from offset 0 by the workers, each
// chunk at its place as soon as it is ready, in no particular order. Set
// exactly one of W and At. At must allow writes at offsets (a file opened
// with O_APPEND does not). To write from an offset, give an io.OffsetWriter.
type Sink struct {
	W  io.Writer
	At io.WriterAt
}

// stream returns the source as the payload engine's.
func (s Source) stream() stream.Source {
	return stream.Source{R: s.R, At: s.At, Size: s.Size}
}

// stream returns the part of the sink from off as the payload engine's.
func (s Sink) stream(off int64) stream.Sink {
	if s.At != nil {
		return stream.Sink{At: s.At, Offset: off}
	}
	return stream.Sink{W: s.W}
}

// put writes p, which goes at offset off: in order to W, or at off to At.
func (s Sink) put(p []byte, off int64) error {
	var n int
	var err error
	if s.At != nil {
		n, err = s.At.WriteAt(p, off)
	} else {
		n, err = s.W.Write(p)
	}
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// payloadOptions are the engine's options for a payload: with the payload
// digest (spec/sealed.md, 3) when the message is signed.
func payloadOptions(workers int, progress func(int), signed bool) *stream.Options {
	o := &stream.Options{Workers: workers, Progress: progress}
	if signed {
		o.Digest = stream.NewChunkDigest(digestPrefix)
	}
	return o
}
