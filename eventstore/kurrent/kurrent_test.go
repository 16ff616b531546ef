package kurrent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/eventstore/kurrent/kurrenttest"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/eventstore/storetest"
)

// envFakeURL passes the address of a fake in the test process to
// storetest's crash child, a second process that must reach the same
// server, as a restarted ledger process reaches the same KurrentDB cluster.
// The child marks its directory with sharedMarker so that the parent, on
// reopening it, uses that server too.
const (
	envFakeURL   = "KURRENT_TEST_FAKE_URL"
	sharedMarker = "kurrent-shared-fake"
)

// namespaceFor gives each storetest directory its own namespace: an empty
// ledger on a shared server, found again on reopen and by the crash child.
func namespaceFor(dir string) kurrent.Option {
	sum := sha256.Sum256([]byte(dir))
	return kurrent.WithNamespace("storetest-" + hex.EncodeToString(sum[:8]) + "-")
}

func open(t testing.TB, url string, opts ...kurrent.Option) *kurrent.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := kurrent.Open(ctx, url, opts...)
	require.NoError(t, err)
	return st
}

// TestConformance runs the suite with a fake per case directory that
// outlives the Stores opened on it, so reopening is meaningful, and with no
// namespace: the whole of $all, system events included, is the ledger's.
// The crash child (another process) cannot reach a fake of its own after it
// is killed, so it uses a fake of this process, in a namespace.
func TestConformance(t *testing.T) {
	shared := os.Getenv(envFakeURL)
	if shared == "" {
		shared = newFake(t).URL()
		t.Setenv(envFakeURL, shared)
	}
	var mu sync.Mutex
	fakes := map[string]string{}
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB, dir string) eventstore.Store {
			marker := filepath.Join(dir, sharedMarker)
			if os.Getenv("STORETEST_CRASH_DIR") == dir {
				require.NoError(t, os.WriteFile(marker, nil, 0o600))
			}
			// The Position index is kept in the case's directory, so
			// reopening and crash recovery go through the index file.
			file := kurrent.WithIndexFile(filepath.Join(dir, "kurrent-positions"))
			if _, err := os.Stat(marker); err == nil {
				return open(t, shared, namespaceFor(dir), file)
			}
			mu.Lock()
			defer mu.Unlock()
			url, ok := fakes[dir]
			if !ok {
				url = newFake(t).URL()
				fakes[dir] = url
			}
			return open(t, url, file)
		},
		Durable: true,
	})
}

// TestLive runs the conformance suite against a real KurrentDB. Each case
// gets its own namespace derived from its directory, so the case sees an
// empty ledger on a shared server and a reopen (or the crash child) finds
// the same one.
func TestLive(t *testing.T) {
	url := os.Getenv("LEDGER_TEST_KURRENT_URL")
	if url == "" {
		t.Skip("LEDGER_TEST_KURRENT_URL is not set; set it (e.g. esdb://localhost:2113?tls=false) to run the suite against a real KurrentDB")
	}
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB, dir string) eventstore.Store {
			return open(t, url, namespaceFor(dir), kurrent.WithIndexFile(filepath.Join(dir, "kurrent-positions")))
		},
		Durable: true,
	})
}

func newFake(t testing.TB, opts ...kurrenttest.Option) *kurrenttest.Server {
	t.Helper()
	srv, err := kurrenttest.Start(opts...)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var idSeq = uuid.MustParse("6f0c1e1a-0000-4000-8000-000000000000")

// events returns n events with deterministic ids from seed.
func events(seed, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		id := idSeq
		id[8], id[9], id[10], id[11] = byte(seed>>8), byte(seed), byte(i>>8), byte(i)
		id[12] = 0x80
		out[i] = eventstore.EventData{
			ID: id, Type: "CommentPosted", Version: 1,
			Data:     fmt.Appendf(nil, `{"seed":%d,"i":%d,"text":"Fler bänkar längs kanalen"}`, seed, i),
			Metadata: eventstore.Metadata{Actor: "participant-1", Role: "participant", CorrelationID: fmt.Sprint("corr-", seed)},
		}
	}
	return out
}

