package ledgerhttp

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/ledger"
)

// Exports is what the export routes need; *export.Service implements it.
type Exports interface {
	Create(ctx context.Context, id string, opt export.Options) (export.Result, error)
	Open(id, name string) (*os.File, export.Manifest, error)
}

var _ Exports = (*export.Service)(nil)

// ExportBody asks for an export. Auditors get the auditor export (the log
// as stored, from position 1); researchers a research export pseudonymised
// for themselves.
type ExportBody struct {
	Kind    string `json:"kind" required:"true" doc:"audit (auditor) | research (researcher)"`
	From    string `json:"from" doc:"research: first position or RFC 3339 recorded-at time"`
	To      string `json:"to" doc:"last position or RFC 3339 recorded-at time (default: the head)"`
	Process string `json:"process" doc:"research: only this process"`
}

// mayExport reports whether role may ask for or download an export of kind.
func mayExport(role domain.Role, kind export.Kind) bool {
	return kind == export.Audit && role == domain.RoleAuditor || kind == export.Research && role == domain.RoleResearcher
}

// createExport writes the export (synchronously; one at a time) under
// DIR/exports/<id>/ and records ExportIssued with the manifest's hash. A
// retry with the same Idempotency-Key finds the same export id, files and
// event.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ExportBody, _ *uint64) (ledger.Result, error) {
		actor := c.p.Actor()
		kind := export.Kind(b.Kind)
		if kind != export.Audit && kind != export.Research {
			return ledger.Result{}, fmt.Errorf("%w: kind %q is not audit or research", domain.ErrInvalid, b.Kind)
		}
		if !mayExport(actor.Role, kind) {
			return ledger.Result{}, fmt.Errorf("the %s role may not ask for %s exports: %w", actor.Role, kind, domain.ErrForbidden)
		}
		if s.cfg.Exports == nil {
			return ledger.Result{}, fmt.Errorf("exports are not enabled on this server: %w", domain.ErrNotFound)
		}
		from, err := export.ParseBound(b.From)
		if err != nil {
			return ledger.Result{}, fmt.Errorf("%w: from: %v", domain.ErrInvalid, err)
		}
		to, err := export.ParseBound(b.To)
		if err != nil {
			return ledger.Result{}, fmt.Errorf("%w: to: %v", domain.ErrInvalid, err)
		}
		opt := export.Options{Kind: kind, From: from, To: to, Process: b.Process, Recipient: actor.ID,
			Requester: actor.ID, Role: string(actor.Role)}
		id := ledger.ExportID(actor, c.r.Header.Get("Idempotency-Key"))
		res, err := s.cfg.Exports.Create(c.r.Context(), id, opt)
		if errors.Is(err, export.ErrInvalid) {
			return ledger.Result{}, fmt.Errorf("%w: %v", domain.ErrInvalid, err)
		}
		if err != nil {
			return ledger.Result{}, err
		}
		return s.svc.IssueExport(c.r.Context(), actor, req(c, export.IssueCommand(id, opt, res), nil))
	})(w, r)
}

// exportFile downloads one file of an export: auditor exports to
// auditors, a research export only to the researcher it was made for.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r.Context())
	if s.cfg.Exports == nil {
		writeProblem(w, r, s.log, errNotFound)
		return
	}
	name := routeParam(r, "file")
	if proc := routeParam(r, "process"); proc != "" {
		name = "polis/" + proc + "/" + name // the manifest names files in subfolders with /
	}
	f, m, err := s.cfg.Exports.Open(routeParam(r, "id"), name)
	if err != nil {
		writeProblem(w, r, s.log, errNotFound)
		return
	}
	defer f.Close()
	if !mayExport(p.Role, m.Kind) || m.Kind == export.Research && m.Requester != p.Actor().ID {
		writeProblem(w, r, s.log, errForbidden)
		return
	}
	st, err := f.Stat()
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	ct := map[string]string{".ndjson": "application/x-ndjson", ".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet",
		".json": "application/json", "": "text/plain; charset=utf-8"}[filepath.Ext(name)]
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, name, st.ModTime(), f)
}
