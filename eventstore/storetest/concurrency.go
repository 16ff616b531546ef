package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func (s *suite) testConcurrency(t *testing.T) {
	t.Run("OneStreamExact", s.testRaceOneStream)
	t.Run("ManyStreamsAny", s.testManyStreams)
}

// testRaceOneStream lets N writers race for each revision of one stream with
// the same expected revision: exactly one wins, the others learn the winner's
// revision from the error.
func (s *suite) testRaceOneStream(t *testing.T) {
	const writers, rounds = 8, 25
	st := s.fresh(t)
	ctx := testCtx(t)
	g := newGen(10)

	winners := make([]uuid.UUID, rounds)
	for r := range rounds {
		exp := eventstore.NoStream()
		if r > 0 {
			exp = eventstore.Exact(uint64(r - 1))
		}
		batch := g.events(writers)
		start := make(chan struct{})
		errs := make([]error, writers)
		results := make([]eventstore.AppendResult, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				results[w], errs[w] = st.Append(ctx, "submission-hot", exp, batch[w])
			})
		}
		close(start)
		wg.Wait()

		won := 0
		for w, err := range errs {
			if err == nil {
				won++
				winners[r] = batch[w].ID
				require.Equal(t, uint64(r), results[w].Last().Revision)
				continue
			}
			requireWrongExpected(t, err, "submission-hot", exp, uint64(r), true)
		}
		require.Equal(t, 1, won, "round %d: exactly one writer wins revision %d", r, r)
	}

	evs := readStream(t, st, "submission-hot")
	require.Len(t, evs, rounds)
	for r, e := range evs {
		require.Equal(t, uint64(r), e.Revision)
		require.Equal(t, winners[r], e.ID, "revision %d holds the winner's event", r)
		require.Equal(t, eventstore.Position(r+1), e.Position)
	}
	require.Equal(t, eventstore.Position(rounds), head(t, st))
}

// testManyStreams appends from many goroutines to overlapping streams with
// Any and checks the global order is dense and agrees with every stream.
func (s *suite) testManyStreams(t *testing.T) {
	const writers, appends, streams = 8, 30, 12
	st := s.fresh(t)
	ctx := testCtx(t)

	results := make([][]eventstore.AppendResult, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			g := newGen(uint64(100 + w))
			for range appends {
				stream := fmt.Sprintf("comment-%d", g.rng.IntN(streams))
				res, err := st.Append(ctx, stream, eventstore.Any(), g.events(1+g.rng.IntN(4))...)
				if err != nil {
					errs <- fmt.Errorf("writer %d: append to %s: %w", w, stream, err)
					return
				}
				results[w] = append(results[w], res)
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, errors.Join(collect(errs)...))

	all := readAll(t, st) // checks positions are dense from 1
	byID := make(map[uuid.UUID]eventstore.Event, len(all))
	for _, e := range all {
		_, dup := byID[e.ID]
		require.False(t, dup, "event %s stored twice", e.ID)
		byID[e.ID] = e
	}
	total := 0
	for _, rs := range results {
		for _, res := range rs {
			for i, e := range res.Events {
				total++
				stored, ok := byID[e.ID]
				require.True(t, ok, "acknowledged event %s missing", e.ID)
				requireSameEvent(t, e, stored)
				if i > 0 {
					require.Equal(t, res.Events[i-1].Revision+1, e.Revision, "a batch has consecutive revisions")
					require.Less(t, res.Events[i-1].Position, e.Position)
				}
			}
		}
	}
	require.Len(t, all, total, "every position belongs to an acknowledged event")
	require.Equal(t, eventstore.Position(total), head(t, st))

	perStream := map[string][]eventstore.Event{}
	for _, e := range all {
		perStream[e.Stream] = append(perStream[e.Stream], e)
	}
	for stream, want := range perStream {
		for r, e := range want {
			require.Equal(t, uint64(r), e.Revision, "%s: revisions dense and in global order", stream)
		}
		requireSameEvents(t, want, readStream(t, st, stream))
	}
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}
