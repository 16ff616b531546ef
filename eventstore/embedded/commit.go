package embedded

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

// Group commit. Append validates its request and queues it; one committer at
// a time (the committer goroutine, or an appender that found nobody
// committing) takes everything queued, decides each request in queue order
// against the stream heads (cached in memory, loaded lazily from Pebble),
// stages the accepted ones into ONE Pebble batch and commits it with a WAL
// fsync. Only then does it publish the new head and answer the requests.
// While one group is being fsync'd the next one queues up, so concurrent
// appenders share fsyncs, and a single appender pays one fsync per append.
//
// Because one committer at a time assigns positions and publishes them after the
// batch is durable, positions are dense and become visible in order. A
// request that fails its check fails alone; the others in its group commit.

// request is one queued Append.
type request struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	size     int       // rough bytes, for maxGroupBytes
	recorded time.Time // AppendAt's recorded-at; zero: the group's clock reading

	res  eventstore.AppendResult
	err  error
	done chan struct{}
}

func (r *request) finish(res eventstore.AppendResult, err error) {
	r.res, r.err = res, err
	close(r.done)
}

// committer is the state of whoever holds commitMu.
type committer struct {
	ids          *idFilter         // every stored id, and possibly some others
	heads        map[string]uint64 // last revision of streams known to exist
	last         eventstore.Position
	lastRecorded time.Time
	scratch      []byte // canonical bytes being staged; Batch.Set copies them
}

const (
	// maxGroupBytes caps one batch, so a burst of large events does not
	// build one huge batch in memory; what is left waits for the next fsync.
	maxGroupBytes = 64 << 20
	// maxCachedStreams bounds the stream-head cache; it is dropped whole
	// when full (a miss costs one Pebble seek).
	maxCachedStreams = 100_000
)

// Append writes events to stream if its revision satisfies expected. It
// returns once the events are fsync'd. If ctx ends while the request waits
// its turn it is not written; if ctx ends while it is being committed Append
// returns ctx.Err() and the outcome is unknown to the caller, who retries
// with the same event IDs (appends are idempotent on IDs).
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	return s.append(ctx, stream, expected, time.Time{}, events)
}

// AppendAt is Append with the events' RecordedAt given instead of read from
// the clock. It exists for `ledger migrate`, which copies a ledger from
// another store: RecordedAt is part of the canonical bytes, so only a copy
// that keeps it keeps every leaf hash and the Merkle root. The caller keeps
// RecordedAt in log order (the source's order); later Appends are stamped
// no earlier than the latest time imported. An idempotent repeat returns the
// original events, whatever recordedAt says.
func (s *Store) AppendAt(ctx context.Context, stream string, expected eventstore.ExpectedRevision, recordedAt time.Time, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if recordedAt.IsZero() {
		return eventstore.AppendResult{}, fmt.Errorf("%w: zero recorded-at time", eventstore.ErrInvalid)
	}
	return s.append(ctx, stream, expected, eventstore.TruncateTime(recordedAt), events)
}

func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, recorded time.Time, events []eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	if s.closed.Load() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	r := &request{ctx: ctx, stream: stream, expected: expected, events: events, recorded: recorded, done: make(chan struct{})}
	for _, e := range events {
		r.size += len(e.Data) + 256
	}
	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	s.queue = append(s.queue, r)
	s.qmu.Unlock()
	if s.commitMu.TryLock() {
		// Nobody is committing: commit here rather than hand the request
		// to the committer goroutine and wait to be handed the answer
		// back: those two goroutine wake-ups are pure latency for a lone
		// appender.
		s.commitUntil(r)
		s.commitMu.Unlock()
		if s.queued() {
			s.signal()
		}
	} else {
		s.signal()
	}
	select {
	case <-r.done:
		if r.err == nil {
			s.metrics.appendSeconds.Observe(time.Since(start).Seconds())
		}
		return r.res, r.err
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
}

// commitLoop commits what appenders queued while someone else was
// committing. It holds commitMu for as long as the queue is not empty, so
// groups are taken and committed in queue order.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		s.commitMu.Lock()
		for group := s.take(); len(group) > 0; group = s.take() {
			s.commit(group)
		}
		s.commitMu.Unlock()
	}
}

// commitUntil commits groups until r is answered or the queue is empty
// (someone else took r). The caller holds commitMu.
func (s *Store) commitUntil(r *request) {
	for {
		select {
		case <-r.done:
			return
		default:
		}
		group := s.take()
		if len(group) == 0 {
			return
		}
		s.commit(group)
	}
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default: // already signalled
	}
}

