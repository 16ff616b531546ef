// Package ledger is the write side: it executes domain commands by reading
// the aggregate's stream, deciding with the domain, sealing personal data
// and appending the resulting events with optimistic concurrency.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/privacy"
)

// Named errors of the service, beside the domain's and the store's.
var (
	// ErrInvalid: the request cannot be executed as given (e.g. a malformed
	// If-Match or an idempotency key reused for another command).
	ErrInvalid = errors.New("ledger: invalid request")
	// ErrUnauthorized: the bearer token is unknown or revoked.
	ErrUnauthorized = errors.New("ledger: unknown or revoked token")
	// ErrDisposed: the data asked for was disposed (its key shredded).
	ErrDisposed = errors.New("ledger: disposed")
)

// PreconditionError reports that the caller's If-Match revision is not the
// stream's current revision.
type PreconditionError struct {
	Stream   string
	Expected uint64
	Actual   uint64 // meaningless when !Exists
	Exists   bool
}

func (e *PreconditionError) Error() string {
	if !e.Exists {
		return fmt.Sprintf("stream %s does not exist (If-Match %d)", e.Stream, e.Expected)
	}
	return fmt.Sprintf("stream %s is at revision %d, not %d", e.Stream, e.Actual, e.Expected)
}

// Is makes a precondition failure also an ErrWrongExpectedVersion.
func (e *PreconditionError) Is(target error) bool {
	return target == eventstore.ErrWrongExpectedVersion
}

// Service executes commands. It is safe for concurrent use.
type Service struct {
	store eventstore.Store
	keys  *privacy.Keys
	now   func() time.Time
	log   *slog.Logger
	// observe, if set, is told the duration of every append (for metrics).
	observe func(d time.Duration, events int, err error)

	tokens tokenIndex
	// onErasure are told, inside the request that grants an erasure, whose
	// account closed (see WithErasureHook).
	onErasure []func(ctx context.Context, participantID string) error

	// locks serialise commands on the same stream inside this process (a
	// stream hashes to one of a fixed set, so memory stays bounded), making
	// optimistic retries rare; correctness does not depend on them — the
	// store's expected revision guards against other processes.
	locks [1024]sync.Mutex
}

// Option configures New.
type Option func(*Service)

// WithClock sets the clock for command times and default occurred-at.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithAppendObserver reports each append's latency, size and error, e.g. to
// metrics.
func WithAppendObserver(f func(d time.Duration, events int, err error)) Option {
	return func(s *Service) { s.observe = f }
}

// WithErasureHook adds f to the hooks a granted erasure (or a disposal
// decision covering a participant) runs in its own request, after the
// participant's tokens are revoked and before their keys are shredded: the place to end the participant's web sessions (the
// auth package's session store). f must be idempotent — a retried request
// runs it again — and an error fails the request, which the caller retries.
// Sessions kept in another process can instead follow the log: a granted
// ErasureDecided on participant-<id>, and the TokenRevoked events with the
// reason "erasure granted (request …)" on the tokens stream.
func WithErasureHook(f func(ctx context.Context, participantID string) error) Option {
	return func(s *Service) { s.onErasure = append(s.onErasure, f) }
}

