// Package kurrent is the eventstore.Store backed by a KurrentDB (EventStoreDB)
// node or cluster, through EventStore-Client-Go/v4.
//
// Streams, revisions, expected revisions and event ids map 1:1 onto
// KurrentDB. Event data is stored as the Kurrent event's data byte for byte;
// the ledger's metadata, schema version and recorded-at time travel as the
// Kurrent event's JSON metadata. The ledger's dense global Position is the
// ordinal of an event among the non-system events of $all (see index.go);
// each Store keeps that mapping in memory — and, with WithIndexFile, on disk,
// so that Open reads only what is new (persist.go) — kept current by a
// filtered $all subscription that resubscribes from the last position it saw
// whenever it is dropped. Store.Vault keeps the participants' data keys in
// the same database, shared by every ledger node (keys.go).
//
// Append retry policy: an append that fails ambiguously (deadline,
// Unavailable, Aborted, lost connection: the write may or may not have been
// committed) is first resolved by catching up with $all and looking for the
// batch's event ids; found, the original result is returned. Otherwise it is
// retried with the same event ids only when the expected revision is exact
// or NoStream, because then KurrentDB itself either recognises the retried
// ids as already written or rejects the retry — it can never write the batch
// twice. With Any or StreamExists a retry could duplicate a write that lands
// late, so the error is returned and the caller decides (re-appending the
// same ids later is still recognised once the first write is visible).
package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// MaxAppendBytes is KurrentDB's default maximum size of one append
// (MaxAppendSize, 16 MiB). A larger batch cannot be written atomically and
// is rejected as invalid before it reaches the server.
const MaxAppendBytes = 16 << 20

