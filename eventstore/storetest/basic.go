package storetest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func (s *suite) testAppendRead(t *testing.T) {
	st := s.fresh(t)
	ctx := testCtx(t)
	g := newGen(1)

	// An empty store.
	require.Zero(t, head(t, st))
	page, err := st.ReadAll(ctx, 0, 10)
	require.NoError(t, err)
	require.Empty(t, page)
	_, err = st.ReadStream(ctx, "process-1", eventstore.ReadStreamOptions{Limit: 10})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)

	// Data is stored byte-exact: spacing, escapes and non-ASCII survive.
	odd := g.event()
	odd.Data = []byte(`{ "title" : "Cykelbana på \u00c5ngbåtsbron" ,"n":[1, 2.50,1e3], "html":"<b>&amp;</b>"	}`)
	occurred := time.Date(2024, 9, 9, 10, 15, 30, 123456789, time.FixedZone("CEST", 2*3600))
	odd.Metadata = eventstore.Metadata{
		Actor: "staff-9", Role: "intake", CorrelationID: "corr-ö", CausationID: "evt-1",
		RequestID: "req-1", OccurredAt: occurred,
	}
	plain := g.event()
	plain.Metadata = eventstore.Metadata{} // no OccurredAt: defaults to RecordedAt
	third := g.event()

	res := mustAppend(t, st, "submission-åäö", eventstore.NoStream(), odd, plain, third)
	for i, e := range res.Events {
		require.Equal(t, uint64(i), e.Revision, "revisions start at 0")
		require.Equal(t, eventstore.Position(i+1), e.Position, "positions start at 1")
		require.Equal(t, "submission-åäö", e.Stream)
		requireLedgerTime(t, e.RecordedAt)
		requireLedgerTime(t, e.Metadata.OccurredAt)
	}
	require.Equal(t, res.Last().Revision, uint64(2))
	require.Equal(t, string(odd.Data), string(res.Events[0].Data))
	require.Equal(t, odd.ID, res.Events[0].ID)
	require.Equal(t, odd.Type, res.Events[0].Type)
	require.Equal(t, odd.Version, res.Events[0].Version)
	require.True(t, res.Events[0].Metadata.OccurredAt.Equal(occurred.Truncate(time.Microsecond)),
		"OccurredAt given is kept (UTC, µs): got %v", res.Events[0].Metadata.OccurredAt)
	require.True(t, res.Events[1].Metadata.OccurredAt.Equal(res.Events[1].RecordedAt),
		"OccurredAt defaults to RecordedAt")
	require.Equal(t, "corr-ö", res.Events[0].Metadata.CorrelationID)
	require.Equal(t, "evt-1", res.Events[0].Metadata.CausationID)

	// Interleave a second stream so stream reads and global reads differ.
	other := mustAppend(t, st, "process-1", eventstore.NoStream(), g.events(2)...)
	require.Equal(t, eventstore.Position(4), other.Events[0].Position)
	require.Equal(t, uint64(0), other.Events[0].Revision)
	more := mustAppend(t, st, "submission-åäö", eventstore.Exact(2), g.events(2)...)
	require.Equal(t, []uint64{3, 4}, []uint64{more.Events[0].Revision, more.Events[1].Revision})
	require.Equal(t, eventstore.Position(6), more.Events[0].Position)
	require.Equal(t, eventstore.Position(7), head(t, st))

	stream := append(append([]eventstore.Event{}, res.Events...), more.Events...)
	global := append(append(append([]eventstore.Event{}, res.Events...), other.Events...), more.Events...)

	// ReadStream, every shape.
	read := func(dir eventstore.Direction, from uint64, limit int) []eventstore.Event {
		t.Helper()
		evs, err := st.ReadStream(ctx, "submission-åäö", eventstore.ReadStreamOptions{Direction: dir, From: from, Limit: limit})
		require.NoError(t, err)
		return evs
	}
	reversed := func(evs ...eventstore.Event) []eventstore.Event {
		out := make([]eventstore.Event, len(evs))
		for i, e := range evs {
			out[len(evs)-1-i] = e
		}
		return out
	}
	requireSameEvents(t, stream, read(eventstore.Forwards, 0, 100))
	requireSameEvents(t, stream[2:], read(eventstore.Forwards, 2, 100))
	requireSameEvents(t, stream[1:3], read(eventstore.Forwards, 1, 2))
	requireSameEvents(t, stream[4:], read(eventstore.Forwards, 4, 100))
	require.Empty(t, read(eventstore.Forwards, 5, 10), "forwards at the end")
	require.Empty(t, read(eventstore.Forwards, 1000, 10), "forwards past the end")
	require.Empty(t, read(eventstore.Forwards, eventstore.End, 10), "forwards from End")
	requireSameEvents(t, reversed(stream...), read(eventstore.Backwards, eventstore.End, 100))
	requireSameEvents(t, reversed(stream[3:]...), read(eventstore.Backwards, eventstore.End, 2))
	requireSameEvents(t, reversed(stream[:2]...), read(eventstore.Backwards, 1, 100))
	requireSameEvents(t, stream[:1], read(eventstore.Backwards, 0, 100))
	requireSameEvents(t, reversed(stream[1:3]...), read(eventstore.Backwards, 2, 2))
	// Backwards from past the end starts at the last event.
	requireSameEvents(t, reversed(stream...), read(eventstore.Backwards, 1000, 100))
	for _, dir := range []eventstore.Direction{eventstore.Forwards, eventstore.Backwards} {
		_, err = st.ReadStream(ctx, "submission-404", eventstore.ReadStreamOptions{Direction: dir, From: 0, Limit: 1})
		require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
		_, err = st.ReadStream(ctx, "submission-404", eventstore.ReadStreamOptions{Direction: dir, From: eventstore.End, Limit: 1})
		require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
	}

	// ReadAll.
	requireSameEvents(t, global, readAll(t, st))
	all := func(after eventstore.Position, limit int) []eventstore.Event {
		t.Helper()
		evs, err := st.ReadAll(ctx, after, limit)
		require.NoError(t, err)
		return evs
	}
	requireSameEvents(t, global, all(0, 100))
	requireSameEvents(t, global[:3], all(0, 3))
	requireSameEvents(t, global[2:4], all(2, 2))
	requireSameEvents(t, global[6:], all(6, 100))
	require.Empty(t, all(7, 10), "at the head")
	require.Empty(t, all(1000, 10), "past the head")
	requireSameEvents(t, global, all(0, eventstore.MaxReadLimit))

	// Head follows appends.
	last := mustAppend(t, st, "process-1", eventstore.StreamExists(), g.event())
	require.Equal(t, eventstore.Position(8), last.Last().Position)
	require.Equal(t, uint64(2), last.Last().Revision)
	require.Equal(t, eventstore.Position(8), head(t, st))

	// RecordedAt is a wall-clock reading of the append, unless the harness
	// injects a clock; all that is required is the ledger's precision.
	for _, e := range readAll(t, st) {
		requireLedgerTime(t, e.RecordedAt)
	}
}

