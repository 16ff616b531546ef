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
	return FollowPages(ctx, after, pageSize, moved, read, func(e Event) Position { return e.Position }, done)
}

// FollowPages is Follow for pages of any element that has a position, such
// as the embedded store's canonical bytes (CanonicalEvent).
func FollowPages[E any](ctx context.Context, after Position, pageSize int,
	moved func() <-chan struct{},
	read func(ctx context.Context, after Position, limit int) ([]E, error),
	position func(E) Position,
	done <-chan struct{}) iter.Seq2[E, error] {
	return func(yield func(E, error) bool) {
		var zero E
		for {
			wake := moved()
			page, err := read(ctx, after, pageSize)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, e := range page {
				if err := ctx.Err(); err != nil {
					yield(zero, err)
					return
				}
				if !yield(e, nil) {
					return
				}
				after = position(e)
			}
			if len(page) > 0 {
				continue
			}
			select {
			case <-wake:
			case <-ctx.Done():
				yield(zero, ctx.Err())
				return
			case <-done:
				yield(zero, ErrClosed)
				return
			}
		}
	}
}
