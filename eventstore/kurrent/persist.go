package kurrent

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
)

// The position index on disk, so that a restarted Store reads only what
// was appended to $all since it stopped.
//
// The file is a header followed by fixed-size records, appended (and
// fsync'd) as the index grows:
//
//	header: "PLKXPOS1" | u16 namespace length | namespace | u32 CRC-32C of the preceding bytes
//	record: type 'L' or 'M' | u64 n | u64 commit | u64 prepare | 16-byte event id | u32 CRC-32C of the preceding 41 bytes
//
// An 'L' record says that Position n is the event with that id at that
// $all position; n counts up from 1 with no gap. An 'M' record marks the
// last $all record (of any kind) the index had looked at when it was
// written, with n the number of Positions then. Everything is big-endian.
//
// Loading keeps the longest prefix of well-formed records (CRC, n in
// sequence, positions increasing), so a torn or damaged tail costs only a
// re-read. A prefix can still be wrong for this database (a data directory
// pointed at another cluster, a database restored from an older backup), so
// the Store's first read of $all starts at the record the file ends with
// and must find that very event there (same position, same id), or,
// failing that, the last numbered event; otherwise the index is rebuilt
// from the start of $all. Ledger events are never removed from $all, so
// the last numbered event is always found in the right database.
const (
	indexMagic   = "PLKXPOS1"
	indexRecLen  = 45
	recLedger    = 'L'
	recMark      = 'M'
	flushEvery   = 2 * time.Second
	maxNamespace = 1 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// loadedIndex is what decodeIndex found in a file.
type loadedIndex struct {
	pos    []esdb.Position
	evs    []uuid.UUID
	mark   point // the last 'M' record, if markOK
	markOK bool
	clean  bool // the whole file was well-formed
}

// decodeIndex parses an index file written for namespace ns. ok is false
// when the header is unusable (another format or namespace).
func decodeIndex(b []byte, ns string) (li loadedIndex, ok bool) {
	if len(b) < len(indexMagic)+2+4 || string(b[:len(indexMagic)]) != indexMagic {
		return li, false
	}
	n := int(binary.BigEndian.Uint16(b[len(indexMagic):]))
	hl := len(indexMagic) + 2 + n + 4
	if n > maxNamespace || len(b) < hl || string(b[len(indexMagic)+2:hl-4]) != ns ||
		crc32.Checksum(b[:hl-4], castagnoli) != binary.BigEndian.Uint32(b[hl-4:hl]) {
		return li, false
	}
	rest := b[hl:]
	for len(rest) >= indexRecLen {
		r := rest[:indexRecLen]
		if crc32.Checksum(r[:indexRecLen-4], castagnoli) != binary.BigEndian.Uint32(r[indexRecLen-4:]) {
			break
		}
		seq := binary.BigEndian.Uint64(r[1:])
		p := point{pos: esdb.Position{Commit: binary.BigEndian.Uint64(r[9:]), Prepare: binary.BigEndian.Uint64(r[17:])}}
		copy(p.id[:], r[25:41])
		var prev esdb.Position
		if len(li.pos) > 0 {
			prev = li.pos[len(li.pos)-1]
		}
		good := false
		switch r[0] {
		case recLedger:
			good = seq == uint64(len(li.pos))+1 && (len(li.pos) == 0 || less(prev, p.pos))
			if good {
				li.pos = append(li.pos, p.pos)
				li.evs = append(li.evs, p.id)
				li.markOK = false // a mark is only useful after the last Position
			}
		case recMark:
			good = seq == uint64(len(li.pos)) && (len(li.pos) == 0 || !less(p.pos, prev)) &&
				(!li.markOK || !less(p.pos, li.mark.pos))
			if good {
				li.mark, li.markOK = p, true
			}
		}
		if !good {
			break
		}
		rest = rest[indexRecLen:]
	}
	li.clean = len(rest) == 0
	return li, true
}

func indexHeader(ns string) []byte {
	b := append([]byte(indexMagic), 0, 0)
	binary.BigEndian.PutUint16(b[len(indexMagic):], uint16(len(ns)))
	b = append(b, ns...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func appendRecord(b []byte, typ byte, n uint64, p point) []byte {
	start := len(b)
	b = append(b, typ)
	b = binary.BigEndian.AppendUint64(b, n)
	b = binary.BigEndian.AppendUint64(b, p.pos.Commit)
	b = binary.BigEndian.AppendUint64(b, p.pos.Prepare)
	b = append(b, p.id[:]...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// indexFile persists an index incrementally.
type indexFile struct {
	path string
	ns   string

	mu        sync.Mutex
	persisted int   // Positions in the file
	mark      point // the last mark written, if marked
	marked    bool
	intact    bool // the file holds exactly a header and persisted Positions (and marks)
}

// load reads the file; a missing, unreadable or foreign file loads as empty
// (and will be rewritten).
func (f *indexFile) load() (loadedIndex, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return loadedIndex{}, nil
	}
	if err != nil {
		return loadedIndex{}, err
	}
	li, ok := decodeIndex(b, f.ns)
	f.mu.Lock()
	defer f.mu.Unlock()
	if ok {
		f.persisted = len(li.pos)
		f.intact = li.clean
		f.mark, f.marked = li.mark, li.markOK
	}
	return li, nil
}

// discard makes the next flush rewrite the file from scratch.
func (f *indexFile) discard() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.persisted, f.intact, f.marked = 0, false, false
}

// flush writes what x has that the file has not: appended and fsync'd
// when the file is intact, else the whole file, replaced atomically.
func (f *indexFile) flush(x *index) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := f.persisted
	if !f.intact {
		from = 0
	}
	pos, evs, total, last, lastOK := x.since(from)
	if total < from {
		// The index was reset (rebuilt) since: start the file again.
		f.intact = false
		pos, evs, total, last, lastOK = x.since(0)
		from = 0
	}
	mark := lastOK && (!f.marked || last != f.mark) && (total == 0 || !less(last.pos, lastPos(x, total)))
	if f.intact && len(pos) == 0 && !mark {
		return nil
	}
	var buf []byte
	if !f.intact {
		buf = indexHeader(f.ns)
	}
	for i := range pos {
		buf = appendRecord(buf, recLedger, uint64(from+i+1), point{pos[i], evs[i]})
	}
	if mark {
		buf = appendRecord(buf, recMark, uint64(total), last)
	}
	var err error
	if f.intact {
		err = durable.Append(f.path, buf, 0o600)
	} else {
		if err = durable.MkdirAll(filepath.Dir(f.path), 0o700); err == nil {
			err = durable.WriteFile(f.path, buf, 0o600)
		}
	}
	if err != nil {
		// An append may have been partly written: rewrite next time.
		f.intact = false
		return err
	}
	f.persisted, f.intact = total, true
	if mark {
		f.mark, f.marked = last, true
	}
	return nil
}

func lastPos(x *index, total int) esdb.Position {
	p, _ := x.at(eventstore.Position(total))
	return p
}

// resume continues an index loaded from the file. Its first read of $all
// starts at the record the file ended with and must return that event
// first; failing that, at the last numbered event. Neither found, the
// index is rebuilt from the start of $all.
func (s *Store) resume(ctx context.Context, li loadedIndex) error {
	var tries []point
	if li.markOK {
		tries = append(tries, li.mark)
	}
	if n := len(li.pos); n > 0 {
		tries = append(tries, point{li.pos[n-1], li.evs[n-1]})
	}
	if len(tries) == 0 {
		return s.catchUp(ctx)
	}
	s.idx.restore(li.pos, li.evs, tries[0])
	for _, p := range tries {
		got, err := s.rawReadAll(ctx, p.pos, uint64(s.cfg.page))
		if err != nil && (transient(err) || ctx.Err() != nil || s.checkOpen() != nil) {
			return err
		}
		if err == nil && len(got) > 0 && got[0].Position == p.pos && got[0].EventID == p.id {
			s.idx.resumeAt(p.pos)
			s.idx.apply(got...)
			if len(got) < s.cfg.page {
				return nil
			}
			return s.catchUp(ctx)
		}
	}
	s.log.Warn("the position index on disk does not match the database; rebuilding it from $all", "file", s.file.path)
	s.idx.reset()
	s.file.discard()
	return s.catchUp(ctx)
}

// flushIndex writes the index file, if there is one, logging failures: the
// file only saves work at the next start.
func (s *Store) flushIndex() {
	if s.file == nil {
		return
	}
	if err := s.file.flush(s.idx); err != nil {
		s.log.Warn("writing the position index", "file", s.file.path, "err", err)
	}
}

// flusher writes the index file every flushEvery until ctx ends.
func (s *Store) flusher(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.flushIndex()
		}
	}
}
