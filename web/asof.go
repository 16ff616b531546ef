package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/projections"
)

// view says which state of the ledger a page shows: the live models
// (Latest) or the models as they stood at Pos.
type view struct {
	Latest bool
	Pos    eventstore.Position
	// For as-of views: what the visitor asked for, when the event at Pos
	// was recorded, and the Merkle root of the log's first Pos events, so
	// an auditor can tie the page to a checkpoint.
	Asked      string
	RecordedAt time.Time
	Root       string
	Head       eventstore.Position
}

var errBadAsOf = errors.New("as_of is neither a position nor a time")

// parseAsOf resolves ?as_of= (a position, an RFC 3339 time, a local
// "2006-01-02T15:04" from a datetime input, or a date meaning the end of
// that day) to a position; ok is false when the page is live.
func (h *Handler) parseAsOf(ctx context.Context, s string) (pos eventstore.Position, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return eventstore.Position(n), true, nil
	}
	var t time.Time
	if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		if t, err = time.ParseInLocation("2006-01-02T15:04", s, h.loc); err != nil {
			d, derr := time.ParseInLocation("2006-01-02", s, h.loc)
			if derr != nil {
				return 0, false, errBadAsOf
			}
			t = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
	}
	pos, err = projections.PositionAt(ctx, h.cfg.Store, t)
	return pos, true, err
}

// resolve returns the view a request asks for. A position past the head
// is the head: the ledger cannot show what it has not recorded.
func (h *Handler) resolve(r *http.Request) (view, error) {
	ctx := r.Context()
	asked := r.URL.Query().Get("as_of")
	pos, ok, err := h.parseAsOf(ctx, asked)
	if err != nil || !ok {
		return view{Latest: true}, err
	}
	head, err := h.cfg.Store.Head(ctx)
	if err != nil {
		return view{}, err
	}
	pos = min(pos, head)
	v := view{Pos: pos, Asked: asked, Head: head}
	if pos > 0 {
		evs, err := h.cfg.Store.ReadAll(ctx, pos-1, 1)
		if err != nil {
			return view{}, err
		}
		if len(evs) == 1 {
			v.RecordedAt = evs[0].RecordedAt
		}
	}
	// The integrity log may trail the store by a moment; the root is shown
	// only when the tree already covers the position.
	if root, err := h.cfg.Integrity.Root(int64(pos)); err == nil {
		v.Root = root.String()
	}
	return v, nil
}

// models returns the models for v: the live ones (to be read inside
// Runner.Read) or fresh ones folded up to v.Pos. Only the models named in
// need are folded; the others are nil in an as-of view.
type need struct{ processes, submissions, transparency, dialogue bool }

func (h *Handler) modelsAt(ctx context.Context, v view, n need) (Models, error) {
	if v.Latest {
		return h.cfg.Models, nil
	}
	m := Models{Trails: h.cfg.Models.Trails}
	var err error
	dir, st := h.cfg.SnapshotDir, h.cfg.Store
	if n.processes {
		if m.Processes, err = projections.AsOf(ctx, st, dir, projections.NewProcesses(), v.Pos); err != nil {
			return m, fmt.Errorf("web: processes as of %d: %w", v.Pos, err)
		}
	}
	if n.submissions {
		if m.Submissions, err = projections.AsOf(ctx, st, dir, projections.NewSubmissions(), v.Pos); err != nil {
			return m, fmt.Errorf("web: submissions as of %d: %w", v.Pos, err)
		}
	}
	if n.transparency {
		if m.Transparency, err = projections.AsOf(ctx, st, dir, projections.NewTransparency(), v.Pos); err != nil {
			return m, fmt.Errorf("web: transparency as of %d: %w", v.Pos, err)
		}
	}
	if n.dialogue && h.cfg.Models.Dialogue != nil {
		if m.Dialogue, err = projections.AsOf(ctx, st, dir, projections.NewDialogue(), v.Pos); err != nil {
			return m, fmt.Errorf("web: dialogue as of %d: %w", v.Pos, err)
		}
	}
	return m, nil
}

// read calls fn with the models of v and the position they reflect. For
// the live view it holds the runner's read lock, so fn must copy what it
// keeps (the models' accessors return copies) and must not block.
func (h *Handler) read(ctx context.Context, v view, n need, fn func(m Models, pos eventstore.Position)) error {
	m, err := h.modelsAt(ctx, v, n)
	if err != nil {
		return err
	}
	if !v.Latest {
		fn(m, v.Pos)
		return nil
	}
	h.cfg.Runner.Read(func(pos eventstore.Position) { fn(m, pos) })
	return nil
}

// upTo is the position cut for append-only models (the trails).
func (v view) upTo() eventstore.Position {
	if v.Latest {
		return projections.Latest
	}
	return v.Pos
}
