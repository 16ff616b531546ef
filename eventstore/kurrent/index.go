package kurrent

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

// index maps the ledger's dense Positions onto $all.
//
// KurrentDB's $all positions (commit, prepare) are byte offsets in its
// transaction file: strictly increasing but sparse, and $all also carries
// the server's own system events. The ledger's Position n is defined as the
// n-th ledger event in $all order, where a ledger event is one whose type
// and stream do not start with '$'. That definition depends only on the
// contents of $all, so every ledger process reading the same cluster
// computes the same Positions, and a restarted process recomputes them by
// reading $all again (or only its new part, from a verified index file). (It also requires that ledger streams are never
// deleted, truncated or scavenged: removing an event from $all would
// renumber every later one. The ledger never deletes; operators must not
// set $maxAge/$maxCount/$tb on ledger streams.)
//
// The index is fed from two places — the follower's filtered $all
// subscription and catch-up reads of $all — which may overlap. Both deliver
// a contiguous run of $all in order, starting at or before seen, so an event
// after seen is the next ledger event and one at or before seen has been
// counted already. That single rule makes the feeds safe to interleave.
type index struct {
	ns     string // stream name prefix of this ledger's streams; "" for all
	mu     sync.RWMutex
	pos    []esdb.Position      // pos[n-1] is the $all position of Position n
	evs    []uuid.UUID          // evs[n-1] is the event id of Position n
	ids    map[uuid.UUID]uint64 // event id -> Position, for idempotency checks
	seen   esdb.Position        // every $all record up to here has been looked at
	any    bool                 // whether seen is meaningful (false: nothing read yet)
	last   point                // the last $all record applied (any kind), if lastOK
	lastOK bool
	wait   map[uuid.UUID]*waiter // appends waiting to learn their events' Positions
	// recent holds the latest ledger events as the feeds delivered them,
	// Positions recentFrom.., so that readers near the head (the read
	// models, the integrity log, subscribers) are served without asking
	// the server again for what the index has just read.
	recent     []eventstore.Event
	recentFrom eventstore.Position
	// notify is closed and replaced whenever Positions are added, so that
	// subscribers and appenders wait for it rather than poll.
	notify chan struct{}
}

// waiter receives the stored event with the given id once the index
// numbers it.
type waiter struct {
	ev eventstore.Event
	ok bool
}

func newIndex(ns string) *index {
	return &index{
		ns:     ns,
		ids:    make(map[uuid.UUID]uint64),
		wait:   make(map[uuid.UUID]*waiter),
		notify: make(chan struct{}),
	}
}

func less(a, b esdb.Position) bool {
	return a.Commit < b.Commit || a.Commit == b.Commit && a.Prepare < b.Prepare
}

// isLedgerEvent is the one predicate that decides which $all records get a
// Position. The follower's server-side filter excludes $-types (or, with a
// namespace, other streams); streams starting with '$' are excluded here as
// well because some system streams hold events whose type has no '$'.
// The data keys' streams (keys.go) are excluded too.
func (x *index) isLedgerEvent(e *esdb.RecordedEvent) bool {
	return !strings.HasPrefix(e.EventType, "$") && !strings.HasPrefix(e.StreamID, "$") &&
		strings.HasPrefix(e.StreamID, x.ns) && !strings.HasPrefix(e.StreamID[len(x.ns):], keyPrefix)
}

// from returns where a read or subscription continuing the index starts.
func (x *index) from() esdb.AllPosition {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.any {
		return esdb.Start{}
	}
	return x.seen
}

// apply numbers the records of a contiguous run of $all.
func (x *index) apply(recs ...*esdb.RecordedEvent) {
	x.mu.Lock()
	defer x.mu.Unlock()
	added := false
	for _, r := range recs {
		if r == nil || x.any && !less(x.seen, r.Position) {
			continue // counted already
		}
		x.seen, x.any = r.Position, true
		x.last, x.lastOK = point{r.Position, r.EventID}, true
		if !x.isLedgerEvent(r) {
			continue
		}
		x.pos = append(x.pos, r.Position)
		x.evs = append(x.evs, r.EventID)
		p := uint64(len(x.pos))
		if _, dup := x.ids[r.EventID]; !dup {
			x.ids[r.EventID] = p
		}
		ev := decode(r, eventstore.Position(p), x.ns)
		if w := x.wait[r.EventID]; w != nil {
			w.ev, w.ok = ev, true
			w.ev.Data = bytes.Clone(ev.Data) // the caller's own copy
		}
		if len(x.recent) == 0 {
			x.recentFrom = ev.Position
		}
		x.recent = append(x.recent, ev)
		if len(x.recent) >= 2*recentEvents {
			n := copy(x.recent, x.recent[len(x.recent)-recentEvents:])
			clear(x.recent[n:])
			x.recent = x.recent[:n]
			x.recentFrom = ev.Position - recentEvents + 1
		}
		added = true
	}
	if added {
		close(x.notify)
		x.notify = make(chan struct{})
	}
}

