package seal

import (
	"github.com/keyblob/keyblob"
	"github.com/keyblob/keyblob/internal/stream"
)

// A Source is the plaintext that Seal reads: keyblob.Source, which
// encrypted files take too. R is read as a
// stream to its io.EOF; the Size bytes of At are read by the workers
// concurrently, each chunk at its offset (a regular file). Set exactly one
// of R and At.
type Source = keyblob.Source

// A Sink is where Seal writes a message, or Opener.Decrypt a plaintext:
// keyblob.Sink, which encrypted files take too. W is written in order; At
// from offset 0 by the workers, each chunk at its place as soon as it is
// ready. Set exactly one of W and At.
type Sink = keyblob.Sink

// streamSource returns src as the payload engine's.
func streamSource(src Source) stream.Source {
	return stream.Source{R: src.R, At: src.At, Size: src.Size}
}

// streamSink returns dst as the payload engine's, from offset 0.
func streamSink(dst Sink) stream.Sink {
	return stream.Sink{W: dst.W, At: dst.At}
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
