package eventstore

import (
	"fmt"
)

// ExpectedRevision is the optimistic-concurrency condition of an Append. The
// zero value is invalid, so a forgotten condition is an error, not Any.
type ExpectedRevision struct {
	kind     expectKind
	revision uint64
}

type expectKind uint8

const (
	expectInvalid expectKind = iota
	expectAny
	expectNoStream
	expectStreamExists
	expectExact
)

// Any appends whatever the stream's state.
func Any() ExpectedRevision { return ExpectedRevision{kind: expectAny} }

// NoStream appends only if the stream has no events.
func NoStream() ExpectedRevision { return ExpectedRevision{kind: expectNoStream} }

// StreamExists appends only if the stream has at least one event.
func StreamExists() ExpectedRevision { return ExpectedRevision{kind: expectStreamExists} }

// Exact appends only if the stream's last event has revision r.
func Exact(r uint64) ExpectedRevision { return ExpectedRevision{kind: expectExact, revision: r} }

// IsAny, IsNoStream, IsStreamExists report the condition's kind; Exact
// returns the revision of an exact condition.
func (e ExpectedRevision) IsAny() bool          { return e.kind == expectAny }
func (e ExpectedRevision) IsNoStream() bool     { return e.kind == expectNoStream }
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// ExactRevision returns the revision and true for an Exact condition.
func (e ExpectedRevision) ExactRevision() (uint64, bool) {
	return e.revision, e.kind == expectExact
}

// Valid reports whether e was made by one of the constructors.
func (e ExpectedRevision) Valid() bool { return e.kind >= expectAny && e.kind <= expectExact }

// Check reports whether a stream whose last revision is current (exists is
// false for a stream without events) satisfies e. Stores call it under their
// append lock.
func (e ExpectedRevision) Check(current uint64, exists bool) bool {
	switch e.kind {
	case expectAny:
		return true
	case expectNoStream:
		return !exists
	case expectStreamExists:
		return exists
	case expectExact:
		return exists && current == e.revision
	}
	return false
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectAny:
		return "any"
	case expectNoStream:
		return "no-stream"
	case expectStreamExists:
		return "stream-exists"
	case expectExact:
		return fmt.Sprintf("%d", e.revision)
	}
	return "invalid"
}
