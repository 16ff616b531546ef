package ledgerhttp

import (
	"fmt"
	"net/http"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// Dialogue processes: statements, votes and their read models.

// StatementBody posts a statement in a dialogue process; an official or
// admin sends "seed": true to seed one.
type StatementBody struct {
	Author     string `json:"author" doc:"participant id (intake only)"`
	Channel    string `json:"channel" doc:"web|paper|email|meeting (default web)"`
	Language   string `json:"language" required:"true"`
	Body       string `json:"body" required:"true" doc:"the statement, at most 2000 bytes"`
	Seed       bool   `json:"seed" doc:"an official's seed statement (official, admin)"`
	OccurredAt string `json:"occurred_at" doc:"RFC 3339 (intake)"`
}

// VoteBody votes on a statement; voting again changes the vote (the
// latest counts). Send an Idempotency-Key: a retry is then the same vote.
type VoteBody struct {
	Participant string `json:"participant" doc:"participant id (intake only)"`
	Vote        string `json:"vote" required:"true" doc:"agree|disagree|pass"`
}

func (s *Server) postStatement(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b StatementBody, im *uint64) (ledger.Result, error) {
		rq, err := occurred(req(c, domain.PostStatement{Author: b.Author, Channel: domain.Channel(b.Channel),
			Language: b.Language, Body: b.Body, Seed: b.Seed}, im), "occurred_at", b.OccurredAt)
		if err != nil {
			return ledger.Result{}, err
		}
		return s.svc.PostStatement(c.r.Context(), c.p.Actor(), c.id, rq)
	})(w, r)
}

func (s *Server) castVote(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b VoteBody, im *uint64) (ledger.Result, error) {
		return s.svc.CastVote(c.r.Context(), c.p.Actor(), c.id, req(c, domain.CastVote{ParticipantID: b.Participant,
			Vote: domain.Vote(b.Vote)}, im))
	})(w, r)
}

// dialogueRead serves one view of the dialogue model, now or as_of.
func (s *Server) dialogueRead(w http.ResponseWriter, r *http.Request, render func(m *projections.Dialogue, pos eventstore.Position) ([]byte, error), open bool) {
	if !s.requireRead(w, r) {
		return
	}
	body, pos, err := readModel(s, r, render)
	if err == nil && open {
		body, err = s.openSealed(body, false)
	}
	s.serveRead(w, r, body, pos, contentJSON, err)
}

// dialogueStatements lists a dialogue's statements, their text and their
// agree / disagree / pass counts from every participant's latest vote;
// hidden and pending statements are listed with their status only.
func (s *Server) dialogueStatements(w http.ResponseWriter, r *http.Request) {
	id := routeParam(r, "id")
	s.dialogueRead(w, r, func(m *projections.Dialogue, pos eventstore.Position) ([]byte, error) {
		sum, ok := m.Counts(id, true)
		if !ok {
			return nil, fmt.Errorf("dialogue process %q: %w", id, errNotFound)
		}
		return envelope("dialogue", pos, sum)
	}, true)
}

// dialogueTimeline is a dialogue's participation per day.
func (s *Server) dialogueTimeline(w http.ResponseWriter, r *http.Request) {
	id := routeParam(r, "id")
	s.dialogueRead(w, r, func(m *projections.Dialogue, pos eventstore.Position) ([]byte, error) {
		tl, ok := m.Timeline(id)
		if !ok {
			return nil, fmt.Errorf("dialogue process %q: %w", id, errNotFound)
		}
		return envelope("days", pos, tl)
	}, false)
}

// dialogueMatrix is the participant × statement latest-vote matrix, with
// participants as numbers only (for researchers).
func (s *Server) dialogueMatrix(w http.ResponseWriter, r *http.Request) {
	id := routeParam(r, "id")
	s.dialogueRead(w, r, func(m *projections.Dialogue, pos eventstore.Position) ([]byte, error) {
		mx, ok := m.Matrix(id)
		if !ok {
			return nil, fmt.Errorf("dialogue process %q: %w", id, errNotFound)
		}
		return envelope("matrix", pos, mx)
	}, false)
}

// dialogueGroups is a dialogue's opinion groups (Polis's method), their
// representative statements and the group-informed consensus, computed
// from the dialogue model's latest votes at the view asked for. Public:
// participants appear only as counts and unnamed map points. The votes are
// copied while the model is read; the analysis runs after, so it never
// holds up the runner.
func (s *Server) dialogueGroups(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	var (
		in    projections.GroupsInput
		found bool
	)
	_, pos, err := readModel(s, r, func(m *projections.Dialogue, _ eventstore.Position) ([]byte, error) {
		in, found = m.GroupsInput(id)
		return nil, nil
	})
	var body []byte
	switch {
	case err != nil:
	case !found:
		err = fmt.Errorf("dialogue process %q: %w", id, errNotFound)
	default:
		if body, err = envelope("groups", pos, in.Compute()); err == nil {
			body, err = s.openSealed(body, false)
		}
	}
	s.serveRead(w, r, body, pos, contentJSON, err)
}
