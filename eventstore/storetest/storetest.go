// Package storetest is the conformance suite that every eventstore.Store
// implementation runs, in the manner of testing/fstest and testing/slogtest.
//
// An implementation's test calls Run with a Harness:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			Open: func(t testing.TB, dir string) eventstore.Store {
//				s, err := embedded.Open(dir)
//				require.NoError(t, err)
//				return s
//			},
//			Durable: true,
//		})
//	}
//
// For a durable store the suite re-executes the test binary as a child
// process that appends until it is killed with SIGKILL; Run recognises that
// child at its start and never returns in it. Run therefore must be called
// directly from a test function (or subtest) whose name selects it alone.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

// Harness tells the suite how to make the store under test.
type Harness struct {
	// Open opens (or reopens) the store kept in dir, failing t if it
	// cannot. Calling it again with the same dir after Close must see the
	// same data when Durable is true. The suite closes every store it opens
	// (a second Close may return ErrClosed; the suite ignores that), so Open
	// need not register a cleanup of its own.
	Open func(t testing.TB, dir string) eventstore.Store
	// Durable says that the store keeps its data in dir across Close and
	// process crashes: the reopen and crash-recovery cases apply.
	Durable bool
}

// Run runs the whole conformance suite against h, each case in its own
// subtest with its own fresh directory.
func Run(t *testing.T, h Harness) {
	if h.Durable {
		maybeCrashChild(t, h) // does not return in the child process
	}
	s := &suite{h: h, name: t.Name()}
	t.Run("AppendRead", s.testAppendRead)
	t.Run("ExpectedRevision", s.testExpectedRevision)
	t.Run("Idempotency", s.testIdempotency)
	t.Run("Invalid", s.testInvalid)
	t.Run("DataIsCopied", s.testDataIsCopied)
	t.Run("Concurrency", s.testConcurrency)
	t.Run("Large", s.testLarge)
	t.Run("Subscribe", s.testSubscribe)
	t.Run("Closed", s.testClosed)
	if h.Durable {
		t.Run("Reopen", s.testReopen)
		t.Run("CrashRecovery", s.testCrashRecovery)
	}
}

type suite struct {
	h    Harness
	name string // the test that called Run; the crash child reruns it
}

// open opens a store in dir and closes it when the test ends.
func (s *suite) open(t testing.TB, dir string) eventstore.Store {
	t.Helper()
	st := s.h.Open(t, dir)
	require.NotNil(t, st, "Harness.Open returned nil")
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { _ = st.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(callTimeout):
			t.Errorf("Close did not return within %v", callTimeout)
		}
	})
	return st
}

// fresh opens a store in a new temporary directory.
func (s *suite) fresh(t testing.TB) eventstore.Store {
	t.Helper()
	return s.open(t, t.TempDir())
}

// testCtx bounds every case so a hanging store fails instead of stalling
// the whole test binary.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// callTimeout bounds a single store call the suite waits for.
const callTimeout = 20 * time.Second

// bounded runs f, failing t if it does not return within callTimeout: a
// store that deadlocks (say, an append waiting on a subscriber) then fails
// its case with a message instead of hanging the test binary.
func bounded[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(callTimeout):
		require.FailNow(t, what+" did not return", "within %v: the store is deadlocked or far too slow", callTimeout)
		panic("unreachable")
	}
}

type appendOutcome struct {
	res eventstore.AppendResult
	err error
}

func mustAppend(t testing.TB, st eventstore.Store, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	ctx := testCtx(t)
	out := bounded(t, "Append", func() appendOutcome {
		res, err := st.Append(ctx, stream, exp, evs...)
		return appendOutcome{res, err}
	})
	res, err := out.res, out.err
	require.NoError(t, err, "append %d events to %q with expected %s", len(evs), stream, exp)
	require.Len(t, res.Events, len(evs))
	return res
}

// readAll returns the whole log, in pages, checking that pages continue
// where the previous one ended.
func readAll(t testing.TB, st eventstore.Store) []eventstore.Event {
	t.Helper()
	ctx := testCtx(t)
	var all []eventstore.Event
	for {
		page, err := st.ReadAll(ctx, eventstore.Position(len(all)), 1000)
		require.NoError(t, err)
		if len(page) == 0 {
			return all
		}
		for _, e := range page {
			require.Equal(t, eventstore.Position(len(all)+1), e.Position, "ReadAll: positions are not dense")
			all = append(all, e)
		}
	}
}

