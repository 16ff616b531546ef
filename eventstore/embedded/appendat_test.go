package embedded

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

// AppendAt keeps the given RecordedAt, even one earlier than the previous
// event's (a copied multi-writer log need not be monotone), it survives a
// reopen, and later Appends are stamped no earlier than the latest import.
func TestAppendAtKeepsRecordedAt(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(dir, WithClock(func() time.Time { return clock }))
	require.NoError(t, err)

	t1 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	t0 := t1.Add(-time.Minute)
	a := ev(`{"n":1}`)
	r1, err := s.AppendAt(ctx, "s", eventstore.NoStream(), t1, a)
	require.NoError(t, err)
	require.True(t, r1.Last().RecordedAt.Equal(eventstore.TruncateTime(t1)))
	require.True(t, r1.Last().Metadata.OccurredAt.Equal(eventstore.TruncateTime(t1)))
	r2, err := s.AppendAt(ctx, "s", eventstore.Exact(0), t0, ev(`{"n":2}`))
	require.NoError(t, err)
	require.True(t, r2.Last().RecordedAt.Equal(eventstore.TruncateTime(t0)), "an earlier imported time is kept, not clamped")

	// A repeat returns the original, whatever time is given.
	again, err := s.AppendAt(ctx, "s", eventstore.Any(), t0.Add(time.Hour), a)
	require.NoError(t, err)
	require.Equal(t, r1.Events, again.Events)

	// The clock (2025-01-01) is behind the imported times.
	r3, err := s.Append(ctx, "s", eventstore.Any(), ev(`{"n":3}`))
	require.NoError(t, err)
	require.True(t, r3.Last().RecordedAt.Equal(eventstore.TruncateTime(t1)))

	_, err = s.AppendAt(ctx, "s", eventstore.Any(), time.Time{}, ev(`{}`))
	require.ErrorIs(t, err, eventstore.ErrInvalid)
	require.NoError(t, s.Close())

	s = openT(t, dir)
	got, err := s.ReadAll(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, eventstore.Canonical(r1.Last()), eventstore.Canonical(got[0]))
	require.Equal(t, eventstore.Canonical(r2.Last()), eventstore.Canonical(got[1]))
}
