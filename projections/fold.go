package projections

import (
	"context"
	"iter"
	"sync"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// The fold loop, once: the runner (catch-up, live, rebuild), as-of views,
// replay and the tests all fold through fold.

// decode decodes an event body, returning nil for what the domain does not
// know (a newer writer's type, say), so that one bad event cannot stop
// every projection.
func decode(ev eventstore.Event) domain.Event {
	de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
	if err != nil {
		return nil
	}
	return de
}

// Fold applies events, in order and decoded, to models, and returns how
// many it applied and the last one. Replay folds an export this way;
// as-of views fold the store.
func Fold(ctx context.Context, events iter.Seq2[eventstore.Event, error], models ...Model) (int, eventstore.Event, error) {
	n, last := 0, eventstore.Event{}
	err := fold(ctx, events, func(ev eventstore.Event, de domain.Event) error {
		for _, m := range models {
			m.Apply(ev, de)
		}
		n, last = n+1, ev
		return nil
	})
	return n, last, err
}

// fold calls apply for every event with its decoded body (nil when the
// domain cannot decode it), stopping at the first error of the events or
// of apply. Reading and decoding run on a goroutine of their own, ahead of
// apply by up to prefetchDepth events: decoding costs about as much as
// folding, so the two overlap.
func fold(ctx context.Context, events iter.Seq2[eventstore.Event, error], apply func(eventstore.Event, domain.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan decoded, prefetchDepth)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		defer close(ch)
		for ev, err := range events {
			d := decoded{ev: ev, err: err}
			if err == nil {
				d.de = decode(ev)
			}
			select {
			case ch <- d:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	})
	for d := range ch {
		if d.err != nil {
			return d.err
		}
		if err := apply(d.ev, d.de); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// decoded is an event with its decoded body.
type decoded struct {
	ev  eventstore.Event
	de  domain.Event
	err error
}

// prefetchDepth is how many events the reading goroutine may be ahead.
const prefetchDepth = 2 * readPage

// Events yields the store's events after `after` up to and including `to`
// (Latest: to the head), reading pages of readPage.
func Events(ctx context.Context, store eventstore.Store, after, to eventstore.Position) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for after < to {
			evs, err := store.ReadAll(ctx, after, int(min(uint64(to-after), readPage)))
			if err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			if len(evs) == 0 {
				return
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			after = evs[len(evs)-1].Position
		}
	}
}

// readPage is how many events a fold reads per store call.
const readPage = 1000
