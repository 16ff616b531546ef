package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

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
