package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/integrity"
)

const restoreUsage = `usage:
  ledger restore --from FILE --data DIR

Makes DIR (missing or empty) a data directory again from a backup FILE
written by 'ledger backup'. Every file is checked against the backup's
manifest, then the restored log is verified against its signed checkpoints
as 'ledger verify --data' does; a backup that fails either check is refused
(exit status 1, and a restored log that does not verify is left unadopted,
so it never signs). A restored directory is a copy of the ledger it was
taken from; restoring is the operator's decision to make it the ledger of
record, so restore adopts it as 'ledger adopt' does. The directory the
backup came from must no longer sign: two signing directories fork the log.
Then run 'ledger serve --data DIR'.
`

// cmdRestore unpacks, checks, verifies and adopts a backup.
func cmdRestore(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	flags := newFlags("restore", stderr)
	flags.Usage = func() { io.WriteString(stderr, restoreUsage); flags.PrintDefaults() }
	from := flags.String("from", "", "the backup file written by ledger backup (LEDGER_RESTORE_FROM)")
	data := dataFlag(flags, getenv)
	if err := parseFlags(flags, args, getenv); err != nil {
		return err
	}
	if err := needFlags(flags, 0, "from", "data"); err != nil {
		return err
	}
	if entries, err := os.ReadDir(*data); err == nil && len(entries) > 0 {
		return fmt.Errorf("--data %s is not empty: restore into a new directory", *data)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := durable.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	m, err := readBackup(f, func(name string, r io.Reader) error { return restoreFile(*data, name, r) })
	if err != nil {
		clearDir(*data)
		return fmt.Errorf("%s is refused, nothing restored: %w", *from, err)
	}
	// The files were synced as they were written; now their names.
	if err := filepath.WalkDir(*data, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = durable.SyncDir(path)
		}
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d files (%d bytes, backup made %s) into %s; every file matches the manifest\n",
		len(m.Files), m.bytes(), m.Created, *data)
	if err := verifyData(ctx, *data, "", nil, stdout, openEmbeddedStore); err != nil {
		return fmt.Errorf("the restored log in %s does not verify against its signed checkpoints, so it was not adopted and will not sign: %w", *data, err)
	}
	id, err := integrity.Adopt(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is now the ledger of record of ledger %s (adopted at signed checkpoint size %d): "+
		"restoring is the decision to serve this copy, so the directory the backup came from must no longer sign\n",
		*data, id.LedgerID, id.CheckpointSize)
	return nil
}

// restoreFile writes one file of a backup under dir, durably.
func restoreFile(dir, name string, r io.Reader) error {
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := durable.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// clearDir removes what a refused restore wrote, leaving dir empty.
func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