func (s *Store) queued() bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.queue) > 0
}

// take removes the next group from the queue: everything queued, up to
// maxGroupBytes (but at least one request).
func (s *Store) take() []*request {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	n, size := 0, 0
	for n < len(s.queue) && (n == 0 || size+s.queue[n].size <= maxGroupBytes) {
		size += s.queue[n].size
		n++
	}
	group := s.queue[:n:n]
	if n == len(s.queue) {
		s.queue = nil
	} else {
		s.queue = s.queue[n:]
	}
	return group
}

// group is one batch being built.
type group struct {
	batch    *pebble.Batch
	recorded time.Time                      // RecordedAt of the group's Appends
	latest   time.Time                      // latest RecordedAt staged, AppendAt's included
	next     eventstore.Position            // last position assigned so far
	staged   map[uuid.UUID]eventstore.Event // events in this batch, by id
	touched  []string                       // streams whose cached head this batch moved
	accepted []*request
	results  []eventstore.AppendResult
}

func (s *Store) commit(reqs []*request) {
	if err := s.space.check(); err != nil {
		// Before Pebble's write-ahead log meets a full disk, which it
		// cannot survive: nothing is written, the appenders may retry.
		for _, r := range reqs {
			r.finish(eventstore.AppendResult{}, err)
		}
		return
	}
	c := &s.c
	if len(c.heads) > maxCachedStreams {
		clear(c.heads)
	}
	if c.ids.full() {
		f, err := buildIDFilter(s.db, c.ids.n)
		if err != nil {
			s.log.Error("embedded: rebuilding the id filter; every id is now looked up in Pebble", "err", err)
		}
		c.ids = f
	}
	// RecordedAt never goes backwards along the log, even if the wall
	// clock does, so "as of time T" is always a prefix of the log.
	recorded := eventstore.TruncateTime(s.now())
	if recorded.Before(c.lastRecorded) {
		recorded = c.lastRecorded
	}
	g := &group{
		batch:    s.db.NewBatch(),
		recorded: recorded,
		latest:   recorded,
		next:     c.last,
		staged:   make(map[uuid.UUID]eventstore.Event),
	}
	defer g.batch.Close()
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.finish(eventstore.AppendResult{}, err)
			continue
		}
		res, err := s.stage(g, r)
		if err != nil {
			r.finish(eventstore.AppendResult{}, err)
			continue
		}
		g.accepted = append(g.accepted, r)
		g.results = append(g.results, res)
	}
	if g.next != c.last {
		start := time.Now()
		err := g.batch.Commit(pebble.Sync)
		s.metrics.commitSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			// Nothing of this group is durable: forget the heads it moved
			// and fail everyone who depended on it.
			for _, st := range g.touched {
				delete(c.heads, st)
			}
			s.log.Error("embedded: commit failed", "err", err, "requests", len(g.accepted))
			err = fmt.Errorf("embedded: commit: %w", err)
			for _, r := range g.accepted {
				r.finish(eventstore.AppendResult{}, err)
			}
			return
		}
		s.metrics.syncs.Inc()
		s.metrics.events.Add(float64(g.next - c.last))
		s.metrics.groupRequests.Observe(float64(len(g.accepted)))
		s.metrics.groupEvents.Observe(float64(g.next - c.last))
		c.last, c.lastRecorded = g.next, g.latest
		s.publish(g.next)
	}
	for i, r := range g.accepted {
		r.finish(g.results[i], nil)
	}
}

