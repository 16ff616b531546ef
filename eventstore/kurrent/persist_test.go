package kurrent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/eventstore/kurrent/kurrenttest"
)

// fill appends batches of n events, one stream per batch, from seed on.
func fill(t *testing.T, st eventstore.Store, seed, batches, n int) {
	t.Helper()
	for i := range batches {
		_, err := st.Append(ctxFor(t), fmt.Sprint("bulk-", seed+i), eventstore.NoStream(), events(seed+i, n)...)
		require.NoError(t, err)
	}
}

// readEvery reads the whole ledger in pages.
func readEvery(t *testing.T, st eventstore.Store) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for {
		evs, err := st.ReadAll(ctxFor(t), eventstore.Position(len(out)), eventstore.MaxReadLimit)
		require.NoError(t, err)
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
	}
}

// waitSubscribed waits until the server has seen more than n subscriptions
// (a Store's follower subscribes after Open returns).
func waitSubscribed(t *testing.T, srv *kurrenttest.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.Subscriptions() > n }, 10*time.Second, 5*time.Millisecond)
}

// direct writes events(seed, n) straight into the fake's log.
func direct(srv *kurrenttest.Server, stream string, seed, n int) []uuid.UUID {
	var ids []uuid.UUID
	var evs []esdb.EventData
	for _, e := range events(seed, n) {
		ids = append(ids, e.ID)
		evs = append(evs, esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson,
			Data: e.Data, Metadata: []byte(`{"schema_version":1}`)})
	}
	srv.AppendDirect(stream, evs...)
	return ids
}

// waitQuiet waits until no subscription runs on srv (a closed Store's
// follower has ended on the server's side too), so that what srv sends
// next is for the Store opened next.
func waitQuiet(t *testing.T, srv *kurrenttest.Server) { t.Helper(); waitLive(t, srv, 0) }

func waitLive(t *testing.T, srv *kurrenttest.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.LiveSubscriptions() == n }, 10*time.Second, 5*time.Millisecond)
}

// TestRestartReadsOnlyWhatIsNew: a ledger node over a 100 000-event log
// restarts reading only what was appended to $all while it was down, plus
// the one record that proves its index file belongs to this database. The
// fake counts every event it sends.
func TestRestartReadsOnlyWhatIsNew(t *testing.T) {
	srv := newFake(t) // with interleaved system events
	batches := 10
	if raceEnabled {
		batches = 2 // the race detector makes reading 100 000 events take minutes
	}
	size := eventstore.Position(batches * 10_000)
	var ids []uuid.UUID
	for i := range batches {
		ids = append(ids, direct(srv, fmt.Sprint("bulk-", i), 1000+i, 10_000)...)
	}

	file := filepath.Join(t.TempDir(), "kurrent", "positions")
	start := time.Now()
	// Reading 100 000 events takes longer than open allows under the race
	// detector on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := kurrent.Open(ctx, srv.URL(), kurrent.WithIndexFile(file))
	require.NoError(t, err)
	first := time.Since(start)
	head, err := a.Head(ctxFor(t))
	require.NoError(t, err)
	require.Equal(t, size, head)
	require.NoError(t, a.Close())
	waitQuiet(t, srv)

	// Other nodes append while this one is down.
	before, _ := srv.Count()
	for i := range 5 {
		ids = append(ids, direct(srv, fmt.Sprint("late-", i), 5000+i, 7)...)
	}
	after, _ := srv.Count()
	appended := after - before

	sent, subs := srv.EventsSent(), srv.Subscriptions()
	start = time.Now()
	a = open(t, srv.URL(), kurrent.WithIndexFile(file))
	defer a.Close()
	restart := time.Since(start)
	waitSubscribed(t, srv, subs)
	read := srv.EventsSent() - sent
	t.Logf("first open read $all (%d records) in %v; restart read %d records (%d appended while down) in %v",
		before, first.Round(time.Millisecond), read, appended, restart.Round(time.Millisecond))
	require.LessOrEqual(t, read, appended+1, "a restart reads what was appended since the stop, and the one record it verifies")

	// And the numbers are right: Position p is the p-th event appended.
	head, err = a.Head(ctxFor(t))
	require.NoError(t, err)
	require.Equal(t, size+35, head)
	check := func(evs []eventstore.Event) {
		for _, e := range evs {
			require.Equal(t, ids[e.Position-1], e.ID, "Position %d", e.Position)
		}
	}
	for _, p := range []eventstore.Position{0, 1, 9_998, 9_999, 10_000, size / 2, size - 10} {
		evs, err := a.ReadAll(ctxFor(t), p, 20)
		require.NoError(t, err)
		require.Len(t, evs, 20)
		check(evs)
	}
	evs, err := a.ReadAll(ctxFor(t), size-10, 100)
	require.NoError(t, err)
	require.Len(t, evs, 45)
	check(evs)
}

