package integrity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
)

// catchUpPage is how many events CatchUp reads per store call.
const catchUpPage = 1000

// canonicalStore is what a store offers that keeps events as their
// canonical bytes (the embedded store): the log then hashes the stored bytes
// as they are, instead of parsing each event and encoding it again.
type canonicalStore interface {
	ReadCanonical(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.CanonicalEvent, error)
	SubscribeCanonical(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.CanonicalEvent, error]
}

// CatchUp adds every event the store has beyond Size(). It fails if the
// store has fewer events than the tree: the store lost or dropped events
// that were already hashed (and perhaps signed).
func (l *Log) CatchUp(ctx context.Context, store eventstore.Store) error {
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("integrity: store head: %w", err)
	}
	if n := l.Size(); int64(head) < n {
		return fmt.Errorf("%w: the store ends at position %d, but the tree already has %d leaves", ErrMismatch, head, n)
	}
	cs, raw := store.(canonicalStore)
	for {
		after := eventstore.Position(l.Size())
		var n int
		if raw {
			evs, err := cs.ReadCanonical(ctx, after, catchUpPage)
			if err != nil {
				return fmt.Errorf("integrity: read store: %w", err)
			}
			n, err = len(evs), l.AddCanonical(evs...)
			if err != nil {
				return err
			}
		} else {
			evs, err := store.ReadAll(ctx, after, catchUpPage)
			if err != nil {
				return fmt.Errorf("integrity: read store: %w", err)
			}
			n, err = len(evs), l.Add(evs...)
			if err != nil {
				return err
			}
		}
		if n == 0 {
			return nil
		}
	}
}

// Run keeps the tree and checkpoints current with the store until ctx is
// done, then signs a last checkpoint and returns nil. A checkpoint is signed
// at once when the first event after a quiet spell arrives, and at most once
// per checkpoint interval under load.
func (l *Log) Run(ctx context.Context, store eventstore.Store) error {
	if err := l.CatchUp(ctx, store); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	signed := make(chan struct{})
	go func() {
		defer close(signed)
		l.checkpointLoop(runCtx)
	}()

	var err error
	if cs, ok := store.(canonicalStore); ok {
		for ev, serr := range cs.SubscribeCanonical(runCtx, eventstore.Position(l.Size())) {
			if serr != nil {
				err = serr
				break
			}
			if err = l.AddCanonical(ev); err != nil {
				break
			}
		}
	} else {
		for ev, serr := range store.Subscribe(runCtx, eventstore.Position(l.Size())) {
			if serr != nil {
				err = serr
				break
			}
			if err = l.Add(ev); err != nil {
				break
			}
		}
	}
	cancel()
	<-signed
	if _, serr := l.SignCheckpoint(); serr != nil && !errors.Is(serr, ErrClosed) {
		err = errors.Join(err, serr)
	}
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		return nil
	}
	return err
}

func (l *Log) checkpointLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.dirty:
		}
		l.cmu.Lock()
		wait := l.cfg.interval - l.cfg.now().Sub(l.lastSigned)
		l.cmu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if _, err := l.SignCheckpoint(); err != nil {
			l.cfg.log.Error("integrity: sign checkpoint", "err", err)
		}
	}
}

// Checkpoint returns the latest signed checkpoint.
func (l *Log) Checkpoint() SignedCheckpoint {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	return l.latest
}

// WaitFor blocks until a signed checkpoint covers position pos (its size is
// at least pos) and returns it. Receipts use it: an event's receipt needs a
// checkpoint that includes the event.
func (l *Log) WaitFor(ctx context.Context, pos eventstore.Position) (SignedCheckpoint, error) {
	for {
		l.cmu.Lock()
		c, ch := l.latest, l.latestCh
		l.cmu.Unlock()
		if c.Size >= int64(pos) {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return SignedCheckpoint{}, ctx.Err()
		case <-ch:
		}
	}
}

