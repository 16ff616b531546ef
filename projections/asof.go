package projections

import (
	"context"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// AsOf returns m, which must be empty, folded over the events at positions
// 1..pos: the model exactly as it stood when pos was the head. It starts
// from the newest snapshot of m at or before pos in dir (a runner's
// Config.Dir; "" folds from zero), so the cost is at most the snapshot
// interval. A pos past the head folds to the head.
func AsOf[M Model](ctx context.Context, store eventstore.Store, dir string, m M, pos eventstore.Position) (M, error) {
	from, err := snapshotAtOrBefore(dir, m.Name(), pos)
	if err != nil {
		return m, err
	}
	if from > 0 {
		if _, err := readCheckpoint(snapshotPath(dir, m.Name(), from), m); err != nil {
			return m, err
		}
	}
	for d := range prefetch(ctx, readUpTo(ctx, store, from, pos)) {
		if d.err != nil {
			return m, d.err
		}
		m.Apply(d.ev, d.de)
	}
	return m, nil
}

// AsOfStream folds m, which must be empty, over the events of one stream
// with positions up to pos. Per-item models (a decision trail) answer as-of
// this way without touching the rest of the log. A stream without events
// is eventstore.ErrStreamNotFound.
func AsOfStream[M Model](ctx context.Context, store eventstore.Store, stream string, m M, pos eventstore.Position) (M, error) {
	for from := uint64(0); ; {
		evs, err := store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{
			Direction: eventstore.Forwards, From: from, Limit: readPage})
		if err != nil {
			return m, err
		}
		for _, ev := range evs {
			if ev.Position > pos {
				return m, nil
			}
			m.Apply(ev, decode(ev))
		}
		if len(evs) < readPage {
			return m, nil
		}
		from = evs[len(evs)-1].Revision + 1
	}
}

// PositionAt resolves an as_of time to a position: the last event the
// ledger had recorded at t (recorded-at, not occurred-at: what the ledger
// knew then), or 0 when it had recorded nothing. Stores stamp RecordedAt
// in append order, so a binary search over positions finds it in
// O(log head) reads of one event.
func PositionAt(ctx context.Context, store eventstore.Store, t time.Time) (eventstore.Position, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return 0, err
	}
	// Invariant: RecordedAt(lo) <= t (or lo == 0) and RecordedAt(hi+1) > t.
	lo, hi := eventstore.Position(0), head
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		evs, err := store.ReadAll(ctx, mid-1, 1)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			hi = mid - 1
			continue
		}
		if evs[0].RecordedAt.After(t) {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	return lo, nil
}
