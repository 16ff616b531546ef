package embedded

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func TestIDFilterNoFalseNegativesFewFalsePositives(t *testing.T) {
	f := newIDFilter(10_000)
	var added []uuid.UUID
	for range 10_000 {
		id := uuid.New()
		f.add(id)
		added = append(added, id)
	}
	for _, id := range added {
		require.True(t, f.mayContain(id))
	}
	fp := 0
	for range 100_000 {
		if f.mayContain(uuid.New()) {
			fp++
		}
	}
	assert.Less(t, fp, 1000, "false positives out of 100000 new ids")
	var none *idFilter
	assert.True(t, none.mayContain(uuid.New()), "no filter means: ask Pebble")
}

// TestIDFilterRebuiltAtOpenAndWhenFull: repeats are recognised and reused
// ids refused after a reopen (the filter is rebuilt from the id index) and
// after the filter fills up and is rebuilt by the committer.
func TestIDFilterRebuiltAtOpenAndWhenFull(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s, err := Open(dir)
	require.NoError(t, err)
	first := []eventstore.EventData{ev(`{"n":1}`), ev(`{"n":2}`)}
	want, err := s.Append(ctx, "a-1", eventstore.NoStream(), first...)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openT(t, dir)
	again, err := s.Append(ctx, "a-1", eventstore.NoStream(), first...)
	require.NoError(t, err, "an idempotent repeat after reopening")
	assert.Equal(t, want, again)
	_, err = s.Append(ctx, "b-1", eventstore.Any(), first[1])
	require.ErrorIs(t, err, eventstore.ErrInvalid, "an id stored in another stream")

	// A filter that is already full is rebuilt at the next commit.
	s.commitMu.Lock()
	s.c.ids = &idFilter{bits: make([]uint64, 1), limit: 1, n: 1}
	s.commitMu.Unlock()
	more := ev(`{"n":3}`)
	_, err = s.Append(ctx, "c-1", eventstore.NoStream(), more)
	require.NoError(t, err)
	s.commitMu.Lock()
	rebuilt := s.c.ids
	s.commitMu.Unlock()
	require.NotNil(t, rebuilt)
	assert.GreaterOrEqual(t, rebuilt.limit, filterMinIDs)
	for _, e := range append(first, more) {
		assert.True(t, rebuilt.mayContain(e.ID))
	}
	again, err = s.Append(ctx, "a-1", eventstore.Exact(0), first...)
	require.NoError(t, err)
	assert.Equal(t, want, again)
	_, err = s.Append(ctx, "d-1", eventstore.Any(), more)
	require.ErrorIs(t, err, eventstore.ErrInvalid)
}
