package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// counter counts the events it is given; Applied is not part of its state,
// so it tells how many events this process applied after a restart.
type counter struct {
	N       int `json:"n"`
	Applied int `json:"-"`
}

func (*counter) Name() string                           { return "counter" }
func (c *counter) Apply(eventstore.Event, domain.Event) { c.N++; c.Applied++ }
func (c *counter) Reset()                               { c.N = 0 }
func (c *counter) MarshalJSON() ([]byte, error)         { return json.Marshal(struct{ N int }{c.N}) }
func (c *counter) UnmarshalJSON(b []byte) error {
	var v struct{ N int }
	err := json.Unmarshal(b, &v)
	c.N = v.N
	return err
}

// start runs r in the background until the test ends and returns a stop
// function that waits for Run to return.
func start(t *testing.T, r *Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second):
			t.Fatal("runner did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, r *Runner, pos eventstore.Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.Wait(ctx, pos))
}

func snapshotAll(t *testing.T, r *Runner, ms []Model) map[string]string {
	out := map[string]string{}
	lockedRead(r, func(eventstore.Position) {
		for _, m := range ms {
			out[m.Name()] = marshal(t, m)
		}
	})
	return out
}

func TestRebuildIsDeterministic(t *testing.T) {
	l := newLedger(t)
	seed(l)
	dir := t.TempDir()

	// Live: catch up, take a checkpoint halfway, restart, follow appends.
	ms1 := allModels()
	r1, err := NewRunner(l.s, Config{Dir: dir, CheckpointEvery: 3, SnapshotEvery: 4}, ms1...)
	require.NoError(t, err)
	stop := start(t, r1)
	waitFor(t, r1, l.head())
	stop()
	ms2 := allModels()
	r2, err := NewRunner(l.s, Config{Dir: dir, CheckpointEvery: 3, SnapshotEvery: 4}, ms2...)
	require.NoError(t, err)
	start(t, r2)
	transparencyMore(l)
	waitFor(t, r2, l.head())
	live := snapshotAll(t, r2, ms2)

	// Rebuild from scratch with fresh models, twice.
	for i := range 2 {
		ms := allModels()
		rb, err := NewRunner(l.s, Config{Dir: t.TempDir()}, ms...)
		require.NoError(t, err)
		n, err := rb.Rebuild(context.Background())
		require.NoError(t, err)
		assert.Equal(t, int(l.head()), n)
		got := snapshotAll(t, rb, ms)
		for name, want := range live {
			assert.Equal(t, want, got[name], "rebuild %d of %s differs from the live model", i, name)
		}
	}
}

// transparencyMore appends a few more events to a seeded ledger.
func transparencyMore(l *ledger) {
	commentOn(l, "c3", "s3", "p2", "u6", true)
	decide(l, "moderator-karin", "d5", "c3", domain.ItemComment, domain.VisibilityApproved, nil)
	l.add("official-anna", domain.RoleOfficial, &domain.ProcessClosed{ProcessID: "p1", Reason: "Klar", ClosedBy: "official-anna"})
}

func TestCheckpointResumeFromPersistedPosition(t *testing.T) {
	l := newLedger(t)
	seed(l)
	dir := t.TempDir()
	first := l.head()

	c1 := &counter{}
	r1, err := NewRunner(l.s, Config{Dir: dir, CheckpointEvery: 1000, CheckpointInterval: time.Hour}, c1)
	require.NoError(t, err)
	stop := start(t, r1)
	waitFor(t, r1, first)
	stop() // writes the final checkpoint
	lockedRead(r1, func(pos eventstore.Position) { assert.Equal(t, first, pos) })
	assert.Equal(t, int(first), c1.Applied)

	transparencyMore(l)
	c2 := &counter{}
	r2, err := NewRunner(l.s, Config{Dir: dir}, c2)
	require.NoError(t, err)
	require.NoError(t, r2.Load())
	assert.Equal(t, first, r2.Position(), "resumes at the checkpoint, not at zero")
	start(t, r2)
	waitFor(t, r2, l.head())
	lockedRead(r2, func(eventstore.Position) {
		assert.Equal(t, int(l.head()-first), c2.Applied, "only the new events are applied after a restart")
		assert.Equal(t, int(l.head()), c2.N)
	})
}

