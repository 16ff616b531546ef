package projections

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// TestOverdueSnapshotsWithoutCheckpoints: when checkpoints are too costly
// to write as often as snapshots are due, snapshots are still kept at most
// snapshotGap×SnapshotEvery apart (without checkpoints), and as-of from
// them answers as a fold from zero does.
func TestOverdueSnapshotsWithoutCheckpoints(t *testing.T) {
	l := newLedger(t)
	seed(l)
	dir := t.TempDir()
	const every = 2
	r, err := NewRunner(l.s, Config{Dir: dir, SnapshotEvery: every}, allModels()...)
	require.NoError(t, err)
	require.NoError(t, r.Load())
	// The last checkpoint took an hour: none is affordable now.
	r.lastCP, r.cpCost = time.Now(), time.Hour
	require.NoError(t, fold(context.Background(), Events(context.Background(), l.s, 0, l.head()), func(ev eventstore.Event, de domain.Event) error {
		r.apply(ev, de, false)
		return r.snapshotIfDue(ev.Position)
	}))
	snaps, err := snapshotPositions(dir, NameSubmissions)
	require.NoError(t, err)
	require.NotEmpty(t, snaps)
	prev := snaps[0]
	assert.LessOrEqual(t, int(prev), snapshotGap*every)
	for _, p := range snaps[1:] {
		assert.LessOrEqual(t, int(p-prev), snapshotGap*every, "snapshots %v", snaps)
		prev = p
	}
	_, err = os.Stat(checkpointPath(dir, NameSubmissions))
	assert.ErrorIs(t, err, os.ErrNotExist, "no checkpoint was affordable")
	trails, err := snapshotPositions(dir, NameTrails)
	require.NoError(t, err)
	assert.Empty(t, trails)

	pos := snaps[len(snaps)-1] + 1
	fromSnap, err := asOf(context.Background(), l.s, dir, NewSubmissions(), pos)
	require.NoError(t, err)
	fromZero, err := asOf(context.Background(), l.s, "", NewSubmissions(), pos)
	require.NoError(t, err)
	assert.Equal(t, marshal(t, fromZero), marshal(t, fromSnap))
}
