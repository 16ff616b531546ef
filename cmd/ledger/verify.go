package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
)

const verifyUsage = `usage:
  ledger verify [--data DIR] [--key VERIFIER] [--since OLD_CHECKPOINT_FILE]
  ledger verify --export DIR [--key VERIFIER] [--since OLD_CHECKPOINT_FILE]
  ledger verify --receipt FILE [--key VERIFIER]

Recomputes every leaf and the root of the ledger's Merkle tree and checks them
against the signed checkpoint (and, with --since, that the log extends an
older checkpoint you kept). VERIFIER is the key printed by 'ledger key', or a
file holding it. Exit status 0 only if everything holds. A data directory
that was never served has no signed checkpoint yet: verify then checks what
it can (every event's canonical form and domain decoding, stream order, the
tree's root), says so, and exits with status 3.
`

// cmdVerify checks a data directory, an auditor export or a receipt offline.
func cmdVerify(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return runVerify(ctx, args, getenv, stdout, stderr, openEmbeddedStore)
}

// openEmbeddedStore opens the embedded store of a data directory. It is
// exclusive, so verifying a data directory needs the server stopped (or a
// backup, or an export).
func openEmbeddedStore(dataDir string) (eventstore.Store, error) {
	return embedded.Open(filepath.Join(dataDir, "store"))
}

func runVerify(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer,
	openStore func(dataDir string) (eventstore.Store, error)) error {
	fs := newFlags("verify", stderr)
	fs.Usage = func() { io.WriteString(stderr, verifyUsage); fs.PrintDefaults() }
	data := dataFlag(fs, getenv)
	exportDir := fs.String("export", "", "auditor export directory (events.ndjson, checkpoint)")
	receipt := fs.String("receipt", "", "receipt JSON file")
	keyArg := fs.String("key", "", "verifier key, or a file holding it")
	since := fs.String("since", "", "an older signed checkpoint the log must extend")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0); err != nil {
		return err
	}
	if *receipt != "" && (*exportDir != "" || *since != "") {
		return usagef("--receipt is checked on its own: not with --export or --since")
	}
	key, err := verifierKeyArg(*keyArg)
	if err != nil {
		return err
	}
	var older []byte
	if *since != "" {
		if older, err = os.ReadFile(*since); err != nil {
			return fmt.Errorf("older checkpoint: %w", err)
		}
	}
	switch {
	case *receipt != "":
		return verifyReceipt(*receipt, key, *data, stdout)
	case *exportDir != "":
		return verifyExport(*exportDir, key, older, stdout)
	default:
		return verifyData(ctx, *data, key, older, stdout, openStore)
	}
}

// verifierKeyArg accepts a verifier key or the name of a file holding one.
func verifierKeyArg(arg string) (string, error) {
	if arg == "" {
		return "", nil
	}
	if b, err := os.ReadFile(arg); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if strings.Count(arg, "+") < 2 {
		return "", fmt.Errorf("--key %q is neither a verifier key (name+hash+key) nor a readable file", arg)
	}
	return arg, nil
}

func verifyData(ctx context.Context, dir, key string, older []byte, stdout io.Writer,
	openStore func(string) (eventstore.Store, error)) error {
	if _, err := os.Stat(filepath.Join(dir, "integrity", "checkpoint")); errors.Is(err, fs.ErrNotExist) && older == nil {
		return verifyUnsigned(ctx, dir, stdout, openStore)
	}
	if key == "" {
		var err error
		if key, err = integrity.ReadVerifier(dir); err != nil {
			return fmt.Errorf("no --key given and %w", err)
		}
		fmt.Fprintf(stdout, "key: %s (recorded in %s; pass --key for a check independent of this directory)\n",
			key, filepath.Join(dir, "integrity", "verifier"))
	} else {
		fmt.Fprintf(stdout, "key: %s (from --key)\n", key)
	}
	ckpt, err := os.ReadFile(filepath.Join(dir, "integrity", "checkpoint"))
	if err != nil {
		return fmt.Errorf("signed checkpoint: %w", err)
	}
	cfg := integrity.Config{Checkpoint: ckpt, Key: key, Older: older, AllowUncovered: true}
	if hist, err := os.ReadFile(filepath.Join(dir, "integrity", "checkpoints")); err == nil {
		cfg.History, _ = integrity.SplitNotes(hist)
	}
	if hf, err := integrity.OpenHashFile(dir); err == nil {
		defer hf.Close()
		cfg.LeafHashes, cfg.LeafHashCount = hf.LeafHash, hf.Leaves()
	}
	store, err := openStore(dir)
	if err != nil {
		return fmt.Errorf("opening the store (is the ledger being served? verify a backup or an export instead): %w", err)
	}
	defer store.Close()
	r, err := integrity.VerifyStore(ctx, store, cfg)
	if err != nil {
		return err
	}
	printVerifyReport(stdout, r)
	return nil
}

