// Package embedded is the ledger's default event store: a Pebble database in a
// local directory, with group-committed, fsync'd appends and no server to run.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Store is an eventstore.Store kept in a Pebble database.
//
// Writes go through one committer at a time (see commit.go); reads go
// straight to Pebble but never past the published head, so a reader sees a
// position only once it is durable and every position before it is too.
type Store struct {
	db      *pebble.DB
	dir     string
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	space   *space

	// closed is a fast check; life makes Close wait for running reads
	// before it closes Pebble under them.
	closed atomic.Bool
	life   sync.RWMutex

	// The append queue. qclosed is set by Close under qmu, so an Append
	// either enqueues before Close drains the queue or sees ErrClosed.
	qmu     sync.Mutex
	queue   []*request
	qclosed bool
	wake    chan struct{} // capacity 1: "the queue is not empty"
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer goroutine has exited

	// commitMu is held by whoever is committing a group: the committer
	// goroutine or an appender on the fast path. It guards c.
	commitMu sync.Mutex

	// The published head and a channel closed (and replaced) each time it
	// moves, which is how subscribers wait without per-subscriber buffers.
	hmu    sync.Mutex
	head   eventstore.Position
	headCh chan struct{}

	c committer // guarded by commitMu
}

// Option configures Open.
type Option func(*config)

type config struct {
	now     func() time.Time
	log     *slog.Logger
	reg     prometheus.Registerer
	minFree int64
}

// WithClock sets the clock that stamps RecordedAt (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger for the store and Pebble (default: discard, as
// Pebble is chatty and would otherwise write to stderr).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMetrics registers the store's metrics with reg: append latency
// (queueing and fsync included), commit time (batch write and WAL fsync),
// group size in requests and in events, syncs and events.
func WithMetrics(reg prometheus.Registerer) Option { return func(c *config) { c.reg = reg } }

// Open opens (creating if needed) the store in dir. Only one Store may have a
// directory open at a time; Pebble's lock file enforces it.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, log: slog.New(slog.DiscardHandler), minFree: DefaultMinFree}
	for _, o := range opts {
		o(&cfg)
	}
	if err := durable.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	po := &pebble.Options{
		Logger: pebbleLogger{cfg.log},
		// Pebble's default answer to a damaged file is Fatalf: a panic
		// here. Reads of a damaged block fail with a corruption error of
		// their own, which the caller turns into an answer; this is the
		// operator's log line.
		EventListener: &pebble.EventListener{
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				cfg.log.Error("embedded: on-disk corruption; reads of the damaged data fail (see ledger verify, ledger restore)",
					"path", info.Path, "err", info.Details)
			},
		},
		FormatMajorVersion: pebble.FormatNewest,
		// An append-only log writes far more than it rewrites: a larger
		// memtable means fewer, larger flushes and less L0 churn. Pebble
		// grows memtables from 256 KiB, so small stores stay small.
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		CacheSize:                   32 << 20,
	}
	// Every append looks up each event id to keep ids unique, and almost
	// all of those ids are new: bloom filters answer "not here" for an
	// sstable without reading it.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", dir, err)
	}
	s := &Store{
		db: db, dir: dir, log: cfg.log, now: cfg.now,
		metrics: newMetrics(cfg.reg),
		space:   &space{dir: dir, minFree: cfg.minFree},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		headCh:  make(chan struct{}),
		c:       committer{heads: make(map[string]uint64)},
	}
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if s.c.ids, err = buildIDFilter(db, int(s.head)); err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// load checks the format and finds the head and the last recorded time.
func (s *Store) load() error {
	v, closer, err := s.db.Get(metaFormatKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if err := s.db.Set(metaFormatKey, []byte(formatVersion), pebble.Sync); err != nil {
			return fmt.Errorf("embedded: write format: %w", err)
		}
	case err != nil:
		return fmt.Errorf("embedded: read format: %w", err)
	default:
		got := string(v)
		_ = closer.Close()
		if got != formatVersion {
			return fmt.Errorf("embedded: %s has format %q, this build reads %q", s.dir, got, formatVersion)
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagEvent}, UpperBound: []byte{tagEvent + 1}})
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return it.Error()
	}
	pos, err := parseEventKey(it.Key())
	if err != nil {
		return err
	}
	e, err := eventstore.ParseCanonical(it.Value(), pos)
	if err != nil {
		return fmt.Errorf("embedded: event %d: %w", pos, err)
	}
	s.head, s.c.last, s.c.lastRecorded = pos, pos, e.RecordedAt
	return nil
}

// Path returns the store's directory.
func (s *Store) Path() string { return s.dir }

// Head returns the position of the last durable event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.closed.Load() {
		return 0, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	h, _ := s.published()
	return h, nil
}

// published returns the head and the channel closed when it next moves.
func (s *Store) published() (eventstore.Position, <-chan struct{}) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.head, s.headCh
}