// recentEvents is how many of the latest ledger events the index keeps
// (at least, and at most twice as many).
const recentEvents = 4096

// recentAfter returns up to limit events after Position after from the
// recent events, when they start at or before after+1. Each event's data
// is a copy, so callers may keep or change it.
func (x *index) recentAfter(after eventstore.Position, limit int) ([]eventstore.Event, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(x.recent) == 0 || after+1 < x.recentFrom {
		return nil, false
	}
	i := int(after + 1 - x.recentFrom)
	if i >= len(x.recent) {
		return nil, true
	}
	evs := slices.Clone(x.recent[i:min(len(x.recent), i+limit)])
	for j := range evs {
		evs[j].Data = bytes.Clone(evs[j].Data)
	}
	return evs, true
}

// point is a record of $all: its position and event id.
type point struct {
	pos esdb.Position
	id  uuid.UUID
}

// restore loads a persisted index (see persist.go): Positions 1..len(pos)
// and the record it was last at. Nothing is verified here; the Store's
// first read checks the record at seen.
func (x *index) restore(pos []esdb.Position, evs []uuid.UUID, last point) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pos, x.evs = pos, evs
	x.recent = nil
	clear(x.ids)
	for i, id := range evs {
		if _, dup := x.ids[id]; !dup {
			x.ids[id] = uint64(i + 1)
		}
	}
	x.seen, x.any = last.pos, true
	x.last, x.lastOK = last, true
}

// reset empties the index (a persisted one did not match the database).
func (x *index) reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pos, x.evs = nil, nil
	x.recent = nil
	clear(x.ids)
	x.seen, x.any = esdb.Position{}, false
	x.last, x.lastOK = point{}, false
}

// resumeAt moves seen back to p, a record the index has applied, so the
// next read starts there (and returns it first, which verifies it).
func (x *index) resumeAt(p esdb.Position) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.seen, x.any = p, true
}

// since returns copies of the $all positions and ids of Positions after
// n, the number of Positions, and the last record applied.
func (x *index) since(n int) (pos []esdb.Position, evs []uuid.UUID, total int, last point, lastOK bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n = min(n, len(x.pos))
	return slices.Clone(x.pos[n:]), slices.Clone(x.evs[n:]), len(x.pos), x.last, x.lastOK
}

// advance records a subscription checkpoint: everything up to p has been
// searched and every ledger event in it delivered.
func (x *index) advance(p esdb.Position) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.any || less(x.seen, p) {
		x.seen, x.any = p, true
	}
}

// head returns the number of ledger events indexed and the channel that is
// closed when there are more.
func (x *index) head() (eventstore.Position, <-chan struct{}) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return eventstore.Position(len(x.pos)), x.notify
}

// at returns the $all position of Position p (1-based).
func (x *index) at(p eventstore.Position) (esdb.Position, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if p == 0 || uint64(p) > uint64(len(x.pos)) {
		return esdb.Position{}, false
	}
	return x.pos[p-1], true
}

// positionOf returns the Position of the ledger event at $all position ap.
func (x *index) positionOf(ap esdb.Position) (eventstore.Position, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.pos), func(i int) bool { return !less(x.pos[i], ap) })
	if i < len(x.pos) && x.pos[i] == ap {
		return eventstore.Position(i + 1), true
	}
	return 0, false
}

// lookup returns the Position of the event with the given id.
func (x *index) lookup(id uuid.UUID) (eventstore.Position, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.ids[id]
	return eventstore.Position(p), ok
}

// await registers waiters for ids; release must be called when done.
func (x *index) await(ids []uuid.UUID) []*waiter {
	x.mu.Lock()
	defer x.mu.Unlock()
	ws := make([]*waiter, len(ids))
	for i, id := range ids {
		ws[i] = &waiter{}
		x.wait[id] = ws[i]
	}
	return ws
}

func (x *index) release(ids []uuid.UUID) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range ids {
		delete(x.wait, id)
	}
}

// filled reports whether every waiter has its event, and whether every id
// is indexed (possibly before the waiters were registered).
func (x *index) filled(ids []uuid.UUID, ws []*waiter) (all, indexed bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	all, indexed = true, true
	for i, id := range ids {
		if !ws[i].ok {
			all = false
		}
		if _, ok := x.ids[id]; !ok {
			indexed = false
		}
	}
	return all, indexed
}
