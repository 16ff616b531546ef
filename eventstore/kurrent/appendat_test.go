package kurrent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
)

// AppendAt keeps the given RecordedAt (earlier ones too: a log written by
// several ledger processes need not be monotone), another process and a
// reopened Store read the same canonical bytes, and later Appends are
// stamped no earlier than the latest import.
func TestAppendAtKeepsRecordedAt(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := open(t, srv.URL(), kurrent.WithClock(func() time.Time { return clock }))
	defer a.Close()

	t1 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	t0 := t1.Add(-time.Minute)
	evs := events(1, 3)
	r1, err := a.AppendAt(ctx, "process-1", eventstore.NoStream(), t1, evs[0])
	require.NoError(t, err)
	require.True(t, r1.Last().RecordedAt.Equal(eventstore.TruncateTime(t1)))
	r2, err := a.AppendAt(ctx, "process-1", eventstore.Exact(0), t0, evs[1])
	require.NoError(t, err)
	require.True(t, r2.Last().RecordedAt.Equal(eventstore.TruncateTime(t0)), "an earlier imported time is kept")

	again, err := a.AppendAt(ctx, "process-1", eventstore.Any(), t0.Add(time.Hour), evs[0])
	require.NoError(t, err)
	require.Equal(t, r1.Events, again.Events, "a repeat returns the original")

	r3, err := a.Append(ctx, "process-1", eventstore.Any(), evs[2])
	require.NoError(t, err)
	require.True(t, r3.Last().RecordedAt.Equal(eventstore.TruncateTime(t1)), "the clock is behind the imported times")

	_, err = a.AppendAt(ctx, "process-1", eventstore.Any(), time.Time{}, events(2, 1)...)
	require.ErrorIs(t, err, eventstore.ErrInvalid)

	b := open(t, srv.URL())
	defer b.Close()
	got := readAll(t, b)
	require.Len(t, got, 3)
	for i, want := range []eventstore.Event{r1.Last(), r2.Last(), r3.Last()} {
		require.Equal(t, string(eventstore.Canonical(want)), string(eventstore.Canonical(got[i])))
	}
}