func (s *suite) testExpectedRevision(t *testing.T) {
	st := s.fresh(t)
	ctx := testCtx(t)
	g := newGen(2)

	// A stream without events.
	for _, exp := range []eventstore.ExpectedRevision{eventstore.StreamExists(), eventstore.Exact(0), eventstore.Exact(3)} {
		_, err := st.Append(ctx, "comment-1", exp, g.event())
		requireWrongExpected(t, err, "comment-1", exp, 0, false)
	}
	require.Zero(t, head(t, st), "a rejected append writes nothing")
	mustAppend(t, st, "comment-1", eventstore.NoStream(), g.event())
	mustAppend(t, st, "comment-2", eventstore.Any(), g.event())

	// comment-1 is at revision 0.
	for _, exp := range []eventstore.ExpectedRevision{eventstore.NoStream(), eventstore.Exact(1), eventstore.Exact(7)} {
		_, err := st.Append(ctx, "comment-1", exp, g.event())
		requireWrongExpected(t, err, "comment-1", exp, 0, true)
	}
	require.Equal(t, eventstore.Position(2), head(t, st), "a rejected append writes nothing")
	r := mustAppend(t, st, "comment-1", eventstore.Exact(0), g.event())
	require.Equal(t, uint64(1), r.Last().Revision)
	r = mustAppend(t, st, "comment-1", eventstore.StreamExists(), g.events(2)...)
	require.Equal(t, uint64(3), r.Last().Revision)
	r = mustAppend(t, st, "comment-1", eventstore.Any(), g.event())
	require.Equal(t, uint64(4), r.Last().Revision)
	r = mustAppend(t, st, "comment-1", eventstore.Exact(4), g.event())
	require.Equal(t, uint64(5), r.Last().Revision)

	// A stale exact revision, one from the future, and NoStream.
	for _, exp := range []eventstore.ExpectedRevision{eventstore.Exact(4), eventstore.Exact(0), eventstore.Exact(6), eventstore.NoStream()} {
		_, err := st.Append(ctx, "comment-1", exp, g.event())
		requireWrongExpected(t, err, "comment-1", exp, 5, true)
	}
	require.Len(t, readStream(t, st, "comment-1"), 6)
	require.Equal(t, eventstore.Position(7), head(t, st))

	// Expected revisions are per stream.
	r = mustAppend(t, st, "comment-2", eventstore.Exact(0), g.event())
	require.Equal(t, uint64(1), r.Last().Revision)
	require.Equal(t, eventstore.Position(8), r.Last().Position)
}

