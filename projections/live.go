package projections

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Change is one event the runner has applied, with what it changed: the
// event as stored and as decoded (the runner's own decoding, so nobody
// decodes it again), the read models it changed and the process and item
// it concerns. It holds the event's content: what a feed may publish of
// it is the feed's decision (package http writes the public part).
type Change struct {
	Event     eventstore.Event
	Decoded   domain.Event // nil when the domain cannot decode the event
	Models    []string     // the read models it changed (shared: do not modify)
	ProcessID string
	ItemID    string
	ItemKind  domain.ItemKind
}

// Position is the position of the change's event.
func (c Change) Position() eventstore.Position { return c.Event.Position }

// hubRing is how many recent changes the hub keeps for subscribers that
// are behind: a subscriber further behind than that (a client resuming an
// old Last-Event-ID) reads the older events from the store.
const hubRing = 4096

// Hub broadcasts the runner's changes. It keeps the last hubRing of them,
// so live subscribers take what the runner decoded and described instead
// of reading the store again; a subscriber keeps its own last position,
// so a slow or reconnecting one misses nothing and costs the runner
// nothing.
type Hub struct {
	store    eventstore.Store
	describe func(eventstore.Event) Change // for events no longer in the ring

	mu      sync.Mutex
	pos     eventstore.Position
	ring    []Change            // the changes after ringFrom up to pos, oldest first, at most hubRing
	from    eventstore.Position // ring holds every change after it
	changed chan struct{}       // closed and replaced whenever pos moves
}

func newHub(store eventstore.Store, describe func(eventstore.Event) Change) *Hub {
	return &Hub{store: store, describe: describe, changed: make(chan struct{})}
}

// publish records c, which the runner has just applied.
func (h *Hub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ring) == hubRing {
		// Slide instead of reallocating: copy the newest half down.
		h.from = h.ring[hubRing/2-1].Event.Position
		n := copy(h.ring, h.ring[hubRing/2:])
		clear(h.ring[n:])
		h.ring = h.ring[:n]
	}
	h.ring = append(h.ring, c)
	h.moveLocked(c.Event.Position)
}

// advance moves the position without changes to keep (a load from
// checkpoints, a rebuild's fold).
func (h *Hub) advance(pos eventstore.Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if pos != h.pos {
		h.ring, h.from = h.ring[:0], pos // the ring must hold every change after from
	}
	h.moveLocked(pos)
}

func (h *Hub) moveLocked(pos eventstore.Position) {
	if pos == h.pos {
		return
	}
	h.pos = pos
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *Hub) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring, h.from = h.ring[:0], 0
	h.moveLocked(0)
}

// Position returns the position the read models have applied.
func (h *Hub) Position() eventstore.Position {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pos
}

// Wait blocks until the read models have applied pos or ctx is done.
func (h *Hub) Wait(ctx context.Context, pos eventstore.Position) error {
	for {
		h.mu.Lock()
		cur, ch := h.pos, h.changed
		h.mu.Unlock()
		if cur >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sinceMax is the most changes Since returns at once.
const sinceMax = 256

// Since returns the changes after `after` (at most sinceMax), waiting
// until there are some, ctx is done (its error) or wake fires (then none,
// so a feed can write a heartbeat). Changes the hub still holds come from
// memory; older ones are read from the store and described now.
func (h *Hub) Since(ctx context.Context, after eventstore.Position, wake <-chan time.Time) ([]Change, error) {
	for {
		h.mu.Lock()
		cur, ch := h.pos, h.changed
		var out []Change
		if after < cur && after >= h.from {
			i, _ := slices.BinarySearchFunc(h.ring, after+1, func(c Change, p eventstore.Position) int {
				return cmp.Compare(c.Event.Position, p)
			})
			out = append(out, h.ring[i:min(len(h.ring), i+sinceMax)]...)
		}
		h.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		if after < cur {
			evs, err := h.store.ReadAll(ctx, after, int(min(uint64(cur-after), sinceMax)))
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				out = append(out, h.describe(ev))
			}
			if len(out) > 0 {
				return out, nil
			}
		}
		select {
		case <-ch:
		case <-wake:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Changes yields every change after `after`, in order, as the read models
// apply them, until ctx is done (the sequence then ends with ctx.Err()) or
// the store fails.
func (h *Hub) Changes(ctx context.Context, after eventstore.Position) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		for {
			cs, err := h.Since(ctx, after, nil)
			if err != nil {
				yield(Change{}, err)
				return
			}
			for _, c := range cs {
				if !yield(c, nil) {
					return
				}
				after = c.Event.Position
			}
		}
	}
}