// New returns a service over store and keys. The token index is built from
// the "tokens" stream on first use (call LoadTokens at start to fail fast on
// a broken store) and re-read when an unknown token is presented, at most
// once a second, so tokens issued by another process are picked up.
func New(store eventstore.Store, keys *privacy.Keys, opts ...Option) *Service {
	s := &Service{store: store, keys: keys, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	s.tokens.init()
	return s
}

// Store returns the service's event store (for the read side's wiring).
func (s *Service) Store() eventstore.Store { return s.store }

// Request is a command with the context of the request that carries it.
type Request[C any] struct {
	Command C
	// IdempotencyKey makes retries safe: event ids (and ids of created
	// aggregates) are derived from (actor, key), so a repeat finds the
	// original events and returns the original result.
	IdempotencyKey string
	// IfMatch, if set, is the revision of the target stream the caller saw.
	IfMatch *uint64
	// RequestID, CorrelationID, CausationID go into event metadata.
	RequestID     string
	CorrelationID string
	CausationID   string
	// OccurredAt is when it happened in the world (the date on a paper
	// letter, in an imported history); zero means now.
	OccurredAt time.Time
}

// Appended is one appended (or previously appended) event.
type Appended struct {
	ID       string              `json:"id"`
	Type     string              `json:"type"`
	Stream   string              `json:"stream"`
	Revision uint64              `json:"revision"`
	Position eventstore.Position `json:"position"`
	// Stored is the event as the store holds it, for the write's receipt
	// (its canonical bytes are the Merkle leaf); never serialised.
	Stored eventstore.Event `json:"-"`
}

// Result is what a command did: ids and positions only, never content.
type Result struct {
	// ID is the id of the aggregate created or addressed (process,
	// submission, participant, appeal, …).
	ID     string     `json:"id"`
	Events []Appended `json:"events"`
	// Token is the secret of a newly issued token; set only by IssueToken
	// and only on the first answer (it is never stored).
	Token string `json:"token,omitempty"`
}

// Last returns the last event of the result.
func (r Result) Last() Appended { return r.Events[len(r.Events)-1] }

// meta is the request context every command method passes to execute.
type meta struct {
	actor       domain.Actor
	key         string
	ifMatch     *uint64
	requestID   string
	correlation string
	causation   string
	occurredAt  time.Time
	// salt separates id derivations of several appends made by one
	// request (disposal: the decision, then KeysShredded).
	salt string
}

func metaOf[C any](actor domain.Actor, r Request[C]) meta {
	return meta{actor: actor, key: r.IdempotencyKey, ifMatch: r.IfMatch, requestID: r.RequestID,
		correlation: r.CorrelationID, causation: r.CausationID, occurredAt: r.OccurredAt}
}

// idNamespace scopes the name-based UUIDs the ledger derives.
var idNamespace = uuid.MustParse("6f1f0c7e-2b55-4a7e-9a43-3f5a8f0e2d11")

// derive returns a UUID determined by the actor, the idempotency key and
// what, or a random one when the request has no key.
func (m meta) derive(what string) uuid.UUID {
	if m.key == "" {
		return uuid.New()
	}
	return uuid.NewSHA1(idNamespace, []byte(m.actor.ID+"\x00"+m.key+"\x00"+m.salt+"\x00"+what))
}

// newID returns the id of an aggregate the command creates.
func (m meta) newID(kind string) string { return m.derive("id:" + kind).String() }

func (m meta) eventID(i int) uuid.UUID { return m.derive(fmt.Sprintf("event:%d", i)) }

// loaded is a stream as read for deciding.
type loaded struct {
	stream   string
	events   []domain.Event
	stored   []eventstore.Event
	exists   bool
	revision uint64 // last revision, when exists
}

// load reads and decodes a whole stream; a missing stream is empty.
func (s *Service) load(ctx context.Context, stream string) (loaded, error) {
	l := loaded{stream: stream}
	from := uint64(0)
	for {
		evs, err := s.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Forwards, From: from, Limit: 4096})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return l, nil
		}
		if err != nil {
			return l, fmt.Errorf("ledger: reading %s: %w", stream, err)
		}
		for _, e := range evs {
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return l, fmt.Errorf("ledger: decoding %s@%d: %w", stream, e.Revision, err)
			}
			l.events = append(l.events, de)
			l.stored = append(l.stored, e)
			l.exists, l.revision = true, e.Revision
		}
		if len(evs) < 4096 {
			return l, nil
		}
		from = evs[len(evs)-1].Revision + 1
	}
}

// decideFunc decides a command against the target stream's events.
type decideFunc func(current []domain.Event) ([]domain.Event, error)

