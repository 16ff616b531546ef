package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/privacy"
)

const migrateUsage = `usage:
  ledger migrate --from DATA_DIR|esdb://… --to esdb://…|DATA_DIR [--keys-from DATA_DIR]

Copies a ledger's events from one event store to another: the embedded store
of a data directory (DATA_DIR/store) or a KurrentDB (esdb://…). Every event
keeps its id, stream, revision, type, schema version, data, metadata,
recorded-at time and position, so the canonical bytes and the Merkle root are
the same on both sides. Stop the ledger writing to the source for the final
copy; an embedded store cannot be opened while a server uses it.

Resumable: a target that already holds a prefix of the source (an
interrupted or earlier run) is checked event by event and the copy continues
after it. A non-empty target that is not a prefix of the source is refused.

Secrets are not in the event store. When the target is a data directory,
the participants' data keys (DIR/keys), the pseudonym key and the checkpoint
signing key (DIR/integrity/signing.key) are copied from the source data
directory, or with an esdb:// source from --keys-from (the ledger node's data
directory); a different existing file in the target is an error. With a
KurrentDB target they stay in the node's data directory: serve it with
--data DIR --store esdb://….

KurrentDB credentials: LEDGER_KURRENT_USER and LEDGER_KURRENT_PASSWORD.
`

// importer is a store that can append with a given recorded-at time, which
// only a copy preserving canonical bytes needs (embedded and kurrent).
type importer interface {
	eventstore.Store
	AppendAt(ctx context.Context, stream string, expected eventstore.ExpectedRevision, recordedAt time.Time, events ...eventstore.EventData) (eventstore.AppendResult, error)
}

// cmdMigrate copies a ledger between backends.
func cmdMigrate(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	fs.Usage = func() { io.WriteString(stderr, migrateUsage); fs.PrintDefaults() }
	from := fs.String("from", "", "source: a data directory or an esdb:// connection string")
	to := fs.String("to", "", "target: an esdb:// connection string or a data directory")
	keysFrom := fs.String("keys-from", "", "data directory whose secrets a data-directory target gets, for an esdb:// source")
	page := fs.Int("page", 1000, "events read from the source at a time (one progress line each)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0, "from", "to"); err != nil {
		return err
	}
	if *page < 1 || *page > eventstore.MaxReadLimit {
		return usagef("--page %d: want 1 to %d", *page, eventstore.MaxReadLimit)
	}
	if *from == *to {
		return errors.New("migrate: --from and --to are the same")
	}
	m := migration{
		from: *from, to: *to, keysFrom: *keysFrom, page: *page,
		user: getenv("LEDGER_KURRENT_USER"), pass: getenv("LEDGER_KURRENT_PASSWORD"),
		out: stderr,
	}
	return m.run(ctx)
}

type migration struct {
	from, to, keysFrom string
	page               int
	user, pass         string
	out                io.Writer // progress
}

func isStoreURL(s string) bool {
	return strings.HasPrefix(s, "esdb://") || strings.HasPrefix(s, "esdb+discover://") || strings.HasPrefix(s, "kurrentdb://")
}

// redact hides a password in a connection string for progress output.
func redact(s string) string {
	if i, j := strings.Index(s, "://"), strings.LastIndex(s, "@"); isStoreURL(s) && i >= 0 && j > i {
		return s[:i+3] + "…@" + s[j+1:]
	}
	return s
}

func (m *migration) open(ctx context.Context, where string, source bool) (eventstore.Store, error) {
	log := slog.New(slog.DiscardHandler)
	if isStoreURL(where) {
		return openStore(ctx, "", where, m.user, m.pass, log)
	}
	if source {
		// Opening the embedded store creates it; a mistyped source must
		// not become an empty ledger.
		if _, err := os.Stat(filepath.Join(where, "store")); err != nil {
			return nil, fmt.Errorf("source %s is not a ledger data directory: %w", where, err)
		}
	}
	return openStore(ctx, where, "", "", "", log)
}

