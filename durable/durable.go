// Package durable writes files so that what it reports written survives a
// crash or a power loss: a file's bytes are fsync'd before it is named, and
// a name (a new file, a rename, a new directory) is made durable by fsyncing
// the directory that holds it. Every file the ledger relies on — keys,
// checkpoints, tree hashes, idempotency records, read-model state, export
// resume points — is written through here.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data atomically: readers see the old or the
// new content, never a mix, and after WriteFile returns the new content
// survives a power loss. The temporary file never outlives the call.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = writeSync(f, data, perm); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// CreateExclusive creates path with data, failing with an error that
// matches fs.ErrExist if it exists. Once it returns, the file and its name
// survive a power loss.
func CreateExclusive(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	if err = writeSync(f, data, perm); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Append appends data to path, creating it if needed, and returns once the
// data (and a new file's name) survive a power loss.
func Append(path string, data []byte, perm os.FileMode) error {
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && errors.Is(statErr, fs.ErrNotExist) {
		err = SyncDir(filepath.Dir(path))
	}
	return err
}

// MkdirAll creates path and any missing parents, like os.MkdirAll, and
// makes each new directory's name durable by fsyncing its parent.
func MkdirAll(path string, perm os.FileMode) error {
	path = filepath.Clean(path)
	if st, err := os.Stat(path); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("durable: %s is not a directory", path)
		}
		return nil
	}
	parent := filepath.Dir(path)
	if parent != path {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(path, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile by someone else, who syncs it
		}
		return err
	}
	return SyncDir(parent)
}

// SyncDir fsyncs a directory, making the names in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("durable: sync directory %s: %w", dir, err)
	}
	return nil
}

func writeSync(f *os.File, data []byte, perm os.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