// Store is an eventstore.Store on KurrentDB.
type Store struct {
	cfg  config
	log  *slog.Logger
	idx  *index
	file *indexFile // the index on disk, if WithIndexFile

	callMu   sync.RWMutex // read-held by every call into the client
	clientMu sync.Mutex
	client   *esdb.Client
	conf     *esdb.Configuration

	syncMu sync.Mutex // one catch-up read of $all at a time

	vaultOnce sync.Once
	vault     *Vault

	clockMu      sync.Mutex
	lastRecorded time.Time

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type config struct {
	timeout  time.Duration
	attempts int
	backoff  time.Duration
	grace    time.Duration
	page     int
	logger   *slog.Logger
	clock    func() time.Time
	user     string
	password string
	ns       string
	index    string
}

// Option configures a Store.
type Option func(*config)

// WithTimeout sets the deadline of each call to the server (10s by
// default). An operation may make several calls, so callers bound the whole
// operation with their context.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithAppendAttempts sets how many times an append with an exact or
// NoStream expected revision is tried when it fails transiently (3 by
// default; 1 disables retries).
func WithAppendAttempts(n int) Option { return func(c *config) { c.attempts = max(n, 1) } }

// WithLogger routes the adapter's and the client library's logs to l
// (discarded by default; the client would otherwise print to stdout).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock that stamps RecordedAt (time.Now by default).
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithCredentials sets the user the client authenticates as, overriding
// any user:password@ in the connection string. KurrentDB only accepts
// credentials over TLS.
func WithCredentials(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// WithNamespace keeps this ledger's streams apart from anything else in the
// database: stream names get ns as a prefix on the server, and only events
// of streams with that prefix are numbered. Tests use it to get an empty
// ledger on a shared server; a deployment may use it to run several ledgers
// (say, staging and training) on one cluster. ns must not start with '$'.
func WithNamespace(ns string) Option { return func(c *config) { c.ns = ns } }

// WithIndexFile keeps the Position index (which $all record each ledger
// Position is) in the file at path, in the node's data directory, so that
// Open reads only what was appended to $all since the Store last ran (see
// persist.go for the format and how a damaged, outdated or foreign file is
// detected). Without it every Open reads the whole of $all.
func WithIndexFile(path string) Option { return func(c *config) { c.index = path } }

// Open connects to the KurrentDB named by connString (esdb://host:port?…,
// esdb+discover://… or a comma-separated gossip seed list; see the README)
// and reads $all to number the ledger's events. ctx bounds that initial
// read; the Store then follows $all until Close.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	cfg := config{
		timeout:  10 * time.Second,
		attempts: 3,
		backoff:  100 * time.Millisecond,
		grace:    50 * time.Millisecond,
		page:     1000,
		logger:   slog.New(slog.DiscardHandler),
		clock:    time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if strings.HasPrefix(cfg.ns, "$") {
		return nil, fmt.Errorf("%w: namespace %q starts with $", eventstore.ErrInvalid, cfg.ns)
	}
	conf, err := esdb.ParseConnectionString(connString)
	if err != nil {
		return nil, fmt.Errorf("kurrent: connection string: %w", err)
	}
	if cfg.user != "" {
		conf.Username, conf.Password = cfg.user, cfg.password
	}
	// Client v4.2.0 gives up for good after maxDiscoverAttempts failed
	// discoveries (10 × 100 ms by default); calls made during the last
	// discovery then block forever and later ones fail, so a node restart
	// or an election of more than a second would break the Store. Keep
	// rediscovering instead: calls wait for a node (the client's discovery
	// ignores contexts), which is what a ledger wants during a failover.
	conf.MaxDiscoverAttempts = math.MaxInt32
	log := cfg.logger.With("component", "kurrent")
	conf.Logger = clientLogger(log)
	if err := reachable(ctx, conf); err != nil {
		return nil, err
	}
	client, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("kurrent: %w", err)
	}
	followCtx, cancel := context.WithCancel(context.Background())
	s := &Store{
		cfg:    cfg,
		log:    log,
		client: client,
		conf:   conf,
		idx:    newIndex(cfg.ns),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	var loaded loadedIndex
	if cfg.index != "" {
		s.file = &indexFile{path: cfg.index, ns: cfg.ns}
		if loaded, err = s.file.load(); err != nil {
			log.Warn("reading the position index; rebuilding it from $all", "file", cfg.index, "err", err)
		}
	}
	// The client's node discovery ignores contexts, so the first read runs
	// aside and Open gives up when ctx does.
	read := make(chan error, 1)
	go func() { read <- s.resume(ctx, loaded) }()
	returned := false
	select {
	case err = <-read:
		returned = true
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		if returned {
			// Nothing is inside the client; otherwise it is left to the
			// garbage collector, as in Close.
			_ = client.Close()
		}
		return nil, wrap("reading $all", err)
	}
	s.wg.Add(1)
	go s.follow(followCtx)
	if s.file != nil {
		s.flushIndex()
		s.wg.Add(1)
		go s.flusher(followCtx)
	}
	return s, nil
}

// reachable fails fast when no node named by conf accepts a TCP connection,
// rather than leaving the client to rediscover forever.
func reachable(ctx context.Context, conf *esdb.Configuration) error {
	if conf.DnsDiscover {
		return nil
	}
	addrs := []string{conf.Address}
	if len(conf.GossipSeeds) > 0 {
		addrs = addrs[:0]
		for _, e := range conf.GossipSeeds {
			addrs = append(addrs, net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))))
		}
	}
	var errs []error
	for _, a := range addrs {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", a)
		cancel()
		if err == nil {
			return conn.Close()
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("kurrent: no node reachable: %w", errors.Join(errs...))
}

// clientLogger routes the client library's printf-style logs through slog.
// The client reports every failed call at error level, including ones the
// adapter handles (a dropped subscription, a deadline before a retry), so
// they are logged as warnings.
func clientLogger(l *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		lv := slog.LevelDebug
		if level == esdb.LogWarn || level == esdb.LogError {
			lv = slog.LevelWarn
		}
		if l.Enabled(context.Background(), lv) {
			l.Log(context.Background(), lv, fmt.Sprintf(format, args...), "source", "esdb-client")
		}
	}
}

