package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

// subTimeout bounds every wait for a subscription, so a store that stops
// delivering fails the test instead of hanging it.
const subTimeout = 20 * time.Second

func (s *suite) testSubscribe(t *testing.T) {
	t.Run("CatchUpThenLive", s.testSubscribeCatchUp)
	t.Run("FromMiddle", s.testSubscribeFromMiddle)
	t.Run("WhileAppending", s.testSubscribeWhileAppending)
	t.Run("SlowSubscriber", s.testSlowSubscriber)
	t.Run("ContextCancel", s.testSubscribeCancel)
	t.Run("StoreClose", s.testSubscribeClose)
	t.Run("Break", s.testSubscribeBreak)
}

// subscription runs a Subscribe loop in a goroutine and hands over what it
// yields, so tests can wait for events with a timeout.
type subscription struct {
	events chan eventstore.Event
	err    chan error // receives the terminal error (nil if the loop just ended)
	extra  chan string
}

func subscribe(ctx context.Context, st eventstore.Store, after eventstore.Position) *subscription {
	sub := &subscription{
		events: make(chan eventstore.Event),
		err:    make(chan error, 1),
		extra:  make(chan string, 1),
	}
	go func() {
		var final error
		for e, err := range st.Subscribe(ctx, after) {
			if final != nil {
				select {
				case sub.extra <- fmt.Sprintf("yielded %v / %v after the terminal error %v", e.Position, err, final):
				default:
				}
				continue
			}
			if err != nil {
				final = err
				continue
			}
			select {
			case sub.events <- e:
			case <-ctx.Done():
				// The test gave up on this subscription; keep draining to
				// see the store end it.
			}
		}
		sub.err <- final
	}()
	return sub
}

// next waits for the subscription's next n events.
func (sub *subscription) next(t testing.TB, n int) []eventstore.Event {
	t.Helper()
	out := make([]eventstore.Event, 0, n)
	timeout := time.After(subTimeout)
	for len(out) < n {
		select {
		case e := <-sub.events:
			out = append(out, e)
		case err := <-sub.err:
			require.FailNow(t, "subscription ended early", "after %d of %d events: %v", len(out), n, err)
		case <-timeout:
			require.FailNow(t, "subscription stalled", "got %d of %d events in %v", len(out), n, subTimeout)
		}
	}
	return out
}

// end waits for the subscription to end and returns its terminal error.
func (sub *subscription) end(t testing.TB) error {
	t.Helper()
	select {
	case e := <-sub.events:
		require.FailNow(t, "unexpected event", "position %d while waiting for the end", e.Position)
	case err := <-sub.err:
		select {
		case msg := <-sub.extra:
			require.FailNow(t, "subscription went on after its error", msg)
		default:
		}
		return err
	case <-time.After(subTimeout):
		require.FailNow(t, "subscription did not end", "within %v", subTimeout)
	}
	return nil
}

// quiet checks that nothing is delivered for a short while.
func (sub *subscription) quiet(t testing.TB) {
	t.Helper()
	select {
	case e := <-sub.events:
		require.FailNow(t, "unexpected event", "position %d", e.Position)
	case err := <-sub.err:
		require.FailNow(t, "subscription ended", "%v", err)
	case <-time.After(50 * time.Millisecond):
	}
}

func requirePositions(t testing.TB, evs []eventstore.Event, first eventstore.Position) {
	t.Helper()
	for i, e := range evs {
		require.Equal(t, first+eventstore.Position(i), e.Position, "delivery %d", i)
	}
}

