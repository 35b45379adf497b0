package keyblob

import (
	"io"

	"github.com/keyblob/keyblob/internal/stream"
)

// A Source is a plaintext or an encrypted object to read: R, read as a
// stream to its io.EOF, or the Size bytes of At, which the workers read
// concurrently, each chunk at its offset (a regular file). Set exactly one
// of R and At. To read a file from an offset, give an io.SectionReader.
//
// Encrypted files (EncryptFile, DecryptAt) and sealed messages (seal.Seal,
// seal.OpenAt) take the same Source: seal.Source is this type.
type Source struct {
	R    io.Reader
	At   io.ReaderAt
	Size int64
}

// A Sink is where an encrypted object or a plaintext is written: W, written
// in order, or At, written from offset 0 by the workers, each chunk at its
// place as soon as it is ready, in no particular order. Set exactly one of
// W and At. At must allow writes at offsets (a file opened with O_APPEND
// does not). To write from an offset, give an io.OffsetWriter.
//
// Encrypted files (EncryptFile, Decrypter.Decrypt) and sealed messages
// (seal.Seal, seal.Opener.Decrypt) take the same Sink: seal.Sink is this
// type.
type Sink struct {
	W  io.Writer
	At io.WriterAt
}

// streamSource returns src as the payload engine's.
func streamSource(src Source) stream.Source {
	return stream.Source{R: src.R, At: src.At, Size: src.Size}
}

// streamSink returns dst as the payload engine's, from offset 0.
func streamSink(dst Sink) stream.Sink {
	return stream.Sink{W: dst.W, At: dst.At}
}