// Append implements eventstore.Store. See the package comment for the retry
// policy.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.append(ctx, stream, expected, time.Time{}, events)
	return res, s.closedOr(err)
}

// AppendAt is Append with the events' RecordedAt given instead of read from
// the clock. It exists for `ledger migrate`, which copies a ledger from
// another store: RecordedAt is part of the canonical bytes, so only a copy
// that keeps it keeps every leaf hash and the Merkle root. The caller keeps
// RecordedAt in log order (the source's order); later Appends of this Store
// are stamped no earlier than the latest time imported. An idempotent
// repeat returns the original events, whatever recordedAt says.
func (s *Store) AppendAt(ctx context.Context, stream string, expected eventstore.ExpectedRevision, recordedAt time.Time, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if recordedAt.IsZero() {
		return eventstore.AppendResult{}, fmt.Errorf("%w: zero recorded-at time", eventstore.ErrInvalid)
	}
	res, err := s.append(ctx, stream, expected, eventstore.TruncateTime(recordedAt), events)
	return res, s.closedOr(err)
}

func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, recorded time.Time, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := s.checkOpen(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	// A batch whose ids are already numbered is a repeat (or a misuse of
	// ids); it never reaches the server as a write.
	if res, ok, err := s.repeat(ctx, stream, events); ok || err != nil {
		return res, err
	}

	if recorded.IsZero() {
		recorded = s.now()
	} else {
		s.observe(recorded)
	}
	wire := make([]esdb.EventData, len(events))
	ids := make([]uuid.UUID, len(events))
	size := 0
	for i, d := range events {
		w, err := encode(eventstore.Normalize(stream, d, 0, 0, recorded))
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("%w: event %d: %v", eventstore.ErrInvalid, i, err)
		}
		wire[i], ids[i] = w, d.ID
		size += len(w.Data) + len(w.Metadata) + len(w.EventType) + 64
	}
	if size > MaxAppendBytes {
		return eventstore.AppendResult{}, fmt.Errorf("%w: batch of %d bytes exceeds KurrentDB's %d byte append limit",
			eventstore.ErrInvalid, size, MaxAppendBytes)
	}

	waiters := s.idx.await(ids)
	defer s.idx.release(ids)
	retrySafe := expected.IsNoStream()
	if _, ok := expected.ExactRevision(); ok {
		retrySafe = true
	}
	for attempt := 1; ; attempt++ {
		timeout := s.cfg.timeout
		err := s.with(func(c *esdb.Client) error {
			_, err := c.AppendToStream(ctx, s.cfg.ns+stream, esdb.AppendToStreamOptions{
				ExpectedRevision: toExpected(expected),
				Deadline:         &timeout,
			}, wire...)
			return err
		})
		if err == nil {
			return s.finish(ctx, stream, events, ids, waiters)
		}
		if code(err) == esdb.ErrorCodeWrongExpectedVersion {
			// The ids may have been written by an earlier attempt of ours
			// or by another process retrying the same request.
			if cerr := s.catchUp(ctx); cerr == nil {
				if res, ok, rerr := s.repeat(ctx, stream, events); ok || rerr != nil {
					return res, rerr
				}
			}
			return eventstore.AppendResult{}, s.wrongExpected(ctx, stream, expected, err)
		}
		if definite(err) {
			return eventstore.AppendResult{}, wrap("append to "+stream, err)
		}
		if ctx.Err() != nil {
			return eventstore.AppendResult{}, fmt.Errorf("kurrent: append to %s: outcome unknown: %w", stream, errors.Join(ctx.Err(), err))
		}
		// Ambiguous: look for the batch before anything else.
		if cerr := s.catchUp(ctx); cerr == nil {
			if res, ok, rerr := s.repeat(ctx, stream, events); ok || rerr != nil {
				return res, rerr
			}
		}
		if !retrySafe || !transient(err) || attempt >= s.cfg.attempts {
			return eventstore.AppendResult{}, fmt.Errorf("kurrent: append to %s: outcome unknown (retry with the same event ids): %w", stream, err)
		}
		s.log.Warn("retrying append", "stream", stream, "attempt", attempt+1, "err", err)
		if err := s.sleep(ctx, s.cfg.backoff<<(attempt-1)); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
}

