package ledgerhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/projections"
)

// The live feed's wire format: Server-Sent Events with event id = the
// log position and event "change", whose data is a LiveChange.

// LiveChange is the public part of a projections.Change: which event
// type at which position changed which read models, and where. It carries
// no actor and no content, so it is public.
type LiveChange struct {
	Position  eventstore.Position `json:"position"`
	EventType string              `json:"event_type"`
	ProcessID string              `json:"process_id,omitempty"`
	ItemID    string              `json:"item_id,omitempty"`
	ItemKind  string              `json:"item_kind,omitempty"`
	Models    []string            `json:"models"` // the read models the event changed
}

func liveChange(c projections.Change) LiveChange {
	models := c.Models
	if models == nil {
		models = []string{}
	}
	return LiveChange{Position: c.Event.Position, EventType: c.Event.Type, ProcessID: c.ProcessID,
		ItemID: c.ItemID, ItemKind: string(c.ItemKind), Models: models}
}

// LiveHeartbeat is how often a live feed writes a comment line to an idle
// stream, so proxies do not time it out and dead clients are noticed.
const LiveHeartbeat = 15 * time.Second

// LiveFeed returns a handler streaming every change the hub publishes
// (the pages' dashboard mounts it behind its login). See serveLive.
func LiveFeed(hub *projections.Hub, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveLive(w, r, hub, nil, log) })
}

// serveLive streams the hub's changes as Server-Sent Events until the
// client goes away. A client that reconnects with Last-Event-ID (or
// ?last_event_id=) resumes right after that position; without one it gets
// changes from now on. allow filters what this client sees (nil:
// everything). A malformed Last-Event-ID is a 400 problem; a store failure
// after the stream began is logged.
func serveLive(w http.ResponseWriter, r *http.Request, hub *projections.Hub, allow func(projections.Change) bool, log *slog.Logger) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeProblem(w, r, log, errors.New("the response writer cannot flush: no live feed"))
		return
	}
	after := hub.Position()
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		p, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			writeProblem(w, r, log, badQuery("Last-Event-ID", "%q is not a position", last))
			return
		}
		after = eventstore.Position(p)
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	flusher.Flush()

	ctx := r.Context()
	beat := time.NewTicker(LiveHeartbeat)
	defer beat.Stop()
	var buf []byte
	for {
		cs, err := hub.Since(ctx, after, beat.C)
		if err != nil {
			if ctx.Err() == nil {
				log.ErrorContext(ctx, "live feed", "err", err)
			}
			return
		}
		if len(cs) == 0 {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		}
		for _, c := range cs {
			after = c.Event.Position
			if allow != nil && !allow(c) {
				continue
			}
			data, err := json.Marshal(liveChange(c))
			if err != nil {
				log.ErrorContext(ctx, "live feed", "err", err)
				return
			}
			buf = fmt.Appendf(buf[:0], "id: %d\nevent: change\ndata: %s\n\n", uint64(c.Event.Position), data)
			if _, err := w.Write(buf); err != nil {
				return // the client went away
			}
		}
		flusher.Flush()
	}
}
