// Package export writes the ledger's exports: the auditor export (the raw log, a signed checkpoint and a manifest) and the pseudonymised research export (events, tables in CSV and Parquet, a data dictionary, licence and manifest).
package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
)

// Kind is what an export is for.
type Kind string

// Export kinds. The ExportIssued event calls the audit kind "auditor".
const (
	Audit    Kind = "audit"
	Research Kind = "research"
)

// SchemaVersion is the version of the export format (file names, columns,
// manifest fields). It changes when a column is renamed or removed.
//
// 2: every table has occurred_at and recorded_at (created_at, filed_at,
// decided_at and closed_at are gone), and participants without research
// consent are left out (manifest.json left_out).
const SchemaVersion = 2

// File names inside an export directory.
const (
	EventsFile      = "events.ndjson"
	ManifestName    = "manifest.json"
	CheckpointFile  = "checkpoint"  // the signed checkpoint note the export ends at
	HistoryFile     = "checkpoints" // every checkpoint signed up to it
	KeyFile         = "key"         // the log's verifier key
	DataPackageFile = "datapackage.json"
	LicenceFile     = "LICENSE"
	stateFile       = "export.state" // present only while an export is unfinished
)

// Checkpointer signs a checkpoint of the integrity log's current tree
// (*integrity.Log).
type Checkpointer interface {
	SignCheckpoint() (integrity.SignedCheckpoint, error)
	Verifier() string
}

// Source is the ledger an export reads.
type Source struct {
	Store eventstore.Store
	// Log signs the checkpoint the export ends at.
	Log Checkpointer
	// HistoryFile is DIR/integrity/checkpoints: earlier signed checkpoints,
	// copied into an auditor export and searched for one that ends exactly
	// at an explicit upper bound.
	HistoryFile string
	// Keys tell disposed content (shredded keys) and open public texts for
	// the research export.
	Keys *privacy.Keys
	// Secret keys the research pseudonyms (DIR/pseudonym.key); per
	// recipient keys are derived from it.
	Secret []byte
}

// Bound is one end of a range: a position, or a recorded-at time.
type Bound struct {
	Pos  eventstore.Position
	Time time.Time
}

// ParseBound reads "123" (a position) or an RFC 3339 time; "" is no bound.
func ParseBound(s string) (Bound, error) {
	if s == "" {
		return Bound{}, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return Bound{Pos: eventstore.Position(n)}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Bound{}, fmt.Errorf("%q is neither a position nor an RFC 3339 time", s)
	}
	return Bound{Time: t}, nil
}

// IsZero reports an open bound.
func (b Bound) IsZero() bool { return b.Pos == 0 && b.Time.IsZero() }

// Options say what to export and where.
type Options struct {
	Kind Kind
	// Dir receives the files; it is created, and must be empty unless
	// Resume is set.
	Dir string
	// From and To bound the events by position or recorded-at time, both
	// inclusive; zero values mean the first event and the head. An auditor
	// export always starts at position 1 (verification needs every leaf)
	// and ends at a signed checkpoint: at To's position when one was
	// signed there, else at the largest signed size below it.
	From, To Bound
	// Process limits a research export to one process's events and rows.
	Process string
	// Recipient names who receives a research export; pseudonyms are
	// keyed per recipient.
	Recipient string
	// Requester and Role say who asked (recorded in the manifest).
	Requester string
	Role      string
	// Licence covers the data and aggregates (default CC0-1.0);
	// TextLicence the free texts of public records (default CC-BY-4.0).
	Licence, TextLicence string
	// Resume continues an interrupted export in Dir from the last
	// position its state file records.
	Resume bool
	// Progress, if set, gets a progress bar (stderr).
	Progress io.Writer
	// Now is the clock for the export time (default time.Now).
	Now func() time.Time
}