func verifyExport(dir, key string, older []byte, stdout io.Writer) error {
	if key == "" {
		b, err := os.ReadFile(filepath.Join(dir, "key"))
		if err != nil {
			return errors.New("an export is verified against a key you trust: pass --key (the export has no key file either)")
		}
		key = strings.TrimSpace(string(b))
		fmt.Fprintf(stdout, "key: %s (from the export's key file; pass --key for a check independent of the export)\n", key)
	} else {
		fmt.Fprintf(stdout, "key: %s (from --key)\n", key)
	}
	ckpt, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return fmt.Errorf("signed checkpoint: %w", err)
	}
	m, err := export.ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %v (an export is checked whole, against its manifest)", integrity.ErrMismatch, export.ManifestName, err)
	}
	cfg := integrity.Config{Checkpoint: ckpt, Key: key, Older: older, Final: true}
	if hist, err := os.ReadFile(filepath.Join(dir, export.HistoryFile)); err == nil {
		cfg.History, _ = integrity.SplitNotes(hist)
	}
	// The events first: a changed event is named by its position.
	f, err := os.Open(filepath.Join(dir, export.EventsFile))
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := integrity.VerifyLeaves(f, cfg)
	if err != nil {
		return err
	}
	if err := checkManifest(dir, m, r, ckpt); err != nil {
		return fmt.Errorf("%w: %v", integrity.ErrMismatch, err)
	}
	printVerifyReport(stdout, r)
	fmt.Fprintf(stdout, "ok: manifest.json lists every file with its size and SHA-256, %d events at positions %d–%d\n",
		m.EventCount, m.FirstPosition, m.LastPosition)
	return nil
}

// checkManifest checks an auditor export against its manifest: every file
// it lists is there with its size and hash, no other file is, and its
// counts, range and checkpoint are those of the events just verified.
func checkManifest(dir string, m export.Manifest, r integrity.Report, ckpt []byte) error {
	if m.Kind != export.Audit {
		return fmt.Errorf("manifest.json says this is a %q export; only auditor exports are verified leaf by leaf", m.Kind)
	}
	if err := export.CheckFiles(dir, m); err != nil {
		return err
	}
	listed := map[string]bool{export.ManifestName: true}
	for _, f := range m.Files {
		listed[filepath.ToSlash(f.Name)] = true
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !listed[filepath.ToSlash(rel)] {
			return fmt.Errorf("%s is in the export but not in its manifest", rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case m.EventCount != r.Events:
		return fmt.Errorf("manifest.json counts %d events, events.ndjson holds %d", m.EventCount, r.Events)
	case r.Events > 0 && (m.FirstPosition != 1 || int64(m.LastPosition) != r.Events):
		return fmt.Errorf("manifest.json gives positions %d–%d, the events are 1–%d", m.FirstPosition, m.LastPosition, r.Events)
	case m.Checkpoint.Size != r.Checkpoint.Size || strings.TrimSpace(m.Checkpoint.Note) != strings.TrimSpace(string(ckpt)):
		return fmt.Errorf("manifest.json names another checkpoint (size %d) than the export's checkpoint file (size %d)",
			m.Checkpoint.Size, r.Checkpoint.Size)
	}
	return nil
}

func verifyReceipt(path, key, dataDir string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r, err := integrity.ParseReceipt(b)
	if err != nil {
		return err
	}
	if key == "" {
		if key, err = integrity.ReadVerifier(dataDir); err != nil {
			return errors.New("a receipt is verified against the ledger's key: pass --key")
		}
		fmt.Fprintf(stdout, "key: %s (recorded in %s)\n", key, filepath.Join(dataDir, "integrity", "verifier"))
	} else {
		fmt.Fprintf(stdout, "key: %s (from --key)\n", key)
	}
	if err := integrity.VerifyReceipt(r, key); err != nil {
		return err
	}
	what := "its leaf hash"
	if r.Event != nil {
		what = "its event bytes"
	}
	if r.Promise != "" {
		fmt.Fprintf(stdout, "ok: the ledger promised, signed, that event %s is leaf %d (position %d) (checked %s and the promise's signature)\n",
			r.EventID, r.LeafIndex, r.LeafIndex+1, what)
	}
	if r.Full() {
		fmt.Fprintf(stdout, "ok: event %s is leaf %d (position %d) of the signed tree of size %d (checked %s and the inclusion proof)\n",
			r.EventID, r.LeafIndex, r.LeafIndex+1, r.TreeSize, what)
	} else {
		fmt.Fprintf(stdout, "note: this receipt is a promise only; complete it with GET /v1/ledger/receipt?index=%d once a checkpoint covers the leaf\n",
			r.LeafIndex)
	}
	return nil
}

func printVerifyReport(w io.Writer, r integrity.Report) {
	rate := float64(r.Events) / max(r.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "ok: %d events reproduce the signed checkpoint %q size %d root %s\n",
		r.Events, r.Checkpoint.Origin, r.Checkpoint.Size, r.Checkpoint.Root)
	if r.Older != nil {
		fmt.Fprintf(w, "ok: the log extends the older checkpoint of size %d\n", r.Older.Size)
	}
	if r.History > 0 {
		fmt.Fprintf(w, "ok: %d earlier checkpoints reproduced too\n", r.History)
	}
	if r.Uncovered > 0 {
		fmt.Fprintf(w, "note: %d events after the checkpoint are not yet covered by a signature\n", r.Uncovered)
	}
	fmt.Fprintf(w, "%s, %.0f events/s\n", r.Elapsed.Round(time.Millisecond), rate)
}