// finish waits until the index has numbered the appended events and
// returns them as stored. The follower usually delivers them within
// milliseconds; if it has not after a short grace period (it may be
// resubscribing), a catch-up read fetches them.
func (s *Store) finish(ctx context.Context, stream string, events []eventstore.EventData, ids []uuid.UUID, ws []*waiter) (eventstore.AppendResult, error) {
	grace := time.NewTimer(s.cfg.grace)
	defer grace.Stop()
	caughtUp := false
	for {
		_, notify := s.idx.head()
		all, indexed := s.idx.filled(ids, ws)
		if all {
			out := make([]eventstore.Event, len(ws))
			for i, w := range ws {
				out[i] = w.ev
			}
			return eventstore.AppendResult{Events: out}, nil
		}
		if indexed || caughtUp {
			// Numbered before we registered: KurrentDB recognised the ids
			// of an earlier write and wrote nothing. Read them as stored.
			res, ok, err := s.repeat(ctx, stream, events)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			if !ok {
				return eventstore.AppendResult{}, fmt.Errorf("kurrent: append to %s succeeded but its events are not in $all", stream)
			}
			return res, nil
		}
		select {
		case <-notify:
		case <-grace.C:
			if err := s.catchUp(ctx); err != nil {
				return eventstore.AppendResult{}, wrap("append to "+stream+": reading $all after the write", err)
			}
			caughtUp = true
		case <-ctx.Done():
			return eventstore.AppendResult{}, fmt.Errorf("kurrent: append to %s: written, but: %w", stream, ctx.Err())
		case <-s.done:
			return eventstore.AppendResult{}, eventstore.ErrClosed
		}
	}
}

// repeat recognises an idempotent repeat, as the other stores do: ok when
// every event of the batch is already stored, contiguously and in order, in
// stream; an error when only some ids are known or they are elsewhere.
func (s *Store) repeat(ctx context.Context, stream string, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	known := 0
	for _, d := range events {
		if _, ok := s.idx.lookup(d.ID); ok {
			known++
		}
	}
	if known == 0 {
		return eventstore.AppendResult{}, false, nil
	}
	if known == len(events) {
		p, _ := s.idx.lookup(events[0].ID)
		first, err := s.readIndexed(ctx, p-1, 1)
		if err != nil {
			return eventstore.AppendResult{}, false, err
		}
		if len(first) == 1 && first[0].Stream == stream {
			stored, err := s.readStream(ctx, stream, eventstore.ReadStreamOptions{From: first[0].Revision, Limit: len(events)})
			if err != nil {
				return eventstore.AppendResult{}, false, err
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

// wrongExpected turns the client's WrongExpectedVersion into the ledger's
// error, with the stream's actual revision taken from the server's answer
// or, failing that, read from the stream.
func (s *Store) wrongExpected(ctx context.Context, stream string, expected eventstore.ExpectedRevision, err error) error {
	wev := &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected}
	var ee *esdb.Error
	if errors.As(err, &ee) {
		if rev, exists, ok := parseCurrent(ee); ok {
			wev.Actual, wev.Exists = rev, exists
			return wev
		}
	}
	last, rerr := s.readStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1})
	switch {
	case errors.Is(rerr, eventstore.ErrStreamNotFound):
	case rerr != nil:
		return errors.Join(wev, rerr)
	default:
		wev.Actual, wev.Exists = last[0].Revision, true
	}
	return wev
}

// now returns the recorded-at time of an append: the clock in UTC at
// microsecond precision, never earlier than this Store's previous one.
// (Across ledger processes recorded-at follows their clocks.)
func (s *Store) now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	t := eventstore.TruncateTime(s.cfg.clock())
	if t.Before(s.lastRecorded) {
		t = s.lastRecorded
	}
	s.lastRecorded = t
	return t
}

