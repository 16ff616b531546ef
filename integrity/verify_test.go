package integrity

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/malmo/participation-ledger/eventstore/memory"
)

// ledger is a log with n events, checkpointed at every multiple of 10 and
// at n.
type ledger struct {
	dir   string
	store *memory.Store
	log   *Log
	lines [][]byte // events.ndjson, line by line (without LF)
	ckpt  SignedCheckpoint
	hist  [][]byte
}

func newLedger(t *testing.T, n int, opts ...Option) *ledger {
	t.Helper()
	lg := &ledger{dir: t.TempDir(), store: memory.New()}
	t.Cleanup(func() { lg.store.Close() })
	lg.log = openLog(t, lg.dir, nil, opts...)
	for done := 0; done < n; done += 10 {
		fill(t, lg.store, min(10, n-done))
		require.NoError(t, lg.log.CatchUp(ctxT(t), lg.store))
		_, err := lg.log.SignCheckpoint()
		require.NoError(t, err)
	}
	lg.ckpt = lg.log.Checkpoint()
	lg.lines = bytes.SplitAfter(export(t, lg.store), []byte("\n"))
	lg.lines = lg.lines[:len(lg.lines)-1] // after the last LF
	b, err := os.ReadFile(filepath.Join(lg.dir, "integrity", "checkpoints"))
	require.NoError(t, err)
	lg.hist, _ = SplitNotes(b)
	return lg
}

func (lg *ledger) cfg() Config {
	return Config{Checkpoint: lg.ckpt.Note, Key: lg.log.Verifier()}
}

// withHashes adds the stored leaf hashes, as `ledger verify --data` does.
func (lg *ledger) withHashes(t *testing.T, c Config) Config {
	require.NoError(t, lg.log.hf.flush())
	hf, err := OpenHashFile(lg.dir)
	require.NoError(t, err)
	t.Cleanup(func() { hf.Close() })
	c.LeafHashes, c.LeafHashCount = hf.LeafHash, hf.Leaves()
	return c
}

func join(lines [][]byte) []byte { return bytes.Join(lines, nil) }

func verify(c Config, lines [][]byte) (Report, error) {
	return VerifyLeaves(bytes.NewReader(join(lines)), c)
}

func requireBadAt(t *testing.T, err error, index int64, msg string) *VerifyError {
	t.Helper()
	var ve *VerifyError
	require.ErrorAs(t, err, &ve, msg)
	require.Equal(t, index, ve.Index, "%s: %v", msg, err)
	return ve
}

func TestVerifyAcceptsAnIntactLog(t *testing.T) {
	lg := newLedger(t, 57)
	r, err := verify(lg.cfg(), lg.lines)
	require.NoError(t, err)
	assert.Equal(t, int64(57), r.Events)
	assert.Equal(t, lg.ckpt.Checkpoint, r.Checkpoint)

	r, err = verify(lg.withHashes(t, lg.cfg()), lg.lines)
	require.NoError(t, err)
	assert.Equal(t, int64(57), r.Events)

	r, err = VerifyStore(ctxT(t), lg.store, lg.cfg())
	require.NoError(t, err)
	assert.Equal(t, int64(57), r.Events)

	// No final newline is fine too.
	last := len(lg.lines) - 1
	trimmed := append(append([][]byte(nil), lg.lines[:last]...), bytes.TrimSuffix(lg.lines[last], []byte("\n")))
	_, err = verify(lg.cfg(), trimmed)
	require.NoError(t, err)
}

func TestVerifyDetectsAFlippedBitInAnyEvent(t *testing.T) {
	lg := newLedger(t, 40)
	withHashes := lg.withHashes(t, lg.cfg())
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range lg.lines {
		for range 3 {
			lines := append([][]byte(nil), lg.lines...)
			line := bytes.Clone(lines[i])
			line[rng.IntN(len(line)-1)] ^= 1 << rng.IntN(8) // never the LF
			lines[i] = line

			_, err := verify(lg.cfg(), lines)
			require.Error(t, err, "bit flip in event %d undetected", i)
			var ve *VerifyError
			if errors.As(err, &ve) {
				assert.True(t, ve.Index <= int64(i) && int64(i) < max(ve.End, ve.Index+1), "%v does not contain %d", err, i)
			}
			_, err = verify(withHashes, lines)
			requireBadAt(t, err, int64(i), "with stored hashes")
		}
	}
}

