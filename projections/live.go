package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// Notification says that the read models changed with the event at
// Position. It carries no actor and no content, so it is public.
type Notification struct {
	Position  eventstore.Position `json:"position"`
	EventType string              `json:"event_type"`
	ProcessID string              `json:"process_id,omitempty"`
	ItemID    string              `json:"item_id,omitempty"`
	ItemKind  string              `json:"item_kind,omitempty"`
	Models    []string            `json:"models"` // the read models the event changes
}

// Hub broadcasts read-model changes. It queues nothing per subscriber: a
// subscriber keeps its own last position and, when woken, reads the events
// after it from the store, up to what the runner has applied. So a slow or
// reconnecting subscriber (SSE with Last-Event-ID) misses nothing and costs
// the runner nothing.
type Hub struct {
	store    eventstore.Store
	describe func(eventstore.Event) Notification

	mu      sync.Mutex
	pos     eventstore.Position
	changed chan struct{} // closed and replaced whenever pos moves
}

func newHub(store eventstore.Store, describe func(eventstore.Event) Notification) *Hub {
	return &Hub{store: store, describe: describe, changed: make(chan struct{})}
}

func (h *Hub) advance(pos eventstore.Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if pos == h.pos {
		return
	}
	h.pos = pos
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *Hub) reset() { h.advance(0) }

// Position returns the position the read models have applied.
func (h *Hub) Position() eventstore.Position {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pos
}

func (h *Hub) state() (eventstore.Position, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pos, h.changed
}

// Wait blocks until the read models have applied pos or ctx is done.
func (h *Hub) Wait(ctx context.Context, pos eventstore.Position) error {
	for {
		cur, ch := h.state()
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

// batch returns the notifications after `after`, at most a page, waiting
// until there are some, ctx is done or beat fires (then it returns none).
func (h *Hub) batch(ctx context.Context, after eventstore.Position, beat <-chan time.Time) ([]Notification, error) {
	for {
		cur, ch := h.state()
		if after < cur {
			evs, err := h.store.ReadAll(ctx, after, int(min(uint64(cur-after), 256)))
			if err != nil {
				return nil, err
			}
			out := make([]Notification, len(evs))
			for i, ev := range evs {
				out[i] = h.describe(ev)
			}
			if len(out) > 0 {
				return out, nil
			}
		}
		select {
		case <-ch:
		case <-beat:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Notifications yields a notification for every event after `after`, in
// order, as the read models apply them, until ctx is done (the sequence
// then ends with ctx.Err()) or the store fails.
func (h *Hub) Notifications(ctx context.Context, after eventstore.Position) iter.Seq2[Notification, error] {
	return func(yield func(Notification, error) bool) {
		for {
			ns, err := h.batch(ctx, after, nil)
			if err != nil {
				yield(Notification{}, err)
				return
			}
			for _, n := range ns {
				if !yield(n, nil) {
					return
				}
				after = n.Position
			}
		}
	}
}

// SSEHeartbeat is how often ServeSSE writes a comment line to an idle
// stream, so proxies do not time it out and dead clients are noticed.
const SSEHeartbeat = 15 * time.Second

// ServeSSE streams notifications as Server-Sent Events until the client
// goes away, with event id = position. A client that reconnects with
// Last-Event-ID (or ?last_event_id=) resumes right after that position,
// replayed from the store; without one it gets changes from now on. allow
// filters what this client sees (nil: everything). It returns nil when the
// client disconnects, and an error (before anything was written, or the
// store's) otherwise.
func (h *Hub) ServeSSE(w http.ResponseWriter, r *http.Request, allow func(Notification) bool) error {
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errors.New("projections: response writer cannot flush; SSE impossible")
	}
	after := h.Position()
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		p, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: Last-Event-ID %q is not a position", eventstore.ErrInvalid, last)
		}
		after = eventstore.Position(p)
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return nil
	}
	flusher.Flush()

	ctx := r.Context()
	beat := time.NewTicker(SSEHeartbeat)
	defer beat.Stop()
	for {
		ns, err := h.batch(ctx, after, beat.C)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(ns) == 0 {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		}
		for _, n := range ns {
			after = n.Position
			if allow != nil && !allow(n) {
				continue
			}
			if err := writeSSE(w, n); err != nil {
				return nil // the client went away
			}
		}
		flusher.Flush()
	}
}

func writeSSE(w http.ResponseWriter, n Notification) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", uint64(n.Position), data)
	return err
}