func readAll(t *testing.T, st eventstore.Store) []eventstore.Event {
	t.Helper()
	evs, err := st.ReadAll(ctxFor(t), 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	return evs
}

// TestPositionsAreTheSameEverywhere checks the dense mapping over a sparse
// $all with system events: two Stores on one server (two ledger processes)
// and a Store opened later agree on every Position, and the canonical bytes
// equal those of the memory store given the same appends and clock.
func TestPositionsAreTheSameEverywhere(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	clock := func() time.Time { return time.Date(2024, 9, 9, 10, 0, 0, 123456789, time.UTC) }
	a := open(t, srv.URL(), kurrent.WithClock(clock))
	defer a.Close()
	b := open(t, srv.URL(), kurrent.WithClock(clock))
	defer b.Close()
	mem := memory.New(memory.WithClock(clock))

	for i := range 40 {
		st := eventstore.Store(a)
		if i%3 == 0 {
			st = b
		}
		stream := fmt.Sprintf("submission-%d", i%5)
		evs := events(i, 1+i%4)
		res, err := st.Append(ctx, stream, eventstore.Any(), evs...)
		require.NoError(t, err)
		want, err := mem.Append(ctx, stream, eventstore.Any(), evs...)
		require.NoError(t, err)
		for j := range res.Events {
			require.Equal(t, want.Events[j].Position, res.Events[j].Position, "append %d event %d", i, j)
		}
		if i%7 == 0 {
			srv.WriteSystemEvent("$stats-127.0.0.1:2113", "$statsCollected")
		}
	}
	all, system := srv.Count()
	require.Greater(t, system, 5, "the fake interleaves system events")

	c := open(t, srv.URL())
	defer c.Close()
	want := readAll(t, mem)
	require.Len(t, want, all-system)
	for _, st := range []*kurrent.Store{a, b, c} {
		got := readAll(t, st)
		require.Len(t, got, len(want))
		for i := range want {
			require.Equal(t, string(eventstore.Canonical(want[i])), string(eventstore.Canonical(got[i])), "Position %d", i+1)
		}
		h, err := st.Head(ctx)
		require.NoError(t, err)
		require.Equal(t, eventstore.Position(len(want)), h)
	}
}

// TestCrossProcessIdempotency: a Store that has not yet seen another
// process's write learns the actual revision from the server and recognises
// a retry of that write by its ids.
func TestCrossProcessIdempotency(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	a := open(t, srv.URL())
	defer a.Close()
	b := open(t, srv.URL())
	defer b.Close()

	batch := events(1, 3)
	res, err := a.Append(ctx, "process-1", eventstore.NoStream(), batch...)
	require.NoError(t, err)

	_, err = b.Append(ctx, "process-1", eventstore.Exact(0), events(2, 1)...)
	var wev *eventstore.WrongExpectedVersionError
	require.ErrorAs(t, err, &wev)
	assert.True(t, wev.Exists)
	assert.Equal(t, uint64(2), wev.Actual)

	again, err := b.Append(ctx, "process-1", eventstore.NoStream(), batch...)
	require.NoError(t, err)
	require.Equal(t, res.Events, again.Events)
	all, _ := srv.Count()
	appends := srv.Appends()
	_, err = b.Append(ctx, "process-1", eventstore.Any(), batch[1:]...)
	require.NoError(t, err)
	n, _ := srv.Count()
	require.Equal(t, all, n, "a repeat writes nothing")
	require.Equal(t, appends, srv.Appends(), "a repeat known to the index is not sent")
}

// TestSubscriptionSurvivesDrops drops the server side of the follower's
// $all subscription repeatedly while events are appended and checks a
// subscriber sees every Position once, in order.
func TestSubscriptionSurvivesDrops(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	writer := open(t, srv.URL())
	defer writer.Close()
	reader := open(t, srv.URL(), kurrent.WithTimeout(2*time.Second))
	defer reader.Close()

	const batches = 60
	got := make(chan eventstore.Event, 1000)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for e, err := range reader.Subscribe(subCtx, 0) {
			if err != nil {
				close(got)
				return
			}
			got <- e
		}
	}()

	total := 0
	for i := range batches {
		res, err := writer.Append(ctx, fmt.Sprintf("comment-%d", i%4), eventstore.Any(), events(i, 1+i%3)...)
		require.NoError(t, err)
		total += len(res.Events)
		if i%10 == 5 {
			srv.DropSubscriptions()
		}
	}
	for p := 1; p <= total; p++ {
		select {
		case e := <-got:
			require.Equal(t, eventstore.Position(p), e.Position)
		case <-time.After(10 * time.Second):
			t.Fatalf("subscriber stuck before Position %d of %d", p, total)
		}
	}
	select {
	case e := <-got:
		t.Fatalf("extra event at Position %d", e.Position)
	case <-time.After(100 * time.Millisecond):
	}
	// Two followers, resubscribed after every drop (both, unless one was
	// still backing off from the previous drop).
	require.GreaterOrEqual(t, srv.Subscriptions(), 2+batches/10)
}

