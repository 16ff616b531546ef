package ledgerhttp

import (
	"net/http"
)

// backup streams Config.Backup's tar. An error before the first byte is a
// problem answer; after it the stream just ends, and the client finds no
// manifest at its end (ledger backup and restore refuse such a file).
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Backup == nil {
		writeProblem(w, r, s.log, errNotFound)
		return
	}
	tw := &startedWriter{w: w}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="ledger-backup.tar"`)
	if err := s.cfg.Backup(r.Context(), tw); err != nil {
		if !tw.started {
			w.Header().Del("Content-Disposition")
			writeProblem(w, r, s.log, err)
			return
		}
		s.log.ErrorContext(r.Context(), "backup stream cut short", "err", err)
	}
}

// startedWriter notes whether anything was written.
type startedWriter struct {
	w       http.ResponseWriter
	started bool
}

func (sw *startedWriter) Write(b []byte) (int, error) {
	sw.started = true
	return sw.w.Write(b)
}