func TestVerifyDetectsDroppedReorderedAndTruncatedEvents(t *testing.T) {
	lg := newLedger(t, 40)
	withHashes := lg.withHashes(t, lg.cfg())
	del := func(k int) [][]byte {
		return append(append([][]byte(nil), lg.lines[:k]...), lg.lines[k+1:]...)
	}
	swap := func(a, b int) [][]byte {
		l := append([][]byte(nil), lg.lines...)
		l[a], l[b] = l[b], l[a]
		return l
	}

	// Dropping an event of a stream that has later events breaks the
	// stream's revisions right there, even without stored hashes.
	_, err := verify(lg.cfg(), del(12))
	ve := requireBadAt(t, err, 0, "drop: no signed prefix to start from")
	assert.Equal(t, int64(17), ve.End, "noticed at the next event of the same stream (index 17 → 16 after the drop, end exclusive)")
	assert.Equal(t, int64(16), ve.Noticed)
	_, err = verify(withHashes, del(12))
	requireBadAt(t, err, 12, "drop with stored hashes")
	// Dropping the very last event is a truncation.
	_, err = verify(lg.cfg(), del(39))
	ve = requireBadAt(t, err, 39, "drop last")
	assert.ErrorIs(t, ve, ErrMismatch)

	// Reordering two events of different streams keeps every revision
	// sequence intact: only the tree notices.
	_, err = verify(lg.cfg(), swap(20, 21))
	require.ErrorIs(t, err, ErrMismatch)
	_, err = verify(withHashes, swap(20, 21))
	requireBadAt(t, err, 20, "swap with stored hashes")
	// Two events of one stream swapped: the revision check names it.
	_, err = verify(lg.cfg(), swap(20, 25))
	ve = requireBadAt(t, err, 0, "swap within a stream")
	assert.Equal(t, int64(20), ve.Noticed)
	c := lg.cfg()
	c.History = lg.hist
	_, err = verify(c, swap(20, 25))
	ve = requireBadAt(t, err, 20, "swap within a stream, with the checkpoint history")
	assert.Equal(t, int64(21), ve.End, "exact: signed up to 20, noticed at 20")

	_, err = verify(lg.cfg(), lg.lines[:35])
	requireBadAt(t, err, 35, "truncated tail")
	cut := append(append([][]byte(nil), lg.lines[:38]...), lg.lines[38][:50])
	_, err = verify(lg.cfg(), cut)
	requireBadAt(t, err, 38, "truncated mid-event")

	// Extra, unsigned events after the checkpoint.
	extra := append(append([][]byte(nil), lg.lines...), lg.lines[39])
	_, err = verify(lg.cfg(), extra)
	requireBadAt(t, err, 40, "unsigned extra event")
}

func TestVerifyNarrowsDownWithTheCheckpointHistory(t *testing.T) {
	lg := newLedger(t, 60)
	lines := append([][]byte(nil), lg.lines...)
	lines[43] = bytes.Replace(lines[43], []byte(`"hej`), []byte(`"haj`), 1)
	require.NotEqual(t, lg.lines[43], lines[43])
	_, err := verify(lg.cfg(), lines)
	require.ErrorIs(t, err, ErrMismatch)

	c := lg.cfg()
	c.History = lg.hist
	_, err = verify(c, lines)
	ve := requireBadAt(t, err, 40, "history")
	assert.Equal(t, int64(50), ve.End)
	t.Log(err)

	r, err := verify(c, lg.lines)
	require.NoError(t, err)
	assert.Equal(t, 6, r.History, "checkpoints 0, 10, …, 50")
}

func TestVerifyRejectsACheckpointSignedByAnotherKey(t *testing.T) {
	lg := newLedger(t, 20)
	skey, vkey, err := note.GenerateKey(rand.Reader, DefaultOrigin)
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	// The right tree, signed by someone else.
	forged, err := note.Sign(&note.Note{Text: lg.ckpt.Text()}, signer)
	require.NoError(t, err)

	c := lg.cfg()
	c.Checkpoint = forged
	_, err = verify(c, lg.lines)
	require.ErrorIs(t, err, ErrSignature)
	t.Log(err)

	c = lg.cfg()
	c.Key = vkey
	_, err = verify(c, lg.lines)
	require.ErrorIs(t, err, ErrSignature)

	// An altered note text breaks the signature too.
	tampered := bytes.Replace(lg.ckpt.Note, []byte("\n20\n"), []byte("\n19\n"), 1)
	c = lg.cfg()
	c.Checkpoint = tampered
	_, err = verify(c, lg.lines[:19])
	require.ErrorIs(t, err, ErrSignature)
}