func (s *suite) testIdempotency(t *testing.T) {
	st := s.fresh(t)
	ctx := testCtx(t)
	g := newGen(3)

	batchA := g.events(3)
	resA := mustAppend(t, st, "submission-1", eventstore.NoStream(), batchA...)
	batchB := g.events(2)
	resB := mustAppend(t, st, "submission-1", eventstore.Exact(2), batchB...)
	mustAppend(t, st, "process-1", eventstore.Any(), g.events(2)...)
	mustAppend(t, st, "submission-1", eventstore.Exact(4), g.event()) // B's expected revision is now stale
	h := head(t, st)
	before := readAll(t, st)

	repeat := func(name string, stream string, exp eventstore.ExpectedRevision, batch []eventstore.EventData, want []eventstore.Event) {
		t.Helper()
		res, err := st.Append(ctx, stream, exp, batch...)
		require.NoError(t, err, "%s: a repeated append is not an error", name)
		requireSameEvents(t, want, res.Events)
		require.Equal(t, h, head(t, st), "%s: a repeated append writes nothing", name)
	}
	repeat("A with Any", "submission-1", eventstore.Any(), batchA, resA.Events)
	repeat("A with its original NoStream", "submission-1", eventstore.NoStream(), batchA, resA.Events)
	repeat("A with StreamExists", "submission-1", eventstore.StreamExists(), batchA, resA.Events)
	repeat("A with a wrong exact", "submission-1", eventstore.Exact(17), batchA, resA.Events)
	repeat("B with its original, now stale, Exact(2)", "submission-1", eventstore.Exact(2), batchB, resB.Events)
	repeat("B with Any", "submission-1", eventstore.Any(), batchB, resB.Events)
	repeat("B with the current Exact(5)", "submission-1", eventstore.Exact(5), batchB, resB.Events)
	// Every event of these batches is stored, in this stream, in this order.
	repeat("the tail of A", "submission-1", eventstore.Any(), batchA[1:], resA.Events[1:])
	repeat("one event of A", "submission-1", eventstore.Exact(0), batchA[1:2], resA.Events[1:2])
	repeat("across A and B", "submission-1", eventstore.Any(), []eventstore.EventData{batchA[2], batchB[0]},
		[]eventstore.Event{resA.Events[2], resB.Events[0]})

	// Stored IDs reused in any other way are errors, not writes.
	fresh := g.event()
	for name, c := range map[string]struct {
		stream string
		batch  []eventstore.EventData
	}{
		"whole batch in another stream": {"submission-2", batchA},
		"one id in another stream":      {"process-1", batchA[:1]},
		"stored then new":               {"submission-1", []eventstore.EventData{batchB[1], fresh}},
		"new then stored":               {"submission-1", []eventstore.EventData{fresh, batchA[0]}},
		"stored out of order":           {"submission-1", []eventstore.EventData{batchA[1], batchA[0], batchA[2]}},
	} {
		for _, exp := range []eventstore.ExpectedRevision{eventstore.Any(), eventstore.Exact(5)} {
			_, err := st.Append(ctx, c.stream, exp, c.batch...)
			require.ErrorIs(t, err, eventstore.ErrInvalid, "%s (expected %s)", name, exp)
		}
	}
	requireSameEvents(t, before, readAll(t, st))

	// A repeat with different content but the same IDs is still the same
	// event: the ID, not the body, identifies a retried write.
	changed := append([]eventstore.EventData{}, batchB...)
	changed[0].Data = []byte(`{"changed":true}`)
	repeat("B with changed data", "submission-1", eventstore.Any(), changed, resB.Events)

	// The fresh event, whose batch was rejected, can still be appended.
	r := mustAppend(t, st, "submission-1", eventstore.Exact(5), fresh)
	require.Equal(t, h+1, r.Last().Position)
	require.Equal(t, uint64(6), r.Last().Revision)
}

