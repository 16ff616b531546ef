package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/malmo/participation-ledger/eventstore"
)

// health is what the node knows of itself that decides whether it may take
// writes and whether it is ready: the start-up proof, the integrity log's
// fate while it runs, and the head that the followers must reach.
type health struct {
	refused   atomic.Pointer[error] // why writes are refused; sticky
	startHead eventstore.Position   // the store's head when the node opened
}

// refuse makes every later write fail with err (the first reason stays).
func (h *health) refuse(err error) {
	wrapped := fmt.Errorf("%w: %v", eventstore.ErrUnavailable, err)
	h.refused.CompareAndSwap(nil, &wrapped)
}

// err is why writes are refused, or nil.
func (h *health) err() error {
	if p := h.refused.Load(); p != nil {
		return *p
	}
	return nil
}

// gatedStore is the store the ledger service writes through: while the
// node refuses writes, appends fail with the reason and reach no disk.
type gatedStore struct {
	eventstore.Store
	h *health
}

func (g gatedStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := g.h.err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return g.Store.Append(ctx, stream, expected, events...)
}