func (m *migration) run(ctx context.Context) (err error) {
	if !isStoreURL(m.to) {
		// Secrets first: a conflict is found before any event is copied.
		if err := m.copySecrets(); err != nil {
			return err
		}
	} else if m.keysFrom != "" {
		return errors.New("migrate: --keys-from is for a data-directory target; with a KurrentDB target the secrets stay in the node's data directory")
	}
	src, err := m.open(ctx, m.from, true)
	if err != nil {
		return fmt.Errorf("migrate: source: %w", err)
	}
	defer func() { err = errors.Join(err, ignoreClosed(src.Close())) }()
	if ks, ok := src.(*kurrent.Store); ok && !isStoreURL(m.to) {
		if err := m.copyVaultKeys(ks.Vault()); err != nil {
			return err
		}
	}
	opened, err := m.open(ctx, m.to, false)
	if err != nil {
		return fmt.Errorf("migrate: target: %w", err)
	}
	defer func() { err = errors.Join(err, ignoreClosed(opened.Close())) }()
	dst, ok := opened.(importer)
	if !ok {
		return fmt.Errorf("migrate: target %s cannot keep recorded-at times", redact(m.to))
	}

	srcHead, err := src.Head(ctx)
	if err != nil {
		return fmt.Errorf("migrate: source: %w", err)
	}
	done, err := dst.Head(ctx)
	if err != nil {
		return fmt.Errorf("migrate: target: %w", err)
	}
	fmt.Fprintf(m.out, "migrate: %s (%d events) → %s (%d events)\n", redact(m.from), srcHead, redact(m.to), done)
	if done > srcHead {
		return fmt.Errorf("migrate: refusing: the target has %d events, more than the source's %d; it is not a prefix of the source", done, srcHead)
	}
	if done > 0 {
		if err := m.checkPrefix(ctx, src, dst, done); err != nil {
			return err
		}
		fmt.Fprintf(m.out, "migrate: the target's %d events are the source's first %d; resuming after position %d\n", done, done, done)
	}

	start, copied := time.Now(), 0
	for {
		evs, err := src.ReadAll(ctx, done, m.page)
		if err != nil {
			return fmt.Errorf("migrate: reading the source after position %d: %w", done, err)
		}
		if len(evs) == 0 {
			break
		}
		for len(evs) > 0 {
			n := runLength(evs)
			if err := m.copyRun(ctx, dst, evs[:n]); err != nil {
				return err
			}
			done, copied = evs[n-1].Position, copied+n
			evs = evs[n:]
		}
		total := max(srcHead, done)
		fmt.Fprintf(m.out, "migrate: copied %d of %d (%.0f%%), %.0f events/s\n",
			done, total, 100*float64(done)/float64(total), float64(copied)/max(time.Since(start).Seconds(), 1e-3))
	}
	fmt.Fprintf(m.out, "migrate: done: %d events copied, the target holds positions 1 to %d\n", copied, done)
	return nil
}

// checkPrefix compares the first n events of both stores byte for byte
// (canonical bytes: id, stream, revision, …, recorded-at) and names the first
// that differs.
func (m *migration) checkPrefix(ctx context.Context, src, dst eventstore.Store, n eventstore.Position) error {
	for at := eventstore.Position(0); at < n; {
		limit := int(min(uint64(m.page), uint64(n-at)))
		a, err := src.ReadAll(ctx, at, limit)
		if err != nil {
			return fmt.Errorf("migrate: source: %w", err)
		}
		b, err := dst.ReadAll(ctx, at, limit)
		if err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		if len(a) != limit || len(b) != limit {
			return fmt.Errorf("migrate: short read after position %d (source %d, target %d events)", at, len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(eventstore.Canonical(a[i]), eventstore.Canonical(b[i])) {
				return fmt.Errorf("migrate: refusing: the target is not a prefix of the source: position %d is event %s in %s@%d in the source but %s in %s@%d in the target",
					a[i].Position, a[i].ID, a[i].Stream, a[i].Revision, b[i].ID, b[i].Stream, b[i].Revision)
			}
		}
		at += eventstore.Position(limit)
	}
	return nil
}

// Bounds of one append of the copy, inside every store's limits.
const (
	runEvents = 1000
	runBytes  = 8 << 20
)

// runLength returns how many leading events of evs go into one append: events of
// one stream, at consecutive revisions, recorded at the same time (so
// normally exactly the events of one original append).
func runLength(evs []eventstore.Event) int {
	size := 0
	for i, e := range evs {
		size += len(e.Data) + 1024
		if i > 0 && (e.Stream != evs[0].Stream || !e.RecordedAt.Equal(evs[0].RecordedAt) ||
			e.Revision != evs[i-1].Revision+1 || i == runEvents || size > runBytes) {
			return i
		}
	}
	return len(evs)
}

// copyRun appends one run with the source's recorded-at time and the
// expected revision that reproduces the source's revisions, then checks
// that the target stored exactly the source's events at the same
// positions: anything else means someone else is writing to the target.
func (m *migration) copyRun(ctx context.Context, dst importer, evs []eventstore.Event) error {
	first := evs[0]
	expected := eventstore.NoStream()
	if first.Revision > 0 {
		expected = eventstore.Exact(first.Revision - 1)
	}
	data := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		data[i] = eventstore.EventData{ID: e.ID, Type: e.Type, Version: e.Version, Data: e.Data, Metadata: e.Metadata}
	}
	res, err := dst.AppendAt(ctx, first.Stream, expected, first.RecordedAt, data...)
	if err != nil {
		return fmt.Errorf("migrate: copying position %d (%s@%d): %w", first.Position, first.Stream, first.Revision, err)
	}
	for i, got := range res.Events {
		if got.Position != evs[i].Position || !bytes.Equal(eventstore.Canonical(got), eventstore.Canonical(evs[i])) {
			return fmt.Errorf("migrate: the target stored event %s at position %d, the source has it at %d: is something else writing to the target?",
				got.ID, got.Position, evs[i].Position)
		}
	}
	return nil
}