func (s *Store) publish(head eventstore.Position) {
	s.hmu.Lock()
	s.head = head
	close(s.headCh)
	s.headCh = make(chan struct{})
	s.hmu.Unlock()
}

// acquire holds off Close for the duration of a read.
func (s *Store) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.life.RLock()
	if s.closed.Load() {
		s.life.RUnlock()
		return nil, eventstore.ErrClosed
	}
	return s.life.RUnlock, nil
}

// ReadAll reads at most limit events with Position > after, in order.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	var out []eventstore.Event
	err := s.scan(ctx, after, limit, func(n int) { out = make([]eventstore.Event, 0, n) },
		func(pos eventstore.Position, v []byte) error {
			e, err := eventstore.ParseCanonical(v, pos)
			if err != nil {
				return fmt.Errorf("embedded: event %d: %w", pos, err)
			}
			out = append(out, e)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadCanonical is ReadAll without parsing: the events' canonical bytes as
// stored, which the integrity log hashes as they are (they are its leaves).
// The bytes of one page share one allocation.
func (s *Store) ReadCanonical(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.CanonicalEvent, error) {
	var out []eventstore.CanonicalEvent
	var slab []byte
	err := s.scan(ctx, after, limit, func(n int) { out = make([]eventstore.CanonicalEvent, 0, n) },
		func(pos eventstore.Position, v []byte) error {
			if len(slab)+len(v) > cap(slab) {
				slab = make([]byte, 0, max(256<<10, len(v)))
			}
			slab = append(slab, v...)
			out = append(out, eventstore.CanonicalEvent{Position: pos, Bytes: slab[len(slab)-len(v) : len(slab) : len(slab)]})
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan calls each, in order, for every stored event with Position > after,
// at most limit and not past the published head, after telling size how
// many there will be. v is valid only during the call.
func (s *Store) scan(ctx context.Context, after eventstore.Position, limit int, size func(n int),
	each func(pos eventstore.Position, v []byte) error) error {
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if limit <= 0 || limit > eventstore.MaxReadLimit {
		return fmt.Errorf("%w: read limit %d outside 1..%d", eventstore.ErrInvalid, limit, eventstore.MaxReadLimit)
	}
	head, _ := s.published()
	if after >= head {
		return nil
	}
	last := min(head, after+eventstore.Position(limit))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(after + 1), UpperBound: eventKey(last + 1)})
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	defer it.Close()
	size(int(last - after))
	want := after + 1
	for ok := it.First(); ok; ok = it.Next() {
		pos, err := parseEventKey(it.Key())
		if err != nil {
			return err
		}
		if pos != want {
			return fmt.Errorf("embedded: log has a gap: want position %d, found %d", want, pos)
		}
		if err := each(pos, it.Value()); err != nil {
			return err
		}
		want++
	}
	if err := it.Error(); err != nil {
		return readErr(err)
	}
	if want != last+1 {
		return fmt.Errorf("embedded: log ends at %d, head is %d", want-1, head)
	}
	return nil
}

// ReadStream reads events of one stream forwards or backwards.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.Event, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, err
	}
	if opts.Limit <= 0 || opts.Limit > eventstore.MaxReadLimit {
		return nil, fmt.Errorf("%w: read limit %d outside 1..%d", eventstore.ErrInvalid, opts.Limit, eventstore.MaxReadLimit)
	}
	if opts.Direction != eventstore.Forwards && opts.Direction != eventstore.Backwards {
		return nil, fmt.Errorf("%w: direction %d", eventstore.ErrInvalid, opts.Direction)
	}
	head, _ := s.published()
	// The iterator spans the whole stream so that an empty result can tell
	// "no such stream" from "nothing in this range".
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: streamPrefix(stream), UpperBound: streamEnd(stream)})
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	defer it.Close()
	var positions []eventstore.Position
	var ok bool
	if opts.Direction == eventstore.Forwards {
		ok = it.SeekGE(streamKey(stream, opts.From))
	} else if opts.From == eventstore.End {
		ok = it.Last()
	} else {
		ok = it.SeekLT(streamKey(stream, opts.From+1))
	}
	for ; ok && len(positions) < opts.Limit; ok = step(it, opts.Direction) {
		_, pos, err := parseStreamEntry(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		// Revisions and positions grow together within a stream, so an
		// entry past the head ends a forward read and is skipped backwards.
		if pos > head {
			if opts.Direction == eventstore.Forwards {
				break
			}
			continue
		}
		positions = append(positions, pos)
	}
	if err := it.Error(); err != nil {
		return nil, readErr(err)
	}
	if len(positions) == 0 {
		if !it.First() {
			if err := it.Error(); err != nil {
				return nil, readErr(err)
			}
			return nil, fmt.Errorf("%w: %q", eventstore.ErrStreamNotFound, stream)
		}
		if _, pos, err := parseStreamEntry(it.Key(), it.Value()); err != nil {
			return nil, err
		} else if pos > head {
			return nil, fmt.Errorf("%w: %q", eventstore.ErrStreamNotFound, stream)
		}
		return nil, nil
	}
	out := make([]eventstore.Event, 0, len(positions))
	for _, pos := range positions {
		e, err := s.eventAt(pos)
		if err != nil {
			return nil, err
		}
		if e.Stream != stream {
			return nil, fmt.Errorf("embedded: index of %q points at position %d in %q", stream, pos, e.Stream)
		}
		out = append(out, e)
	}
	return out, nil
}

