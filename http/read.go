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
	// Runner keeps the read models and serves views of them, live or as
	// of a position or time.
	Runner *projections.Runner
	// Integrity serves /v1/ledger/*; nil answers 503 there.
	Integrity Integrity
	// MinPositionWait bounds how long a read waits for the models to reach
	// the caller's X-Ledger-Min-Position (default 5s).
	MinPositionWait time.Duration
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
	errInternalScope = errors.New("view=internal needs a moderator, official, admin or auditor token")
)

func badQuery(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errBadQuery, name, fmt.Sprintf(format, args...))
}

func (s *Server) store() eventstore.Store { return s.svc.Store() }

// resolveAt reads ?as_of=<position|RFC 3339 time>, or, without it,
// waits for X-Ledger-Min-Position and answers live.
func (s *Server) resolveAt(r *http.Request) (projections.At, error) {
	q := r.URL.Query().Get("as_of")
	if q == "" {
		if h := r.Header.Get(MinPositionHeader); h != "" {
			n, err := strconv.ParseUint(h, 10, 64)
			if err != nil {
				return projections.At{}, badQuery(MinPositionHeader, "%q is not a position", h)
			}
			wctx, cancel := context.WithTimeout(r.Context(), s.cfg.Read.MinPositionWait)
			defer cancel()
			// On timeout the answer is what the models have; its position
			// header tells the client it is older than asked.
			_ = s.cfg.Read.Runner.Wait(wctx, eventstore.Position(n))
		}
		return projections.Live(), nil
	}
	at, err := projections.ParseAt(q)
	if err != nil {
		return at, badQuery("as_of", "%q is neither a position nor an RFC 3339 time", q)
	}
	return at, nil
}

// readModel renders model M now or as of the request's as_of, returning
// the body and the position it reflects. render gets the model and that
// position (which append-only models cut their histories at); it runs
// inside the runner's view, so it must encode rather than keep what it
// reads.
func readModel[M projections.Model](s *Server, r *http.Request, render func(m M, pos eventstore.Position) ([]byte, error)) ([]byte, eventstore.Position, error) {
	at, err := s.resolveAt(r)
	if err != nil {
		return nil, 0, err
	}
	var body []byte
	pos, err := s.cfg.Read.Runner.Read(r.Context(), at, func(v *projections.View) error {
		var err error
		body, err = render(projections.Get[M](v), v.Position())
		return err
	})
	return body, pos, err
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
