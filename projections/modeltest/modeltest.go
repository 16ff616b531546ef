// Package modeltest checks read models the way eventstore/storetest checks
// stores: over a given log, every model followed live (with a restart from
// its checkpoints on the way) equals the model rebuilt from the first
// event, and its view as of many positions equals a fold from zero to
// that position.
package modeltest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/projections"
)

// Positions is how many positions, spread over the log, the as-of check
// visits (besides the first and the last).
const Positions = 24

// Run checks kinds (every registered model when nil), built with opts,
// over the events of src:
//
//   - live: the events are appended to a fresh store in three parts; a
//     runner follows the first two (catching up, then live), is stopped,
//     and another runner resumes from its checkpoints over the third;
//   - rebuilt: a runner rebuilds from the first event and must hold
//     byte-identical states (MarshalJSON);
//   - as-of: the resumed runner's views at Positions positions (folded from
//     its snapshots, or cut for append-only models) must equal a fold of
//     fresh models from the first event to that position.
func Run(t testing.TB, src eventstore.Store, kinds []projections.Kind, opts projections.Options) {
	t.Helper()
	if kinds == nil {
		kinds = projections.Kinds()
	}
	ctx := t.Context()
	var evs []eventstore.Event
	for ev, err := range projections.Events(ctx, src, 0, projections.Latest) {
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	require.NotEmpty(t, evs, "modeltest needs a log")
	n := len(evs)

	dst := memory.New()
	t.Cleanup(func() { _ = dst.Close() })
	dir := t.TempDir()
	cfg := projections.Config{Dir: dir, Kinds: kinds, Options: opts,
		CheckpointEvery: max(1, n/9), CheckpointInterval: time.Millisecond, SnapshotEvery: max(1, n/7)}
	copyEvents(t, dst, evs[:n/3])
	live, err := projections.NewRunner(dst, cfg)
	require.NoError(t, err)
	stop := run(t, live)
	wait(t, live, dst)
	copyEvents(t, dst, evs[n/3:2*n/3]) // followed live
	wait(t, live, dst)
	stop()
	copyEvents(t, dst, evs[2*n/3:])
	resumed, err := projections.NewRunner(dst, cfg)
	require.NoError(t, err)
	run(t, resumed)
	head := wait(t, resumed, dst)
	pos, liveStates, err := resumed.States()
	require.NoError(t, err)
	require.Equal(t, head, pos)

	rcfg := cfg
	rcfg.Dir = t.TempDir()
	rebuilt, err := projections.NewRunner(dst, rcfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rebuilt.Close() })
	folded, err := rebuilt.Rebuild(ctx)
	require.NoError(t, err)
	require.Equal(t, n, folded)
	_, rebuiltStates, err := rebuilt.States()
	require.NoError(t, err)
	for _, k := range kinds {
		require.True(t, bytes.Equal(rebuiltStates[k.Name], liveStates[k.Name]),
			"%s: live (resumed from checkpoints) and rebuilt states differ:\nlive    %s\nrebuilt %s",
			k.Name, clip(liveStates[k.Name]), clip(rebuiltStates[k.Name]))
	}

	// As of positions 0, …, head: one pass of fresh models over the log,
	// compared with the resumed runner's views where it passes them.
	fresh := make([]projections.Model, len(kinds))
	for i, k := range kinds {
		fresh[i] = k.New(opts)
	}
	check := func(at eventstore.Position) {
		_, err := resumed.Read(ctx, projections.AtPosition(at), func(v *projections.View) error {
			for i, k := range kinds {
				got, err := v.State(k.Name)
				if err != nil {
					return err
				}
				want, err := fresh[i].MarshalJSON()
				if err != nil {
					return err
				}
				require.True(t, bytes.Equal(want, got), "%s as of %d: the view differs from a fold from zero:\nview %s\nfold %s",
					k.Name, uint64(at), clip(got), clip(want))
			}
			return nil
		})
		require.NoError(t, err, "as of %d", uint64(at))
	}
	stride := max(1, n/Positions)
	check(0)
	i := 0
	for ev, err := range projections.Events(ctx, dst, 0, projections.Latest) {
		require.NoError(t, err)
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		if err != nil {
			de = nil // as the runner does: models get nil for what the domain cannot decode
		}
		for _, m := range fresh {
			m.Apply(ev, de)
		}
		if i++; i%stride == 0 || i == 1 || i == n {
			check(ev.Position)
		}
	}
	require.Equal(t, n, i)
}

// copyEvents appends evs to dst as they were appended to their store:
// same ids, streams, types, data and metadata (dst stamps its own
// recorded-at times).
func copyEvents(t testing.TB, dst eventstore.Store, evs []eventstore.Event) {
	t.Helper()
	for _, ev := range evs {
		_, err := dst.Append(t.Context(), ev.Stream, eventstore.Any(), eventstore.EventData{
			ID: ev.ID, Type: ev.Type, Version: ev.Version, Data: ev.Data, Metadata: ev.Metadata})
		require.NoError(t, err)
	}
}

func run(t testing.TB, r *projections.Runner) (stop func()) {
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
		<-done
	}
	t.Cleanup(stop)
	return stop
}

func wait(t testing.TB, r *projections.Runner, s eventstore.Store) eventstore.Position {
	t.Helper()
	head, err := s.Head(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, r.Wait(ctx, head), "the runner did not reach %d", uint64(head))
	return head
}

func clip(b []byte) string {
	const most = 600
	if len(b) > most {
		return fmt.Sprintf("%s… (%d bytes)", b[:most], len(b))
	}
	return string(b)
}
