package projections

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// countingStore counts the ReadAll calls made through it.
type countingStore struct {
	eventstore.Store
	reads atomic.Int64
}

func (s *countingStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	s.reads.Add(1)
	return s.Store.ReadAll(ctx, after, limit)
}

// collect takes changes after `after` from the hub until it has reached
// `to`.
func collect(t *testing.T, h *Hub, after, to eventstore.Position) []Change {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out []Change
	for c, err := range h.Changes(ctx, after) {
		require.NoError(t, err)
		out = append(out, c)
		if c.Event.Position >= to {
			break
		}
	}
	return out
}

func TestChangesCarryTheDecodedEventAndWhatChanged(t *testing.T) {
	l := newLedger(t)
	seed(l)
	transparencyMore(l)
	r, err := NewRunner(l.s, Config{})
	require.NoError(t, err)
	start(t, r)
	waitFor(t, r, l.head())

	cs := collect(t, r.Hub(), 0, l.head())
	var decided Change
	for i, c := range cs {
		require.Equal(t, eventstore.Position(i+1), c.Event.Position, "every position once, in order")
		require.NotNil(t, c.Decoded, "the runner's decoding travels with the change")
		typ, _, _, err := domain.Encode(c.Decoded)
		require.NoError(t, err)
		assert.Equal(t, c.Event.Type, typ)
		if c.Event.Type == "ModerationDecided" && c.ItemID == "c1" {
			decided = c
		}
	}
	assert.Equal(t, "p1", decided.ProcessID, "the index names the process of a decision")
	assert.Equal(t, domain.ItemComment, decided.ItemKind)
	assert.Contains(t, decided.Models, NameSubmissions)
	assert.Contains(t, decided.Models, NameTransparency)
	assert.Contains(t, decided.Models, NameActors)
	assert.NotContains(t, decided.Models, NameParticipation)

	l.add("official-anna", domain.RoleOfficial, &domain.ProcessPhaseChanged{ProcessID: "p2", From: "förslag", To: "beslut", ChangedBy: "official-anna"})
	last := collect(t, r.Hub(), l.head()-1, l.head())
	require.Len(t, last, 1)
	assert.Equal(t, []string{NameProcesses, NameActors}, last[0].Models)
	assert.Equal(t, "p2", last[0].ProcessID)
}

// TestLiveSubscribersDoNotReadTheStore: subscribers that follow live
// appends take the runner's changes from the hub; only one resuming from
// before what the hub holds reads the store, and gets the same changes.
func TestLiveSubscribersDoNotReadTheStore(t *testing.T) {
	l := newLedger(t)
	seed(l)
	cs := &countingStore{Store: l.s}
	dir := t.TempDir()
	first, err := NewRunner(cs, Config{Dir: dir})
	require.NoError(t, err)
	stop := start(t, first)
	waitFor(t, first, l.head())
	stop()
	loaded := l.head()

	r, err := NewRunner(cs, Config{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, r.Load())
	start(t, r)
	waitFor(t, r, loaded)

	// Three live subscribers, then appends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []Change, 3)
	for range 3 {
		go func() {
			var out []Change
			for c, err := range r.Hub().Changes(ctx, loaded) {
				if err != nil {
					break
				}
				out = append(out, c)
				if len(out) == 5 {
					break
				}
			}
			got <- out
		}()
	}
	before := cs.reads.Load()
	for i := range 5 {
		register(l, "live-"+string(rune('a'+i)), "Husie", "18-29")
	}
	for range 3 {
		out := <-got
		require.Len(t, out, 5)
		assert.Equal(t, loaded+1, out[0].Event.Position)
	}
	waitFor(t, r, l.head())
	// The runner's subscription reads the store underneath (not through
	// cs); the subscribers read nothing.
	assert.Zero(t, cs.reads.Load()-before, "subscribers read the store")

	// A subscriber from before the checkpoint reads the older events from
	// the store and the newer ones from the hub, without gaps.
	all := collect(t, r.Hub(), 0, l.head())
	require.Len(t, all, int(l.head()))
	for i, c := range all {
		assert.Equal(t, eventstore.Position(i+1), c.Event.Position)
		assert.NotNil(t, c.Decoded)
	}
}
