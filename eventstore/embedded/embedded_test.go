package embedded

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func openT(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ev(data string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "SubmissionReceived", Version: 1, Data: []byte(data)}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// enqueue queues requests as one group: they are in the queue together
// before the committer is woken, as concurrent Appends would be while the
// previous fsync runs.
func enqueue(s *Store, reqs ...*request) {
	s.qmu.Lock()
	s.queue = append(s.queue, reqs...)
	s.qmu.Unlock()
	s.wake <- struct{}{}
}

func req(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) *request {
	return &request{ctx: ctx, stream: stream, expected: exp, events: evs, done: make(chan struct{})}
}

func wait(t *testing.T, r *request) (eventstore.AppendResult, error) {
	t.Helper()
	select {
	case <-r.done:
		return r.res, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("request not answered")
		return eventstore.AppendResult{}, nil
	}
}

func TestGroupFailsAlone(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := ctxT(t)
	a1, a2 := ev(`{"n":1}`), ev(`{"n":2}`)
	first := req(ctx, "submission-x", eventstore.NoStream(), a1, a2)
	conflict := req(ctx, "submission-x", eventstore.NoStream(), ev(`{}`))
	other := req(ctx, "submission-y", eventstore.Any(), ev(`{"y":true}`))
	repeat := req(ctx, "submission-x", eventstore.Exact(99), a1, a2)
	reused := req(ctx, "submission-z", eventstore.Any(), a2)
	tail := req(ctx, "submission-x", eventstore.Exact(1), ev(`{"n":3}`))
	enqueue(s, first, conflict, other, repeat, reused, tail)

	res, err := wait(t, first)
	require.NoError(t, err)
	require.Equal(t, []eventstore.Position{1, 2}, positions(res.Events))

	_, err = wait(t, conflict)
	var wev *eventstore.WrongExpectedVersionError
	require.ErrorAs(t, err, &wev)
	assert.True(t, wev.Exists)
	assert.Equal(t, uint64(1), wev.Actual, "the conflict sees the head staged earlier in its group")

	res, err = wait(t, other)
	require.NoError(t, err)
	require.Equal(t, []eventstore.Position{3}, positions(res.Events))

	res, err = wait(t, repeat)
	require.NoError(t, err, "a repeat of events staged in the same group is idempotent")
	require.Equal(t, []eventstore.Position{1, 2}, positions(res.Events))

	_, err = wait(t, reused)
	require.ErrorIs(t, err, eventstore.ErrInvalid)

	res, err = wait(t, tail)
	require.NoError(t, err)
	require.Equal(t, uint64(2), res.Last().Revision)
	require.Equal(t, eventstore.Position(4), res.Last().Position)

	require.Equal(t, 1.0, counter(t, s.metrics.syncs), "the whole group is one fsync'd batch")
	all, err := s.ReadAll(ctx, 0, 100)
	require.NoError(t, err)
	require.Equal(t, []eventstore.Position{1, 2, 3, 4}, positions(all))
}

func counter(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func positions(evs []eventstore.Event) []eventstore.Position {
	out := make([]eventstore.Position, len(evs))
	for i, e := range evs {
		out[i] = e.Position
	}
	return out
}

func TestConcurrentAppendersShareFsyncs(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := ctxT(t)
	const writers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("participant-%d", w)
			for i := range each {
				exp := eventstore.NoStream()
				if i > 0 {
					exp = eventstore.Exact(uint64(i - 1))
				}
				if _, err := s.Append(ctx, stream, exp, ev(`{}`)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	h, err := s.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, eventstore.Position(writers*each), h)
	syncs := counter(t, s.metrics.syncs)
	t.Logf("%d appends, %.0f fsyncs", writers*each, syncs)
	require.Less(t, syncs, float64(writers*each), "concurrent appends must share fsyncs")
	for w := range writers {
		evs, err := s.ReadStream(ctx, fmt.Sprintf("participant-%d", w), eventstore.ReadStreamOptions{Limit: 100})
		require.NoError(t, err)
		require.Len(t, evs, each)
		for i, e := range evs {
			require.Equal(t, uint64(i), e.Revision)
		}
	}
}

func TestReopenKeepsBytesAndHeads(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s := openT(t, dir)
	// 300 events cross a byte boundary in the big-endian revision and
	// position keys, which is where a little-endian or varint key would sort
	// wrongly.
	var batch []eventstore.EventData
	for i := range 300 {
		batch = append(batch, ev(fmt.Sprintf(`{ "i" : %d }`, i)))
	}
	_, err := s.Append(ctx, "process-a", eventstore.NoStream(), batch...)
	require.NoError(t, err)
	_, err = s.Append(ctx, "process-ab", eventstore.NoStream(), ev(`{"other":1}`))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Close(), eventstore.ErrClosed)

	s = openT(t, dir)
	h, err := s.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, eventstore.Position(301), h)

	fwd, err := s.ReadStream(ctx, "process-a", eventstore.ReadStreamOptions{From: 250, Limit: 10})
	require.NoError(t, err)
	require.Len(t, fwd, 10)
	require.Equal(t, uint64(250), fwd[0].Revision)
	require.Equal(t, `{ "i" : 250 }`, string(fwd[0].Data), "data comes back byte-exact")

	back, err := s.ReadStream(ctx, "process-a", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 50})
	require.NoError(t, err)
	require.Len(t, back, 50)
	require.Equal(t, uint64(299), back[0].Revision, "process-ab does not leak into process-a")
	require.Equal(t, uint64(250), back[49].Revision)

	back, err = s.ReadStream(ctx, "process-a", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 256, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []uint64{256, 255}, []uint64{back[0].Revision, back[1].Revision})

	// The stream head is found again from the index after a reopen.
	_, err = s.Append(ctx, "process-a", eventstore.Exact(298), ev(`{}`))
	require.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)
	res, err := s.Append(ctx, "process-a", eventstore.Exact(299), ev(`{}`))
	require.NoError(t, err)
	require.Equal(t, uint64(300), res.Last().Revision)
	require.Equal(t, eventstore.Position(302), res.Last().Position)

	// Idempotency survives the reopen too.
	res, err = s.Append(ctx, "process-a", eventstore.NoStream(), batch[5:7]...)
	require.NoError(t, err)
	require.Equal(t, []eventstore.Position{6, 7}, positions(res.Events))
}

