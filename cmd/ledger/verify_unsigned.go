package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
)

// unsignedError is verify's answer for a ledger that was never served: the
// events check out as far as they can be checked, but no signature vouches
// for them yet. Exit status 3, so scripts can tell it from a failure (1)
// and from a verified ledger (0).
type unsignedError struct{ events int64 }

func (e unsignedError) Error() string {
	return fmt.Sprintf("no checkpoint has been signed yet, so nothing vouches for these %d events; "+
		"`ledger serve` signs the first checkpoint (exit status 3)", e.events)
}

func (unsignedError) ExitCode() int { return 3 }

// verifyUnsigned checks a data directory that has no signed checkpoint (a
// ledger seeded or imported but never served): every event reads back in
// canonical form and decodes as a domain event, every stream's revisions
// follow on, any leaf hashes stored agree, and the tree's root is printed.
func verifyUnsigned(ctx context.Context, dir string, stdout io.Writer, openStore func(string) (eventstore.Store, error)) error {
	if _, err := os.Stat(filepath.Join(dir, "store")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no ledger (no store directory)", dir)
	}
	store, err := openStore(dir)
	if err != nil {
		return fmt.Errorf("opening the store (is the ledger being served? verify a backup or an export instead): %w", err)
	}
	defer store.Close()
	fmt.Fprintf(stdout, "note: %s has no signed checkpoint: it was never served, so there is no signature to check against\n", dir)
	cfg := integrity.Config{}
	if hf, err := integrity.OpenHashFile(dir); err == nil {
		defer hf.Close()
		cfg.LeafHashes, cfg.LeafHashCount = hf.LeafHash, hf.Leaves()
	}
	r, err := integrity.VerifyStore(ctx, checkedStore{store}, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok: %d events are in canonical form, decode as domain events and follow on in every stream\n", r.Events)
	if cfg.LeafHashCount > 0 {
		fmt.Fprintf(stdout, "ok: they hash to the %d leaf hashes stored\n", cfg.LeafHashCount)
	}
	if r.Events > 0 {
		fmt.Fprintf(stdout, "tree: size %d root %s (unsigned)\n", r.Events, r.Root)
	}
	return unsignedError{r.Events}
}

// checkedStore checks each event as the verifier reads it: its canonical
// bytes parse back to the same event, and it decodes as a domain event.
type checkedStore struct{ eventstore.Store }

func (s checkedStore) ReadAll(ctx context.Context, from eventstore.Position, limit int) ([]eventstore.Event, error) {
	evs, err := s.Store.ReadAll(ctx, from, limit)
	for _, ev := range evs {
		b := eventstore.Canonical(ev)
		back, perr := eventstore.ParseCanonical(b, ev.Position)
		if perr == nil && string(eventstore.Canonical(back)) != string(b) {
			perr = errors.New("its canonical bytes do not read back to the same event")
		}
		if perr != nil {
			return nil, fmt.Errorf("event at position %d (%s in %s): %w", ev.Position, ev.Type, ev.Stream, perr)
		}
		if _, derr := domain.Decode(ev.Type, ev.Version, ev.Data); derr != nil {
			return nil, fmt.Errorf("event at position %d (%s v%d in %s) does not decode: %w", ev.Position, ev.Type, ev.Version, ev.Stream, derr)
		}
	}
	return evs, err
}
