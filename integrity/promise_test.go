package integrity

import (
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestPromise: a promise is given before the tree has the leaf, verifies on
// its own, catches every altered field, is never mistaken for a checkpoint,
// and completes into a full receipt once a checkpoint covers the leaf.
func TestPromise(t *testing.T) {
	s := newStore(t, 12)
	l := openLog(t, t.TempDir(), nil) // the tree has no leaves yet
	evs := allEvents(t, s)

	r, err := l.Promise(evs[9])
	require.NoError(t, err)
	assert.False(t, r.Full())
	assert.Equal(t, int64(9), r.LeafIndex)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	r, err = ParseReceipt(b)
	require.NoError(t, err)
	require.NoError(t, VerifyReceipt(r, l.Verifier()))

	_, err = OpenCheckpoint([]byte(r.Promise), l.Verifier())
	assert.Error(t, err, "a promise is not a checkpoint")

	_, otherKey, err := note.GenerateKey(rand.Reader, DefaultOrigin)
	require.NoError(t, err)
	assert.ErrorIs(t, VerifyReceipt(r, otherKey), ErrSignature)

	for name, alter := range map[string]func(*Receipt){
		"index":   func(r *Receipt) { r.LeafIndex = 3 },
		"hash":    func(r *Receipt) { r.LeafHash[0] ^= 1; r.Event = nil },
		"id":      func(r *Receipt) { r.EventID = evs[3].ID; r.Event = nil },
		"event":   func(r *Receipt) { r.Event = append([]byte(nil), r.Event...); r.Event[len(r.Event)-3] ^= 1 },
		"promise": func(r *Receipt) { p := []byte(r.Promise); p[len(DefaultOrigin)+50] ^= 1; r.Promise = string(p) },
		"nothing": func(r *Receipt) { r.Promise = "" },
	} {
		bad := r
		alter(&bad)
		assert.Error(t, VerifyReceipt(bad, l.Verifier()), name)
	}

	_, err = l.Complete(r)
	require.ErrorIs(t, err, ErrNotCovered)
	require.NoError(t, l.CatchUp(ctxT(t), s))
	_, err = l.SignCheckpoint()
	require.NoError(t, err)
	full, err := l.Complete(r)
	require.NoError(t, err)
	require.True(t, full.Full())
	require.NoError(t, VerifyReceipt(full, l.Verifier()))
	c := l.Checkpoint()
	require.NoError(t, tlog.CheckRecord(full.Proof, c.Size, c.Root, 9, r.LeafHash))

	// A promise for bytes the store does not hold at that index cannot be
	// completed: the log does not vouch for a leaf it does not have.
	forged := evs[9]
	forged.Data = []byte(`{"n":"forged"}`)
	fr, err := l.Promise(forged)
	require.NoError(t, err)
	_, err = l.Complete(fr)
	require.ErrorIs(t, err, ErrMismatch)
}
