package eventstore

import (
	"errors"
	"fmt"
)

// Named errors. Implementations wrap them with context; callers test with
// errors.Is.
var (
	// ErrWrongExpectedVersion: the stream's revision did not satisfy the
	// append's ExpectedRevision. The concrete error is a
	// *WrongExpectedVersionError carrying the actual revision.
	ErrWrongExpectedVersion = errors.New("eventstore: wrong expected version")
	// ErrStreamNotFound: the stream has no events.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrInvalid: the request is malformed (bad stream name, empty batch,
	// oversize or malformed event, invalid expected revision, bad limit).
	ErrInvalid = errors.New("eventstore: invalid request")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("eventstore: store closed")
	// ErrNoSpace: the disk is full; the append stored nothing and may be
	// retried once space is freed.
	ErrNoSpace = errors.New("eventstore: no space left on the device")
	// ErrUnavailable: the log may not be written now — its storage failed
	// or is damaged, or it does not match what was signed; the wrapping
	// error says which. Nothing was stored.
	ErrUnavailable = errors.New("eventstore: unavailable for writing")
	// ErrCorrupt: stored data failed its checksum; the read returned
	// nothing of it.
	ErrCorrupt = errors.New("eventstore: stored data is damaged")
)

// WrongExpectedVersionError reports an optimistic-concurrency conflict.
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedRevision
	// Actual is the stream's last revision; meaningless when !Exists.
	Actual uint64
	Exists bool
}

func (e *WrongExpectedVersionError) Error() string {
	actual := "no-stream"
	if e.Exists {
		actual = fmt.Sprintf("%d", e.Actual)
	}
	return fmt.Sprintf("eventstore: wrong expected version on %q: expected %s, actual %s", e.Stream, e.Expected, actual)
}

// Is makes errors.Is(err, ErrWrongExpectedVersion) true.
func (e *WrongExpectedVersionError) Is(target error) bool { return target == ErrWrongExpectedVersion }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
