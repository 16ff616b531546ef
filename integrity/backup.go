package integrity

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// backupNames are the files of DIR/integrity a backup holds, in the order
// they are copied. The history and the latest checkpoint come before the
// hashes: with no checkpoint signed meanwhile, the copied hashes then cover
// at least what the copied checkpoint signs (hashes past it are dropped at
// open and recomputed from the store).
var backupNames = []string{"identity", "verifier", "signing.key", "checkpoints", "checkpoint", "hashes"}

// BackupFiles calls fn with each file of the open log's directory that a
// backup needs (name relative to DIR/integrity, its size, its content),
// signing no checkpoint meanwhile. Missing files are left out. A signing
// key kept outside the directory (WithSigningKeyFile) is not included.
func (l *Log) BackupFiles(fn func(name string, size int64, r io.Reader) error) error {
	l.signMu.Lock()
	defer l.signMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	return backupFiles(l.paths, fn)
}

// BackupFiles is Log.BackupFiles for a data directory no process has open
// (it takes the log's lock). A directory never served has no integrity
// log: then there is nothing to copy.
func BackupFiles(dataDir string, fn func(name string, size int64, r io.Reader) error) error {
	p := pathsIn(dataDir)
	if _, err := os.Stat(p.dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, err := lockFile(p.lock)
	if err != nil {
		return err
	}
	defer lock.Close()
	return backupFiles(p, fn)
}

func backupFiles(p paths, fn func(name string, size int64, r io.Reader) error) error {
	for _, name := range backupNames {
		if err := backupFile(filepath.Join(p.dir, name), name, fn); err != nil {
			return err
		}
	}
	return nil
}

func backupFile(path, name string, fn func(name string, size int64, r io.Reader) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("integrity: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("integrity: %w", err)
	}
	// The hash file may grow while it is read: copy what it held now.
	return fn(name, st.Size(), io.LimitReader(f, st.Size()))
}