func TestVerifyDetectsForksAndRollbacks(t *testing.T) {
	skey, _, err := note.GenerateKey(rand.Reader, DefaultOrigin)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(skey), 0o600))
	a := newLedger(t, 30, WithSigningKeyFile(keyFile))
	b := newLedger(t, 30, WithSigningKeyFile(keyFile)) // same key, other events
	require.NotEqual(t, a.ckpt.Root, b.ckpt.Root)

	// Consistent: an older checkpoint of the same log.
	c := a.cfg()
	c.Older = a.hist[2] // size 20
	r, err := verify(c, a.lines)
	require.NoError(t, err)
	require.NotNil(t, r.Older)
	assert.Equal(t, int64(20), r.Older.Size)

	// Fork: two signed checkpoints of the same size, different roots.
	c = a.cfg()
	c.Older = b.ckpt.Note
	_, err = verify(c, a.lines)
	require.ErrorIs(t, err, ErrFork)
	t.Log(err)

	// Fork: the log reproduces its newest checkpoint, but not an older one
	// the auditor kept — history was rewritten.
	c = a.cfg()
	c.Older = b.hist[2]
	_, err = verify(c, a.lines)
	require.ErrorIs(t, err, ErrFork)
	t.Log(err)

	// Rollback: the "newer" checkpoint is smaller than one seen before.
	c = a.cfg()
	c.Checkpoint = a.hist[2]
	c.Older = a.ckpt.Note
	_, err = verify(c, a.lines[:20])
	require.ErrorIs(t, err, ErrRollback)
	t.Log(err)
}

func TestHeader(t *testing.T) {
	lg := newLedger(t, 6)
	stream, rev, err := header(lg.lines[5])
	require.NoError(t, err)
	assert.Equal(t, "submission-0", string(stream))
	assert.Equal(t, uint64(1), rev)
	for _, bad := range []string{``, `{}`, `{"id":"x"}`, `{"id":"00000000-0000-0000-0000-000000000001","stream":"a","revision":01,`,
		`{"id":"00000000-0000-0000-0000-000000000001","stream":"a\"`, `{"id":"00000000-0000-0000-0000-000000000001","stream":"a","revision":1`} {
		_, _, err := header([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// signedConfig is a Config for checkpoint c under a fresh key.
func signedConfig(tb testing.TB, c Checkpoint) Config {
	skey, vkey, err := note.GenerateKey(rand.Reader, DefaultOrigin)
	require.NoError(tb, err)
	signer, err := note.NewSigner(skey)
	require.NoError(tb, err)
	msg, err := note.Sign(&note.Note{Text: c.Text()}, signer)
	require.NoError(tb, err)
	return Config{Checkpoint: msg, Key: vkey}
}

func emptyTreeConfig(tb testing.TB) Config {
	return signedConfig(tb, Checkpoint{Origin: DefaultOrigin, Root: emptyRoot()})
}

func FuzzVerifyLeaves(f *testing.F) {
	cfg := emptyTreeConfig(f)
	f.Add([]byte("{\"id\":\"00000000-0000-0000-0000-000000000001\",\"stream\":\"s\",\"revision\":0,\"type\":\"T\"}\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Against the empty tree, any event is one too many.
		r, err := VerifyLeaves(bytes.NewReader(b), cfg)
		if err == nil && r.Events != 0 {
			t.Fatalf("accepted %d events against the empty checkpoint", r.Events)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add("malmo.se/participation-ledger\n12\n" + emptyRoot().String() + "\n")
	f.Add("o\n0\nAAAA\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		// What parses, formats back to its first three lines.
		if !strings.HasPrefix(text, c.Text()) {
			t.Fatalf("%q parsed to %+v, which formats as %q", text, c, c.Text())
		}
	})
}