// copySecrets copies the files a data directory needs besides its events
// into the target data directory. The key store and the pseudonym key are
// what make sealed fields and pseudonyms readable; the signing key is what
// keeps checkpoints verifiable with the same verifier key.
func (m *migration) copySecrets() error {
	from := m.keysFrom
	if from == "" && !isStoreURL(m.from) {
		from = m.from
	}
	if from == "" {
		fmt.Fprintf(m.out, "migrate: warning: no --keys-from: the target data directory gets no data keys, pseudonym key or signing key;\n"+
			"  sealed fields will not open there and it would sign checkpoints with a new key\n")
		return nil
	}
	var files []string
	entries, err := os.ReadDir(filepath.Join(from, "keys"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("migrate: secrets: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") {
			files = append(files, filepath.Join("keys", e.Name()))
		}
	}
	// The identity comes along with the signing key: the target is then a
	// copy of the same ledger, which signs only once adopted (see
	// integrity.Identity), so source and target never both sign.
	files = append(files, "pseudonym.key", filepath.Join("integrity", "signing.key"), filepath.Join("integrity", "verifier"),
		filepath.Join("integrity", "identity"))
	// Check every file before writing any, so a conflict changes nothing.
	var todo []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("migrate: secrets: %w", err)
		}
		have, err := os.ReadFile(filepath.Join(m.to, f))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			todo = append(todo, f)
		case err != nil:
			return fmt.Errorf("migrate: secrets: %w", err)
		case !bytes.Equal(have, b):
			return fmt.Errorf("migrate: refusing: %s differs between %s and the target %s", f, from, m.to)
		}
	}
	for _, f := range todo {
		if err := copyFile(filepath.Join(from, f), filepath.Join(m.to, f)); err != nil {
			return fmt.Errorf("migrate: secrets: %w", err)
		}
	}
	fmt.Fprintf(m.out, "migrate: copied %d secret files from %s (%d already there)\n", len(todo), from, len(files)-len(todo))
	if slices.Contains(todo, filepath.Join("integrity", "identity")) {
		fmt.Fprintf(m.out, "migrate: %s is a copy of the ledger in %s and signs nothing until you run 'ledger adopt --data %s' (once %s no longer signs)\n",
			m.to, from, m.to, from)
	}
	return nil
}

// copyVaultKeys copies the data keys that KurrentDB holds (nodes on
// KurrentDB keep them there, see openKeys) into the target's key files,
// shredded subjects as tombstones.
func (m *migration) copyVaultKeys(v *kurrent.Vault) error {
	dst, err := privacy.Files(filepath.Join(m.to, "keys"))
	if err != nil {
		return fmt.Errorf("migrate: data keys: %w", err)
	}
	live, gone := 0, 0
	err = v.Each(func(subject string, key []byte, labels privacy.Labels, shredded bool) error {
		if shredded {
			gone++
			return dst.Shred(subject)
		}
		stored, err := dst.Create(subject, key, labels)
		if err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
		if !bytes.Equal(stored, key) {
			return fmt.Errorf("refusing: the target holds another key for %s", subject)
		}
		live++
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: data keys: %w", err)
	}
	fmt.Fprintf(m.out, "migrate: copied %d data keys and %d shreddings from KurrentDB\n", live, gone)
	return nil
}

// copyFile writes a copy of src (mode 0600) via a temporary file, so an
// interrupted copy never leaves a truncated key behind.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := durable.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return durable.WriteFile(dst, b, 0o600)
}

func ignoreClosed(err error) error {
	if errors.Is(err, eventstore.ErrClosed) {
		return nil
	}
	return err
}