// observe moves the clock's floor up to an imported recorded-at time.
func (s *Store) observe(t time.Time) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if t.After(s.lastRecorded) {
		s.lastRecorded = t
	}
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
	evs, err := s.readStream(ctx, stream, opts)
	return evs, s.closedOr(err)
}

// readStream reads a stream in pages, each one call with its own deadline,
// and numbers the events from the index.
func (s *Store) readStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]eventstore.Event, error) {
	var out []eventstore.Event
	from := opts.From
	for len(out) < opts.Limit {
		n := min(opts.Limit-len(out), s.cfg.page)
		var pos esdb.StreamPosition = esdb.Revision(from)
		dir := esdb.Forwards
		if opts.Direction == eventstore.Backwards {
			dir = esdb.Backwards
			if from == eventstore.End {
				pos = esdb.End{}
			}
		}
		timeout := s.cfg.timeout
		var got []*esdb.RecordedEvent
		err := s.with(func(c *esdb.Client) error {
			rs, err := c.ReadStream(ctx, s.cfg.ns+stream, esdb.ReadStreamOptions{Direction: dir, From: pos, Deadline: &timeout}, uint64(n))
			if err != nil {
				return err
			}
			got, err = collect(rs)
			return err
		})
		if err != nil {
			if code(err) == esdb.ErrorCodeResourceNotFound {
				if len(out) == 0 {
					return nil, fmt.Errorf("%w: %q", eventstore.ErrStreamNotFound, stream)
				}
				break
			}
			return nil, wrap("read "+stream, err)
		}
		for _, r := range got {
			e, err := s.number(ctx, r)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if len(got) < n {
			break
		}
		last := got[len(got)-1].EventNumber
		if opts.Direction == eventstore.Backwards {
			if last == 0 {
				break
			}
			from = last - 1
		} else {
			from = last + 1
		}
	}
	return out, nil
}

// number gives a stream event its Position, catching up with $all once if
// the event is newer than the index (another process appended it).
func (s *Store) number(ctx context.Context, r *esdb.RecordedEvent) (eventstore.Event, error) {
	p, ok := s.idx.positionOf(r.Position)
	if !ok {
		if err := s.catchUp(ctx); err != nil {
			return eventstore.Event{}, wrap("reading $all", err)
		}
		if p, ok = s.idx.positionOf(r.Position); !ok {
			return eventstore.Event{}, fmt.Errorf("kurrent: event %s of %s (at %d/%d) is not in $all",
				r.EventID, r.StreamID, r.Position.Commit, r.Position.Prepare)
		}
	}
	return decode(r, p, s.cfg.ns), nil
}

// ReadAll implements eventstore.Store. A read that reaches the end of what
// this Store has numbered first catches up with $all, so it sees every
// event committed before the call, whichever process appended it.
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
	if h, _ := s.idx.head(); uint64(after)+uint64(limit) > uint64(h) {
		if err := s.catchUp(ctx); err != nil {
			return nil, s.closedOr(wrap("reading $all", err))
		}
	}
	evs, err := s.readIndexed(ctx, after, limit)
	return evs, s.closedOr(err)
}

