package ledgerhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
)

// WriteResponse is the answer to every successful write.
type WriteResponse struct {
	// ID is the id of the resource created or addressed.
	ID       string              `json:"id"`
	EventID  string              `json:"event_id"`
	Stream   string              `json:"stream"`
	Revision uint64              `json:"revision"`
	Position eventstore.Position `json:"position"`
	Events   []ledger.Appended   `json:"events"`
	Receipt  any                 `json:"receipt,omitempty"`
	// Token is a newly issued token's secret, in the first answer only.
	Token string `json:"token,omitempty"`
}

// call is what a write handler's body gets: the caller, the request
// context to copy into ledger.Request, and the route's {id}.
type call struct {
	p  ledger.Principal
	r  *http.Request
	id string
}

// req builds a ledger.Request for cmd with this call's key, If-Match and ids.
func req[C any](c call, cmd C, ifMatch *uint64) ledger.Request[C] {
	return ledger.Request[C]{
		Command:        cmd,
		IdempotencyKey: c.r.Header.Get("Idempotency-Key"),
		IfMatch:        ifMatch,
		RequestID:      requestID(c.r.Context()),
		CorrelationID:  bounded(c.r.Header.Get("X-Correlation-Id"), 128),
	}
}

// write wraps a command handler in the write pipeline: Idempotency-Key,
// bounded strict JSON, If-Match, replay of recorded answers, the answer.
// exec gets the decoded body B and the parsed If-Match.
func write[B any](s *Server, status int, exec func(c call, body B, ifMatch *uint64) (ledger.Result, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalOf(r.Context())
		key := r.Header.Get("Idempotency-Key")
		if key == "" || len(key) > 200 {
			writeProblem(w, r, s.log, errNoIdempotencyKey)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, r, s.log, errTooLarge)
			return
		}
		if err != nil {
			writeProblem(w, r, s.log, fmt.Errorf("%w: %v", errBadJSON, err))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && len(raw) > 0 {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				writeProblem(w, r, s.log, errUnsupportedMedium)
				return
			}
		}
		ifMatch, err := parseIfMatch(r.Header.Get("If-Match"))
		if err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		hash := requestHash(r.Method, r.URL.Path, r.Header.Get("If-Match"), raw)
		recKey := p.TokenID + "\x00" + key
		rec, claimed := s.idem.begin(recKey)
		if !claimed {
			if rec.Hash != hash {
				writeProblem(w, r, s.log, errKeyReused)
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", contentTypeFor(rec.Status))
			w.WriteHeader(rec.Status)
			w.Write(rec.Body) // shared with concurrent replays: never append to it
			w.Write([]byte{'\n'})
			return
		}
		// Unless an answer is recorded, release the key (also on panic), so
		// waiting duplicates and later retries are not stuck behind it.
		settled := false
		defer func() {
			if !settled {
				s.idem.abandon(recKey)
			}
		}()
		var body B
		if err := decodeStrict(raw, &body); err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		res, err := exec(call{p: p, r: r, id: routeParam(r, "id")}, body, ifMatch)
		if err != nil {
			pr := problemFor(err)
			pr.Instance = r.URL.Path
			if !recordable(pr.Status) || errors.Is(err, eventstore.ErrWrongExpectedVersion) && pr.Status == http.StatusConflict {
				writeProblem(w, r, s.log, err)
				return
			}
			b, _ := json.Marshal(pr)
			settled = true
			s.answer(w, r, recKey, hash, pr.Status, b)
			return
		}
		resp := s.response(r, res)
		b, err := json.Marshal(resp)
		if err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		// The token secret is never recorded: a replay answers without it.
		recorded := b
		if resp.Token != "" {
			resp.Token = ""
			recorded, _ = json.Marshal(resp)
		}
		settled = true
		if err := s.idem.finish(&idemRecord{Key: recKey, Hash: hash, Status: status, Body: recorded}); err != nil {
			s.log.WarnContext(r.Context(), "idempotency record not written", "err", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(append(b, '\n'))
	}
}

// answer records and sends a problem answer that a retry must repeat.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, recKey string, hash [32]byte, status int, body []byte) {
	if err := s.idem.finish(&idemRecord{Key: recKey, Hash: hash, Status: status, Body: body}); err != nil {
		s.log.WarnContext(r.Context(), "idempotency record not written", "err", err)
	}
	w.Header().Set("Content-Type", contentTypeFor(status))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// recordable says which failures are final for a request: the domain's
// verdicts are; transient ones (429, 5xx, a lost race) are not, so a retry
// can succeed.
func recordable(status int) bool {
	switch status {
	case http.StatusUnprocessableEntity, http.StatusNotFound, http.StatusConflict,
		http.StatusForbidden, http.StatusPreconditionFailed, http.StatusGone:
		return true
	}
	return false
}

func contentTypeFor(status int) string {
	if status >= 400 {
		return "application/problem+json"
	}
	return "application/json"
}

func (s *Server) response(r *http.Request, res ledger.Result) WriteResponse {
	last := res.Last()
	resp := WriteResponse{ID: res.ID, EventID: last.ID, Stream: last.Stream, Revision: last.Revision,
		Position: last.Position, Events: res.Events, Token: res.Token}
	if s.cfg.Receipt != nil {
		// A receipt that is not ready in time is left out rather than
		// failing a write that is already durable; it can be fetched later.
		rec, err := s.cfg.Receipt(r.Context(), last)
		if err != nil {
			s.log.WarnContext(r.Context(), "receipt unavailable", "err", err, "position", last.Position)
		} else {
			resp.Receipt = rec
		}
	}
	return resp
}

// decodeStrict decodes exactly one JSON value, refusing unknown fields.
func decodeStrict(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}") // commands without fields (support) may omit the body
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadJSON, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON value", errBadJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON value", errBadJSON)
	}
	return nil
}

// parseIfMatch reads `"<revision>"` (quotes optional, W/ refused).
func parseIfMatch(h string) (*uint64, error) {
	if h == "" {
		return nil, nil
	}
	v := strings.TrimSpace(h)
	v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil, errBadIfMatch
	}
	return &n, nil
}

// parseTime reads an optional RFC 3339 time from a request body.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s is not an RFC 3339 time", ledger.ErrInvalid, field)
	}
	return t, nil
}

// bounded drops a client-supplied metadata value that is implausibly long
// rather than writing it into the permanent log.
func bounded(v string, n int) string {
	if len(v) > n {
		return ""
	}
	return v
}
