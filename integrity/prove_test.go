package integrity

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore/memory"
)

// signed returns a data directory whose log signed a checkpoint over the
// first n events of s, closed.
func signed(t *testing.T, s *memory.Store) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	_, err = l.SignCheckpoint()
	require.NoError(t, err)
	require.NoError(t, l.Close())
	return dir
}

func TestProveAcceptsTheSignedLog(t *testing.T) {
	s := newStore(t, 3000)
	l := openLog(t, signed(t, s), nil)
	require.NoError(t, l.Prove(ctxT(t), s, 100))
	require.NoError(t, l.Prove(ctxT(t), s, All))
}

func TestProveFindsAStoreShorterThanItsCheckpoint(t *testing.T) {
	s := newStore(t, 300)
	dir := signed(t, s)
	short := newStore(t, 250) // the same kind of log, 50 events short
	l := openLog(t, dir, nil)
	err := l.Prove(ctxT(t), short, 100)
	require.ErrorIs(t, err, ErrMismatch)
	require.Contains(t, err.Error(), "ends at position 250, but a checkpoint of size 300 was signed")
}

func TestProveFindsAFlippedHash(t *testing.T) {
	s := newStore(t, 2000)
	dir := signed(t, s)
	hashes := filepath.Join(dir, "integrity", "hashes")
	b, err := os.ReadFile(hashes)
	require.NoError(t, err)
	// A leaf hash near the end, and one near the start (outside the tail).
	for _, leaf := range []int64{1990, 7} {
		damaged := append([]byte(nil), b...)
		damaged[storedHashOffset(leaf)+5] ^= 0x40
		require.NoError(t, os.WriteFile(hashes, damaged, 0o644))
		l, err := Open(dir)
		require.NoError(t, err)
		if leaf == 1990 {
			require.ErrorIs(t, l.Prove(ctxT(t), s, 100), ErrMismatch, "the tail check finds it")
		} else {
			require.NoError(t, l.Prove(ctxT(t), s, 100), "outside the tail: only the full check looks")
			require.ErrorIs(t, l.Prove(ctxT(t), s, All), ErrMismatch)
		}
		require.NoError(t, l.Close())
	}
}

func TestProveFindsABrokenSignature(t *testing.T) {
	s := newStore(t, 50)
	dir := signed(t, s)
	latest := filepath.Join(dir, "integrity", "checkpoint")
	b, err := os.ReadFile(latest)
	require.NoError(t, err)
	// Another valid base64 character inside the signature: the note still
	// parses, the signature no longer holds.
	if i := len(b) - 5; b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	require.NoError(t, os.WriteFile(latest, b, 0o644))
	l, err := Open(dir) // opens: the node must start and say what is wrong
	require.NoError(t, err)
	defer l.Close()
	require.ErrorIs(t, l.Prove(ctxT(t), s, 100), ErrSignature)
}

func storedHashOffset(leaf int64) int64 {
	return storedIndex(leaf) * 32
}

func storedIndex(leaf int64) int64 { return tlog.StoredHashIndex(0, leaf) }
