package ledgerhttp

import (
	"fmt"
	"net/http"

	"github.com/malmo/participation-ledger/projections"
)

// processResults is what became of a process's input (accountability):
// each public proposal's path, the elected bodies' feedback, participation
// and moderation figures. JSON (titles opened), or CSV with Accept: text/csv
// (one row per proposal, no titles).
func (s *Server) processResults(w http.ResponseWriter, r *http.Request) {
	if !s.requireRead(w, r) {
		return
	}
	id := routeParam(r, "id")
	at, err := s.resolveAt(r)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	csv := accepts(r, "text/csv")
	var body []byte
	pos, err := s.cfg.Read.Runner.Read(r.Context(), at, func(v *projections.View) error {
		res, ok := projections.ResultsOf(v, id)
		if !ok {
			return fmt.Errorf("process %q: %w", id, errNotFound)
		}
		var err error
		if csv {
			body, err = res.CSV()
			return err
		}
		body, err = envelope("results", v.Position(), res)
		return err
	})
	ct := contentJSON
	if csv {
		ct = "text/csv; charset=utf-8"
		if err == nil {
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="results-%d.csv"`, uint64(pos)))
		}
	} else if err == nil {
		body, err = s.openSealed(body, false)
	}
	s.serveRead(w, r, body, pos, ct, err)
}