// Manifest describes a finished export; manifest.json holds it.
type Manifest struct {
	Format        string `json:"format"`
	SchemaVersion int    `json:"schema_version"`
	Kind          Kind   `json:"kind"`
	ExportedAt    string `json:"exported_at"`
	RequesterRole string `json:"requester_role,omitempty"`
	Requester     string `json:"requester,omitempty"`
	Recipient     string `json:"recipient,omitempty"`
	// FirstPosition and LastPosition bound the range exported; EventCount
	// is how many events of it are in events.ndjson (fewer than the range
	// when a process filter applies).
	FirstPosition eventstore.Position `json:"first_position"`
	LastPosition  eventstore.Position `json:"last_position"`
	EventCount    int64               `json:"event_count"`
	Process       string              `json:"process,omitempty"`
	Checkpoint    ManifestCheckpoint  `json:"checkpoint"`
	Licence       string              `json:"licence,omitempty"`
	TextLicence   string              `json:"text_licence,omitempty"`
	Tables        map[string]int64    `json:"tables,omitempty"` // rows per table
	// LeftOut counts, per table or file and reason (NoResearchConsent,
	// ErasureGranted, ParticipantDisposed, StatementLeftOut), the rows a
	// research export left out under the consent rule.
	LeftOut map[string]map[string]int64 `json:"left_out,omitempty"`
	Files   []ManifestFile              `json:"files"`
}

// ManifestCheckpoint is the signed checkpoint the export is consistent
// with: an auditor export's events reproduce it exactly; a research
// export's range lies inside it.
type ManifestCheckpoint struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
	Note   string `json:"note"`
}

// ManifestFile is one file of the export.
type ManifestFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Result is a finished export.
type Result struct {
	Manifest     Manifest
	ManifestHash string // hex SHA-256 of manifest.json
}

// state is what an unfinished export records to resume from.
type state struct {
	Params string              `json:"params"`
	Next   eventstore.Position `json:"next"` // first position not yet read
	To     eventstore.Position `json:"to"`
	From   eventstore.Position `json:"from"`
	Note   string              `json:"note"`
	Events int64               `json:"events"`
	Rows   map[string]int64    `json:"rows,omitempty"`
	// LeftOut is the research export's count of rows left out so far.
	LeftOut leftOut             `json:"left_out,omitempty"`
	Files   map[string]fileMark `json:"files"`
}

type fileMark struct {
	Size int64  `json:"size"`
	Hash []byte `json:"hash"` // marshalled SHA-256 state
}

// Run writes an export and returns its manifest. It streams: memory does
// not grow with the log (a research export keeps a bounded cache of which
// process an item belongs to). An interrupted run leaves export.state in
// Dir; Run with Resume continues from the position recorded there.
func Run(ctx context.Context, src Source, opt Options) (Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Licence == "" {
		opt.Licence = "CC0-1.0"
	}
	if opt.TextLicence == "" {
		opt.TextLicence = "CC-BY-4.0"
	}
	switch opt.Kind {
	case Audit:
		if opt.Process != "" {
			return Result{}, fmt.Errorf("%w: an auditor export is the whole log (a filtered log cannot be verified against the signed root); leave out --process", ErrInvalid)
		}
		if opt.From.Pos > 1 || !opt.From.Time.IsZero() {
			return Result{}, fmt.Errorf("%w: an auditor export starts at position 1 (every leaf is needed to recompute the root); to continue an interrupted one use resume", ErrInvalid)
		}
	case Research:
		if opt.Recipient == "" {
			return Result{}, fmt.Errorf("%w: a research export needs a recipient (pseudonyms are keyed per recipient)", ErrInvalid)
		}
		if len(src.Secret) < 16 {
			return Result{}, fmt.Errorf("%w: no pseudonym secret", ErrInvalid)
		}
		if src.Keys == nil {
			return Result{}, fmt.Errorf("%w: a research export needs the key store", ErrInvalid)
		}
	default:
		return Result{}, fmt.Errorf("%w: export kind %q is not audit or research", ErrInvalid, opt.Kind)
	}
	if src.Log == nil {
		return Result{}, fmt.Errorf("%w: no integrity log to sign the export's checkpoint", ErrInvalid)
	}
	if err := durable.MkdirAll(opt.Dir, 0o750); err != nil {
		return Result{}, err
	}
	st, resumed, err := loadState(opt)
	if err != nil {
		return Result{}, err
	}
	if !resumed {
		if st, err = plan(ctx, src, opt); err != nil {
			return Result{}, err
		}
	}
	w := &writer{src: src, opt: opt, st: st, dir: opt.Dir}
	defer w.closeFiles()
	if err := w.open(resumed); err != nil {
		return Result{}, err
	}
	if err := w.stream(ctx); err != nil {
		return Result{}, err
	}
	return w.finish(ctx)
}

