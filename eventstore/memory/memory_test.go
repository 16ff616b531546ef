package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(testing.TB, string) eventstore.Store { return memory.New() },
	})
}

func TestWithClock(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	s := memory.New(memory.WithClock(func() time.Time { return now }))
	defer s.Close()
	ctx := context.Background()
	ev := func() eventstore.EventData {
		return eventstore.EventData{ID: uuid.New(), Type: "ProcessOpened", Version: 1, Data: []byte(`{}`)}
	}

	res, err := s.Append(ctx, "process-1", eventstore.NoStream(), ev())
	require.NoError(t, err)
	want := time.Date(2026, 3, 1, 11, 0, 0, 123456000, time.UTC)
	require.Equal(t, want, res.Last().RecordedAt)
	require.Equal(t, want, res.Last().Metadata.OccurredAt)

	// A clock that steps back does not make RecordedAt go backwards along
	// the log, so as-of-time reads see a prefix of it.
	now = now.Add(-time.Hour)
	res, err = s.Append(ctx, "process-1", eventstore.Exact(0), ev())
	require.NoError(t, err)
	require.Equal(t, want, res.Last().RecordedAt)

	now = now.Add(2 * time.Hour)
	res, err = s.Append(ctx, "process-1", eventstore.Exact(1), ev())
	require.NoError(t, err)
	require.Equal(t, want.Add(time.Hour), res.Last().RecordedAt)
}