func TestRecordedAtNeverGoesBack(t *testing.T) {
	ctx := ctxT(t)
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	s := openT(t, t.TempDir(), WithClock(now))
	r1, err := s.Append(ctx, "s", eventstore.Any(), ev(`1`))
	require.NoError(t, err)
	mu.Lock()
	clock = clock.Add(-time.Hour) // the wall clock is stepped back
	mu.Unlock()
	r2, err := s.Append(ctx, "s", eventstore.Any(), ev(`2`))
	require.NoError(t, err)
	require.True(t, r1.Last().RecordedAt.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)))
	require.False(t, r2.Last().RecordedAt.Before(r1.Last().RecordedAt))
	require.True(t, r2.Last().Metadata.OccurredAt.Equal(r2.Last().RecordedAt))
}

func TestCloseFailsQueuedAppends(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := ctxT(t)
	// Queued but never signalled, so only Close can answer it.
	r := req(ctx, "s", eventstore.Any(), ev(`{}`))
	s.qmu.Lock()
	s.queue = append(s.queue, r)
	s.qmu.Unlock()

	sub := s.Subscribe(ctx, 0)
	subErr := make(chan error, 1)
	go func() {
		for _, err := range sub {
			if err != nil {
				subErr <- err
				return
			}
		}
	}()

	require.NoError(t, s.Close())
	_, err := wait(t, r)
	require.ErrorIs(t, err, eventstore.ErrClosed)
	select {
	case err := <-subErr:
		require.ErrorIs(t, err, eventstore.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end")
	}
	_, err = s.Append(ctx, "s", eventstore.Any(), ev(`{}`))
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = s.ReadAll(ctx, 0, 1)
	require.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = s.Head(ctx)
	require.ErrorIs(t, err, eventstore.ErrClosed)
}

func TestOpenRejectsOtherFormat(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	require.NoError(t, s.db.Set(metaFormatKey, []byte("99"), nil))
	require.NoError(t, s.Close())
	_, err := Open(dir)
	require.ErrorContains(t, err, `format "99"`)
}

func TestOptionsRouteMetricsAndPebbleLogs(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s := openT(t, dir)
	_, err := s.Append(ctx, "s", eventstore.Any(), ev(`{}`))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	reg := prometheus.NewRegistry()
	var logs syncBuffer
	s = openT(t, dir, WithMetrics(reg), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	_, err = s.Append(ctx, "s", eventstore.Exact(0), ev(`{}`), ev(`{}`))
	require.NoError(t, err)

	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		m := f.GetMetric()[0]
		switch {
		case m.Counter != nil:
			got[f.GetName()] = m.GetCounter().GetValue()
		case m.Histogram != nil:
			got[f.GetName()] = float64(m.GetHistogram().GetSampleCount())
		}
	}
	assert.Equal(t, map[string]float64{
		"ledger_eventstore_append_seconds": 1,
		"ledger_eventstore_commit_seconds": 1,
		"ledger_eventstore_group_events":   1,
		"ledger_eventstore_group_requests": 1,
		"ledger_eventstore_syncs_total":    1,
		"ledger_eventstore_events_total":   2,
	}, got)
	assert.Contains(t, logs.String(), "component=pebble", "Pebble's log goes through the given logger")
}

// syncBuffer is a bytes.Buffer safe for Pebble's background goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