// stage decides one request and, if it writes, adds its events to the batch.
// It writes nothing to the batch unless it succeeds.
func (s *Store) stage(g *group, r *request) (eventstore.AppendResult, error) {
	if res, repeat, err := s.repeat(g, r); err != nil || repeat {
		return res, err
	}
	cur, exists, err := s.streamHead(r.stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if !r.expected.Check(cur, exists) {
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{
			Stream: r.stream, Expected: r.expected, Actual: cur, Exists: exists,
		}
	}
	rev := uint64(0)
	if exists {
		rev = cur + 1
	}
	recorded := g.recorded
	if !r.recorded.IsZero() {
		recorded = r.recorded
		if recorded.After(g.latest) {
			g.latest = recorded
		}
	}
	out := make([]eventstore.Event, len(r.events))
	buf := s.c.scratch
	for i, d := range r.events {
		pos := g.next + 1
		e := eventstore.Normalize(r.stream, d, rev+uint64(i), pos, recorded)
		buf = eventstore.AppendCanonical(buf[:0], e)
		// Batch.Set copies key and value, so buf is reused.
		_ = g.batch.Set(eventKey(pos), buf, nil)
		_ = g.batch.Set(streamKey(r.stream, e.Revision), eventKey(pos)[1:], nil)
		_ = g.batch.Set(idKey(d.ID), encodeLocation(location{stream: r.stream, rev: e.Revision, pos: pos}), nil)
		g.staged[d.ID] = e
		s.c.ids.add(d.ID)
		g.next = pos
		out[i] = e
	}
	if cap(buf) <= 1<<20 {
		s.c.scratch = buf // keep the grown buffer, but not one huge event's
	}
	s.c.heads[r.stream] = rev + uint64(len(r.events)) - 1
	g.touched = append(g.touched, r.stream)
	return eventstore.AppendResult{Events: out}, nil
}

// repeat reports whether r's events are already stored (or staged in this
// batch): all of them, in r's stream, at consecutive revisions in r's order.
// Then the original events are the result. An ID that is stored but does not
// make r such a repeat is an error: IDs are unique across the whole log.
func (s *Store) repeat(g *group, r *request) (eventstore.AppendResult, bool, error) {
	var stored []eventstore.Event
	for i, d := range r.events {
		e, found, err := s.lookup(g, d.ID)
		if err != nil {
			return eventstore.AppendResult{}, false, err
		}
		if !found {
			if i == 0 {
				// Usual case: a new batch. Its other IDs must be new too.
				return eventstore.AppendResult{}, false, s.allNew(g, r.events[1:])
			}
			break
		}
		if e.Stream != r.stream || (i > 0 && e.Revision != stored[0].Revision+uint64(i)) {
			break
		}
		stored = append(stored, e)
	}
	if !eventstore.SameEvents(stored, r.events) {
		return eventstore.AppendResult{}, false, fmt.Errorf("%w: event ids of this batch are already stored, but not as this batch in %q",
			eventstore.ErrInvalid, r.stream)
	}
	return eventstore.AppendResult{Events: stored}, true, nil
}

func (s *Store) allNew(g *group, events []eventstore.EventData) error {
	for _, d := range events {
		if _, ok := g.staged[d.ID]; ok {
			return fmt.Errorf("%w: event id %s is already stored", eventstore.ErrInvalid, d.ID)
		}
		if !s.c.ids.mayContain(d.ID) {
			continue
		}
		_, closer, err := s.db.Get(idKey(d.ID))
		if err == nil {
			_ = closer.Close()
			return fmt.Errorf("%w: event id %s is already stored", eventstore.ErrInvalid, d.ID)
		}
		if !errors.Is(err, pebble.ErrNotFound) {
			return fmt.Errorf("embedded: %w", err)
		}
	}
	return nil
}

// lookup finds a stored or staged event by id.
func (s *Store) lookup(g *group, id uuid.UUID) (eventstore.Event, bool, error) {
	if e, ok := g.staged[id]; ok {
		return e, true, nil
	}
	if !s.c.ids.mayContain(id) {
		return eventstore.Event{}, false, nil
	}
	v, closer, err := s.db.Get(idKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return eventstore.Event{}, false, nil
	}
	if err != nil {
		return eventstore.Event{}, false, fmt.Errorf("embedded: %w", err)
	}
	loc, err := decodeLocation(v)
	_ = closer.Close()
	if err != nil {
		return eventstore.Event{}, false, err
	}
	e, err := s.eventAt(loc.pos)
	if err != nil {
		return eventstore.Event{}, false, err
	}
	if e.ID != id || e.Stream != loc.stream || e.Revision != loc.rev {
		return eventstore.Event{}, false, fmt.Errorf("embedded: id index for %s disagrees with event %d", id, loc.pos)
	}
	return e, true, nil
}

// streamHead returns the last revision of stream, from the cache or from the
// last key of its index.
func (s *Store) streamHead(stream string) (uint64, bool, error) {
	if rev, ok := s.c.heads[stream]; ok {
		return rev, true, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: streamPrefix(stream), UpperBound: streamEnd(stream)})
	if err != nil {
		return 0, false, fmt.Errorf("embedded: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return 0, false, fmt.Errorf("embedded: %w", err)
		}
		// Streams that do not exist are not cached: a miss is one seek,
		// and caching them would let junk names fill the cache.
		return 0, false, nil
	}
	rev, _, err := parseStreamEntry(it.Key(), it.Value())
	if err != nil {
		return 0, false, err
	}
	s.c.heads[stream] = rev
	return rev, true, nil
}