// execute runs the load–decide–seal–append cycle on one stream. labels go
// on any data key created while sealing. The id is reported as Result.ID.
func (s *Service) execute(ctx context.Context, m meta, id, stream string, labels privacy.Labels, decide decideFunc) (Result, error) {
	mu := s.lock(stream)
	mu.Lock()
	defer mu.Unlock()

	const attempts = 5
	for attempt := 0; ; attempt++ {
		l, err := s.load(ctx, stream)
		if err != nil {
			return Result{}, err
		}
		if r, ok := s.replay(m, id, l); ok {
			return r, nil
		}
		if m.ifMatch != nil && (!l.exists || l.revision != *m.ifMatch) {
			return Result{}, &PreconditionError{Stream: stream, Expected: *m.ifMatch, Actual: l.revision, Exists: l.exists}
		}
		evs, err := decide(l.events)
		if err != nil {
			return Result{}, err
		}
		if len(evs) == 0 {
			return Result{}, fmt.Errorf("ledger: command on %s produced no events: %w", stream, domain.ErrConflict)
		}
		data, err := s.encode(m, labels, evs)
		if err != nil {
			return Result{}, err
		}
		expected := eventstore.NoStream()
		if l.exists {
			expected = eventstore.Exact(l.revision)
		}
		start := time.Now()
		res, err := s.store.Append(ctx, stream, expected, data...)
		if s.observe != nil {
			s.observe(time.Since(start), len(data), err)
		}
		var wrong *eventstore.WrongExpectedVersionError
		if errors.As(err, &wrong) && m.ifMatch == nil && attempt < attempts {
			continue // another process wrote in between: decide again on the new state
		}
		if errors.As(err, &wrong) && m.ifMatch != nil {
			return Result{}, &PreconditionError{Stream: stream, Expected: *m.ifMatch, Actual: wrong.Actual, Exists: wrong.Exists}
		}
		if err != nil {
			return Result{}, fmt.Errorf("ledger: appending to %s: %w", stream, err)
		}
		return resultOf(id, res.Events), nil
	}
}

// replay finds the events a previous attempt of the same request appended
// (same derived ids) and returns its original result.
func (s *Service) replay(m meta, id string, l loaded) (Result, bool) {
	if m.key == "" {
		return Result{}, false
	}
	first := m.eventID(0)
	for i, e := range l.stored {
		if e.ID != first {
			continue
		}
		var got []eventstore.Event
		for j := i; j < len(l.stored) && l.stored[j].ID == m.eventID(j-i); j++ {
			got = append(got, l.stored[j])
		}
		return resultOf(id, got), true
	}
	return Result{}, false
}

func resultOf(id string, evs []eventstore.Event) Result {
	r := Result{ID: id}
	for _, e := range evs {
		r.Events = append(r.Events, Appended{ID: e.ID.String(), Type: e.Type, Stream: e.Stream, Revision: e.Revision, Position: e.Position, Stored: e})
	}
	return r
}

// encode seals every personal field still in plaintext and encodes the
// events with their metadata.
func (s *Service) encode(m meta, labels privacy.Labels, evs []domain.Event) ([]eventstore.EventData, error) {
	out := make([]eventstore.EventData, 0, len(evs))
	for i, ev := range evs {
		for _, p := range domain.PersonalFields(ev) {
			if p.Plain == "" || len(p.Sealed) > 0 {
				continue
			}
			sealed, err := s.keys.Seal(p.Subject, labels, p.Plain)
			if errors.Is(err, privacy.ErrShredded) {
				return nil, fmt.Errorf("ledger: %s's data was disposed: %w", p.Subject, domain.ErrConflict)
			}
			if err != nil {
				return nil, fmt.Errorf("ledger: sealing: %w", err)
			}
			p.Sealed = sealed
			p.Plain = ""
		}
		typ, ver, data, err := domain.Encode(ev)
		if err != nil {
			return nil, fmt.Errorf("ledger: encoding %T: %w", ev, err)
		}
		out = append(out, eventstore.EventData{
			ID: m.eventID(i), Type: typ, Version: ver, Data: data,
			Metadata: eventstore.Metadata{
				Actor: m.actor.ID, Role: string(m.actor.Role),
				CorrelationID: m.correlation, CausationID: m.causation, RequestID: m.requestID,
				OccurredAt: m.occurredAt,
			},
		})
	}
	return out, nil
}

func (s *Service) lock(stream string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(stream))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// Open returns the plaintext of a personal field, or disposed = true when
// its key was shredded. A field that cannot be opened for another reason
// (no key: data imported sealed elsewhere) reads as disposed too, because
// nothing can be shown.
func (s *Service) Open(p domain.Personal) (text string, disposed bool) {
	if len(p.Sealed) == 0 {
		return p.Plain, false
	}
	text, err := s.keys.Open(p.Subject, p.Sealed)
	if err != nil {
		return "", true
	}
	return text, false
}
