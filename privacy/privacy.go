// Package privacy keeps the per-subject data keys that seal personal data in
// the ledger, and destroys them on disposal (crypto-shredding).
//
// The log holds personal fields only as AES-256-GCM ciphertext. The keys live
// here, outside the log, one file per subject under the data directory. A
// disposal decision or a granted erasure destroys the subject's key: the
// ciphertext stays in the log (so every Merkle proof stays valid) but can no
// longer be opened by anyone.
//
// Limitation, stated plainly: the key file is overwritten with zeros,
// fsync'd and replaced by a tombstone, which defeats reads through the file
// system; it does not defeat forensic recovery of old disk blocks on a
// journaling or copy-on-write file system. Deployments that need that keep
// the data directory on an encrypted volume whose key is rotated.
package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
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

// ErrShredded means the subject's key was destroyed: the data is disposed.
var ErrShredded = errors.New("privacy: data disposed (key shredded)")

// ErrNoKey means no key was ever made for the subject.
var ErrNoKey = errors.New("privacy: no key for subject")

// Labels tie a key to the ids a disposal can be scoped by (participant,
// process). They are ids, never personal data.
type Labels map[string]string

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

// Keys is the key store. It is safe for concurrent use.
type Keys struct {
	dir string

	mu   sync.RWMutex
	keys map[string]*keyFile // by subject; tombstones included
}

// Open opens (creating if needed) the key store in dir.
func Open(dir string) (*Keys, error) {
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	k := &Keys{dir: dir, keys: map[string]*keyFile{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name)) // an interrupted write: never referenced by the log
			continue
		}
		if !strings.HasSuffix(name, ".key") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("privacy: %w", err)
		}
		var kf keyFile
		if err := json.Unmarshal(b, &kf); err != nil {
			return nil, fmt.Errorf("privacy: key file %s: %w", name, err)
		}
		if fi, err := e.Info(); err == nil {
			kf.stamp = stampOf(fi)
		}
		k.keys[kf.Subject] = &kf
	}
	return k, nil
}

func (k *Keys) path(subject string) string {
	h := sha256.Sum256([]byte(subject))
	return filepath.Join(k.dir, hex.EncodeToString(h[:16])+".key")
}

// Seal encrypts plaintext for subject, creating the subject's key (durably,
// before returning) if it has none. The subject is bound to the ciphertext
// as additional data, so ciphertext moved to another subject does not open.
func (k *Keys) Seal(subject string, labels Labels, plaintext string) ([]byte, error) {
	key, err := k.keyFor(subject, labels)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(plaintext), []byte(subject)), nil
}

// Open decrypts sealed data of subject. It returns ErrShredded after the
// subject's key was destroyed.
func (k *Keys) Open(subject string, sealed []byte) (string, error) {
	kf, err := k.lookup(subject)
	if err != nil {
		return "", err
	}
	switch {
	case kf == nil:
		return "", fmt.Errorf("%w %q", ErrNoKey, subject)
	case kf.Shredded:
		return "", ErrShredded
	}
	aead, err := newAEAD(kf.Key)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", fmt.Errorf("privacy: sealed data of %q too short", subject)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(subject))
	if err != nil {
		return "", fmt.Errorf("privacy: sealed data of %q does not open: %w", subject, err)
	}
	return string(plain), nil
}

// Shredded reports whether subject's key has been destroyed.
func (k *Keys) Shredded(subject string) bool {
	kf, _ := k.lookup(subject)
	return kf != nil && kf.Shredded
}

// lookup returns subject's entry, re-reading its file when it changed on
// disk since it was cached (several ledger nodes may share the directory:
// a key made or shredded by one is seen by the others). It costs one stat.
func (k *Keys) lookup(subject string) (*keyFile, error) {
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

// Subjects returns the live (not shredded) subjects whose labels contain
// label=value, sorted; a disposal scoped to a participant or process uses it
// to find every key to destroy.
func (k *Keys) Subjects(label, value string) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []string
	for s, kf := range k.keys {
		if !kf.Shredded && kf.Labels[label] == value {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Shred destroys subject's key: the file is overwritten with zeros and
// synced, then replaced by a tombstone. Shredding an unknown or already
// shredded subject records a tombstone and is not an error, so a repeated
// disposal is harmless.
func (k *Keys) Shred(subject string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
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

func (k *Keys) keyFor(subject string, labels Labels) ([]byte, error) {
	kf, err := k.lookup(subject)
	if err != nil {
		return nil, err
	}
	if kf != nil {
		if kf.Shredded {
			return nil, ErrShredded
		}
		return kf.Key, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if kf := k.keys[subject]; kf != nil { // made while we waited
		if kf.Shredded {
			return nil, ErrShredded
		}
		return kf.Key, nil
	}
	kf = &keyFile{Subject: subject, Key: make([]byte, 32), Labels: labels}
	if _, err := rand.Read(kf.Key); err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	switch err := k.create(k.path(subject), kf); {
	case errors.Is(err, os.ErrExist):
		// Another node sharing the directory made it first: use theirs.
		k.mu.Unlock()
		kf, err = k.lookup(subject)
		k.mu.Lock()
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
	k.keys[subject] = kf
	return kf.Key, nil
}

// create writes a new key file only if none exists (link(2) is atomic and
// fails on an existing name), durably, like write.
func (k *Keys) create(p string, kf *keyFile) error {
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
func (k *Keys) write(p string, kf *keyFile) error {
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
func (k *Keys) writeTemp(p string, kf *keyFile) (string, error) {
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

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	return cipher.NewGCM(block)
}