// readIndexed reads the numbered events after Position after from $all,
// in pages, skipping system events, and checks each against the index.
func (s *Store) readIndexed(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	h, _ := s.idx.head()
	if after >= h {
		return nil, nil
	}
	want := int(min(uint64(limit), uint64(h-after)))
	if evs, ok := s.idx.recentAfter(after, want); ok {
		return evs, nil
	}
	next := after + 1
	from, _ := s.idx.at(next)
	out := make([]eventstore.Event, 0, want)
	for len(out) < want {
		// Some slack for interleaved system events.
		n := min(want-len(out), s.cfg.page) + 16
		got, err := s.rawReadAll(ctx, from, uint64(n))
		if err != nil {
			return nil, wrap("read $all", err)
		}
		progressed := false
		for _, r := range got {
			expect, _ := s.idx.at(next)
			switch {
			case less(r.Position, expect):
				continue // before the next ledger event: system event or already returned
			case r.Position != expect:
				if !s.idx.isLedgerEvent(r) {
					continue
				}
				return nil, fmt.Errorf("kurrent: $all changed under the index: event %s at %d/%d, expected Position %d at %d/%d",
					r.EventID, r.Position.Commit, r.Position.Prepare, next, expect.Commit, expect.Prepare)
			}
			out = append(out, decode(r, next, s.cfg.ns))
			progressed = true
			next++
			if len(out) == want {
				break
			}
		}
		if len(got) > 0 && less(from, got[len(got)-1].Position) {
			from = got[len(got)-1].Position
			progressed = true
		}
		if !progressed {
			return nil, fmt.Errorf("kurrent: $all ended before Position %d", next)
		}
	}
	return out, nil
}

func collect(rs *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if ev.Event != nil {
			out = append(out, ev.Event)
		}
	}
}

// catchUp reads $all from where the index stands to its end. Concurrent
// callers queue; each read starts after the caller's request, so a caller
// sees everything committed before it called.
func (s *Store) catchUp(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	for {
		got, err := s.rawReadAll(ctx, s.idx.from(), uint64(s.cfg.page))
		if err != nil {
			return err
		}
		s.idx.apply(got...)
		if len(got) < s.cfg.page {
			return nil
		}
	}
}

// follow keeps the index current with a catch-up subscription to $all,
// filtered on the server to exclude system events, from the last position
// the index has seen. When the subscription drops (node restart, leader
// change, network) it resubscribes from the index's position after a
// backoff: the index's rule (only events after seen are numbered) makes the
// overlap harmless and leaves no gap.
func (s *Store) follow(ctx context.Context) {
	defer s.wg.Done()
	backoff := s.cfg.backoff
	for ctx.Err() == nil {
		filter := esdb.ExcludeSystemEventsFilter()
		if s.cfg.ns != "" {
			filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.cfg.ns}}
		}
		subscribed := false
		err := s.with(func(c *esdb.Client) error {
			sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
				From:               s.idx.from(),
				Filter:             filter,
				MaxSearchWindow:    32,
				CheckpointInterval: 1,
			})
			if err != nil {
				return err
			}
			defer sub.Close()
			subscribed = true
			s.log.Debug("subscribed to $all", "subscription", sub.Id())
			for {
				ev := sub.Recv()
				switch {
				case ev.EventAppeared != nil:
					s.idx.apply(ev.EventAppeared.Event)
					backoff = s.cfg.backoff
				case ev.CheckPointReached != nil:
					s.idx.advance(*ev.CheckPointReached)
				case ev.SubscriptionDropped != nil:
					return ev.SubscriptionDropped.Error
				}
			}
		})
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			s.log.Warn("$all subscription dropped; resubscribing", "err", err, "retry_in", backoff)
		} else {
			s.log.Warn("subscribing to $all", "err", err, "retry_in", backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
		if s.sleep(ctx, backoff) != nil {
			return
		}
	}
}

// Subscribe implements eventstore.Store. It pages through $all by Position
// with the same read as ReadAll and, once caught up with the index, waits
// for the follower to number more events; nothing is buffered for it.
// Read errors are retried (the server may be failing over) until ctx ends.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		backoff := s.cfg.backoff
		for {
			if err := s.checkOpen(); err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			if err := ctx.Err(); err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			_, notify := s.idx.head()
			page, err := s.readIndexed(ctx, after, 256)
			if err != nil {
				if s.checkOpen() == nil && ctx.Err() == nil {
					s.log.Warn("subscription read failed; retrying", "after", after, "err", err)
				}
				if s.sleep(ctx, backoff) != nil {
					continue // the checks above say why
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = s.cfg.backoff
			for _, e := range page {
				if err := ctx.Err(); err != nil {
					yield(eventstore.Event{}, err)
					return
				}
				if !yield(e, nil) {
					return
				}
				after = e.Position
			}
			if len(page) > 0 {
				continue
			}
			select {
			case <-notify:
			case <-ctx.Done():
			case <-s.done:
			}
		}
	}
}