func step(it *pebble.Iterator, d eventstore.Direction) bool {
	if d == eventstore.Forwards {
		return it.Next()
	}
	return it.Prev()
}

// eventAt reads one stored event; the caller holds life or is the committer.
func (s *Store) eventAt(pos eventstore.Position) (eventstore.Event, error) {
	v, closer, err := s.db.Get(eventKey(pos))
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("embedded: event %d: %w", pos, err)
	}
	defer closer.Close()
	e, err := eventstore.ParseCanonical(v, pos)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("embedded: event %d: %w", pos, err)
	}
	return e, nil
}

// subscribePage bounds what a subscriber holds at once: it pulls a page,
// yields it, and pulls again, so a slow consumer costs the store nothing.
const subscribePage = 512

// Subscribe yields every event after the given position, then follows the
// head as it moves.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Event, error] {
	moved := func() <-chan struct{} { _, ch := s.published(); return ch }
	return eventstore.Follow(ctx, after, subscribePage, moved, s.ReadAll, s.done)
}

// SubscribeCanonical is Subscribe yielding canonical bytes as stored (see
// ReadCanonical); the integrity log follows the store with it.
func (s *Store) SubscribeCanonical(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.CanonicalEvent, error] {
	moved := func() <-chan struct{} { _, ch := s.published(); return ch }
	return eventstore.FollowPages(ctx, after, subscribePage, moved, s.ReadCanonical,
		func(e eventstore.CanonicalEvent) eventstore.Position { return e.Position }, s.done)
}

// Close stops the committer (queued appends fail with ErrClosed), ends
// subscriptions, waits for running reads and closes Pebble.
func (s *Store) Close() error {
	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return eventstore.ErrClosed
	}
	s.qclosed = true
	s.closed.Store(true)
	queued := s.queue
	s.queue = nil
	s.qmu.Unlock()
	close(s.done)
	for _, r := range queued {
		r.finish(eventstore.AppendResult{}, eventstore.ErrClosed)
	}
	<-s.stopped
	s.commitMu.Lock() // an appender may be committing on the fast path
	defer s.commitMu.Unlock()
	s.life.Lock()
	defer s.life.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

type metrics struct {
	appendSeconds prometheus.Histogram
	commitSeconds prometheus.Histogram
	groupRequests prometheus.Histogram
	groupEvents   prometheus.Histogram
	syncs         prometheus.Counter
	events        prometheus.Counter
}

// newMetrics works with a nil reg too (promauto then registers nothing),
// which keeps the hot path free of nil checks.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		appendSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_eventstore_append_seconds",
			Help:    "Latency of successful appends to the embedded store, queueing and fsync included.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}),
		commitSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_eventstore_commit_seconds",
			Help:    "Time to write one group's batch to Pebble and fsync the WAL.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}),
		groupEvents: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_eventstore_group_events",
			Help:    "Events committed together by one fsync'd batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		groupRequests: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_eventstore_group_requests",
			Help:    "Append requests committed together by one fsync'd batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		syncs: f.NewCounter(prometheus.CounterOpts{
			Name: "ledger_eventstore_syncs_total",
			Help: "Batches written to Pebble with a WAL fsync.",
		}),
		events: f.NewCounter(prometheus.CounterOpts{
			Name: "ledger_eventstore_events_total",
			Help: "Events appended to the embedded store.",
		}),
	}
}

// pebbleLogger routes Pebble's log through slog. Pebble's Info lines are
// operational chatter (WAL recovery, flushes), so they go to Debug.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf panics rather than exiting, so the process's own handlers run.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}

// readErr wraps an error of Pebble's reads: damaged data (a checksum that
// does not match) is eventstore.ErrCorrupt — an answer for the caller,
// and a line in the log from the corruption listener — not an internal error.
func readErr(err error) error {
	if errors.Is(err, pebble.ErrCorruption) {
		return fmt.Errorf("%w: %v", eventstore.ErrCorrupt, err)
	}
	return fmt.Errorf("embedded: %w", err)
}

// Checkpoint writes a consistent copy of the store into dir, which must not
// exist, while appends go on: every event committed before the call is in
// it, with no torn tail. Table files are hard-linked where dir is on the
// same file system (so keep dir there, and remove it once copied).
func (s *Store) Checkpoint(dir string) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return eventstore.ErrClosed
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("embedded: checkpoint: %w", err)
	}
	return nil
}
