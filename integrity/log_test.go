package integrity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
)

func allEvents(t testing.TB, s eventstore.Store) []eventstore.Event {
	evs, err := s.ReadAll(ctxT(t), 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	return evs
}

func TestProofsVerifyForEverySize(t *testing.T) {
	const n = 45
	s := newStore(t, n)
	l := openLog(t, t.TempDir(), s)
	evs := allEvents(t, s)
	require.Equal(t, int64(n), l.Size())

	roots := make([]tlog.Hash, n+1)
	for size := int64(0); size <= n; size++ {
		var err error
		roots[size], err = l.Root(size)
		require.NoError(t, err)
	}
	for size := int64(1); size <= n; size++ {
		for i := int64(0); i < size; i++ {
			p, err := l.InclusionProof(i, size)
			require.NoError(t, err)
			leaf := tlog.RecordHash(eventstore.Canonical(evs[i]))
			require.NoError(t, tlog.CheckRecord(p, size, roots[size], i, leaf), "leaf %d in size %d", i, size)
			if size > 1 {
				other := tlog.RecordHash(eventstore.Canonical(evs[(i+1)%size]))
				require.Error(t, tlog.CheckRecord(p, size, roots[size], i, other), "a proof must not fit another leaf")
			}
		}
		for from := int64(0); from <= size; from++ {
			p, err := l.ConsistencyProof(from, size)
			require.NoError(t, err)
			older := Checkpoint{Origin: "o", Size: from, Root: roots[from]}
			newer := Checkpoint{Origin: "o", Size: size, Root: roots[size]}
			require.NoError(t, CheckConsistency(older, newer, p), "%d→%d", from, size)
			if from > 0 && from < size {
				older.Root[0] ^= 1
				require.ErrorIs(t, CheckConsistency(older, newer, p), ErrFork)
			}
		}
	}
	_, err := l.InclusionProof(3, n+1)
	assert.ErrorIs(t, err, ErrNotCovered)
	_, err = l.ConsistencyProof(5, 4)
	assert.ErrorIs(t, err, ErrNotCovered)
}

func TestOldReceiptsAndProofsStayValidAfterMoreAppends(t *testing.T) {
	s := newStore(t, 10)
	l := openLog(t, t.TempDir(), s)
	c10, err := l.SignCheckpoint()
	require.NoError(t, err)
	evs := allEvents(t, s)
	r, err := l.Receipt(evs[3])
	require.NoError(t, err)

	fill(t, s, 90)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	c100, err := l.SignCheckpoint()
	require.NoError(t, err)
	require.Equal(t, int64(100), c100.Size)

	// The receipt issued at size 10 still verifies on its own …
	require.NoError(t, VerifyReceipt(r, l.Verifier()))
	// … its checkpoint is a prefix of the new one …
	p, err := l.ConsistencyProof(c10.Size, c100.Size)
	require.NoError(t, err)
	require.NoError(t, CheckConsistency(c10.Checkpoint, c100.Checkpoint, p))
	// … and the same event is provably in the bigger tree.
	ip, err := l.InclusionProof(3, 100)
	require.NoError(t, err)
	require.NoError(t, tlog.CheckRecord(ip, 100, c100.Root, 3, r.LeafHash))
}

func TestReceipt(t *testing.T) {
	s := newStore(t, 20)
	l := openLog(t, t.TempDir(), s)
	evs := allEvents(t, s)

	_, err := l.Receipt(evs[7])
	require.ErrorIs(t, err, ErrNotCovered, "no checkpoint covers the event yet")
	c, err := l.WaitFor(ctxT(t), 0)
	require.NoError(t, err)
	require.Equal(t, int64(0), c.Size)
	_, err = l.SignCheckpoint()
	require.NoError(t, err)
	c, err = l.WaitFor(ctxT(t), evs[7].Position)
	require.NoError(t, err)
	require.Equal(t, int64(20), c.Size)

	r, err := l.Receipt(evs[7])
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	r2, err := ParseReceipt(b)
	require.NoError(t, err)
	require.NoError(t, VerifyReceipt(r2, l.Verifier()))

	_, otherKey, err := note.GenerateKey(rand.Reader, DefaultOrigin)
	require.NoError(t, err)
	assert.ErrorIs(t, VerifyReceipt(r, otherKey), ErrSignature)

	bad := r
	bad.Event = append([]byte(nil), r.Event...)
	bad.Event[len(bad.Event)-3] ^= 1 // inside the data
	assert.Error(t, VerifyReceipt(bad, l.Verifier()))

	bad = r
	bad.LeafIndex = 8
	assert.ErrorIs(t, VerifyReceipt(bad, l.Verifier()), ErrMismatch)

	bad = r
	bad.Proof = append(tlog.RecordProof(nil), r.Proof...)
	bad.Proof[0][0] ^= 1
	assert.ErrorIs(t, VerifyReceipt(bad, l.Verifier()), ErrMismatch)

	// An event that is not the one at its position gets no receipt.
	wrong := evs[7]
	wrong.Data = []byte(`{"n":"forged"}`)
	_, err = l.Receipt(wrong)
	assert.ErrorIs(t, err, ErrMismatch)
}

// crash abandons l as a killed process would: hashes written but not
// synced, no final checkpoint.
func crash(t *testing.T, l *Log) {
	t.Helper()
	require.NoError(t, l.hf.flush())
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.hf.f.Close()
	l.lock.Close()
}

func TestReopenRecomputesHashesPastTheCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, 50)
	l, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	_, err = l.SignCheckpoint()
	require.NoError(t, err)
	fill(t, s, 20)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	want, err := l.Root(70)
	require.NoError(t, err)
	crash(t, l)

	// Garbage where the unsynced tail was: a crash may leave anything.
	f, err := os.OpenFile(filepath.Join(dir, "integrity", "hashes"), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, 100), tlog.StoredHashCount(60)*tlog.HashSize)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l = openLog(t, dir, nil)
	assert.Equal(t, int64(50), l.Size(), "only the checkpointed (synced) tree is trusted")
	require.NoError(t, l.CatchUp(ctxT(t), s))
	got, err := l.Root(70)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestCleanCloseLeavesNothingToRecompute(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, 33)
	l, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	require.NoError(t, l.Close())
	l = openLog(t, dir, nil)
	assert.Equal(t, int64(33), l.Size())
	assert.Equal(t, int64(33), l.Checkpoint().Size)
}