func (s *suite) testInvalid(t *testing.T) {
	st := s.fresh(t)
	ctx := testCtx(t)
	g := newGen(4)
	mustAppend(t, st, "process-1", eventstore.NoStream(), g.event())

	with := func(f func(*eventstore.EventData)) []eventstore.EventData {
		e := g.event()
		f(&e)
		return []eventstore.EventData{e}
	}
	jsonOfSize := func(n int) []byte { return blob(g, n) }
	tooMany := g.plain(eventstore.MaxBatchEvents + 1)
	dup := g.event()

	for name, c := range map[string]struct {
		stream string
		exp    eventstore.ExpectedRevision
		batch  []eventstore.EventData
	}{
		"empty stream name":      {"", eventstore.Any(), g.events(1)},
		"$system stream":         {"$system", eventstore.Any(), g.events(1)},
		"$all":                   {"$all", eventstore.Any(), g.events(1)},
		"space in stream":        {"process 1", eventstore.Any(), g.events(1)},
		"newline in stream":      {"process\n1", eventstore.Any(), g.events(1)},
		"non-UTF-8 stream":       {"process-\xff", eventstore.Any(), g.events(1)},
		"stream name too long":   {strings.Repeat("s", eventstore.MaxStreamNameLen+1), eventstore.Any(), g.events(1)},
		"zero expected revision": {"process-1", eventstore.ExpectedRevision{}, g.events(1)},
		"zero UUID":              {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.ID = uuid.Nil })},
		"empty batch":            {"process-1", eventstore.Any(), nil},
		"batch too large":        {"process-1", eventstore.Any(), tooMany},
		"id repeated in batch":   {"process-1", eventstore.Any(), []eventstore.EventData{dup, dup}},
		"empty type":             {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = "" })},
		"type with space":        {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = "Submission Received" })},
		"type too long":          {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = strings.Repeat("T", eventstore.MaxTypeLen+1) })},
		"version 0":              {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Version = 0 })},
		"negative version":       {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Version = -1 })},
		"nil data":               {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = nil })},
		"non-JSON data":          {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = []byte(`{"title":`) })},
		"two JSON values":        {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = []byte(`{} {}`) })},
		"data with LF":           {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = []byte("{\"a\":\n1}") })},
		"data with CR":           {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = []byte("{\"a\":\r1}") })},
		"data of MaxEventBytes+1": {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) {
			e.Data = jsonOfSize(eventstore.MaxEventBytes + 1)
		})},
		"data of 16 MiB+1": {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = jsonOfSize(16<<20 + 1) })},
		"metadata over the limit": {"process-1", eventstore.Any(), with(func(e *eventstore.EventData) {
			e.Metadata.Actor = strings.Repeat("a", eventstore.MaxEventBytes)
		})},
		"one bad event among good": {"process-1", eventstore.Any(), append(g.events(3), with(func(e *eventstore.EventData) { e.Version = 0 })...)},
	} {
		t.Run(name, func(t *testing.T) {
			require.NotPanics(t, func() {
				_, err := st.Append(ctx, c.stream, c.exp, c.batch...)
				require.ErrorIs(t, err, eventstore.ErrInvalid)
			})
		})
	}
	require.Equal(t, eventstore.Position(1), head(t, st), "invalid appends write nothing")

	for name, opts := range map[string]eventstore.ReadStreamOptions{
		"limit 0":          {Limit: 0},
		"negative limit":   {Limit: -1},
		"limit too large":  {Limit: eventstore.MaxReadLimit + 1},
		"backwards limit0": {Direction: eventstore.Backwards, From: eventstore.End},
		"bad direction":    {Direction: eventstore.Direction(7), Limit: 1},
	} {
		_, err := st.ReadStream(ctx, "process-1", opts)
		require.ErrorIs(t, err, eventstore.ErrInvalid, "ReadStream %s", name)
	}
	for _, stream := range []string{"", "$all", "process 1"} {
		_, err := st.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Limit: 1})
		require.ErrorIs(t, err, eventstore.ErrInvalid, "ReadStream of %q", stream)
	}
	for _, limit := range []int{0, -5, eventstore.MaxReadLimit + 1} {
		_, err := st.ReadAll(ctx, 0, limit)
		require.ErrorIs(t, err, eventstore.ErrInvalid, "ReadAll with limit %d", limit)
	}

	// The largest event accepted round-trips.
	big := g.event()
	big.Metadata = eventstore.Metadata{Actor: "staff-1"}
	big.Data = jsonOfSize(eventstore.MaxEventBytes - 1024)
	res := mustAppend(t, st, "process-1", eventstore.Exact(0), big)
	got := readStream(t, st, "process-1")
	require.Len(t, got, 2)
	require.True(t, bytes.Equal(big.Data, got[1].Data))
	requireSameEvent(t, res.Events[0], got[1])
}

