package privacy

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentKeys: keys are made without holding the vault's lock across
// the fsyncs, so many subjects get keys at once; racing sealers of one
// subject still share one key, and a shred racing the key's creation leaves
// the subject shredded.
func TestConcurrentKeys(t *testing.T) {
	dir := t.TempDir()
	k, err := Open(dir)
	require.NoError(t, err)
	var wg sync.WaitGroup
	sealed := make([][]byte, 32)
	for i := range sealed {
		wg.Go(func() {
			ct, err := k.Seal(fmt.Sprint("submission-", i%8), Labels{"process": "p"}, fmt.Sprint("text ", i))
			require.NoError(t, err)
			sealed[i] = ct
		})
	}
	wg.Wait()
	k2, err := Open(dir) // what is on disk
	require.NoError(t, err)
	for i, ct := range sealed {
		got, err := k2.Open(fmt.Sprint("submission-", i%8), ct)
		require.NoError(t, err, "every sealer of a subject used the key that was stored")
		require.Equal(t, fmt.Sprint("text ", i), got)
	}

	for i := range 16 {
		subject := fmt.Sprint("raced-", i)
		wg.Go(func() { _, _ = k.Seal(subject, nil, "x") })
		wg.Go(func() { require.NoError(t, k.Shred(subject)) })
	}
	wg.Wait()
	for i := range 16 {
		_, err := k.Seal(fmt.Sprint("raced-", i), nil, "y")
		require.ErrorIs(t, err, ErrShredded)
	}
}
