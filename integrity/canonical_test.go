package integrity

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
)

// onlyStore hides every method beyond eventstore.Store, so the log takes
// the parse-and-re-encode path.
type onlyStore struct{ eventstore.Store }

// TestStoredBytesAreTheLeaves: following the embedded store by its stored
// canonical bytes (no parsing) builds the same tree as parsing each event
// and encoding it again, in catch-up and live.
func TestStoredBytesAreTheLeaves(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	var _ canonicalStore = s
	fill(t, s, 1500) // more than one catch-up page; data with escapes and non-ASCII

	raw := openLog(t, t.TempDir(), s)
	parsed := openLog(t, t.TempDir(), onlyStore{s})
	require.Equal(t, int64(1500), raw.Size())
	r1, err := raw.Root(1500)
	require.NoError(t, err)
	r2, err := parsed.Root(1500)
	require.NoError(t, err)
	require.Equal(t, r2, r1)

	// Live: Run follows the raw subscription.
	ctx, cancel := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, raw.Run(ctx, s)) })
	fill(t, s, 300)
	require.NoError(t, parsed.CatchUp(ctxT(t), onlyStore{s}))
	require.Eventually(t, func() bool { return raw.Size() == 1800 }, 10e9, 1e6)
	cancel()
	wg.Wait()
	r1, err = raw.Root(1800)
	require.NoError(t, err)
	r2, err = parsed.Root(1800)
	require.NoError(t, err)
	require.Equal(t, r2, r1)
	require.Equal(t, int64(1800), raw.Checkpoint().Size, "Run signs a last checkpoint")
}
