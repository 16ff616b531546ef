package privacy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/durable"
)

type keyFile struct {
	Subject string `json:"subject"`
	Key     []byte `json:"key,omitempty"`
	Labels  Labels `json:"labels,omitempty"`
	// Shredded is set in the tombstone that replaces a destroyed key.
	Shredded bool `json:"shredded,omitempty"`

	stamp fileStamp // of the file this entry was read from or written to
}

// fileStamp identifies a version of a key file, so a cached entry is
// re-read when another ledger node sharing the directory changed it.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(fi os.FileInfo) fileStamp { return fileStamp{fi.Size(), fi.ModTime()} }

// files is the default Vault: one file per subject in a directory. Several
// ledger nodes may share the directory (a network file system): a key made
// or shredded by one is seen by the others, because every lookup re-checks
// the file (one stat).
type files struct {
	dir string

	mu     sync.RWMutex
	keys   map[string]*keyFile // by subject; tombstones included
	loaded map[string]bool     // names of the files read by scan
	// creating holds the subjects whose key file is being written, with a
	// channel closed when that is done. Writing a key takes two fsyncs; the
	// lock is not held for them, so keys of different subjects (every new
	// submission has its own) are made concurrently and their fsyncs share
	// the file system's journal commits.
	creating map[string]chan struct{}
}

// Open opens (creating if needed) the key store in dir.
func Open(dir string) (*Keys, error) {
	v, err := openFiles(dir)
	if err != nil {
		return nil, err
	}
	return New(v), nil
}

