package web

import (
	"context"
	"errors"
	"net/http"
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

// parseAsOf reads ?as_of=: what projections.ParseAt reads (a position, an
// RFC 3339 time), a local "2006-01-02T15:04" from a datetime input, or a
// date meaning the end of that day in Malmö.
func (h *Handler) parseAsOf(s string) (projections.At, error) {
	s = strings.TrimSpace(s)
	if at, err := projections.ParseAt(s); err == nil {
		return at, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, h.loc); err == nil {
		return projections.AtTime(t), nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, h.loc)
	if err != nil {
		return projections.At{}, errBadAsOf
	}
	return projections.AtTime(d.AddDate(0, 0, 1).Add(-time.Nanosecond)), nil
}

// resolve returns the view a request asks for; the runner resolves a time
// and caps a position at the head.
func (h *Handler) resolve(r *http.Request) (view, error) {
	ctx := r.Context()
	asked := r.URL.Query().Get("as_of")
	at, err := h.parseAsOf(asked)
	if err != nil || at.IsLive() {
		return view{Latest: true}, err
	}
	if at, err = h.cfg.Runner.Resolve(ctx, at); err != nil {
		return view{}, err
	}
	pos, _ := at.Position()
	head, err := h.cfg.Store.Head(ctx)
	if err != nil {
		return view{}, err
	}
	v := view{Pos: pos, Asked: asked, Head: max(head, pos)}
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

// read calls fn with the runner's view of the read models for v. A live
// view holds the runner's read lock, so fn must copy what it keeps (the
// models' accessors return copies) and must not block.
func (h *Handler) read(ctx context.Context, v view, fn func(m *projections.View)) error {
	at := projections.Live()
	if !v.Latest {
		at = projections.AtPosition(v.Pos)
	}
	_, err := h.cfg.Runner.Read(ctx, at, func(m *projections.View) error {
		fn(m)
		return nil
	})
	return err
}