// TestIndexFileDamage opens Stores over index files that are damaged,
// behind, foreign or from a database that was restored and diverged: each
// numbers every event exactly as a Store without a file does.
func TestIndexFileDamage(t *testing.T) {
	srv := newFake(t)
	w := open(t, srv.URL())
	defer w.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "positions")
	fill(t, w, 0, 20, 10)
	indexAt := func() []byte {
		a := open(t, srv.URL(), kurrent.WithIndexFile(file))
		require.NoError(t, a.Close())
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		return b
	}
	behind := indexAt()
	fill(t, w, 100, 10, 10)
	good := indexAt()
	want := readEvery(t, w)
	require.Len(t, want, 300)

	// Another database: the same first 200 events (so the same positions),
	// then different ones, as after a restore from an older backup.
	other := newFake(t)
	o := open(t, other.URL())
	fill(t, o, 0, 20, 10)
	fill(t, o, 900, 10, 10)
	require.NoError(t, o.Close())
	otherFile := filepath.Join(dir, "other")
	oa := open(t, other.URL(), kurrent.WithIndexFile(otherFile))
	require.NoError(t, oa.Close())
	foreign, err := os.ReadFile(otherFile)
	require.NoError(t, err)
	nsFile := filepath.Join(dir, "ns")
	na := open(t, srv.URL(), kurrent.WithIndexFile(nsFile), kurrent.WithNamespace("bulk-1"))
	require.NoError(t, na.Close())
	otherNS, err := os.ReadFile(nsFile)
	require.NoError(t, err)

	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x10
	cases := map[string][]byte{
		"intact":                  good,
		"behind":                  behind,
		"torn tail":               good[:len(good)-20],
		"flipped byte":            flipped,
		"header only":             good[:len("PLKXPOS1")+2+4],
		"garbage":                 []byte("not an index file at all, but long enough to be read as one......."),
		"empty":                   {},
		"another namespace":       otherNS,
		"restored and diverged":   foreign,
		"truncated inside header": good[:5],
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(file, content, 0o600))
			st := open(t, srv.URL(), kurrent.WithIndexFile(file))
			require.Equal(t, want, readEvery(t, st))
			require.NoError(t, st.Close())
			// The file is whole again: the next start reads one record.
			waitLive(t, srv, 1) // w's follower only
			sent, subs := srv.EventsSent(), srv.Subscriptions()
			st = open(t, srv.URL(), kurrent.WithIndexFile(file))
			waitSubscribed(t, srv, subs)
			require.LessOrEqual(t, srv.EventsSent()-sent, 1)
			require.Equal(t, want, readEvery(t, st))
			require.NoError(t, st.Close())
		})
	}

	// The diverged database read with the first database's file.
	require.NoError(t, os.WriteFile(otherFile, good, 0o600))
	st := open(t, other.URL(), kurrent.WithIndexFile(otherFile))
	defer st.Close()
	fresh := open(t, other.URL())
	defer fresh.Close()
	require.Equal(t, readEvery(t, fresh), readEvery(t, st))
}

// TestIndexFileLive runs the restart against a real KurrentDB: the numbers
// after a restart equal those of a Store that read all of $all. (The count
// of events read is checked against the fake only.)
func TestIndexFileLive(t *testing.T) {
	url := os.Getenv("LEDGER_TEST_KURRENT_URL")
	if url == "" {
		t.Skip("LEDGER_TEST_KURRENT_URL is not set")
	}
	ns := kurrent.WithNamespace(fmt.Sprintf("index-%d-", time.Now().UnixNano()))
	file := filepath.Join(t.TempDir(), "positions")
	w := open(t, url, ns)
	defer w.Close()
	fill(t, w, 0, 10, 10)
	a := open(t, url, ns, kurrent.WithIndexFile(file))
	require.NoError(t, a.Close())
	fill(t, w, 100, 3, 10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := kurrent.Open(ctx, url, ns, kurrent.WithIndexFile(file))
	require.NoError(t, err)
	defer a.Close()
	require.Equal(t, readEvery(t, w), readEvery(t, a))
}