// testDataIsCopied checks that neither the caller's buffer after Append nor a
// returned event's Data aliases what the store keeps.
func (s *suite) testDataIsCopied(t *testing.T) {
	st := s.fresh(t)
	e := newGen(5).event()
	orig := bytes.Clone(e.Data)
	res := mustAppend(t, st, "process-1", eventstore.NoStream(), e)
	for i := range e.Data {
		e.Data[i] = ' '
	}
	for i := range res.Events[0].Data {
		res.Events[0].Data[i] = ' '
	}
	got := readStream(t, st, "process-1")
	require.Equal(t, string(orig), string(got[0].Data))
	for i := range got[0].Data {
		got[0].Data[i] = ' '
	}
	all := readAll(t, st)
	require.Equal(t, string(orig), string(all[0].Data))
}

func (s *suite) testClosed(t *testing.T) {
	st := s.h.Open(t, t.TempDir())
	require.NotNil(t, st)
	ctx := testCtx(t)
	g := newGen(6)
	mustAppend(t, st, "process-1", eventstore.NoStream(), g.event())
	require.NoError(t, st.Close())

	_, err := st.Append(ctx, "process-1", eventstore.Any(), g.event())
	require.ErrorIs(t, err, eventstore.ErrClosed, "Append")
	_, err = st.ReadStream(ctx, "process-1", eventstore.ReadStreamOptions{Limit: 1})
	require.ErrorIs(t, err, eventstore.ErrClosed, "ReadStream")
	_, err = st.ReadAll(ctx, 0, 1)
	require.ErrorIs(t, err, eventstore.ErrClosed, "ReadAll")
	_, err = st.Head(ctx)
	require.ErrorIs(t, err, eventstore.ErrClosed, "Head")
	n := 0
	for _, err := range st.Subscribe(ctx, 0) {
		n++
		require.ErrorIs(t, err, eventstore.ErrClosed, "Subscribe")
	}
	require.Equal(t, 1, n, "Subscribe on a closed store yields exactly one error")
	require.ErrorIs(t, st.Close(), eventstore.ErrClosed, "second Close")
}