// TestAppendPastDeadline: the server holds an attempt past the call's
// deadline. Whether the held write lands late or never, the batch is stored
// exactly once and Append reports where.
func TestAppendPastDeadline(t *testing.T) {
	for name, c := range map[string]struct {
		fault   kurrenttest.AppendFault
		appends int // calls the server sees, the first append included
	}{
		// Lands when the client gives up: found by its ids, not resent.
		"LandsLate": {kurrenttest.AppendFault{Delay: time.Second}, 2},
		// Never lands: retried with the same ids and revision.
		"NeverLands": {kurrenttest.AppendFault{Delay: time.Second, Code: codes.Unavailable}, 3},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFake(t)
			ctx := ctxFor(t)
			st := open(t, srv.URL(), kurrent.WithTimeout(300*time.Millisecond))
			defer st.Close()
			first, err := st.Append(ctx, "submission-1", eventstore.NoStream(), events(1, 1)...)
			require.NoError(t, err)

			srv.InjectAppendFault(c.fault)
			start := time.Now()
			res, err := st.Append(ctx, "submission-1", eventstore.Exact(0), events(2, 2)...)
			require.NoError(t, err)
			require.Less(t, time.Since(start), time.Second, "the deadline, not the server, ended the attempt")
			require.Equal(t, []uint64{1, 2}, []uint64{res.Events[0].Revision, res.Events[1].Revision})
			require.Equal(t, first.Last().Position+1, res.Events[0].Position)
			require.Equal(t, c.appends, srv.Appends())

			time.Sleep(time.Second) // let a held attempt land, if it is going to
			all := readAll(t, st)
			require.Len(t, all, 3, "no duplicate")
			require.Equal(t, res.Events, all[1:])
		})
	}
}

// TestAmbiguousErrorAfterCommit: the server commits, then the answer is an
// error. The adapter must find the batch in $all and report the original
// positions, without a second write, whatever the expected revision.
func TestAmbiguousErrorAfterCommit(t *testing.T) {
	for _, exp := range []eventstore.ExpectedRevision{eventstore.NoStream(), eventstore.Any()} {
		t.Run(exp.String(), func(t *testing.T) {
			srv := newFake(t)
			ctx := ctxFor(t)
			st := open(t, srv.URL())
			defer st.Close()
			_, err := st.Append(ctx, "process-0", eventstore.Any(), events(0, 2)...)
			require.NoError(t, err)

			srv.InjectAppendFault(kurrenttest.AppendFault{Commit: true, Code: codes.Unavailable})
			res, err := st.Append(ctx, "process-1", exp, events(1, 3)...)
			require.NoError(t, err)
			require.Equal(t, 2, srv.Appends(), "resolved without a second write")
			all := readAll(t, st)
			require.Len(t, all, 5)
			require.Equal(t, all[2:], res.Events)
			require.Equal(t, eventstore.Position(3), res.Events[0].Position)
		})
	}
}

// TestNoRetryWithAny: an ambiguous failure that did not commit is not
// retried when the expected revision is Any; the caller's retry with the
// same ids then writes exactly once.
func TestNoRetryWithAny(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	st := open(t, srv.URL())
	defer st.Close()

	srv.InjectAppendFault(kurrenttest.AppendFault{Code: codes.Unavailable})
	batch := events(1, 2)
	_, err := st.Append(ctx, "process-1", eventstore.Any(), batch...)
	require.Error(t, err)
	require.Equal(t, 1, srv.Appends())
	require.Empty(t, readAll(t, st))

	res, err := st.Append(ctx, "process-1", eventstore.Any(), batch...)
	require.NoError(t, err)
	require.Equal(t, eventstore.Position(2), res.Last().Position)
	res2, err := st.Append(ctx, "process-1", eventstore.Any(), batch...)
	require.NoError(t, err)
	require.Equal(t, res.Events, res2.Events)
	require.Len(t, readAll(t, st), 2)
}

// TestRetryAfterUnavailable: a transient failure that did not commit is
// retried for an exact expected revision.
func TestRetryAfterUnavailable(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	st := open(t, srv.URL())
	defer st.Close()
	srv.InjectAppendFault(kurrenttest.AppendFault{Code: codes.Unavailable})
	srv.InjectAppendFault(kurrenttest.AppendFault{Code: codes.Unavailable})
	res, err := st.Append(ctx, "process-1", eventstore.NoStream(), events(1, 2)...)
	require.NoError(t, err)
	require.Equal(t, 3, srv.Appends())
	require.Equal(t, eventstore.Position(2), res.Last().Position)

	srv.InjectAppendFault(kurrenttest.AppendFault{Code: codes.Unavailable})
	srv.InjectAppendFault(kurrenttest.AppendFault{Code: codes.Unavailable})
	srv.InjectAppendFault(kurrenttest.AppendFault{Code: codes.Unavailable})
	_, err = st.Append(ctx, "process-1", eventstore.Exact(1), events(2, 1)...)
	require.Error(t, err, "gives up after the attempts allowed")
	require.Equal(t, 6, srv.Appends())
	require.Len(t, readAll(t, st), 2)
}

