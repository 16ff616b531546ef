package ledgerhttp

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/projections"
)

// Read-model handlers. Each accepts ?as_of=<position|RFC 3339 time> and
// answers {"position":N,…} with X-Ledger-Position: N.

const contentJSON = "application/json"

func (s *Server) listProcesses(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	body, pos, err := readModel(s, r, func(m *projections.Processes, pos eventstore.Position) ([]byte, error) {
		return envelope("processes", pos, m.List())
	})
	s.serveRead(w, r, body, pos, contentJSON, err)
}

func (s *Server) getProcess(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	body, pos, err := readModel(s, r, func(m *projections.Processes, pos eventstore.Position) ([]byte, error) {
		o, ok := m.Process(id)
		if !ok {
			return nil, fmt.Errorf("process %q: %w", id, errNotFound)
		}
		return envelope("process", pos, o)
	})
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// processSubmissions lists a process's public submissions (no comments).
func (s *Server) processSubmissions(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	body, pos, err := readModel(s, r, func(m *projections.Submissions, pos eventstore.Position) ([]byte, error) {
		return envelope("submissions", pos, m.PublicList(id))
	})
	if err == nil {
		body, err = s.openSealed(body, false)
	}
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// internalRoles may ask for internal views of submissions and trails.
var internalRoles = []domain.Role{domain.RoleModerator, domain.RoleOfficial, domain.RoleAdmin, domain.RoleAuditor}

// getSubmission is the public view (hidden content as hidden, with the
// reason), or with ?view=internal for staff everything, content opened —
// a read of personal data, recorded as PersonalDataAccessed before the
// answer is sent.
func (s *Server) getSubmission(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	internal, err := wantsInternal(r)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	p, _ := principalOf(r.Context())
	if internal {
		if p.Role == "" {
			writeProblem(w, r, s.log, errUnauthorized)
			return
		}
		if !slices.Contains(internalRoles, p.Role) {
			writeProblem(w, r, s.log, fmt.Errorf("%w: %w", errForbidden, errInternalScope))
			return
		}
	}
	var subjects []string
	body, pos, err := readModel(s, r, func(m *projections.Submissions, pos eventstore.Position) ([]byte, error) {
		if internal {
			v, ok := m.Internal(id)
			if !ok {
				return nil, fmt.Errorf("submission %q: %w", id, errNotFound)
			}
			subjects = accessSubjects(v)
			return envelope("submission", pos, v)
		}
		v, ok := m.Public(id)
		if !ok {
			return nil, fmt.Errorf("submission %q: %w", id, errNotFound)
		}
		return envelope("submission", pos, v)
	})
	if err == nil && internal {
		err = s.recordAccess(r, p, subjects, "/v1/submissions/{id}?view=internal")
		w.Header().Set("Cache-Control", "no-store")
	}
	if err == nil {
		body, err = s.openSealed(body, internal)
	}
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// accessSubjects are whose personal data an internal submission view
// shows: the submission's own content and its and its comments' authors.
func accessSubjects(v projections.InternalSubmission) []string {
	out := []string{v.ID}
	add := func(id string) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	add(v.Author)
	for _, c := range v.Comments {
		add(c.Author)
	}
	return out
}

// itemTrail is an item's decision trail: staff as role and pseudonym, or
// named with ?view=internal for auditors and admins. The trail is
// append-only, so as of a position it is cut there.
func (s *Server) itemTrail(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	internal, err := wantsInternal(r)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	if internal {
		p, ok := principalOf(r.Context())
		if !ok {
			writeProblem(w, r, s.log, errUnauthorized)
			return
		}
		if p.Role != domain.RoleAuditor && p.Role != domain.RoleAdmin {
			writeProblem(w, r, s.log, fmt.Errorf("%w: named trails are for auditors and admins", errForbidden))
			return
		}
	}
	body, pos, err := readModel(s, r, func(m *projections.Trails, pos eventstore.Position) ([]byte, error) {
		var es []projections.TrailEntry
		var ok bool
		if internal {
			es, ok = m.Internal(id, pos)
		} else {
			es, ok = m.Public(id, pos)
		}
		if !ok {
			return nil, fmt.Errorf("item %q: %w", id, errNotFound)
		}
		return envelope("trail", pos, es)
	})
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// moderationQueue is the queue, oldest first (?process= filters).
func (s *Server) moderationQueue(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	process := r.URL.Query().Get("process")
	body, pos, err := readModel(s, r, func(m *projections.Queue, pos eventstore.Position) ([]byte, error) {
		return envelope("queue", pos, m.Entries(process))
	})
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// transparencyReport is the DSA-shaped report: JSON, or CSV when the
// client sends Accept: text/csv. Filters: period=YYYY|YYYY-MM|YYYY-Qn or
// from=/to= (RFC 3339 or YYYY-MM-DD; to exclusive), process=, body=.
func (s *Server) transparencyReport(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	q, err := reportQuery(r)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	csv := accepts(r, "text/csv")
	body, pos, err := readModel(s, r, func(m *projections.Transparency, pos eventstore.Position) ([]byte, error) {
		rep := m.Report(q)
		if csv {
			return rep.CSV()
		}
		return envelope("report", pos, rep)
	})
	ct := contentJSON
	if csv {
		ct = "text/csv; charset=utf-8"
		if err == nil {
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="transparency-%d.csv"`, uint64(pos)))
		}
	}
	s.serveRead(w, r, body, pos, ct, err)
}

func reportQuery(r *http.Request) (projections.ReportQuery, error) {
	v := r.URL.Query()
	q := projections.ReportQuery{ProcessID: v.Get("process"), Body: v.Get("body")}
	if p := v.Get("period"); p != "" {
		from, to, err := parsePeriod(p)
		if err != nil {
			return q, err
		}
		q.From, q.To = from, to
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := parseDay(s)
			if err != nil {
				return q, badQuery(f.name, "%q is not an RFC 3339 time or a date", s)
			}
			*f.dst = t
		}
	}
	return q, nil
}

// parsePeriod turns 2024, 2024-09 or 2024-Q3 into [from, to) in UTC.
func parsePeriod(p string) (time.Time, time.Time, error) {
	bad := badQuery("period", "%q: want YYYY, YYYY-MM or YYYY-Qn", p)
	if y, q, ok := strings.Cut(p, "-Q"); ok {
		year, err1 := strconv.Atoi(y)
		n, err2 := strconv.Atoi(q)
		if err1 != nil || err2 != nil || n < 1 || n > 4 || len(y) != 4 {
			return time.Time{}, time.Time{}, bad
		}
		from := time.Date(year, time.Month(3*(n-1)+1), 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 3, 0), nil
	}
	if t, err := time.Parse("2006-01", p); err == nil {
		return t, t.AddDate(0, 1, 0), nil
	}
	if t, err := time.Parse("2006", p); err == nil {
		return t, t.AddDate(1, 0, 0), nil
	}
	return time.Time{}, time.Time{}, bad
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// participationStats is a process's participation statistics with cells
// under projections.MinCell suppressed (?process= is required).
func (s *Server) participationStats(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	process := r.URL.Query().Get("process")
	if process == "" {
		writeProblem(w, r, s.log, badQuery("process", "required"))
		return
	}
	open := func(p domain.Personal) (string, bool) {
		text, disposed := s.svc.Open(p)
		return text, !disposed
	}
	body, pos, err := readModel(s, r, func(m *projections.Participation, pos eventstore.Position) ([]byte, error) {
		st, ok := m.Stats(process, open)
		if !ok {
			return nil, fmt.Errorf("process %q: %w", process, errNotFound)
		}
		return envelope("stats", pos, st)
	})
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// actorTrail is what one actor did (?after=&limit= page it). Auditors and
// admins read anyone's; moderators and officials their own.
func (s *Server) actorTrail(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	p, _ := principalOf(r.Context())
	if (p.Role == domain.RoleModerator || p.Role == domain.RoleOfficial) && p.Actor().ID != id {
		writeProblem(w, r, s.log, fmt.Errorf("%w: %s may read only their own trail", errForbidden, p.Role))
		return
	}
	after, err := queryInt(r, "after", 0, 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	limit, err := queryInt(r, "limit", 1000, 10_000)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	body, pos, err := readModel(s, r, func(m *projections.Actors, pos eventstore.Position) ([]byte, error) {
		return envelope("trail", pos, m.Trail(id, eventstore.Position(after), pos, int(limit)))
	})
	s.serveRead(w, r, body, pos, contentJSON, err)
}