func TestDamagedHashFileIsRebuiltAndMustMatchTheCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, 40)
	l, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	require.NoError(t, l.Close())

	hashes := filepath.Join(dir, "integrity", "hashes")
	f, err := os.OpenFile(hashes, os.O_WRONLY, 0)
	require.NoError(t, err)
	// The open check reads the O(log n) hashes the signed root is made of
	// (here the subtrees [0,32) and [32,40)); damage there is caught.
	_, err = f.WriteAt([]byte{0xff}, tlog.StoredHashIndex(5, 0)*tlog.HashSize+3)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l = openLog(t, dir, nil)
	assert.Equal(t, int64(0), l.Size(), "a hash file that contradicts the checkpoint is rebuilt")
	_, err = l.SignCheckpoint()
	assert.ErrorIs(t, err, ErrNotCovered, "nothing is signed until the rebuild reaches the signed size")
	require.NoError(t, l.CatchUp(ctxT(t), s))
	assert.Equal(t, int64(40), l.Size())
	require.NoError(t, l.Close())

	// A store whose history differs from what was signed is refused.
	require.NoError(t, os.Remove(hashes))
	l = openLog(t, dir, nil)
	other := newStore(t, 45)
	err = l.CatchUp(ctxT(t), other)
	require.ErrorIs(t, err, ErrMismatch)
	assert.ErrorIs(t, l.Add(allEvents(t, other)[40]), ErrMismatch, "the log stays failed")
}

func TestStoreBehindTheTreeIsRefused(t *testing.T) {
	l := openLog(t, t.TempDir(), newStore(t, 12))
	err := l.CatchUp(ctxT(t), newStore(t, 5))
	assert.ErrorIs(t, err, ErrMismatch)
}

