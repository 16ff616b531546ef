// Package privacy keeps the per-subject data keys that seal personal data in
// the ledger, and destroys them on disposal (crypto-shredding).
//
// The log holds personal fields only as AES-256-GCM ciphertext. The keys live
// outside the log, in a Vault: by default one file per subject under the
// data directory (Open); a ledger of several nodes keeps them where every
// node reaches them (New with a shared Vault, e.g. the KurrentDB one in
// eventstore/kurrent). A disposal decision or a granted erasure destroys the
// subject's key: the ciphertext stays in the log (so every Merkle proof
// stays valid) but can no longer be opened by anyone.
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
	"errors"
	"fmt"
)

// ErrShredded means the subject's key was destroyed: the data is disposed.
var ErrShredded = errors.New("privacy: data disposed (key shredded)")

// ErrNoKey means no key was ever made for the subject.
var ErrNoKey = errors.New("privacy: no key for subject")

// Labels tie a key to the ids a disposal can be scoped by (participant,
// process). They are ids, never personal data.
type Labels map[string]string

// A Vault stores the data keys. Every method is safe for concurrent use, by
// several ledger nodes when the vault is shared.
type Vault interface {
	// Key returns subject's key, ErrNoKey if none was made, or ErrShredded.
	// After Shred(subject) has returned on any node sharing the vault, Key
	// returns ErrShredded on every node: no stale cached key is used.
	Key(subject string) ([]byte, error)
	// Create stores key for subject, durably before returning, unless the
	// subject already has a key or was shredded. It returns the key now
	// stored (another node's, when that node was first) or ErrShredded.
	Create(subject string, key []byte, labels Labels) ([]byte, error)
	// Shred destroys the subjects' keys for good. A subject without a key,
	// or already shredded, is no error; it can never get a key afterwards.
	Shred(subjects ...string) error
	// Subjects returns the live (not shredded) subjects whose labels
	// contain label=value, sorted.
	Subjects(label, value string) ([]string, error)
}

// Keys seals and opens personal data with the keys of a Vault. It is safe
// for concurrent use.
type Keys struct {
	v Vault
}

// New returns Keys over v.
func New(v Vault) *Keys { return &Keys{v: v} }

// Seal encrypts plaintext for subject, creating the subject's key (durably,
// before returning) if it has none. The subject is bound to the ciphertext
// as additional data, so ciphertext moved to another subject does not open.
func (k *Keys) Seal(subject string, labels Labels, plaintext string) ([]byte, error) {
	key, err := k.v.Key(subject)
	if errors.Is(err, ErrNoKey) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("privacy: %w", err)
		}
		key, err = k.v.Create(subject, fresh, labels)
	}
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
// subject's key was destroyed and ErrNoKey when it never had one.
func (k *Keys) Open(subject string, sealed []byte) (string, error) {
	key, err := k.v.Key(subject)
	if errors.Is(err, ErrNoKey) {
		return "", fmt.Errorf("%w %q", ErrNoKey, subject)
	}
	if err != nil {
		return "", err
	}
	aead, err := newAEAD(key)
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
	_, err := k.v.Key(subject)
	return errors.Is(err, ErrShredded)
}

// Subjects returns the live (not shredded) subjects whose labels contain
// label=value, sorted; a disposal scoped to a participant or process uses it
// to find every key to destroy.
func (k *Keys) Subjects(label, value string) ([]string, error) {
	return k.v.Subjects(label, value)
}

// Shred destroys the subjects' keys. Shredding an unknown or already
// shredded subject is not an error, so a repeated disposal is harmless.
// When it returns, no node sharing the vault opens the subjects' data.
// Pass all of a disposal's subjects in one call: a shared vault may wait
// once per call for other nodes' caches to lapse.
func (k *Keys) Shred(subjects ...string) error {
	return k.v.Shred(subjects...)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	return cipher.NewGCM(block)
}
