package bench

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// plainFile is the baseline every durable-append metric is compared with:
// an append-only file of canonical event lines, made durable with
// fdatasync — the least a durable log can do.
type plainFile struct {
	f   *os.File
	pos atomic.Uint64
}

func createPlain(path string) (*plainFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &plainFile{f: f}, nil
}

// encode appends the records for events, stamped as a store would stamp
// them (revision, position, recorded-at), to b: the same bytes the embedded
// store writes, one per line.
func (p *plainFile) encode(b []byte, stream string, firstRev uint64, events []eventstore.EventData) []byte {
	now := time.Now()
	last := p.pos.Add(uint64(len(events)))
	pos := last - uint64(len(events))
	for i, d := range events {
		pos++
		e := eventstore.Normalize(stream, d, firstRev+uint64(i), eventstore.Position(pos), now)
		b = eventstore.AppendCanonical(b, e)
		b = append(b, '\n')
	}
	return b
}

// writeSync writes b at the end of the file and waits until it is durable.
func (p *plainFile) writeSync(b []byte) error {
	if _, err := p.f.Write(b); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := fdatasync(p.f); err != nil {
		return fmt.Errorf("bench: fdatasync: %w", err)
	}
	return nil
}

func (p *plainFile) Close() error { return p.f.Close() }

// groupCommitter lets many writers share one plainFile: whoever's records
// are pending when the previous sync ends go out in one write and one
// fdatasync (group commit), which is what a careful hand-written log does.
type groupCommitter struct {
	p    *plainFile
	reqs chan groupReq
	done chan struct{}
}

type groupReq struct {
	rec  []byte
	resp chan error
}

func newGroupCommitter(p *plainFile, writers int) *groupCommitter {
	g := &groupCommitter{p: p, reqs: make(chan groupReq, writers), done: make(chan struct{})}
	go g.loop()
	return g
}

func (g *groupCommitter) loop() {
	defer close(g.done)
	var buf []byte
	var batch []groupReq
	for first := range g.reqs {
		batch = append(batch[:0], first)
	drain:
		for {
			select {
			case r, ok := <-g.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		buf = buf[:0]
		for _, r := range batch {
			buf = append(buf, r.rec...)
		}
		err := g.p.writeSync(buf)
		for _, r := range batch {
			r.resp <- err
		}
	}
}

// commit writes rec in the next group and waits until it is durable. resp
// must have room for one value.
func (g *groupCommitter) commit(rec []byte, resp chan error) error {
	g.reqs <- groupReq{rec: rec, resp: resp}
	return <-resp
}

// stop ends the committer once no writer is using it.
func (g *groupCommitter) stop() {
	close(g.reqs)
	<-g.done
}
