package stream

import (
	"sync"
	"sync/atomic"
)

// slots is the most batches of one stream in flight: one being read, up to
// two being processed, one being written. With 64 KiB chunks and at most
// 64 chunks a batch, memory stays constant and small.
const slots = 4

// pipe is one run of the pipeline: a feeder goroutine reads batch N+1 (or,
// for a ReaderAt, lays it out) while the workers process the chunks of
// batch N, and the caller's goroutine finishes batches in order: errors,
// digest, the ordered write, progress.
type pipe struct {
	e      *engine
	src    source
	s      *Source
	d      *Sink
	per    int // chunks per batch
	limit  int // batches at most
	made   int // batches made so far, by the feeder
	free   chan *batch
	order  chan *batch
	tasks  chan task
	failed atomic.Bool // the finisher has seen an error: stop reading
}

// task is one chunk for a worker.
type task struct {
	b *batch
	i int
}

// pipeline runs the rest of a stream from src to d and returns the number
// of bytes of results. Every goroutine it starts has ended when it returns.
func (e *engine) pipeline(src source, s *Source, d *Sink) (int64, error) {
	left := max(src.chunks(e), 1)
	per := int(min(uint64(e.chunks), left))
	p := &pipe{e: e, src: src, s: s, d: d, per: per, limit: int(min(slots, (left-1)/uint64(per)+1))}
	p.free = make(chan *batch, p.limit)
	p.order = make(chan *batch, p.limit)
	p.tasks = make(chan task, p.limit*per)
	var wg sync.WaitGroup
	wg.Go(p.feed)
	for range e.workers {
		wg.Go(p.work)
	}
	n, err := p.finish()
	wg.Wait()
	return n, err
}

// feed lays out (and, for a stream, reads) batch after batch and hands
// their chunks to the workers, until the last chunk or an error.
func (p *pipe) feed() {
	defer close(p.tasks)
	defer close(p.order)
	for !p.failed.Load() {
		b := p.batch()
		if b.err = p.src.next(p.e, b); b.err != nil {
			p.order <- b
			return
		}
		b.wg.Add(b.n)
		p.order <- b
		for i := range b.n {
			p.tasks <- task{b, i}
		}
		if b.last {
			return
		}
	}
}

// batch returns a free batch, making one while fewer than limit exist, so
// that a short stream gets few buffers.
func (p *pipe) batch() *batch {
	if p.made < p.limit {
		select {
		case b := <-p.free:
			return b
		default:
			p.made++
			return newBatch(p.per, p.e.open)
		}
	}
	return <-p.free
}

// work processes chunks until there are none.
func (p *pipe) work() {
	for t := range p.tasks {
		t.b.errs[t.i] = p.e.chunk(t.b, t.i, p.s, p.d)
		t.b.wg.Done()
	}
}

// finish finishes batches in order and returns the first error. After an
// error it writes nothing more, but still waits for every batch in flight.
func (p *pipe) finish() (int64, error) {
	var total int64
	var err error
	for b := range p.order {
		b.wg.Wait()
		if err == nil {
			var n int
			n, err = p.e.finish(b, p.d)
			total += int64(n)
			if err != nil {
				p.failed.Store(true)
			}
		}
		p.free <- b
	}
	return total, err
}

// parallel processes the chunks of b on up to e.workers goroutines and
// returns when all are done: the step of Writer and Reader, which process
// one batch per call.
func (e *engine) parallel(b *batch, s *Source, d *Sink) {
	workers := min(e.workers, b.n)
	if workers <= 1 {
		for i := range b.n {
			b.errs[i] = e.chunk(b, i, s, d)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < b.n; i = int(next.Add(1) - 1) {
				b.errs[i] = e.chunk(b, i, s, d)
			}
		})
	}
	wg.Wait()
}