// Head implements eventstore.Store: the number of ledger events in $all,
// after catching up with it.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if err := s.catchUp(ctx); err != nil {
		return 0, s.closedOr(wrap("reading $all", err))
	}
	h, _ := s.idx.head()
	return h, nil
}

// Close implements eventstore.Store: it stops following $all, ends running
// subscriptions with eventstore.ErrClosed and closes the client.
func (s *Store) Close() error {
	if s.file != nil && s.checkOpen() == nil {
		// Read $all to its end, so the index file ends at its last record
		// and the next Open reads only what is appended after this.
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		waitFor(func() { _ = s.catchUp(ctx) }, closeWait)
		cancel()
		s.flushIndex()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return eventstore.ErrClosed
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.cancel()
	if !waitFor(s.wg.Wait, closeWait) {
		s.log.Warn("$all follower did not stop; it is blocked in the client's node discovery")
	}
	s.flushIndex()
	// Closing the client while a call is inside it can panic the client
	// (it sends on the channel Close closes), and a call blocked in node
	// discovery ignores its context. So close only once no call is inside;
	// otherwise leave the client to the garbage collector.
	deadline := time.Now().Add(closeWait)
	for !s.callMu.TryLock() {
		if time.Now().After(deadline) {
			s.log.Warn("leaving the KurrentDB client open: calls are blocked in its node discovery")
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer s.callMu.Unlock()
	return s.esdb().Close()
}

// closeWait bounds how long Close waits for calls into the client to end.
const closeWait = 3 * time.Second

func waitFor(wait func(), d time.Duration) bool {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// with runs f with the current client, unless the Store is closed. Calls
// hold callMu's read lock so that Close can tell when none is inside the
// client.
func (s *Store) with(f func(c *esdb.Client) error) error {
	s.callMu.RLock()
	defer s.callMu.RUnlock()
	if err := s.checkOpen(); err != nil {
		return err
	}
	c := s.esdb()
	return s.check(c, f(c))
}

func (s *Store) esdb() *esdb.Client {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	return s.client
}

// check returns err after replacing the client if err says it has closed
// itself. With unbounded discovery (see Open) that should not happen; this
// is the defence if it does: the caller's retry then uses a fresh client.
func (s *Store) check(c *esdb.Client, err error) error {
	if code(err) != esdb.ErrorCodeConnectionClosed || s.checkOpen() != nil {
		return err
	}
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.client != c || s.checkOpen() != nil {
		return err // already replaced, or closing
	}
	fresh, nerr := esdb.NewClient(s.conf)
	if nerr != nil {
		return errors.Join(err, nerr)
	}
	s.log.Warn("KurrentDB client closed after failed discovery; starting a new one")
	// The old client is not closed: its own calls may still be sending
	// to it, and Close would make them panic. It holds no connection.
	s.client = fresh
	return err
}

func (s *Store) checkOpen() error {
	select {
	case <-s.done:
		return eventstore.ErrClosed
	default:
		return nil
	}
}

// closedOr reports ErrClosed for an operation that failed because the
// Store was closed under it.
func (s *Store) closedOr(err error) error {
	if err != nil && s.checkOpen() != nil {
		return eventstore.ErrClosed
	}
	return err
}

// sleep waits for d unless ctx ends or the Store closes first.
func (s *Store) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return eventstore.ErrClosed
	}
}

func checkLimit(limit int) error {
	if limit <= 0 || limit > eventstore.MaxReadLimit {
		return fmt.Errorf("%w: limit %d outside 1..%d", eventstore.ErrInvalid, limit, eventstore.MaxReadLimit)
	}
	return nil
}