// TestConcurrentStoresOnOneServer races appends from two Stores and checks
// both number the result identically.
func TestConcurrentStoresOnOneServer(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	stores := []*kurrent.Store{open(t, srv.URL()), open(t, srv.URL())}
	defer stores[0].Close()
	defer stores[1].Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[uuid.UUID]eventstore.Position{}
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				res, err := stores[w%2].Append(ctx, fmt.Sprintf("comment-%d", i%3), eventstore.Any(), events(w*100+i, 2)...)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, e := range res.Events {
					acked[e.ID] = e.Position
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	a, b := readAll(t, stores[0]), readAll(t, stores[1])
	require.Len(t, a, len(acked))
	require.Equal(t, a, b)
	for _, e := range a {
		require.Equal(t, acked[e.ID], e.Position, "event %s", e.ID)
	}
}

func TestNamespace(t *testing.T) {
	srv := newFake(t)
	ctx := ctxFor(t)
	x := open(t, srv.URL(), kurrent.WithNamespace("x-"))
	defer x.Close()
	y := open(t, srv.URL(), kurrent.WithNamespace("y-"))
	defer y.Close()
	_, err := x.Append(ctx, "process-1", eventstore.NoStream(), events(1, 2)...)
	require.NoError(t, err)
	res, err := y.Append(ctx, "process-1", eventstore.NoStream(), events(2, 1)...)
	require.NoError(t, err)
	require.Equal(t, eventstore.Position(1), res.Last().Position)
	require.Equal(t, "process-1", res.Last().Stream)
	require.Len(t, readAll(t, x), 2)
	require.Len(t, readAll(t, y), 1)
	_, err = kurrent.Open(ctx, srv.URL(), kurrent.WithNamespace("$x"))
	require.ErrorIs(t, err, eventstore.ErrInvalid)
}

// TestServerRestart takes the server away for 1.5 s, longer than the
// client's default discovery (10 attempts, 100 ms apart) after which it
// would close itself for good, even with maxDiscoverAttempts set in the
// connection string. The Store keeps it rediscovering: calls wait for the
// server, the append lands once, and a subscriber continues without gap or
// duplicate.
func TestServerRestart(t *testing.T) {
	testServerRestart(t, "&maxDiscoverAttempts=3")
}

func testServerRestart(t *testing.T, settings string) {
	srv := newFake(t)
	ctx := ctxFor(t)
	st := open(t, srv.URL()+settings, kurrent.WithTimeout(500*time.Millisecond))
	defer st.Close()
	_, err := st.Append(ctx, "process-1", eventstore.NoStream(), events(0, 5)...)
	require.NoError(t, err)

	got := make(chan eventstore.Event, 100)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for e, err := range st.Subscribe(subCtx, 0) {
			if err != nil {
				return
			}
			got <- e
		}
	}()

	restarted := make(chan error, 1)
	go func() { restarted <- srv.Restart(1500 * time.Millisecond) }()
	time.Sleep(50 * time.Millisecond)
	batch := events(1, 2)
	var res eventstore.AppendResult
	failures := 0
	for {
		res, err = st.Append(ctx, "process-1", eventstore.Exact(4), batch...)
		if err == nil {
			break
		}
		failures++
		require.Less(t, failures, 50, "still failing: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, <-restarted)
	t.Logf("append succeeded after %d failed calls", failures)
	require.Equal(t, eventstore.Position(7), res.Last().Position)
	_, err = st.Append(ctx, "process-2", eventstore.NoStream(), events(2, 1)...)
	require.NoError(t, err)

	for p := 1; p <= 8; p++ {
		select {
		case e := <-got:
			require.Equal(t, eventstore.Position(p), e.Position)
		case <-time.After(15 * time.Second):
			t.Fatalf("subscriber stuck before Position %d", p)
		}
	}
	require.Len(t, readAll(t, st), 8)
}

func TestOpenUnreachable(t *testing.T) {
	srv := newFake(t)
	url := srv.URL()
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := kurrent.Open(ctx, url)
	require.ErrorContains(t, err, "no node reachable")
	require.Less(t, time.Since(start), 2*time.Second)
}