func TestAddRequiresTheNextPosition(t *testing.T) {
	s := newStore(t, 3)
	l := openLog(t, t.TempDir(), nil)
	evs := allEvents(t, s)
	require.Error(t, l.Add(evs[1]))
	require.NoError(t, l.Add(evs[0], evs[1]))
	require.Error(t, l.Add(evs[1]), "a repeat is refused")
	require.NoError(t, l.Add(evs[2]))
	assert.Equal(t, int64(3), l.Size())
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, nil)
	st, err := os.Stat(filepath.Join(dir, "integrity", "signing.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	v, err := ReadVerifier(dir)
	require.NoError(t, err)
	assert.Equal(t, l.Verifier(), v)
	v2, err := KeyVerifier(dir)
	require.NoError(t, err)
	assert.Equal(t, v, v2, "the key is created once")
	_, err = note.NewVerifier(v)
	require.NoError(t, err)

	_, err = Open(dir)
	assert.Error(t, err, "a second writer on the same directory is refused")

	skey, vkey, err := note.GenerateKey(rand.Reader, "example.org/log")
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(skey+"\n"), 0o600))
	l2 := openLog(t, t.TempDir(), newStore(t, 4), WithSigningKeyFile(keyFile), WithOrigin("example.org/log"))
	assert.Equal(t, vkey, l2.Verifier())
	c, err := l2.SignCheckpoint()
	require.NoError(t, err)
	oc, err := OpenCheckpoint(c.Note, vkey)
	require.NoError(t, err)
	assert.Equal(t, Checkpoint{Origin: "example.org/log", Size: 4, Root: c.Root}, oc.Checkpoint)
	assert.Equal(t, "example.org/log\n4\n"+c.Root.String()+"\n", c.Checkpoint.Text())

	_, err = Open(t.TempDir(), WithSigningKeyFile(filepath.Join(t.TempDir(), "missing")))
	assert.Error(t, err, "a named key file is never created")
}

func TestCheckpointHistory(t *testing.T) {
	dir := t.TempDir()
	s := memory.New()
	defer s.Close()
	l := openLog(t, dir, nil)
	for i := 0; i < 4; i++ {
		fill(t, s, 3)
		require.NoError(t, l.CatchUp(ctxT(t), s))
		_, err := l.SignCheckpoint()
		require.NoError(t, err)
	}
	_, err := l.SignCheckpoint() // nothing new: no new checkpoint
	require.NoError(t, err)
	require.NoError(t, l.Close())

	all := filepath.Join(dir, "integrity", "checkpoints")
	b, err := os.ReadFile(all)
	require.NoError(t, err)
	notes, whole := SplitNotes(b)
	require.Equal(t, len(b), whole)
	var sizes []int64
	for _, n := range notes {
		c, err := OpenCheckpoint(n, l.Verifier())
		require.NoError(t, err)
		sizes = append(sizes, c.Size)
	}
	assert.Equal(t, []int64{0, 3, 6, 9, 12}, sizes)

	// A torn last record is cut off on open.
	require.NoError(t, os.WriteFile(all, append(b, notes[1][:20]...), 0o644))
	openLog(t, dir, nil)
	b2, err := os.ReadFile(all)
	require.NoError(t, err)
	assert.Equal(t, b, b2)
}

func TestRunCheckpointsAtOnceWhenIdleAndAtMostPerIntervalUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		s := memory.New()
		defer s.Close()
		l, err := Open(dir, WithCheckpointInterval(time.Second))
		require.NoError(t, err)
		defer l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- l.Run(ctx, s) }()

		// Idle: the first event is checkpointed without waiting.
		fill(t, s, 1)
		synctest.Wait()
		assert.Equal(t, int64(1), l.Checkpoint().Size)

		// Under load: one event every 100ms for 5s.
		start := time.Now()
		before := countCheckpoints(t, dir)
		for time.Since(start) < 5*time.Second {
			fill(t, s, 1)
			time.Sleep(100 * time.Millisecond)
		}
		signed := countCheckpoints(t, dir) - before
		assert.LessOrEqual(t, signed, 6, "at most one checkpoint per second")
		assert.GreaterOrEqual(t, signed, 4, "but one every second while events arrive")

		// The trailing events are covered within the interval.
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, l.Size(), l.Checkpoint().Size)

		// After a quiet spell, at once again.
		time.Sleep(3 * time.Second)
		fill(t, s, 1)
		synctest.Wait()
		assert.Equal(t, l.Size(), l.Checkpoint().Size)

		cancel()
		require.NoError(t, <-done)
	})
}

func countCheckpoints(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "integrity", "checkpoints"))
	require.NoError(t, err)
	notes, _ := SplitNotes(b)
	return len(notes)
}

func TestRunReturnsNilWhenCancelledAndSignsTheRest(t *testing.T) {
	s := newStore(t, 25)
	l := openLog(t, t.TempDir(), nil, WithCheckpointInterval(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- l.Run(ctx, s) }()
	_, err := l.WaitFor(ctxT(t), 1) // the first is at once
	require.NoError(t, err)
	for l.Size() < 25 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, int64(25), l.Checkpoint().Size)
}
