// Package eventstore defines the ledger's event store contract: an append-only
// log of immutable events in per-aggregate streams with one global, gap-free
// order. It maps 1:1 onto KurrentDB (EventStoreDB) and is implemented by the
// embedded default store, a memory store for tests and the KurrentDB adapter;
// eventstore/storetest is the conformance suite they all pass.
package eventstore

import (
	"context"
	"iter"
	"time"

	"github.com/google/uuid"
)

// Position is an event's place in the global order. Positions are dense and
// start at 1: the n-th event ever appended has Position n, so a Position is
// also the size of the log (and of the Merkle tree) that ends with that event.
// Position 0 means "before the first event".
type Position uint64

// Store is the contract every event store implements. All methods are safe
// for concurrent use.
type Store interface {
	// Append writes events to the end of stream atomically, if the stream's
	// current revision satisfies expected; otherwise it returns a
	// *WrongExpectedVersionError (errors.Is ErrWrongExpectedVersion).
	// The events are durable (fsync'd or replicated) before Append returns.
	//
	// Append is idempotent on event IDs: when every event in the batch is
	// already stored, in this stream, in the same order, Append returns the
	// original result and writes nothing, whatever expected says.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)

	// ReadStream reads at most opts.Limit events of one stream, forwards from
	// opts.From (inclusive) or backwards from opts.From (inclusive; use End
	// for the last event). A stream that has no events is ErrStreamNotFound.
	// Reading at or past the end forwards returns no events and no error.
	ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) ([]Event, error)

	// ReadAll reads at most limit events in global order with
	// Position > after. Reading at or past the head returns no events.
	ReadAll(ctx context.Context, after Position, limit int) ([]Event, error)

	// Subscribe yields every event with Position > after in global order:
	// first those already stored (catch-up), then new ones as they are
	// appended (live). Delivery is gap-free and without duplicates. The
	// subscriber pulls: a slow consumer does not block appenders and does
	// not make the store buffer without bound. The sequence ends after
	// yielding a non-nil error: ctx.Err() when ctx is done, ErrClosed when
	// the store is closed. Breaking out of the loop ends the subscription.
	Subscribe(ctx context.Context, after Position) iter.Seq2[Event, error]

	// Head returns the Position of the last stored event (0 when empty).
	Head(ctx context.Context) (Position, error)

	// Close releases the store. Calls after Close return ErrClosed, and
	// running subscriptions end with ErrClosed.
	Close() error
}

// EventData is an event proposed for appending.
type EventData struct {
	// ID identifies the event for idempotency and receipts. It must not be
	// the zero UUID; callers derive it deterministically (for example from
	// an Idempotency-Key) so that a retried write is recognised.
	ID uuid.UUID
	// Type is the permanent event type name, e.g. "SubmissionReceived".
	Type string
	// Version is the schema version of Data, from 1.
	Version int
	// Data is the event body: valid JSON without line breaks (a raw CR or
	// LF byte). It is stored and returned byte-exact.
	Data []byte
	// Metadata says who did it, in what role, and when it happened.
	Metadata Metadata
}

// Metadata is the envelope information every event carries. Its JSON form is
// part of the canonical bytes; field names are permanent.
type Metadata struct {
	Actor         string `json:"actor,omitempty"`          // actor id (participant, staff or system id)
	Role          string `json:"role,omitempty"`           // role the actor acted in
	CorrelationID string `json:"correlation_id,omitempty"` // groups events caused by one request or process
	CausationID   string `json:"causation_id,omitempty"`   // the event or command that caused this one
	RequestID     string `json:"request_id,omitempty"`     // the HTTP request or CLI run that appended it
	// OccurredAt is when it happened in the world (the date on a paper
	// letter, the timestamp in an imported history). Stores normalise it to
	// UTC with microsecond precision and default it to the recorded time.
	OccurredAt time.Time `json:"occurred_at"`
}

// Event is a stored event.
type Event struct {
	ID         uuid.UUID
	Stream     string
	Type       string
	Version    int
	Data       []byte
	Metadata   Metadata
	Revision   uint64    // place in its stream, from 0
	Position   Position  // place in the global order, from 1
	RecordedAt time.Time // when the ledger appended it (UTC, microseconds)
}

// CanonicalEvent is a stored event as its canonical bytes (see Canonical),
// for readers that need the bytes rather than the fields: the integrity log,
// whose leaves they are, and exports. Stores that keep events in this form
// (the embedded store) offer ReadCanonical and SubscribeCanonical, which
// skip parsing.
type CanonicalEvent struct {
	Position Position
	Bytes    []byte
}

// AppendResult describes a successful (or idempotently repeated) append.
type AppendResult struct {
	// Events are the stored events, in order, with Revision, Position and
	// RecordedAt set.
	Events []Event
}

// Last returns the last appended event; its Revision is the stream's next
// expected revision.
func (r AppendResult) Last() Event { return r.Events[len(r.Events)-1] }

// Direction is the direction of a stream read.
type Direction int

// Read directions.
const (
	Forwards Direction = iota
	Backwards
)

// End, as ReadStreamOptions.From, reads backwards from the last event.
const End = ^uint64(0)

// ReadStreamOptions bound a stream read.
type ReadStreamOptions struct {
	Direction Direction
	From      uint64 // first revision to return (inclusive); End with Backwards
	Limit     int    // maximum events to return; must be > 0
}

// Limits every store enforces, so that an event accepted by one backend is
// accepted by all (KurrentDB's default maximum append size is 16 MiB).
const (
	MaxEventBytes    = 4 << 20  // Data plus encoded Metadata of one event
	MaxAppendBytes   = 16 << 20 // all events of one Append together
	MaxBatchEvents   = 10_000
	MaxStreamNameLen = 256
	MaxTypeLen       = 128
	MaxReadLimit     = 100_000
)