func (s *suite) testSubscribeCatchUp(t *testing.T) {
	st := s.fresh(t)
	g := newGen(30)
	var want []eventstore.Event
	for i := range 10 {
		want = append(want, mustAppend(t, st, fmt.Sprintf("process-%d", i%3), eventstore.Any(), g.event()).Events...)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	sub := subscribe(ctx, st, 0)
	requireSameEvents(t, want, sub.next(t, 10))
	sub.quiet(t)

	live := mustAppend(t, st, "process-9", eventstore.Any(), g.events(3)...).Events
	requireSameEvents(t, live, sub.next(t, 3))
	live = mustAppend(t, st, "process-1", eventstore.Any(), g.event()).Events
	requireSameEvents(t, live, sub.next(t, 1))
	sub.quiet(t)
	cancel()
	require.ErrorIs(t, sub.end(t), context.Canceled)
}

func (s *suite) testSubscribeFromMiddle(t *testing.T) {
	st := s.fresh(t)
	g := newGen(31)
	var want []eventstore.Event
	for range 4 {
		want = append(want, mustAppend(t, st, "comment-1", eventstore.Any(), g.events(3)...).Events...)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()

	sub := subscribe(ctx, st, 5)
	requireSameEvents(t, want[5:], sub.next(t, 7))
	live := mustAppend(t, st, "comment-2", eventstore.Any(), g.events(2)...).Events
	requireSameEvents(t, live, sub.next(t, 2))

	// Subscribing at the head delivers only what comes next.
	atHead := subscribe(ctx, st, head(t, st))
	atHead.quiet(t)
	live = mustAppend(t, st, "comment-2", eventstore.Any(), g.event()).Events
	requireSameEvents(t, live, atHead.next(t, 1))
	requireSameEvents(t, live, sub.next(t, 1))

	// Past the head: nothing until the log grows beyond it.
	past := subscribe(ctx, st, head(t, st)+2)
	past.quiet(t)
	mustAppend(t, st, "comment-2", eventstore.Any(), g.events(3)...)
	requirePositions(t, past.next(t, 1), head(t, st))
}

// testSubscribeWhileAppending starts subscribers before, during and after K
// concurrent writers; each must see every position exactly once, in order.
func (s *suite) testSubscribeWhileAppending(t *testing.T) {
	const writers, appends = 4, 40
	st := s.fresh(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	g := newGen(32)
	mustAppend(t, st, "process-0", eventstore.NoStream(), g.events(5)...)

	early := subscribe(ctx, st, 0)
	var total sync.WaitGroup
	counts := make(chan int, writers)
	errs := make(chan error, writers)
	started := make(chan struct{})
	var once sync.Once
	for w := range writers {
		total.Go(func() {
			defer once.Do(func() { close(started) }) // even if it fails early
			g := newGen(uint64(300 + w))
			n := 0
			for i := range appends {
				res, err := st.Append(ctx, fmt.Sprintf("submission-%d-%d", w, i%3), eventstore.Any(), g.events(1+g.rng.IntN(3))...)
				if err != nil {
					errs <- err
					break
				}
				n += len(res.Events)
				if i == appends/2 {
					once.Do(func() { close(started) })
				}
			}
			counts <- n
		})
	}
	<-started
	middle := subscribe(ctx, st, 3)
	bounded(t, "concurrent appends", func() struct{} { total.Wait(); return struct{}{} })
	close(counts)
	close(errs)
	require.NoError(t, errors.Join(collect(errs)...))
	n := 5
	for c := range counts {
		n += c
	}
	late := subscribe(ctx, st, 0)

	all := readAll(t, st)
	require.Len(t, all, n)
	requireSameEvents(t, all, early.next(t, n))
	requireSameEvents(t, all[3:], middle.next(t, n-3))
	requireSameEvents(t, all, late.next(t, n))
	for _, sub := range []*subscription{early, middle, late} {
		sub.quiet(t)
	}
}

// testSlowSubscriber stalls a subscriber inside its loop body and checks
// appends still complete, and that the subscriber then misses nothing.
func (s *suite) testSlowSubscriber(t *testing.T) {
	const stalledAppends = 200
	st := s.fresh(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	g := newGen(33)
	mustAppend(t, st, "process-0", eventstore.NoStream(), g.event())

	stalled := make(chan struct{})
	resume := make(chan struct{})
	got := make(chan []eventstore.Event, 1)
	go func() {
		var seen []eventstore.Event
		for e, err := range st.Subscribe(ctx, 0) {
			if err != nil {
				break
			}
			seen = append(seen, e)
			if len(seen) == 1 {
				close(stalled)
				<-resume // a consumer busy with something slow
			}
			if len(seen) == 1+stalledAppends {
				break
			}
		}
		got <- seen
	}()

	<-stalled
	done := make(chan error, 1)
	go func() {
		for i := range stalledAppends {
			if _, err := st.Append(ctx, fmt.Sprintf("comment-%d", i%5), eventstore.Any(), g.event()); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(subTimeout):
		close(resume)
		require.FailNow(t, "appends blocked by a stalled subscriber")
	}
	close(resume)

	select {
	case seen := <-got:
		require.Len(t, seen, 1+stalledAppends)
		requirePositions(t, seen, 1)
	case <-time.After(subTimeout):
		require.FailNow(t, "subscriber did not catch up after resuming")
	}
}

func (s *suite) testSubscribeCancel(t *testing.T) {
	st := s.fresh(t)
	g := newGen(34)
	mustAppend(t, st, "process-0", eventstore.NoStream(), g.events(3)...)

	// Cancelled while waiting for live events.
	ctx, cancel := context.WithCancel(testCtx(t))
	sub := subscribe(ctx, st, 0)
	requirePositions(t, sub.next(t, 3), 1)
	sub.quiet(t)
	cancel()
	require.ErrorIs(t, sub.end(t), context.Canceled)

	// A deadline ends it with the deadline's error.
	ctx, cancel = context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	sub = subscribe(ctx, st, 3)
	require.ErrorIs(t, sub.end(t), context.DeadlineExceeded)

	// Already cancelled: the sequence ends with the context's error (a
	// store may or may not deliver some catch-up events first).
	ctx, cancel = context.WithCancel(testCtx(t))
	cancel()
	var yields []error
	for _, err := range st.Subscribe(ctx, 0) {
		yields = append(yields, err)
	}
	require.NotEmpty(t, yields)
	require.ErrorIs(t, yields[len(yields)-1], context.Canceled)
	for _, err := range yields[:len(yields)-1] {
		require.NoError(t, err, "only the last yield carries an error")
	}
	// The store is unaffected.
	mustAppend(t, st, "process-0", eventstore.Exact(2), g.event())
}

func (s *suite) testSubscribeClose(t *testing.T) {
	st := s.h.Open(t, t.TempDir())
	require.NotNil(t, st)
	g := newGen(35)
	mustAppend(t, st, "process-0", eventstore.NoStream(), g.events(2)...)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()

	live := subscribe(ctx, st, 0)
	requirePositions(t, live.next(t, 2), 1)
	live.quiet(t)
	ahead := subscribe(ctx, st, 100)
	ahead.quiet(t)

	require.NoError(t, st.Close())
	require.ErrorIs(t, live.end(t), eventstore.ErrClosed)
	require.ErrorIs(t, ahead.end(t), eventstore.ErrClosed)
}

// testSubscribeBreak leaves subscriptions by breaking out of the loop, both
// during catch-up and while live, and checks no goroutine is left behind.
func (s *suite) testSubscribeBreak(t *testing.T) {
	const cycles = 20
	st := s.fresh(t)
	ctx := testCtx(t)
	g := newGen(36)
	mustAppend(t, st, "process-0", eventstore.NoStream(), g.events(10)...)

	// Breaks during catch-up.
	cycle := func(i int) {
		n := 0
		for _, err := range st.Subscribe(ctx, eventstore.Position(i%8)) {
			require.NoError(t, err)
			n++
			if n == 2 {
				break
			}
		}
		require.Equal(t, 2, n)
	}
	// Breaks after waiting live.
	liveCycle := func() {
		done := make(chan error, 1)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		from := head(t, st)
		go func() {
			var err error
			for _, err = range st.Subscribe(ctx, from) {
				break
			}
			done <- err
		}()
		time.Sleep(5 * time.Millisecond) // most likely waiting live by now
		mustAppend(t, st, "process-0", eventstore.Any(), g.event())
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(subTimeout):
			require.FailNow(t, "live subscription did not see the append")
		}
	}

	// Warm up whatever the store starts lazily, then count.
	cycle(0)
	liveCycle()
	time.Sleep(50 * time.Millisecond)
	base := runtime.NumGoroutine()
	for i := range cycles {
		cycle(i)
		liveCycle()
	}
	const tolerance = 3
	got := settledGoroutines(base + tolerance)
	require.LessOrEqual(t, got, base+tolerance,
		"goroutines grew from %d to %d over %d subscribe-and-break cycles: subscriptions leak", base, got, 2*cycles)
}

// settledGoroutines waits up to a second for the goroutine count to drop to
// target and returns the last count seen.
func settledGoroutines(target int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > target && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}
