package ledgerhttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/projections"
)

// The read side: GET routes over the projections (at "now" or as of a
// position or time), the raw log, the live feed and the integrity log.

// ReadSide is what the read routes serve from; cmd wires it. Without it
// (Config.Read nil) the read routes answer 503.
type ReadSide struct {
	Runner *projections.Runner
	// Dir is the runner's Config.Dir: as-of folds start from the snapshots
	// kept there ("" folds from the first event).
	Dir    string
	Models ReadModels
	// Integrity serves /v1/ledger/*; nil answers 503 there.
	Integrity Integrity
	// MinPositionWait bounds how long a read waits for the models to reach
	// the caller's X-Ledger-Min-Position (default 5s).
	MinPositionWait time.Duration
}

// ReadModels are the live read models the runner keeps current.
type ReadModels struct {
	Processes     *projections.Processes
	Submissions   *projections.Submissions
	Trails        *projections.Trails
	Queue         *projections.Queue
	Transparency  *projections.Transparency
	Participation *projections.Participation
	Actors        *projections.Actors
	Dialogue      *projections.Dialogue // nil: the dialogue routes answer 503
}

// Integrity is what the /v1/ledger routes need of the integrity log
// (*integrity.Log).
type Integrity interface {
	Checkpoint() integrity.SignedCheckpoint
	Verifier() string
	InclusionProof(index, size int64) (tlog.RecordProof, error)
	ConsistencyProof(from, to int64) (tlog.TreeProof, error)
	LeafHash(index int64) (tlog.Hash, error)
}

var _ Integrity = (*integrity.Log)(nil)

// PositionHeader carries the log position a read answer reflects;
// MinPositionHeader asks a read to wait until the models have applied a
// position (the one a write answered with: read your writes).
const (
	PositionHeader    = "X-Ledger-Position"
	MinPositionHeader = "X-Ledger-Min-Position"
)

var (
	errBadQuery      = errors.New("bad query parameter")
	errNoReadSide    = errors.New("the read side is not configured")
	errNotCaughtUp   = errors.New("the read models have not reached the position asked for yet")
	errInternalScope = errors.New("view=internal needs a moderator, official, admin or auditor token")
)

func badQuery(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errBadQuery, name, fmt.Sprintf(format, args...))
}

func (s *Server) store() eventstore.Store { return s.svc.Store() }

// readAt is the moment a read answers for: now (the models as they are) or
// as of a position.
type readAt struct {
	asOf bool
	pos  eventstore.Position
}

// resolveAt reads ?as_of=<position|RFC 3339 time> (a time means the last
// event the ledger had recorded then; a position past the head means the
// head), or, without it, waits for X-Ledger-Min-Position.
func (s *Server) resolveAt(r *http.Request) (readAt, error) {
	ctx := r.Context()
	q := r.URL.Query().Get("as_of")
	if q == "" {
		if h := r.Header.Get(MinPositionHeader); h != "" {
			n, err := strconv.ParseUint(h, 10, 64)
			if err != nil {
				return readAt{}, badQuery(MinPositionHeader, "%q is not a position", h)
			}
			wctx, cancel := context.WithTimeout(ctx, s.cfg.Read.MinPositionWait)
			defer cancel()
			// On timeout the answer is what the models have; its position
			// header tells the client it is older than asked.
			_ = s.cfg.Read.Runner.Wait(wctx, eventstore.Position(n))
		}
		return readAt{}, nil
	}
	var at eventstore.Position
	if n, err := strconv.ParseUint(q, 10, 64); err == nil {
		at = eventstore.Position(n)
	} else if t, err := time.Parse(time.RFC3339Nano, q); err == nil {
		if at, err = projections.PositionAt(ctx, s.store(), t); err != nil {
			return readAt{}, err
		}
	} else {
		return readAt{}, badQuery("as_of", "%q is neither a position nor an RFC 3339 time", q)
	}
	head, err := s.store().Head(ctx)
	if err != nil {
		return readAt{}, err
	}
	return readAt{asOf: true, pos: min(at, head)}, nil
}

// modelView says how one route reads one model. render gets the model,
// the position to cut append-only histories at (projections.Latest for
// the whole state) and the position the answer reflects; it runs under
// the runner's read lock when m is the live model, so it must encode
// rather than return references into the state.
type modelView[M projections.Model] struct {
	live M
	// fresh returns an empty model to fold as of a position; nil means the
	// model is append-only and answers as of a position by cutting there.
	fresh  func() M
	render func(m M, upTo, pos eventstore.Position) ([]byte, error)
}

