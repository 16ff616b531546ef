package eventstore

import (
	"context"
	"iter"
)

// Follow is the pull-based Subscribe loop that stores share: read a page of
// at most pageSize events after the last one yielded, yield it, and once
// caught up wait until the head moves. Nothing is queued on the
// subscriber's behalf, so a slow consumer costs the store nothing.
//
// moved returns the channel closed by the next append; Follow takes it
// before each read, so an append landing between the read and the wait still
// wakes it. done is closed when the store closes (the sequence then ends with
// ErrClosed); read errors (ErrClosed among them) end it too.
func Follow(ctx context.Context, after Position, pageSize int,
	moved func() <-chan struct{},
	read func(ctx context.Context, after Position, limit int) ([]Event, error),
	done <-chan struct{}) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			wake := moved()
			page, err := read(ctx, after, pageSize)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, e := range page {
				if err := ctx.Err(); err != nil {
					yield(Event{}, err)
					return
				}
				if !yield(e, nil) {
					return
				}
				after = e.Position
			}
			if len(page) > 0 {
				continue
			}
			select {
			case <-wake:
			case <-ctx.Done():
				yield(Event{}, ctx.Err())
				return
			case <-done:
				yield(Event{}, ErrClosed)
				return
			}
		}
	}
}
