// Package memory is a non-durable, in-process event store for tests and demos.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// subscribePage is how many events a subscription copies per lock
// acquisition; it bounds what a subscriber holds, whatever its speed.
const subscribePage = 256

// Store keeps every event in memory. It implements the whole
// eventstore.Store contract except durability: its data dies with it.
type Store struct {
	clock func() time.Time

	mu      sync.RWMutex
	events  []eventstore.Event // events[p-1] has Position p
	streams map[string][]eventstore.Position
	ids     map[uuid.UUID]eventstore.Position
	// notify is closed and replaced on every append, so subscribers that
	// have caught up wait for it instead of being handed events: a slow
	// subscriber then costs the store nothing.
	notify chan struct{}
	closed bool
	done   chan struct{} // closed by Close
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps RecordedAt (time.Now by default).
// Tests of as-of-time queries use it to control recorded times.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.clock = now }
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		clock:   time.Now,
		streams: make(map[string][]eventstore.Position),
		ids:     make(map[uuid.UUID]eventstore.Position),
		notify:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := s.checkOpen(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if res, ok, err := s.repeatLocked(stream, events); ok || err != nil {
		return res, err
	}

	revs := s.streams[stream]
	current, exists := uint64(len(revs))-1, len(revs) > 0
	if !expected.Check(current, exists) {
		return eventstore.AppendResult{}, &eventstore.WrongExpectedVersionError{
			Stream: stream, Expected: expected, Actual: current, Exists: exists,
		}
	}

	now := s.clock()
	// RecordedAt never goes backwards along the log, even if the clock
	// does, so "what the ledger knew at time T" is a prefix of the log.
	if n := len(s.events); n > 0 && now.Before(s.events[n-1].RecordedAt) {
		now = s.events[n-1].RecordedAt
	}
	out := make([]eventstore.Event, len(events))
	for i, d := range events {
		pos := eventstore.Position(len(s.events) + 1)
		e := eventstore.Normalize(stream, d, uint64(len(revs)), pos, now)
		s.events = append(s.events, e)
		revs = append(revs, pos)
		s.ids[e.ID] = pos
		out[i] = clone(e)
	}
	s.streams[stream] = revs
	close(s.notify)
	s.notify = make(chan struct{})
	return eventstore.AppendResult{Events: out}, nil
}

// repeatLocked recognises an idempotent repeat: ok when every event of the
// batch is already stored, contiguously and in order, in stream. A batch
// that only partly matches stored events is an error, never a second write.
func (s *Store) repeatLocked(stream string, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	known := 0
	for _, d := range events {
		if _, ok := s.ids[d.ID]; ok {
			known++
		}
	}
	if known == 0 {
		return eventstore.AppendResult{}, false, nil
	}
	if known == len(events) && s.events[s.ids[events[0].ID]-1].Stream == stream {
		first := s.events[s.ids[events[0].ID]-1]
		revs := s.streams[stream]
		if end := first.Revision + uint64(len(events)); end <= uint64(len(revs)) {
			stored := make([]eventstore.Event, len(events))
			for i, p := range revs[first.Revision:end] {
				stored[i] = clone(s.events[p-1])
			}
			if eventstore.SameEvents(stored, events) {
				return eventstore.AppendResult{Events: stored}, true, nil
			}
		}
	}
	return eventstore.AppendResult{}, false, fmt.Errorf(
		"%w: %d of %d event ids are already stored, but the batch is not a repeat of events in %q",
		eventstore.ErrInvalid, known, len(events), stream)
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.Event, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, err
	}
	if err := checkLimit(opts.Limit); err != nil {
		return nil, err
	}
	if opts.Direction != eventstore.Forwards && opts.Direction != eventstore.Backwards {
		return nil, fmt.Errorf("%w: unknown direction %d", eventstore.ErrInvalid, opts.Direction)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	revs := s.streams[stream]
	if len(revs) == 0 {
		return nil, fmt.Errorf("%w: %q", eventstore.ErrStreamNotFound, stream)
	}
	var out []eventstore.Event
	if opts.Direction == eventstore.Forwards {
		for r := opts.From; r < uint64(len(revs)) && len(out) < opts.Limit; r++ {
			out = append(out, clone(s.events[revs[r]-1]))
		}
		return out, nil
	}
	from := min(opts.From, uint64(len(revs))-1)
	for r := int64(from); r >= 0 && len(out) < opts.Limit; r-- {
		out = append(out, clone(s.events[revs[r]-1]))
	}
	return out, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	return s.readAllLocked(after, limit), nil
}

func (s *Store) readAllLocked(after eventstore.Position, limit int) []eventstore.Event {
	if after >= eventstore.Position(len(s.events)) {
		return nil
	}
	page := s.events[after:min(uint64(after)+uint64(limit), uint64(len(s.events)))]
	out := make([]eventstore.Event, len(page))
	for i, e := range page {
		out[i] = clone(e)
	}
	return out
}

// Subscribe implements eventstore.Store. The subscriber pulls pages with
// the same read as ReadAll and, once caught up, waits for the next append's
// notification; nothing is queued on its behalf.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Event, error] {
	moved := func() <-chan struct{} {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.notify
	}
	return eventstore.Follow(ctx, after, subscribePage, moved, s.ReadAll, s.done)
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, eventstore.ErrClosed
	}
	return eventstore.Position(len(s.events)), nil
}

// Close implements eventstore.Store: it drops the data and ends running
// subscriptions with eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.ErrClosed
	}
	s.closed = true
	s.events, s.streams, s.ids = nil, nil, nil
	close(s.done)
	return nil
}

func (s *Store) checkOpen() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return eventstore.ErrClosed
	}
	return nil
}

func checkLimit(limit int) error {
	if limit <= 0 || limit > eventstore.MaxReadLimit {
		return fmt.Errorf("%w: limit %d outside 1..%d", eventstore.ErrInvalid, limit, eventstore.MaxReadLimit)
	}
	return nil
}

// clone copies the event's Data so that callers cannot change stored bytes
// through a returned event, as they cannot with a store on disk.
func clone(e eventstore.Event) eventstore.Event {
	e.Data = bytes.Clone(e.Data)
	return e
}
