package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func (s *suite) testLarge(t *testing.T) {
	t.Run("BigEvents", func(t *testing.T) {
		st := s.fresh(t)
		g := newGen(20)
		one := g.event()
		one.Data = blob(g, 1<<20)
		res := mustAppend(t, st, "submission-big", eventstore.NoStream(), one)
		// Several big events in one batch, around a small one.
		batch := g.events(4)
		for _, i := range []int{0, 1, 3} {
			batch[i].Data = blob(g, 1<<20+i)
		}
		res2 := mustAppend(t, st, "submission-big", eventstore.Exact(0), batch...)

		want := append(res.Events, res2.Events...)
		got := readStream(t, st, "submission-big")
		requireSameEvents(t, want, got)
		require.Equal(t, string(one.Data), string(got[0].Data))
		for i, d := range batch {
			require.Equal(t, string(d.Data), string(got[1+i].Data))
		}
		requireSameEvents(t, want, readAll(t, st))
	})

	t.Run("ManySmallEvents", func(t *testing.T) {
		const total, batchSize, streams = 20_000, 200, 7
		st := s.fresh(t)
		g := newGen(21)
		var want []eventstore.Event
		for i := 0; i < total; i += batchSize {
			stream := fmt.Sprintf("participant-%d", (i/batchSize)%streams)
			res := mustAppend(t, st, stream, eventstore.Any(), g.events(batchSize)...)
			want = append(want, res.Events...)
		}
		require.Equal(t, eventstore.Position(total), head(t, st))
		requireSameEvents(t, want, readAll(t, st))

		perStream := map[string][]eventstore.Event{}
		for _, e := range want {
			perStream[e.Stream] = append(perStream[e.Stream], e)
		}
		require.Len(t, perStream, streams)
		for stream, evs := range perStream {
			requireSameEvents(t, evs, readStream(t, st, stream))
		}
	})
}
