package ledgerhttp

import (
	"net/http"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/ledger"
)

// Sessions resolves a browser session into the principal it acts as, with
// the participant's pseudonym (auth.Sessions implements it).
type Sessions interface {
	Principal(r *http.Request) (ledger.Principal, string, bool)
}

// MeAnswer is GET /v1/me: who the caller is.
type MeAnswer struct {
	Role        string `json:"role"`
	Actor       string `json:"actor"` // the id events record them under
	Participant string `json:"participant,omitempty"`
	Pseudonym   string `json:"pseudonym,omitempty"`
	Via         string `json:"via"` // "token" or "session"
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, ok := principalOf(r.Context())
	if !ok {
		writeProblem(w, r, s.log, errUnauthorized)
		return
	}
	a := MeAnswer{Role: string(p.Role), Actor: p.Actor().ID, Participant: p.Participant, Via: "token"}
	if r.Header.Get("Authorization") == "" {
		a.Via = "session"
		if s.cfg.Sessions != nil {
			_, a.Pseudonym, _ = s.cfg.Sessions.Principal(r)
		}
	} else if p.Participant != "" {
		st, err := auth.Participant(r.Context(), s.svc.Store(), p.Participant)
		if err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		a.Pseudonym = st.Pseudonym
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, "application/json", http.StatusOK, a)
}
