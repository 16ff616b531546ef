package ledgerhttp

import (
	"fmt"
	"net/http"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b TokenBody, ifMatch *uint64) (ledger.Result, error) {
		return s.svc.IssueToken(c.r.Context(), c.p.Actor(), req(c, ledger.IssueToken{
			Name: b.Name, Role: domain.Role(b.Role), Participant: b.Participant}, ifMatch))
	})(w, r)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusOK, func(c call, b RevokeBody, ifMatch *uint64) (ledger.Result, error) {
		return s.svc.RevokeToken(c.r.Context(), c.p.Actor(), req(c, ledger.RevokeToken{TokenID: c.id, Reason: b.Reason}, ifMatch))
	})(w, r)
}

// participantData serves everything recorded about a participant to the
// participant themself or to staff, whose read is recorded by the service.
func (s *Server) participantData(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r.Context())
	id := routeParam(r, "id")
	if err := own(p, id); err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	purpose := r.URL.Query().Get("purpose")
	if p.Role != domain.RoleParticipant && purpose == "" {
		writeProblem(w, r, s.log, fmt.Errorf("%w: staff reads of personal data need ?purpose=", domain.ErrInvalid))
		return
	}
	evs, err := s.svc.ParticipantData(r.Context(), p.Actor(), id, purpose)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	if evs == nil {
		evs = []ledger.RecordedEvent{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, "application/json", http.StatusOK, map[string]any{"participant": id, "events": evs,
		"erasures": ledger.Erasures(id, evs)})
}

// own enforces that a participant acts only on their own participant
// resource; staff roles pass (the route table has already limited them).
func own(p ledger.Principal, participantID string) error {
	if p.Role == domain.RoleParticipant && p.Participant != participantID {
		return fmt.Errorf("participant %s may act only on their own data: %w", p.Participant, errForbidden)
	}
	return nil
}