// readModel renders v now or as of the request's as_of, returning the body
// and the position it reflects.
func readModel[M projections.Model](s *Server, r *http.Request, v modelView[M]) ([]byte, eventstore.Position, error) {
	rs := s.cfg.Read
	at, err := s.resolveAt(r)
	if err != nil {
		return nil, 0, err
	}
	if at.asOf && v.fresh == nil {
		// Cutting needs the live model to have applied at.pos, which is at
		// most the head: wait for it (briefly, it is catching up).
		wctx, cancel := context.WithTimeout(r.Context(), rs.MinPositionWait)
		defer cancel()
		if err := rs.Runner.Wait(wctx, at.pos); err != nil {
			return nil, 0, fmt.Errorf("%w (%d): %v", errNotCaughtUp, at.pos, err)
		}
	}
	var (
		body []byte
		pos  eventstore.Position
		done bool
	)
	rs.Runner.Read(func(cur eventstore.Position) {
		switch {
		case !at.asOf:
			pos, done = cur, true
			body, err = v.render(v.live, projections.Latest, cur)
		case v.fresh == nil:
			pos, done = at.pos, true
			body, err = v.render(v.live, at.pos, at.pos)
		case cur == at.pos:
			// As of exactly where the live model is: no fold needed.
			pos, done = cur, true
			body, err = v.render(v.live, projections.Latest, cur)
		}
	})
	if done {
		return body, pos, err
	}
	m, err := projections.AsOf(r.Context(), s.store(), rs.Dir, v.fresh(), at.pos)
	if err != nil {
		return nil, 0, err
	}
	body, err = v.render(m, projections.Latest, at.pos)
	return body, at.pos, err
}

// envelope encodes {"position":pos,"<key>":v}: every read-model answer
// says which position of the log it reflects.
func envelope(key string, pos eventstore.Position, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	k, _ := json.Marshal(key)
	out := fmt.Appendf(nil, `{"position":%d,%s:`, uint64(pos), k)
	out = append(out, b...)
	return append(out, '}'), nil
}

// serveRead writes a rendered read answer with its position.
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, body []byte, pos eventstore.Position, contentType string, err error) {
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	w.Header().Set(PositionHeader, strconv.FormatUint(uint64(pos), 10))
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		w.Write([]byte{'\n'})
	}
}

// requireRead answers 503 when the read side is not wired.
func (s *Server) requireRead(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Read == nil || s.cfg.Read.Runner == nil {
		writeProblem(w, r, s.log, errNoReadSide)
		return false
	}
	return true
}

// openSealed replaces every sealed personal field {"subject","sealed"} in a
// JSON document by its plaintext: {"text":…} or, when its key was
// shredded, {"disposed":true}. withSubject keeps the subject (internal
// views); public views leave it out, since for a name it is the
// participant id that the public view replaces by a pseudonym.
func (s *Server) openSealed(body []byte, withSubject bool) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(s.openValue(v, withSubject))
}

func (s *Server) openValue(v any, withSubject bool) any {
	switch x := v.(type) {
	case map[string]any:
		subject, ok1 := x["subject"].(string)
		sealed, ok2 := x["sealed"].(string)
		if len(x) == 2 && ok1 && ok2 {
			out := map[string]any{}
			if withSubject {
				out["subject"] = subject
			}
			raw, err := base64.StdEncoding.DecodeString(sealed)
			switch {
			case err != nil:
				out["disposed"] = true
			case len(raw) == 0:
				out["text"] = ""
			default:
				if text, disposed := s.svc.Open(domain.Personal{Subject: subject, Sealed: raw}); disposed {
					out["disposed"] = true
				} else {
					out["text"] = text
				}
			}
			return out
		}
		for k, e := range x {
			x[k] = s.openValue(e, withSubject)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = s.openValue(e, withSubject)
		}
		return x
	}
	return v
}

// queryInt parses an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string, def, max uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, badQuery(name, "%q is not a non-negative integer", v)
	}
	if max > 0 && n > max {
		return 0, badQuery(name, "at most %d", max)
	}
	return n, nil
}

// wantsInternal reports whether the caller asked for ?view=internal.
func wantsInternal(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("view"); v {
	case "", "public":
		return false, nil
	case "internal":
		return true, nil
	default:
		return false, badQuery("view", "%q: want public or internal", v)
	}
}

// accepts reports whether the Accept header names mediaType (exactly,
// ignoring parameters); */* does not count, so JSON stays the default.
func accepts(r *http.Request, mediaType string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), mediaType) {
			return true
		}
	}
	return false
}
