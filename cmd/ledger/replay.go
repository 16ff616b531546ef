package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
)

const replayUsage = `usage:
  ledger replay [--data DIR | --export DIR] --model NAME [--to POSITION|TIME] [--item ID]

Rebuilds one read model offline by folding the log from the first event up
to --to (a global position, or an RFC 3339 time: what the ledger had
recorded then; default: the whole log) and prints it as JSON. NAME is one
of overview, submissions, trail, queue, transparency, participation,
actors. --item narrows it: a process id (overview, transparency,
participation), a submission id (submissions), an item id (trail), an actor
id (actors). --data reads a data directory (the embedded store is
exclusive: stop the server or use a backup); --export reads an auditor
export's events.ndjson. Progress goes to stderr.
`

// replayModels are the models replay can rebuild, by the name it takes.
var replayModels = []string{"overview", "submissions", "trail", "queue", "transparency", "participation", "actors"}

// cmdReplay rebuilds a read model offline as of a position or time.
func cmdReplay(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return runReplay(ctx, args, getenv, stdout, stderr, openEmbeddedStore)
}

func runReplay(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer,
	openStore func(dataDir string) (eventstore.Store, error)) error {
	fs := newFlags("replay", stderr)
	fs.Usage = func() { io.WriteString(stderr, replayUsage); fs.PrintDefaults() }
	data := dataFlag(fs, getenv)
	exportDir := fs.String("export", "", "auditor export directory (events.ndjson)")
	model := fs.String("model", "", "read model: overview|submissions|trail|queue|transparency|participation|actors")
	to := fs.String("to", "", "fold up to this position or RFC 3339 time (default: everything)")
	item := fs.String("item", "", "narrow the output to one process, submission, item or actor id")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if !slices.Contains(replayModels, *model) {
		return usagef("--model %q: want one of %s", *model, strings.Join(replayModels, ", "))
	}
	upTo, until, err := parseTo(*to)
	if err != nil {
		return err
	}

	// The source: a data directory's store, or an export's lines.
	var src func(yield func(eventstore.Event) error) error
	var keysDir, keyFile string
	if *exportDir != "" {
		src = func(yield func(eventstore.Event) error) error {
			return exportEvents(filepath.Join(*exportDir, "events.ndjson"), yield)
		}
	} else {
		store, err := openStore(*data)
		if err != nil {
			return err
		}
		defer store.Close()
		src = func(yield func(eventstore.Event) error) error { return storeEvents(ctx, store, yield) }
		keysDir, keyFile = filepath.Join(*data, "keys"), filepath.Join(*data, "pseudonym.key")
	}

	key, err := pseudonymKey(keyFile)
	if err != nil {
		return err
	}
	m := newReplayModel(*model, key)
	f := replayFold{m: m, upTo: upTo, until: until, progress: stderr, started: time.Now(), lastReport: time.Now()}
	if err := src(f.apply); err != nil && !errors.Is(err, errFoldDone) {
		return err
	}
	fmt.Fprintf(stderr, "replay: folded %d events to position %d in %s\n", f.n, uint64(f.pos), time.Since(f.started).Round(time.Millisecond))
	if upTo != projections.Latest && f.pos < upTo {
		return fmt.Errorf("--to %d is beyond the last event, position %d", uint64(upTo), uint64(f.pos))
	}

	var open projections.Opener
	if keysDir != "" {
		if _, err := os.Stat(keysDir); err == nil {
			keys, err := privacy.Open(keysDir)
			if err != nil {
				return err
			}
			open = func(p domain.Personal) (string, bool) {
				text, err := keys.Open(p.Subject, p.Sealed)
				return text, err == nil
			}
		}
	}
	view, err := f.view(*model, *item, open)
	if err != nil {
		return err
	}
	out := map[string]any{"model": *model, "position": f.pos, "events": f.n, *model: view}
	if !f.at.IsZero() {
		out["recorded_at"] = f.at
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// parseTo reads --to: a position, an RFC 3339 time, or nothing (the head).
func parseTo(v string) (eventstore.Position, time.Time, error) {
	if v == "" {
		return projections.Latest, time.Time{}, nil
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return eventstore.Position(n), time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, time.Time{}, usagef("--to %q: want a position or an RFC 3339 time", v)
	}
	return projections.Latest, t, nil
}

// pseudonymKey reads the data directory's pseudonym key without creating
// it; replay names staff in trails anyway (it is an auditor's tool), so an
// export without the key gets a throwaway one.
func pseudonymKey(path string) ([]byte, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

func newReplayModel(name string, key []byte) projections.Model {
	switch name {
	case "overview":
		return projections.NewProcesses()
	case "submissions":
		return projections.NewSubmissions()
	case "trail":
		return projections.NewTrails(key)
	case "queue":
		return projections.NewQueue()
	case "transparency":
		return projections.NewTransparency()
	case "participation":
		return projections.NewParticipation()
	}
	return projections.NewActors()
}

// errFoldDone stops a source once the fold has passed --to.
var errFoldDone = errors.New("fold done")

// replayFold folds events into one model, remembering what the views need
// that the models do not list (the ids of processes and submissions).
type replayFold struct {
	m     projections.Model
	upTo  eventstore.Position
	until time.Time // zero: no time bound

	n           int
	pos         eventstore.Position
	at          time.Time
	processes   []string
	submissions []string

	progress   io.Writer
	started    time.Time
	lastReport time.Time
}

func (f *replayFold) apply(ev eventstore.Event) error {
	if ev.Position > f.upTo || !f.until.IsZero() && ev.RecordedAt.After(f.until) {
		return errFoldDone
	}
	de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
	if err != nil {
		de = nil // as the runner does: an unknown event changes no model
	}
	switch e := de.(type) {
	case *domain.ProcessOpened:
		f.processes = append(f.processes, e.ProcessID)
	case *domain.SubmissionReceived:
		f.submissions = append(f.submissions, e.SubmissionID)
	}
	f.m.Apply(ev, de)
	f.n++
	f.pos, f.at = ev.Position, ev.RecordedAt
	if f.n%4096 == 0 && time.Since(f.lastReport) >= time.Second {
		f.lastReport = time.Now()
		fmt.Fprintf(f.progress, "replay: %d events, position %d, %.0f events/s\n", f.n, uint64(f.pos),
			float64(f.n)/time.Since(f.started).Seconds())
	}
	return nil
}

// view renders the folded model as an auditor reads it: internal views
// (named actors, sealed fields left sealed).
func (f *replayFold) view(name, item string, open projections.Opener) (any, error) {
	notFound := func(what string) error { return fmt.Errorf("no %s %q as of position %d", what, item, uint64(f.pos)) }
	switch m := f.m.(type) {
	case *projections.Processes:
		if item != "" {
			o, ok := m.Process(item)
			if !ok {
				return nil, notFound("process")
			}
			return o, nil
		}
		return m.List(), nil
	case *projections.Submissions:
		ids := f.submissions
		if item != "" {
			ids = []string{item}
		}
		out := []projections.InternalSubmission{}
		for _, id := range ids {
			v, ok := m.Internal(id)
			if !ok {
				return nil, notFound("submission")
			}
			out = append(out, v)
		}
		if item != "" {
			return out[0], nil
		}
		return out, nil
	case *projections.Trails:
		if item == "" {
			return m, nil // every item's trail, actors named
		}
		es, ok := m.Internal(item, projections.Latest)
		if !ok {
			return nil, notFound("item")
		}
		return es, nil
	case *projections.Queue:
		return m.Entries(item), nil
	case *projections.Transparency:
		return m.Report(projections.ReportQuery{ProcessID: item}), nil
	case *projections.Participation:
		ids := f.processes
		if item != "" {
			ids = []string{item}
		}
		out := []projections.Stats{}
		for _, id := range ids {
			st, ok := m.Stats(id, open)
			if !ok {
				return nil, notFound("process")
			}
			out = append(out, st)
		}
		return out, nil
	case *projections.Actors:
		if item == "" {
			return m, nil
		}
		return m.Trail(item, 0, projections.Latest, 0), nil
	}
	return nil, fmt.Errorf("replay: unknown model %q", name)
}

// storeEvents yields a store's events in order.
func storeEvents(ctx context.Context, s eventstore.Store, yield func(eventstore.Event) error) error {
	for after := eventstore.Position(0); ; {
		evs, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for _, ev := range evs {
			if err := yield(ev); err != nil {
				return err
			}
		}
		after = evs[len(evs)-1].Position
	}
}

// exportEvents yields the events of an auditor export's events.ndjson:
// line n is the canonical bytes of the event at position n.
func exportEvents(path string, yield func(eventstore.Event) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	// One line is one event: up to MaxEventBytes of body and metadata,
	// plus the envelope.
	sc.Buffer(make([]byte, 0, 1<<20), eventstore.MaxEventBytes+64<<10)
	pos := eventstore.Position(0)
	for sc.Scan() {
		pos++
		ev, err := eventstore.ParseCanonical(bytes.Clone(sc.Bytes()), pos) // the scanner reuses its buffer
		if err != nil {
			return fmt.Errorf("%s line %d: %w", path, pos, err)
		}
		if err := yield(ev); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", path, pos+1, err)
	}
	return nil
}