func TestCheckpointEveryNEventsAndModelsAtDifferentPositions(t *testing.T) {
	l := newLedger(t)
	seed(l)
	dir := t.TempDir()
	c := &counter{}
	r, err := NewRunner(l.s, Config{Dir: dir, CheckpointEvery: 5, CheckpointInterval: time.Hour}, c)
	require.NoError(t, err)
	// Rebuild folds without Run; checkpoints are written every 5 events on
	// the way, and at the end.
	_, err = r.Rebuild(context.Background())
	require.NoError(t, err)
	var cp checkpoint
	b, err := os.ReadFile(filepath.Join(dir, "counter.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cp))
	assert.Equal(t, l.head(), cp.Position)

	// A model added later (no checkpoint) starts from zero while the others
	// resume: the counter must not see an event twice.
	transparencyMore(l)
	c2, q := &counter{}, NewQueue()
	r2, err := NewRunner(l.s, Config{Dir: dir}, c2, q)
	require.NoError(t, err)
	start(t, r2)
	waitFor(t, r2, l.head())
	lockedRead(r2, func(eventstore.Position) {
		assert.Equal(t, int(l.head()), c2.N)
		assert.Equal(t, 3, c2.Applied)
	})
	fresh := NewQueue()
	foldAll(t, l.s, fresh)
	lockedRead(r2, func(eventstore.Position) { assert.Equal(t, marshal(t, fresh), marshal(t, q)) })
}

func TestCheckpointIsAtomicAndChecked(t *testing.T) {
	dir := t.TempDir()
	c := &counter{N: 7}
	path := checkpointPath(dir, c.Name())
	require.NoError(t, writeCheckpoint(path, c, 42))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	c2 := &counter{}
	pos, err := readCheckpoint(path, c2)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Position(42), pos)
	assert.Equal(t, 7, c2.N)

	_, err = readCheckpoint(path, NewQueue())
	assert.Error(t, err, "a checkpoint of another model is refused")
	require.NoError(t, os.WriteFile(path, []byte(`{"model":"counter","position":`), 0o644))
	_, err = readCheckpoint(path, c2)
	assert.Error(t, err, "a torn checkpoint is an error, not a silent restart from zero")
}

func TestAsOfEqualsWhatWasSeenThen(t *testing.T) {
	l := newLedger(t)
	dir := t.TempDir()
	ms := allModels()
	r, err := NewRunner(l.s, Config{Dir: dir, SnapshotEvery: 5}, ms...)
	require.NoError(t, err)
	start(t, r)

	type seen struct {
		pos    eventstore.Position
		at     time.Time
		models map[string]string
		trail  []TrailEntry
	}
	var taken []seen
	take := func() {
		pos := l.head()
		waitFor(t, r, pos)
		s := seen{pos: pos, models: snapshotAll(t, r, ms)}
		evs, err := l.s.ReadAll(context.Background(), pos-1, 1)
		require.NoError(t, err)
		s.at = evs[0].RecordedAt
		lockedRead(r, func(eventstore.Position) { s.trail, _ = ms[2].(*Trails).Internal("s1", Latest) })
		taken = append(taken, s)
	}
	openProcess(l, "p1", "Kommunstyrelsen", 3, domain.ModerationPost)
	openProcess(l, "p2", "Tekniska nämnden", 0, domain.ModerationPre)
	register(l, "u1", "Rosengård", "30-44")
	submit(l, "s1", "p1", "u1", domain.ChannelWeb, false)
	take()
	for i := 2; i <= 7; i++ {
		register(l, fmt.Sprintf("u%d", i), "Fosie", "18-29")
	}
	commentOn(l, "c1", "s1", "p1", "u2", false)
	take()
	decide(l, "moderator-karin", "d1", "c1", domain.ItemComment, domain.VisibilityDisabled, nil)
	l.add("u3", domain.RoleParticipant, &domain.SupportGiven{SubmissionID: "s1", ProcessID: "p1", ParticipantID: "u3"})
	take()
	l.add("official-anna", domain.RoleOfficial, &domain.SubmissionForwarded{SubmissionID: "s1", To: "Fritid", ForwardedBy: "official-anna"})
	take()
	seed(l) // the whole seed again, on top: ids repeat, models must cope
	take()

	snaps, err := snapshotPositions(dir, NameSubmissions)
	require.NoError(t, err)
	require.NotEmpty(t, snaps, "the runner kept as-of snapshots")

	for _, s := range taken {
		for _, fresh := range allModels() {
			m, err := asOf(context.Background(), l.s, dir, fresh, s.pos)
			require.NoError(t, err)
			assert.Equal(t, s.models[m.Name()], marshal(t, m), "%s as of %d", m.Name(), s.pos)
		}
		// Without snapshots (dir ""), the answer is the same.
		m, err := asOf(context.Background(), l.s, "", NewSubmissions(), s.pos)
		require.NoError(t, err)
		assert.Equal(t, s.models[NameSubmissions], marshal(t, m))

		// By time: the position recorded at that time.
		p, err := PositionAt(context.Background(), l.s, s.at)
		require.NoError(t, err)
		assert.Equal(t, s.pos, p)
		p, err = PositionAt(context.Background(), l.s, s.at.Add(-time.Second))
		require.NoError(t, err)
		assert.Equal(t, s.pos-1, p)

		// A View as of the position: folded models and the live trail cut
		// there agree, by position and by time.
		for _, at := range []At{AtPosition(s.pos), AtTime(s.at)} {
			var got []TrailEntry
			pos, err := r.Read(context.Background(), at, func(v *View) error {
				got, _ = Get[*Trails](v).Internal("s1", v.Position())
				assert.Equal(t, s.models[NameTransparency], marshal(t, Get[*Transparency](v)))
				assert.Equal(t, s.models[NameSubmissions], marshal(t, Get[*Submissions](v)))
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, s.pos, pos)
			assert.Equal(t, s.trail, got)
		}
	}
	trailSnaps, err := snapshotPositions(dir, NameTrails)
	require.NoError(t, err)
	assert.Empty(t, trailSnaps, "append-only models are cut, not snapshotted")
	p, err := PositionAt(context.Background(), l.s, base)
	require.NoError(t, err)
	assert.Zero(t, p, "nothing was recorded before the first append")
	p, err = PositionAt(context.Background(), l.s, base.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, l.head(), p)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestLagMetricAndRunOnce(t *testing.T) {
	l := newLedger(t)
	seed(l)
	reg := prometheus.NewRegistry()
	r, err := NewRunner(l.s, Config{Registerer: reg, CheckpointInterval: 10 * time.Millisecond}, NewQueue())
	require.NoError(t, err)
	start(t, r)
	waitFor(t, r, l.head())
	assert.Equal(t, float64(l.head()), metricValue(t, reg, "ledger_projection_position"))
	assert.Equal(t, float64(l.head()), metricValue(t, reg, "ledger_projection_events_applied_total"))
	assert.Equal(t, 0.0, metricValue(t, reg, "ledger_projection_lag_events"))

	// A runner that has applied nothing lags by the whole log.
	reg2 := prometheus.NewRegistry()
	behind, err := NewRunner(l.s, Config{Registerer: reg2}, NewQueue())
	require.NoError(t, err)
	require.NoError(t, behind.Load())
	behind.refreshHead(context.Background())
	assert.Equal(t, float64(l.head()), metricValue(t, reg2, "ledger_projection_lag_events"))

	assert.Error(t, r.Run(context.Background()), "a second Run while running is refused")
	_, err = r.Rebuild(context.Background())
	assert.Error(t, err, "rebuild while running is refused")

	_, err = NewRunner(l.s, Config{}, NewQueue(), NewQueue())
	assert.Error(t, err, "two models with one name")
}
