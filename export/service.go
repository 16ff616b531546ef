package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
)

// ErrNotFound: no finished export, or no such file in it.
var ErrNotFound = errors.New("export: not found")

// Service keeps the exports a running ledger produces, one directory per
// export id under Dir (DIR/exports/<id>/).
type Service struct {
	src Source
	dir string
	// mu runs one export at a time: an export reads the whole log, and a
	// second one at the same time would only halve both.
	mu sync.Mutex
}

// NewService returns a service writing exports of src under dir.
func NewService(src Source, dir string) *Service { return &Service{src: src, dir: dir} }

// Create writes export id with opt (opt.Dir is ignored). A finished export
// of that id is returned as it is, and an interrupted one is resumed, so a
// retried request gets the same files.
func (s *Service) Create(ctx context.Context, id string, opt Options) (Result, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Result{}, fmt.Errorf("%w: export id %q", ErrInvalid, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	opt.Dir = filepath.Join(s.dir, id)
	if m, err := ReadManifest(opt.Dir); err == nil {
		// Finished; a crash may have come between the manifest and the
		// removal of the resume point.
		if err := removeState(opt.Dir); err != nil {
			return Result{}, err
		}
		b, err := os.ReadFile(filepath.Join(opt.Dir, ManifestName))
		if err != nil {
			return Result{}, err
		}
		return Result{Manifest: m, ManifestHash: hashHex(b)}, nil
	}
	_, err := os.Stat(filepath.Join(opt.Dir, stateFile))
	opt.Resume = err == nil
	return Run(ctx, s.src, opt)
}

// Open opens a file of a finished export and returns the export's
// manifest, so that the caller can decide who may read it.
func (s *Service) Open(id, name string) (*os.File, Manifest, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, Manifest{}, ErrNotFound
	}
	dir := filepath.Join(s.dir, id)
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, Manifest{}, ErrNotFound
	}
	if name != ManifestName && !slices.ContainsFunc(m.Files, func(f ManifestFile) bool { return f.Name == name }) {
		return nil, Manifest{}, ErrNotFound
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, Manifest{}, ErrNotFound
	}
	return f, m, nil
}

// IssueCommand describes a finished export for its ExportIssued event.
func IssueCommand(id string, opt Options, res Result) domain.IssueExport {
	m := res.Manifest
	kind, scope := "research", "recipient="+opt.Recipient
	if opt.Kind == Audit {
		kind, scope = "auditor", "log"
	}
	if opt.Process != "" {
		scope += " process=" + opt.Process
	}
	return domain.IssueExport{ExportID: id, Kind: kind, Scope: scope, FromPosition: uint64(m.FirstPosition),
		ToPosition: uint64(m.LastPosition), Checkpoint: m.Checkpoint.Note, ManifestHash: res.ManifestHash}
}

// WithdrawnFile marks a kept export that was withdrawn (see Withdraw).
const WithdrawnFile = "WITHDRAWN"

// Withdraw removes the kept research exports that hold any row or event of
// participant id — found by the participant's pseudonym for each export's
// recipient — so that an erasure or disposal reaches the exports the ledger
// keeps as well: their files are deleted and WITHDRAWN says why; downloads
// answer not found, and a new export gives the researcher the data without
// them. Copies already downloaded are beyond the ledger's reach. It waits
// for a running export to finish, and returns how many were withdrawn.
func (s *Service) Withdraw(ctx context.Context, id, reason string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		dir := filepath.Join(s.dir, e.Name())
		m, err := ReadManifest(dir)
		if err != nil || m.Kind != Research {
			continue
		}
		found, err := holds(dir, m, []byte(NewPseudonymizer(s.src.Secret, m.Recipient).Of(id)))
		if err != nil {
			return n, err
		}
		if !found {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return n, err
		}
		note, _ := json.Marshal(map[string]string{"withdrawn_at": time.Now().UTC().Format(time.RFC3339), "reason": reason})
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return n, err
		}
		if err := writeAtomic(filepath.Join(dir, WithdrawnFile), append(note, '\n')); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// holds reports whether any text file of an export contains needle.
func holds(dir string, m Manifest, needle []byte) (bool, error) {
	for _, f := range m.Files {
		if filepath.Ext(f.Name) == ".parquet" || !localName(f.Name) {
			continue // the same rows as the CSV, compressed
		}
		ok, err := contains(filepath.Join(dir, filepath.FromSlash(f.Name)), needle)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// contains searches a file for needle in chunks, without reading it whole.
func contains(name string, needle []byte) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	keep := 0
	for {
		n, err := f.Read(buf[keep:])
		if bytes.Contains(buf[:keep+n], needle) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		// Keep the tail that could start a match across the boundary.
		total := keep + n
		keep = min(len(needle)-1, total)
		copy(buf, buf[total-keep:total])
	}
}