// SignCheckpoint signs a checkpoint of the whole tree now, unless the latest
// one already covers it, and returns the latest checkpoint. Run calls it on
// its schedule; exports call it to get a checkpoint covering what they
// wrote.
func (l *Log) SignCheckpoint() (SignedCheckpoint, error) {
	l.signMu.Lock()
	defer l.signMu.Unlock()

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return SignedCheckpoint{}, ErrClosed
	}
	if l.notOfRecord != nil {
		l.mu.Unlock()
		return l.Checkpoint(), l.notOfRecord
	}
	if l.failed != nil || l.anchor != nil {
		// Never sign a tree that has not been shown to extend the trees
		// signed before.
		err := l.failed
		if err == nil {
			err = fmt.Errorf("%w: the tree is still being rebuilt up to size %d", ErrNotCovered, l.anchor.Size)
		}
		l.mu.Unlock()
		return l.Checkpoint(), err
	}
	n := l.hf.n
	if prev := l.Checkpoint(); prev.Note != nil && prev.Size == n {
		l.mu.Unlock()
		return prev, nil
	}
	err := l.hf.flush()
	var root tlog.Hash
	if err == nil {
		root, err = tlog.TreeHash(n, l.hf)
	}
	l.mu.Unlock()
	if err != nil {
		return SignedCheckpoint{}, err
	}
	// Adds continue while the hashes are synced: they only write past n.
	if err := l.hf.f.Sync(); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("integrity: sync hash file: %w", err)
	}

	c := Checkpoint{Origin: l.cfg.origin, Size: n, Root: root}
	msg, err := note.Sign(&note.Note{Text: c.Text()}, l.key.signer)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("integrity: sign checkpoint: %w", err)
	}
	// The history file first: a checkpoint is published only once it is
	// on record.
	if err := appendSynced(l.paths.all, append(bytes.Clone(msg), '\n')); err != nil {
		return SignedCheckpoint{}, err
	}
	if err := writeAtomic(l.paths.latest, msg, 0o644); err != nil {
		return SignedCheckpoint{}, err
	}
	sc := SignedCheckpoint{Checkpoint: c, Note: msg}
	l.cmu.Lock()
	l.latest = sc
	l.lastSigned = l.cfg.now()
	close(l.latestCh)
	l.latestCh = make(chan struct{})
	l.cmu.Unlock()
	l.metrics.checkpointSize.Set(float64(n))
	l.metrics.checkpoints.Inc()
	return sc, nil
}

// appendSynced appends b to path and fsyncs it (and a new file's name).
func appendSynced(path string, b []byte) error {
	if err := durable.Append(path, b, 0o644); err != nil {
		return fmt.Errorf("integrity: append %s: %w", filepath.Base(path), err)
	}
	return nil
}

// writeAtomic replaces path with b so that readers see the old or the new
// content, never a mix, and the new content survives a power cut.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	if err := durable.WriteFile(path, b, mode); err != nil {
		return fmt.Errorf("integrity: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// repairAll cuts a torn last record off the checkpoint history.
func repairAll(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("integrity: read checkpoint history: %w", err)
	}
	if _, whole := SplitNotes(b); whole < len(b) {
		if err := os.Truncate(path, int64(whole)); err != nil {
			return fmt.Errorf("integrity: repair checkpoint history: %w", err)
		}
	}
	return nil
}

// SplitNotes splits the checkpoint history file (DIR/integrity/checkpoints)
// into its notes. Each record is a note — text, a blank line, signature
// lines — followed by one more blank line; neither the text nor the
// signatures contain a blank line. whole is the length of the prefix made of
// complete records.
func SplitNotes(b []byte) (notes [][]byte, whole int) {
	sep := []byte("\n\n")
	for {
		i := bytes.Index(b[whole:], sep)
		if i < 0 {
			return notes, whole
		}
		j := bytes.Index(b[whole+i+2:], sep)
		if j < 0 {
			return notes, whole
		}
		end := whole + i + 2 + j + 1 // the note ends with its last signature line's LF
		notes = append(notes, b[whole:end])
		whole = end + 1
	}
}