// Files returns the vault of key files in dir (creating dir if needed),
// for copying keys into it.
func Files(dir string) (Vault, error) {
	v, err := openFiles(dir)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func openFiles(dir string) (*files, error) {
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	k := &files{dir: dir, keys: map[string]*keyFile{}, loaded: map[string]bool{}, creating: map[string]chan struct{}{}}
	if err := k.scan(true); err != nil {
		return nil, err
	}
	return k, nil
}

// scan reads the key files not read before (made by another node sharing
// the directory, or present at open). At open it also removes temporary
// files of interrupted writes, which the log never references.
func (k *files) scan(atOpen bool) error {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range entries {
		name := e.Name()
		if atOpen && strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(k.dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".key") || k.loaded[name] {
			continue
		}
		b, err := os.ReadFile(filepath.Join(k.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("privacy: %w", err)
		}
		var kf keyFile
		if err := json.Unmarshal(b, &kf); err != nil {
			return fmt.Errorf("privacy: key file %s: %w", name, err)
		}
		if fi, err := e.Info(); err == nil {
			kf.stamp = stampOf(fi)
		}
		k.loaded[name] = true
		if k.keys[kf.Subject] == nil {
			k.keys[kf.Subject] = &kf
		}
	}
	return nil
}

func (k *files) path(subject string) string {
	h := sha256.Sum256([]byte(subject))
	return filepath.Join(k.dir, hex.EncodeToString(h[:16])+".key")
}

// Key implements Vault.
func (k *files) Key(subject string) ([]byte, error) {
	kf, err := k.lookup(subject)
	switch {
	case err != nil:
		return nil, err
	case kf == nil:
		return nil, ErrNoKey
	case kf.Shredded:
		return nil, ErrShredded
	}
	return kf.Key, nil
}

// lookup returns subject's entry, re-reading its file when it changed on
// disk since it was cached (several ledger nodes may share the directory:
// a key made or shredded by one is seen by the others). It costs one stat.
func (k *files) lookup(subject string) (*keyFile, error) {
	k.mu.RLock()
	kf := k.keys[subject]
	k.mu.RUnlock()
	if kf != nil && kf.Shredded {
		return kf, nil // tombstones are final
	}
	p := k.path(subject)
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return kf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	if kf != nil && kf.stamp == stampOf(fi) {
		return kf, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	var fresh keyFile
	if err := json.Unmarshal(b, &fresh); err != nil {
		return nil, fmt.Errorf("privacy: key file of %q: %w", subject, err)
	}
	fresh.stamp = stampOf(fi)
	k.mu.Lock()
	k.keys[subject] = &fresh
	k.mu.Unlock()
	return &fresh, nil
}

// Subjects implements Vault. It first reads key files made by other nodes
// sharing the directory, and re-checks each candidate's file.
func (k *files) Subjects(label, value string) ([]string, error) {
	if err := k.scan(false); err != nil {
		return nil, err
	}
	k.mu.RLock()
	var cands []string
	for s, kf := range k.keys {
		if !kf.Shredded && kf.Labels[label] == value {
			cands = append(cands, s)
		}
	}
	k.mu.RUnlock()
	var out []string
	for _, s := range cands {
		kf, err := k.lookup(s)
		if err != nil {
			return nil, err
		}
		if kf != nil && !kf.Shredded {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Shred implements Vault: each key file is overwritten with zeros and
// synced, then replaced by a tombstone. An unknown or already shredded
// subject gets a tombstone too.
func (k *files) Shred(subjects ...string) error {
	for _, s := range subjects {
		if err := k.shred(s); err != nil {
			return err
		}
	}
	return nil
}

func (k *files) shred(subject string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.waitCreated(subject) // a key being made is shredded once it exists
	p := k.path(subject)
	if kf := k.keys[subject]; kf != nil && !kf.Shredded {
		if err := overwrite(p); err != nil {
			return err
		}
		clear(kf.Key)
	}
	tomb := &keyFile{Subject: subject, Shredded: true}
	if err := k.write(p, tomb); err != nil {
		return err
	}
	k.keys[subject] = tomb
	return nil
}

// Create implements Vault.
func (k *files) Create(subject string, key []byte, labels Labels) ([]byte, error) {
	k.mu.Lock()
	for {
		if kf := k.keys[subject]; kf != nil { // made while we waited
			k.mu.Unlock()
			if kf.Shredded {
				return nil, ErrShredded
			}
			return kf.Key, nil
		}
		ch, busy := k.creating[subject]
		if !busy {
			break
		}
		k.mu.Unlock()
		<-ch
		k.mu.Lock()
	}
	done := make(chan struct{})
	k.creating[subject] = done
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		delete(k.creating, subject)
		k.mu.Unlock()
		close(done)
	}()

	kf := &keyFile{Subject: subject, Key: bytes.Clone(key), Labels: labels}
	switch err := k.create(k.path(subject), kf); {
	case errors.Is(err, os.ErrExist):
		// Another node sharing the directory made it first: use theirs.
		kf, err := k.lookup(subject)
		if err != nil || kf == nil {
			return nil, fmt.Errorf("privacy: key of %q vanished: %v", subject, err)
		}
		if kf.Shredded {
			return nil, ErrShredded
		}
		return kf.Key, nil
	case err != nil:
		return nil, err
	}
	k.mu.Lock()
	k.keys[subject] = kf
	k.mu.Unlock()
	return kf.Key, nil
}

// waitCreated waits, with k.mu held (and released meanwhile), until no key
// file of subject is being written.
func (k *files) waitCreated(subject string) {
	for {
		ch, busy := k.creating[subject]
		if !busy {
			return
		}
		k.mu.Unlock()
		<-ch
		k.mu.Lock()
	}
}

// create writes a new key file only if none exists (link(2) is atomic and
// fails on an existing name), durably, like write.
func (k *files) create(p string, kf *keyFile) error {
	tmp, err := k.writeTemp(p, kf)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, os.ErrExist) {
			return os.ErrExist
		}
		return fmt.Errorf("privacy: writing key: %w", err)
	}
	if fi, err := os.Stat(p); err == nil {
		kf.stamp = stampOf(fi)
	}
	if err := durable.SyncDir(k.dir); err != nil {
		return fmt.Errorf("privacy: writing key: %w", err)
	}
	return nil
}

// write stores kf atomically and durably: temp file, fsync, rename, fsync
// of the directory. A key must be on disk before any event sealed with it
// is appended, or a crash could leave ciphertext nobody can open.
func (k *files) write(p string, kf *keyFile) error {
	tmp, err := k.writeTemp(p, kf)
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		if fi, serr := os.Stat(p); serr == nil {
			kf.stamp = stampOf(fi)
		}
		err = durable.SyncDir(k.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("privacy: writing key: %w", err)
	}
	return nil
}

// writeTemp writes kf to a synced temporary file next to p, unique per
// call so that concurrent writers (in this or another process) never share
// one.
func (k *files) writeTemp(p string, kf *keyFile) (string, error) {
	b, err := json.Marshal(kf)
	if err != nil {
		return "", fmt.Errorf("privacy: %w", err)
	}
	f, err := os.CreateTemp(k.dir, filepath.Base(p)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("privacy: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("privacy: writing key: %w", err)
	}
	return f.Name(), nil
}

func overwrite(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	if _, err := f.WriteAt(make([]byte, st.Size()), 0); err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	return nil
}

// MoveKeys moves the key files in dir into dst, for a ledger whose keys
// move to a shared vault: each live key is created in dst and its file
// destroyed once dst holds that same key; each tombstone becomes a
// shredding in dst and is then removed. A subject that already has a
// different key in dst keeps its file and is returned in conflicts (its
// data sealed with the file's key cannot be opened through dst). A missing
// dir moves nothing.
func MoveKeys(dir string, dst Vault) (moved int, conflicts []string, err error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil
	}
	src, err := openFiles(dir)
	if err != nil {
		return 0, nil, err
	}
	var tombs, done []string
	for subject, kf := range src.keys {
		if kf.Shredded {
			tombs = append(tombs, subject)
			continue
		}
		stored, err := dst.Create(subject, bytes.Clone(kf.Key), kf.Labels)
		switch {
		case errors.Is(err, ErrShredded):
			// Shredded through dst meanwhile: destroy this copy too.
		case err != nil:
			return moved, conflicts, err
		case !bytes.Equal(stored, kf.Key):
			conflicts = append(conflicts, subject)
			continue
		default:
			moved++
		}
		if err := src.shred(subject); err != nil {
			return moved, conflicts, err
		}
		done = append(done, subject)
	}
	if len(tombs) > 0 {
		if err := dst.Shred(tombs...); err != nil {
			return moved, conflicts, err
		}
	}
	for _, subject := range append(done, tombs...) {
		if err := os.Remove(src.path(subject)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return moved, conflicts, fmt.Errorf("privacy: %w", err)
		}
	}
	sort.Strings(conflicts)
	return moved, conflicts, durable.SyncDir(dir)
}
