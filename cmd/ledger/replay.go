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
	"iter"
	"os"
	"path/filepath"
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
recorded then; default: the whole log) and prints it as JSON, as an
auditor reads it (actors named, sealed fields sealed). NAME is one of the
read models: %s (overview and trail are the older names of processes and
trails). --item narrows it: a process id (processes, transparency,
participation, dialogue, queue), a submission id (submissions), an item id
(trails), an actor id (actors). --data reads a data directory (the
embedded store is exclusive: stop the server or use a backup); --export
reads an auditor export's events.ndjson. Progress goes to stderr.
`

// replayAliases are the model names replay took before it read them from
// the registry.
var replayAliases = map[string]string{"overview": projections.NameProcesses, "trail": projections.NameTrails}

// cmdReplay rebuilds a read model offline as of a position or time.
func cmdReplay(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return runReplay(ctx, args, getenv, stdout, stderr, openEmbeddedStore)
}

func runReplay(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer,
	openStore func(dataDir string) (eventstore.Store, error)) error {
	fs := newFlags("replay", stderr)
	names := strings.Join(projections.Names(), ", ")
	fs.Usage = func() { fmt.Fprintf(stderr, replayUsage, names); fs.PrintDefaults() }
	data := dataFlag(fs, getenv)
	exportDir := fs.String("export", "", "auditor export directory (events.ndjson)")
	model := fs.String("model", "", "read model: "+names)
	to := fs.String("to", "", "fold up to this position or RFC 3339 time (default: everything)")
	item := fs.String("item", "", "narrow the output to one process, submission, item or actor id")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	name := *model
	if n, ok := replayAliases[name]; ok {
		name = n
	}
	kind, known := projections.KindOf(name)
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if !known {
		return usagef("--model %q: want one of %s", *model, names)
	}
	upTo, until, err := parseTo(*to)
	if err != nil {
		return err
	}

	// The source: a data directory's store, or an export's lines.
	var src iter.Seq2[eventstore.Event, error]
	var keysDir, keyFile string
	if *exportDir != "" {
		src = exportEvents(filepath.Join(*exportDir, "events.ndjson"))
	} else {
		store, err := openStore(*data)
		if err != nil {
			return err
		}
		defer store.Close()
		src = projections.Events(ctx, store, 0, projections.Latest)
		keysDir, keyFile = filepath.Join(*data, "keys"), filepath.Join(*data, "pseudonym.key")
	}

	key, err := pseudonymKey(keyFile)
	if err != nil {
		return err
	}
	m := kind.New(projections.Options{PseudonymKey: key})
	started := time.Now()
	n, last, err := projections.Fold(ctx, bounded(src, upTo, until, progress(stderr, started)), m)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replay: folded %d events to position %d in %s\n", n, uint64(last.Position), time.Since(started).Round(time.Millisecond))
	if upTo != projections.Latest && last.Position < upTo {
		return fmt.Errorf("--to %d is beyond the last event, position %d", uint64(upTo), uint64(last.Position))
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
	view, err := kind.Audit(m, *item, open)
	if err != nil {
		return fmt.Errorf("%w as of position %d", err, uint64(last.Position))
	}
	out := map[string]any{"model": *model, "position": last.Position, "events": n, *model: view}
	if !last.RecordedAt.IsZero() {
		out["recorded_at"] = last.RecordedAt
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

// bounded yields the events of src up to position upTo and recorded up to
// until (zero: no time bound), reporting progress for each.
func bounded(src iter.Seq2[eventstore.Event, error], upTo eventstore.Position, until time.Time,
	progress func(eventstore.Event)) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for ev, err := range src {
			if err == nil && (ev.Position > upTo || !until.IsZero() && ev.RecordedAt.After(until)) {
				return
			}
			if err == nil {
				progress(ev)
			}
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// progress reports the fold's progress to w about once a second.
func progress(w io.Writer, started time.Time) func(eventstore.Event) {
	n, last := 0, started
	return func(ev eventstore.Event) {
		n++
		if n%4096 == 0 && time.Since(last) >= time.Second {
			last = time.Now()
			fmt.Fprintf(w, "replay: %d events, position %d, %.0f events/s\n", n, uint64(ev.Position),
				float64(n)/time.Since(started).Seconds())
		}
	}
}

// exportEvents yields the events of an auditor export's events.ndjson:
// line n is the canonical bytes of the event at position n.
func exportEvents(path string) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(eventstore.Event{}, err)
			return
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
				yield(eventstore.Event{}, fmt.Errorf("%s line %d: %w", path, pos, err))
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(eventstore.Event{}, fmt.Errorf("%s line %d: %w", path, pos+1, err))
		}
	}
}
