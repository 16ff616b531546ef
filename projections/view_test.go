package projections

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

func TestParseAt(t *testing.T) {
	at, err := ParseAt("")
	require.NoError(t, err)
	assert.True(t, at.IsLive())
	at, err = ParseAt("42")
	require.NoError(t, err)
	pos, ok := at.Position()
	assert.True(t, ok)
	assert.Equal(t, eventstore.Position(42), pos)
	at, err = ParseAt("2024-09-02T08:03:00Z")
	require.NoError(t, err)
	_, ok = at.Position()
	assert.False(t, ok, "a time has no position until resolved")
	assert.False(t, at.IsLive())
	for _, bad := range []string{"soon", "-1", "2024-09-02"} {
		_, err = ParseAt(bad)
		assert.ErrorIs(t, err, ErrBadAt, bad)
	}
}

func TestResolveCapsAtTheHeadAndMapsTimes(t *testing.T) {
	l := newLedger(t)
	seed(l)
	r, err := NewRunner(l.s, Config{})
	require.NoError(t, err)
	ctx := context.Background()
	at, err := r.Resolve(ctx, AtPosition(1<<40))
	require.NoError(t, err)
	pos, _ := at.Position()
	assert.Equal(t, l.head(), pos)
	at, err = r.Resolve(ctx, AtTime(base.Add(3*time.Minute)))
	require.NoError(t, err)
	pos, _ = at.Position()
	assert.Equal(t, eventstore.Position(3), pos, "one append a minute: three recorded by then")
	at, err = r.Resolve(ctx, Live())
	require.NoError(t, err)
	assert.True(t, at.IsLive())
}

// TestViewsWhileTheRunnerApplies reads live and as-of views, mixing
// append-only models (cut) with folded ones in both orders, while events
// are appended and applied. Under -race it proves the views hand out
// models only under the runner's synchronisation.
func TestViewsWhileTheRunnerApplies(t *testing.T) {
	l := newLedger(t)
	seed(l)
	mid := l.head()
	r, err := NewRunner(l.s, Config{Dir: t.TempDir(), SnapshotEvery: 5, Options: Options{PseudonymKey: []byte("k")}})
	require.NoError(t, err)
	start(t, r)
	waitFor(t, r, mid)
	ctx := context.Background()

	var want []TrailEntry
	_, err = r.Read(ctx, Live(), func(v *View) error {
		want, _ = Get[*Trails](v).Internal("s1", v.Position())
		return nil
	})
	require.NoError(t, err)
	wantSubs := marshal(t, mustAsOf(t, l, NewSubmissions(), mid))

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 60 {
			l.add("official-anna", domain.RoleOfficial, &domain.SubmissionForwarded{SubmissionID: "s1",
				To: fmt.Sprintf("Förvaltning %d", i), ForwardedBy: "official-anna"})
		}
	})
	for i := range 30 {
		wg.Go(func() {
			if i%2 == 0 {
				pos, err := r.Read(ctx, Live(), func(v *View) error {
					es, _ := Get[*Trails](v).Public("s1", v.Position())
					_ = Get[*Processes](v).List()
					assert.GreaterOrEqual(t, len(es), len(want))
					return nil
				})
				assert.NoError(t, err)
				assert.GreaterOrEqual(t, pos, mid)
				return
			}
			var trail []TrailEntry
			var subs string
			pos, err := r.Read(ctx, AtPosition(mid), func(v *View) error {
				if i%4 == 1 { // the cut model first, then a fold
					trail, _ = Get[*Trails](v).Internal("s1", v.Position())
					subs = marshal(t, Get[*Submissions](v))
				} else {
					subs = marshal(t, Get[*Submissions](v))
					trail, _ = Get[*Trails](v).Internal("s1", v.Position())
				}
				return nil
			})
			assert.NoError(t, err)
			assert.Equal(t, mid, pos)
			assert.Equal(t, want, trail)
			assert.Equal(t, wantSubs, subs)
		})
	}
	wg.Wait()
}

func TestGetOfAnUnknownModelIsAnError(t *testing.T) {
	l := newLedger(t)
	r, err := NewRunner(l.s, Config{}, NewQueue())
	require.NoError(t, err)
	_, err = r.Read(context.Background(), Live(), func(v *View) error {
		assert.Nil(t, Get[*Processes](v))
		return nil
	})
	assert.ErrorContains(t, err, "no model of type *projections.Processes")
}

func mustAsOf[M Model](t *testing.T, l *ledger, m M, pos eventstore.Position) M {
	t.Helper()
	m, err := asOf(context.Background(), l.s, "", m, pos)
	require.NoError(t, err)
	return m
}