// ErrInvalid reports options that cannot be exported as given.
var ErrInvalid = errors.New("export: invalid request")

// params fingerprints the options a resumed run must repeat.
func params(opt Options) string {
	return strings.Join([]string{string(opt.Kind), opt.Recipient, opt.Process, opt.Licence, opt.TextLicence,
		fmt.Sprint(opt.From.Pos, opt.From.Time.UnixNano(), opt.To.Pos, opt.To.Time.UnixNano())}, "\x00")
}

func loadState(opt Options) (*state, bool, error) {
	p := filepath.Join(opt.Dir, stateFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(opt.Dir)
		if len(entries) > 0 {
			if opt.Resume {
				return nil, false, fmt.Errorf("%w: %s has no unfinished export to resume (is it finished already?)", ErrInvalid, opt.Dir)
			}
			return nil, false, fmt.Errorf("%w: %s is not empty", ErrInvalid, opt.Dir)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !opt.Resume {
		return nil, false, fmt.Errorf("%w: %s holds an unfinished export: resume it, or choose another directory", ErrInvalid, opt.Dir)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, false, fmt.Errorf("export: %s: %w", p, err)
	}
	if st.Params != params(opt) {
		return nil, false, fmt.Errorf("%w: the unfinished export in %s was started with other options", ErrInvalid, opt.Dir)
	}
	return &st, true, nil
}

// plan resolves the range and chooses the checkpoint.
func plan(ctx context.Context, src Source, opt Options) (*state, error) {
	resolve := func(b Bound, def eventstore.Position) (eventstore.Position, error) {
		switch {
		case b.Pos != 0:
			return b.Pos, nil
		case !b.Time.IsZero():
			return projections.PositionAt(ctx, src.Store, b.Time)
		}
		return def, nil
	}
	head, err := src.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	if opt.To.Pos > head {
		// A position past the head is a mistake, not "everything": say so
		// rather than export less than was asked for.
		return nil, fmt.Errorf("%w: to position %d is beyond the last event, position %d", ErrInvalid, opt.To.Pos, head)
	}
	to, err := resolve(opt.To, head)
	if err != nil {
		return nil, err
	}
	to = min(to, head)
	from := eventstore.Position(1)
	if !opt.From.IsZero() {
		if from, err = resolve(opt.From, 1); err != nil {
			return nil, err
		}
		if opt.From.Pos == 0 {
			from++ // PositionAt gives the last event at or before the time
		}
	}
	latest, err := src.Log.SignCheckpoint()
	if err != nil && latest.Note == nil {
		return nil, fmt.Errorf("export: signing a checkpoint: %w", err)
	}
	var ckpt integrity.SignedCheckpoint
	if opt.Kind == Audit {
		// The events must reproduce the checkpoint exactly: end at the
		// largest signed size not beyond to.
		ckpt, err = checkpointAtMost(src, latest, int64(to))
		if err != nil {
			return nil, err
		}
		to = eventstore.Position(ckpt.Size)
	} else {
		ckpt = checkpointAtLeast(src, latest, int64(to))
		to = min(to, eventstore.Position(ckpt.Size))
	}
	if to < from {
		return nil, fmt.Errorf("%w: the range %d..%d is empty", ErrInvalid, from, to)
	}
	return &state{Params: params(opt), Next: from, From: from, To: to, Note: string(ckpt.Note),
		Rows: map[string]int64{}, LeftOut: leftOut{}, Files: map[string]fileMark{}}, nil
}

func history(src Source, verifier string) []integrity.SignedCheckpoint {
	if src.HistoryFile == "" {
		return nil
	}
	b, err := os.ReadFile(src.HistoryFile)
	if err != nil {
		return nil
	}
	notes, _ := integrity.SplitNotes(b)
	var out []integrity.SignedCheckpoint
	for _, n := range notes {
		if c, err := integrity.OpenCheckpoint(n, verifier); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func checkpointAtMost(src Source, latest integrity.SignedCheckpoint, size int64) (integrity.SignedCheckpoint, error) {
	best := integrity.SignedCheckpoint{}
	if latest.Size <= size {
		best = latest
	}
	for _, c := range history(src, src.Log.Verifier()) {
		if c.Size <= size && c.Size > best.Size {
			best = c
		}
	}
	if best.Note == nil || best.Size == 0 {
		return best, fmt.Errorf("%w: no signed checkpoint ends at or before position %d", ErrInvalid, size)
	}
	return best, nil
}

func checkpointAtLeast(src Source, latest integrity.SignedCheckpoint, size int64) integrity.SignedCheckpoint {
	best := latest
	for _, c := range history(src, src.Log.Verifier()) {
		if c.Size >= size && c.Size < best.Size {
			best = c
		}
	}
	return best
}

// sink is an output file that hashes what it writes and can be resumed.
type sink struct {
	name string
	f    *os.File
	bw   *bufio.Writer
	h    hash.Hash
	n    int64
}

func (s *sink) Write(p []byte) (int, error) {
	s.h.Write(p)
	n, err := s.bw.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *sink) flush() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	return s.f.Sync()
}

func (s *sink) mark() (fileMark, error) {
	h, err := s.h.(encoding.BinaryMarshaler).MarshalBinary()
	return fileMark{Size: s.n, Hash: h}, err
}

func (s *sink) sum() string { return hex.EncodeToString(s.h.Sum(nil)) }

// openSink creates name in dir, or with m reopens it at m's size and hash
// state (cutting off what was written after the state was saved).
func openSink(dir, name string, m *fileMark) (*sink, error) {
	p := filepath.Join(dir, name)
	s := &sink{name: name, h: sha256.New()}
	var err error
	if m == nil {
		s.f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	} else {
		s.f, err = os.OpenFile(p, os.O_WRONLY, 0o640)
		if err == nil {
			err = s.f.Truncate(m.Size)
		}
		if err == nil {
			_, err = s.f.Seek(m.Size, io.SeekStart)
		}
		if err == nil {
			err = s.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(m.Hash)
		}
		s.n = m.Size
	}
	if err != nil {
		if s.f != nil {
			s.f.Close()
		}
		return nil, fmt.Errorf("export: %s: %w", name, err)
	}
	s.bw = bufio.NewWriterSize(s.f, 1<<20)
	return s, nil
}

// writer runs one export.
type writer struct {
	src Source
	opt Options
	st  *state
	dir string

	events *sink
	tables *tables // research only
	res    *research

	saved    time.Time
	progress *progress
}

func (w *writer) open(resumed bool) error {
	mark := func(name string) *fileMark {
		if !resumed {
			return nil
		}
		m, ok := w.st.Files[name]
		if !ok {
			return &fileMark{Hash: mustEmptyHash()}
		}
		return &m
	}
	var err error
	if w.events, err = openSink(w.dir, EventsFile, mark(EventsFile)); err != nil {
		return err
	}
	if w.opt.Kind == Research {
		if w.st.LeftOut == nil {
			w.st.LeftOut = leftOut{}
		}
		w.res = newResearch(w.src, w.opt, w.st.To, w.st.LeftOut)
		if w.tables, err = openTables(w.dir, mark); err != nil {
			return err
		}
		w.tables.restoreRows(w.st.Rows)
	}
	w.progress = newProgress(w.opt.Progress, int64(w.st.To-w.st.From+1), int64(w.st.Next-w.st.From))
	return w.save() // the state exists before the first byte is written
}

func mustEmptyHash() []byte {
	b, _ := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	return b
}

func (w *writer) sinks() []*sink {
	out := []*sink{w.events}
	if w.tables != nil {
		out = append(out, w.tables.sinks()...)
	}
	return out
}

// save flushes and syncs every file, then records how far they go.
func (w *writer) save() error {
	if w.tables != nil {
		if err := w.tables.flushCSV(); err != nil {
			return err
		}
		maps.Copy(w.st.Rows, w.tables.rows())
	}
	for _, s := range w.sinks() {
		if err := s.flush(); err != nil {
			return fmt.Errorf("export: %s: %w", s.name, err)
		}
		m, err := s.mark()
		if err != nil {
			return err
		}
		w.st.Files[s.name] = m
	}
	b, err := json.Marshal(w.st)
	if err != nil {
		return err
	}
	w.saved = time.Now()
	return writeAtomic(filepath.Join(w.dir, stateFile), b)
}

const page = 4096

// saveEvery is how often the files are synced and the resume point
// recorded. Each save forces the data written so far to disk, stalling the
// export; between saves the kernel writes back in the background. An
// interrupted export loses at most this much work.
const saveEvery = 10 * time.Second

// fetched is one page of the log read ahead.
type fetched struct {
	evs []eventstore.Event
	err error
}

// readAhead reads the log's pages in a goroutine, at most two ahead, so
// that reading overlaps formatting and writing (the export then runs at
// about the slower of the two instead of their sum). Stop it with the
// returned function.
func (w *writer) readAhead(ctx context.Context) (<-chan fetched, func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan fetched, 2)
	next, to := w.st.Next, w.st.To
	go func() {
		defer close(ch)
		for next <= to {
			evs, err := w.src.Store.ReadAll(ctx, next-1, int(min(eventstore.Position(page), to-next+1)))
			if err == nil && len(evs) == 0 {
				err = fmt.Errorf("export: the log ends at position %d, before %d", next-1, to)
			}
			select {
			case ch <- fetched{evs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			next = evs[len(evs)-1].Position + 1
		}
	}()
	return ch, func() {
		cancel()
		for range ch {
		}
	}
}

func (w *writer) stream(ctx context.Context) error {
	pages, stop := w.readAhead(ctx)
	defer stop()
	interrupted := func(err error) error {
		if serr := w.save(); serr != nil {
			return errors.Join(err, serr)
		}
		return err
	}
	var line []byte
	for w.st.Next <= w.st.To {
		p, ok := <-pages
		if ctx.Err() != nil {
			return interrupted(ctx.Err())
		}
		if !ok {
			return fmt.Errorf("export: the log ended before position %d", w.st.Next)
		}
		if p.err != nil {
			return fmt.Errorf("export: reading the log: %w", p.err)
		}
		for _, e := range p.evs {
			if e.Position != w.st.Next {
				return fmt.Errorf("export: the store returned position %d, expected %d", e.Position, w.st.Next)
			}
			if w.opt.Kind == Audit {
				line = eventstore.AppendCanonical(line[:0], e)
				line = append(line, '\n')
				if _, err := w.events.Write(line); err != nil {
					return err
				}
				w.st.Events++
			} else {
				ok, err := w.res.event(ctx, e, w.events, w.tables)
				if err != nil {
					return err
				}
				if ok {
					w.st.Events++
				}
			}
			w.st.Next++
		}
		w.progress.set(int64(w.st.Next - w.st.From))
		if time.Since(w.saved) > saveEvery {
			if err := w.save(); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return interrupted(ctx.Err())
		}
	}
	return nil
}

func (w *writer) finish(ctx context.Context) (Result, error) {
	if err := w.save(); err != nil {
		return Result{}, err
	}
	w.progress.done()
	ckpt, err := parseNote(w.st.Note)
	if err != nil {
		return Result{}, err
	}
	m := Manifest{
		Format: "participation-ledger-export", SchemaVersion: SchemaVersion, Kind: w.opt.Kind,
		ExportedAt:    eventstore.FormatTime(w.opt.Now()),
		RequesterRole: w.opt.Role, Requester: w.opt.Requester,
		FirstPosition: w.st.From, LastPosition: w.st.To, EventCount: w.st.Events,
		Process:    w.opt.Process,
		Checkpoint: ckpt,
	}
	m.Files = append(m.Files, ManifestFile{Name: EventsFile, Bytes: w.events.n, SHA256: w.events.sum()})
	if w.opt.Kind == Audit {
		files, err := w.auditFiles()
		if err != nil {
			return Result{}, err
		}
		m.Files = append(m.Files, files...)
	} else {
		m.Recipient, m.Licence, m.TextLicence = w.opt.Recipient, w.opt.Licence, w.opt.TextLicence
		m.Tables = w.tables.rows()
		pf, polisLeft, err := w.polisFiles(ctx)
		if err != nil {
			return Result{}, err
		}
		m.LeftOut = map[string]map[string]int64{EventsFile: {}}
		for name := range m.Tables {
			m.LeftOut[name] = map[string]int64{}
		}
		maps.Copy(m.LeftOut, w.st.LeftOut)
		maps.Copy(m.LeftOut, polisLeft)
		files, err := w.tables.finish(w.dir, w.opt, m.Files[0], pf)
		if err != nil {
			return Result{}, err
		}
		m.Files = append(m.Files, files...)
		m.Files = append(m.Files, pf...)
	}
	w.closeFiles()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Result{}, err
	}
	b = append(b, '\n')
	if err := writeAtomic(filepath.Join(w.dir, ManifestName), b); err != nil {
		return Result{}, err
	}
	if err := removeState(w.dir); err != nil {
		return Result{}, err
	}
	return Result{Manifest: m, ManifestHash: hashHex(b)}, nil
}

// removeState removes a finished export's resume point, durably: a removal
// a power cut forgets would bring back a file the manifest does not list.
func removeState(dir string) error {
	if err := os.Remove(filepath.Join(dir, stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return durable.SyncDir(dir)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// auditFiles writes the checkpoint, the checkpoint history up to it and
// the verifier key.
func (w *writer) auditFiles() ([]ManifestFile, error) {
	note := []byte(w.st.Note)
	ckpt, err := parseNote(w.st.Note)
	if err != nil {
		return nil, err
	}
	var hist []byte
	for _, c := range history(w.src, w.src.Log.Verifier()) {
		if c.Size <= ckpt.Size {
			hist = append(hist, c.Note...)
			hist = append(hist, '\n')
		}
	}
	var out []ManifestFile
	for _, f := range []struct {
		name string
		b    []byte
	}{{CheckpointFile, note}, {HistoryFile, hist}, {KeyFile, []byte(w.src.Log.Verifier() + "\n")}} {
		mf, err := writeFile(w.dir, f.name, f.b)
		if err != nil {
			return nil, err
		}
		out = append(out, mf)
	}
	return out, nil
}

func parseNote(note string) (ManifestCheckpoint, error) {
	text, _, ok := strings.Cut(note, "\n\n")
	if !ok {
		return ManifestCheckpoint{}, fmt.Errorf("export: malformed checkpoint note")
	}
	c, err := integrity.ParseCheckpoint(text + "\n")
	if err != nil {
		return ManifestCheckpoint{}, err
	}
	return ManifestCheckpoint{Origin: c.Origin, Size: c.Size, Root: c.Root.String(), Note: note}, nil
}

func (w *writer) closeFiles() {
	for _, s := range w.sinks() {
		if s != nil && s.f != nil {
			s.f.Close()
			s.f = nil
		}
	}
}

// writeFile writes a small file whole and describes it for the manifest.
func writeFile(dir, name string, b []byte) (ManifestFile, error) {
	if err := writeAtomic(filepath.Join(dir, name), b); err != nil {
		return ManifestFile{}, err
	}
	sum := sha256.Sum256(b)
	return ManifestFile{Name: name, Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func writeAtomic(path string, b []byte) error {
	if err := durable.WriteFile(path, b, 0o640); err != nil {
		return fmt.Errorf("export: %s: %w", filepath.Base(path), err)
	}
	return nil
}

// localName reports whether a manifest file name (slash-separated) names
// a file inside the export: the Polis files sit in subfolders.
func localName(name string) bool {
	return name != "" && !strings.Contains(name, "\\") && filepath.IsLocal(filepath.FromSlash(name))
}

// ReadManifest reads and parses DIR/manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}

// CheckFiles recomputes every file's size and SHA-256 against the manifest.
func CheckFiles(dir string, m Manifest) error {
	for _, f := range m.Files {
		if !localName(f.Name) {
			return fmt.Errorf("export: manifest names %q, which is not a file of the export", f.Name)
		}
		fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return err
		}
		if n != f.Bytes || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
			return fmt.Errorf("export: %s does not match the manifest (%d bytes, sha256 %s)", f.Name, n, hex.EncodeToString(h.Sum(nil)))
		}
	}
	return nil
}

// progress draws a bar on stderr, at most a few times a second.
type progress struct {
	w     io.Writer
	total int64
	start time.Time
	last  time.Time
	n     int64
	base  int64
}

func newProgress(w io.Writer, total, done int64) *progress {
	return &progress{w: w, total: max(total, 1), start: time.Now(), n: done, base: done}
}

func (p *progress) set(n int64) {
	p.n = n
	if p.w == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	const width = 30
	frac := float64(p.n) / float64(p.total)
	filled := int(frac * width)
	rate := float64(p.n-p.base) / max(time.Since(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d/%d events %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		frac*100, p.n, p.total, rate)
}

func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}