func readStream(t testing.TB, st eventstore.Store, stream string) []eventstore.Event {
	t.Helper()
	evs, err := st.ReadStream(testCtx(t), stream, eventstore.ReadStreamOptions{Limit: eventstore.MaxReadLimit})
	require.NoError(t, err, "read %q", stream)
	return evs
}

func head(t testing.TB, st eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := st.Head(testCtx(t))
	require.NoError(t, err)
	return h
}

// requireSameEvent compares stored events field by field: times with Equal
// (stores may build equal times differently) and in UTC.
func requireSameEvent(t testing.TB, want, got eventstore.Event, msgAndArgs ...any) {
	t.Helper()
	if sameEvent(want, got) {
		return // the fast path: tens of thousands of events are compared
	}
	require.Equal(t, want.ID, got.ID, msgAndArgs...)
	require.Equal(t, want.Stream, got.Stream, msgAndArgs...)
	require.Equal(t, want.Type, got.Type, msgAndArgs...)
	require.Equal(t, want.Version, got.Version, msgAndArgs...)
	require.Equal(t, string(want.Data), string(got.Data), msgAndArgs...)
	require.Equal(t, want.Revision, got.Revision, msgAndArgs...)
	require.Equal(t, want.Position, got.Position, msgAndArgs...)
	requireLedgerTime(t, got.RecordedAt, msgAndArgs...)
	require.True(t, want.RecordedAt.Equal(got.RecordedAt), "RecordedAt: want %v, got %v", want.RecordedAt, got.RecordedAt)
	wm, gm := want.Metadata, got.Metadata
	requireLedgerTime(t, gm.OccurredAt, msgAndArgs...)
	require.True(t, wm.OccurredAt.Equal(gm.OccurredAt), "OccurredAt: want %v, got %v", wm.OccurredAt, gm.OccurredAt)
	wm.OccurredAt, gm.OccurredAt = time.Time{}, time.Time{}
	require.Equal(t, wm, gm, msgAndArgs...)
}

func sameEvent(want, got eventstore.Event) bool {
	return want.ID == got.ID && want.Stream == got.Stream && want.Type == got.Type &&
		want.Version == got.Version && bytes.Equal(want.Data, got.Data) &&
		want.Revision == got.Revision && want.Position == got.Position &&
		want.RecordedAt.Equal(got.RecordedAt) && isLedgerTime(got.RecordedAt) &&
		want.Metadata.OccurredAt.Equal(got.Metadata.OccurredAt) && isLedgerTime(got.Metadata.OccurredAt) &&
		want.Metadata.Actor == got.Metadata.Actor && want.Metadata.Role == got.Metadata.Role &&
		want.Metadata.CorrelationID == got.Metadata.CorrelationID &&
		want.Metadata.CausationID == got.Metadata.CausationID &&
		want.Metadata.RequestID == got.Metadata.RequestID
}

func isLedgerTime(tm time.Time) bool {
	return !tm.IsZero() && tm.Location() == time.UTC && tm.Nanosecond()%1000 == 0
}

func requireSameEvents(t testing.TB, want, got []eventstore.Event) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		requireSameEvent(t, want[i], got[i], "event %d", i)
	}
}

// requireLedgerTime checks the ledger's time precision: UTC, microseconds.
func requireLedgerTime(t testing.TB, tm time.Time, msgAndArgs ...any) {
	t.Helper()
	require.False(t, tm.IsZero(), msgAndArgs...)
	require.Equal(t, time.UTC, tm.Location(), "time %v is not in UTC", tm)
	require.Zero(t, tm.Nanosecond()%1000, "time %v has sub-microsecond digits", tm)
}

// requireWrongExpected checks err is a *WrongExpectedVersionError with the
// given stream state.
func requireWrongExpected(t testing.TB, err error, stream string, expected eventstore.ExpectedRevision, actual uint64, exists bool) {
	t.Helper()
	require.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)
	var wev *eventstore.WrongExpectedVersionError
	require.True(t, errors.As(err, &wev), "error %v is not a *WrongExpectedVersionError", err)
	require.Equal(t, stream, wev.Stream)
	require.Equal(t, expected, wev.Expected)
	require.Equal(t, exists, wev.Exists, "Exists")
	if exists {
		require.Equal(t, actual, wev.Actual, "Actual")
	}
}
