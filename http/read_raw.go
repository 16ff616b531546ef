package ledgerhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// Raw reads of the log (auditors, admins), the access log and the live
// feed.

// RawEvent is a stored event as the raw read routes return it. Data is the
// stored body verbatim: sealed fields stay sealed.
type RawEvent struct {
	Position   eventstore.Position `json:"position"`
	ID         string              `json:"id"`
	Stream     string              `json:"stream"`
	Revision   uint64              `json:"revision"`
	Type       string              `json:"type"`
	Version    int                 `json:"version"`
	RecordedAt time.Time           `json:"recorded_at"`
	Metadata   eventstore.Metadata `json:"metadata"`
	Data       json.RawMessage     `json:"data"`
}

func rawEvents(evs []eventstore.Event) []RawEvent {
	out := make([]RawEvent, len(evs))
	for i, e := range evs {
		out[i] = RawEvent{Position: e.Position, ID: e.ID.String(), Stream: e.Stream, Revision: e.Revision,
			Type: e.Type, Version: e.Version, RecordedAt: e.RecordedAt, Metadata: e.Metadata, Data: e.Data}
	}
	return out
}

// NDJSON is the media type of canonical event lines: with Accept:
// application/x-ndjson, /v1/events answers each event's canonical bytes
// (the Merkle leaf input) on its own line, as in an auditor export.
const NDJSON = "application/x-ndjson"

// events reads the global log: ?from=<position> (exclusive) &limit=.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	from, err := queryInt(r, "from", 0, 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	limit, err := queryInt(r, "limit", 100, 1000)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	if limit == 0 {
		limit = 100
	}
	head, err := s.store().Head(r.Context())
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	evs, err := s.store().ReadAll(r.Context(), eventstore.Position(from), int(limit))
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	w.Header().Set(PositionHeader, fmt.Sprint(uint64(head)))
	if accepts(r, NDJSON) {
		var b []byte
		for _, e := range evs {
			b = append(eventstore.AppendCanonical(b, e), '\n')
		}
		w.Header().Set("Content-Type", NDJSON)
		w.Write(b)
		return
	}
	next := eventstore.Position(from)
	if len(evs) > 0 {
		next = evs[len(evs)-1].Position
	}
	writeJSON(w, contentJSON, http.StatusOK, map[string]any{"head": head, "next": next, "events": rawEvents(evs)})
}

// stream reads one stream: ?from=<revision> &limit= &direction=backwards.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	name := routeParam(r, "stream")
	opts := eventstore.ReadStreamOptions{Direction: eventstore.Forwards}
	switch d := r.URL.Query().Get("direction"); d {
	case "", "forwards":
	case "backwards":
		opts.Direction, opts.From = eventstore.Backwards, eventstore.End
	default:
		writeProblem(w, r, s.log, badQuery("direction", "%q: want forwards or backwards", d))
		return
	}
	from, err := queryInt(r, "from", opts.From, 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	limit, err := queryInt(r, "limit", 100, 1000)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	opts.From, opts.Limit = from, max(int(limit), 1)
	if err := eventstore.ValidateStream(name); err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	evs, err := s.store().ReadStream(r.Context(), name, opts)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	writeJSON(w, contentJSON, http.StatusOK, map[string]any{"stream": name, "events": rawEvents(evs)})
}

// live streams read-model changes as Server-Sent Events (see LiveFeed).
// ?process=a,b keeps changes of those processes only.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	var allow func(projections.Change) bool
	if p := r.URL.Query().Get("process"); p != "" {
		ids := strings.Split(p, ",")
		allow = func(c projections.Change) bool { return slices.Contains(ids, c.ProcessID) }
	}
	serveLive(w, r, s.cfg.Read.Runner.Hub(), allow, s.log)
}

// recordAccess appends one PersonalDataAccessed per subject to the
// reader's access stream before a staff read of personal data is
// answered, so the read cannot happen unrecorded. The stream has no
// invariants to decide against, so it appends with expected revision Any.
// (The command service has no exported method for this yet; it records
// its own participant-data reads the same way.)
func (s *Server) recordAccess(r *http.Request, p ledger.Principal, subjects []string, resource string) error {
	actor := p.Actor()
	purpose := r.URL.Query().Get("purpose")
	if purpose == "" {
		purpose = "internal view"
	}
	return s.cfg.Service.RecordAccess(r.Context(), actor, subjects, purpose, resource,
		requestID(r.Context()), bounded(r.Header.Get("X-Correlation-Id"), 128))
}

// AccessEntry is one recorded read of personal data.
type AccessEntry struct {
	Position   eventstore.Position `json:"position"`
	RecordedAt time.Time           `json:"recorded_at"`
	Actor      string              `json:"actor"`
	Role       domain.Role         `json:"role"`
	SubjectID  string              `json:"subject_id"`
	Purpose    string              `json:"purpose"`
	Resource   string              `json:"resource"`
	RequestID  string              `json:"request_id,omitempty"`
}

// accessScanLimit bounds the events one /v1/access call without ?actor=
// scans; the answer's "next" continues the scan.
const accessScanLimit = 200_000

// accessLog lists recorded personal-data reads: ?actor= reads that actor's
// access stream; otherwise the log is scanned from ?from= (exclusive) for
// at most accessScanLimit events. ?subject= filters; ?limit= bounds.
func (s *Server) accessLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	actor, subject := q.Get("actor"), q.Get("subject")
	from, err := queryInt(r, "from", 0, 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	limit, err := queryInt(r, "limit", 1000, 10_000)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	limit = max(limit, 1)
	out := []AccessEntry{}
	keep := func(e eventstore.Event) (bool, error) {
		if e.Type != "PersonalDataAccessed" || e.Position <= eventstore.Position(from) {
			return true, nil
		}
		de, err := domain.Decode(e.Type, e.Version, e.Data)
		if err != nil {
			return false, err
		}
		a, ok := de.(*domain.PersonalDataAccessed)
		if !ok || subject != "" && a.SubjectID != subject || actor != "" && a.Actor != actor {
			return true, nil
		}
		out = append(out, AccessEntry{Position: e.Position, RecordedAt: e.RecordedAt, Actor: a.Actor, Role: a.Role,
			SubjectID: a.SubjectID, Purpose: a.Purpose, Resource: a.Resource, RequestID: e.Metadata.RequestID})
		return uint64(len(out)) < limit, nil
	}
	ctx := r.Context()
	next := eventstore.Position(from)
	if actor != "" {
		rev := uint64(0)
	stream:
		for {
			evs, err := s.store().ReadStream(ctx, domain.StreamForAccess(actor), eventstore.ReadStreamOptions{From: rev, Limit: 1000})
			if errors.Is(err, eventstore.ErrStreamNotFound) {
				break
			}
			if err != nil {
				writeProblem(w, r, s.log, err)
				return
			}
			for _, e := range evs {
				more, err := keep(e)
				if err != nil {
					writeProblem(w, r, s.log, err)
					return
				}
				next = max(next, e.Position)
				if !more {
					break stream
				}
			}
			if len(evs) < 1000 {
				break
			}
			rev = evs[len(evs)-1].Revision + 1
		}
	} else {
		scanned := 0
	scan:
		for scanned < accessScanLimit {
			evs, err := s.store().ReadAll(ctx, next, 4096)
			if err != nil {
				writeProblem(w, r, s.log, err)
				return
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				scanned++
				next = e.Position
				more, err := keep(e)
				if err != nil {
					writeProblem(w, r, s.log, err)
					return
				}
				if !more {
					break scan
				}
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, contentJSON, http.StatusOK, map[string]any{"next": next, "accesses": out})
}
