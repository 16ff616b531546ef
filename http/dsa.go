package ledgerhttp

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/dsa"
)

// dsaSummary answers GET /v1/exports/dsa: how many restricting decisions
// there are, how many bulk bodies they fill, and which are held back
// because the DSA Transparency Database's rules would refuse them.
func (s *Server) dsaSummary(w http.ResponseWriter, r *http.Request) {
	res, err := dsa.Collect(r.Context(), s.store(), 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	if res.HeldBack == nil {
		res.HeldBack = []dsa.HeldBack{}
	}
	writeJSON(w, "application/json", http.StatusOK, struct {
		dsa.Result
		Statements int `json:"statements"`
		Batches    int `json:"batches"`
	}{res, len(res.Statements), len(res.Batches())})
}

// dsaBatch answers GET /v1/exports/dsa/{batch}: the batch-th (from 1) bulk
// body, exactly as POST /api/v1/statements of the database takes it.
func (s *Server) dsaBatch(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(routeParam(r, "batch"))
	if err != nil || n < 1 {
		writeProblem(w, r, s.log, fmt.Errorf("batch %q is not a number from 1: %w", routeParam(r, "batch"), domain.ErrNotFound))
		return
	}
	res, err := dsa.Collect(r.Context(), s.store(), 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	bs := res.Batches()
	if n > len(bs) {
		writeProblem(w, r, s.log, fmt.Errorf("there are %d batches: %w", len(bs), domain.ErrNotFound))
		return
	}
	w.Header().Set(PositionHeader, strconv.FormatUint(uint64(res.Position), 10))
	writeJSON(w, "application/json", http.StatusOK, bs[n-1])
}
